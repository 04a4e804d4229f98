"""The IANA multicast registry as data: blocks, sub-scopes, well-known groups.

IPv4 blocks follow the IANA "IPv4 Multicast Address Space" registry as it stands:
RFC 5771 section 3, plus 234/8 from RFC 6034 and the DIS transient block that RFC
5771 still lists as reserved; with the rules of RFC 2365 (administrative scoping), RFC 3180 (GLOP),
RFC 6034 (unicast-prefix-based), RFC 4607 (SSM) and RFC 5771 / RFC 6676 (MCAST-TEST-NET).
IPv6 facts follow RFC 4291 section 2.7, RFC 7346 (scopes), RFC 3306 (unicast-
prefix-based), RFC 3956 (embedded RP) and RFC 4607 (SSM).
"""

from __future__ import annotations

import bisect
import functools
from dataclasses import dataclass

#: Coarse scopes as network engineers say them.
LINK_LOCAL = "link-local"
GLOBAL = "global"
ADMIN_SCOPED = "admin-scoped"
INTERFACE_LOCAL = "interface-local"
RESERVED_SCOPE = "reserved"


def _v4(text: str) -> int:
    a, b, c, d = (int(x) for x in text.split("."))
    return a << 24 | b << 16 | c << 8 | d


def _cidr_range(cidr: str) -> tuple[int, int]:
    base, plen = cidr.split("/")
    first = _v4(base)
    return first, first + (1 << (32 - int(plen))) - 1


@functools.lru_cache(maxsize=256)  # block ranges are asked for once per classified address
def cidrs_for_range(first: int, last: int) -> tuple[str, ...]:
    """The minimal list of CIDR blocks exactly covering [first, last] (IPv4)."""
    from mdiag.core.addresses.group import format_ipv4

    out: list[str] = []
    while first <= last:
        size = (first & -first).bit_length() - 1 if first else 32
        while first + (1 << size) - 1 > last:
            size -= 1
        out.append(f"{format_ipv4(first)}/{32 - size}")
        first += 1 << size
    return tuple(out)


@dataclass(frozen=True, slots=True)
class Block:
    """One row of the IANA IPv4 multicast registry (RFC 5771 section 3)."""

    key: str
    name: str
    first: int
    last: int
    rfc: str
    scope: str
    consequence: str

    def __post_init__(self) -> None:
        if not 0xE0000000 <= self.first <= self.last <= 0xEFFFFFFF:
            raise ValueError(f"block {self.key} is not inside 224.0.0.0/4")

    @property
    def cidrs(self) -> tuple[str, ...]:
        return cidrs_for_range(self.first, self.last)

    @property
    def range_text(self) -> str:
        """The CIDR when the block is one, else ``first-last``."""
        from mdiag.core.addresses.group import format_ipv4

        cidrs = self.cidrs
        if len(cidrs) == 1:
            return cidrs[0]
        return f"{format_ipv4(self.first)}-{format_ipv4(self.last)}"

    def __contains__(self, value: object) -> bool:
        return isinstance(value, int) and self.first <= value <= self.last


_ROUTED_ASM = "routed (any-source: PIM-SM with an RP, or PIM-DM)"
_RESERVED = "reserved by IANA: do not use"

#: The registry, ascending and gap-free over 224.0.0.0/4 (tested).
IPV4_BLOCKS: tuple[Block, ...] = (
    Block("local-network-control", "Local Network Control", *_cidr_range("224.0.0.0/24"),
          "RFC 5771 4", LINK_LOCAL, "never routed (TTL 1); snooping switches flood it to every port"),
    Block("internetwork-control", "Internetwork Control", *_cidr_range("224.0.1.0/24"),
          "RFC 5771 5", GLOBAL, "routed control traffic (NTP, PTP, RP discovery)"),
    Block("ad-hoc-1", "AD-HOC Block I", _v4("224.0.2.0"), _v4("224.0.255.255"),
          "RFC 5771 6", GLOBAL, _ROUTED_ASM),
    Block("reserved-224-1", "Reserved", *_cidr_range("224.1.0.0/16"), "RFC 5771 3", GLOBAL, _RESERVED),
    Block("sdp-sap", "SDP/SAP Block", *_cidr_range("224.2.0.0/16"), "RFC 5771 7", GLOBAL, _ROUTED_ASM),
    Block("ad-hoc-2", "AD-HOC Block II", _v4("224.3.0.0"), _v4("224.4.255.255"),
          "RFC 5771 6", GLOBAL, _ROUTED_ASM),
    Block("reserved-224-5", "Reserved", _v4("224.5.0.0"), _v4("224.251.255.255"),
          "RFC 5771 3", GLOBAL, _RESERVED),
    Block("dis-transient", "DIS Transient Groups", *_cidr_range("224.252.0.0/14"),
          "IANA multicast registry", GLOBAL, _ROUTED_ASM),
    Block("reserved-225", "Reserved", _v4("225.0.0.0"), _v4("231.255.255.255"),
          "RFC 5771 3", GLOBAL, _RESERVED),
    Block("ssm", "Source-Specific Multicast", *_cidr_range("232.0.0.0/8"), "RFC 4607 1", GLOBAL,
          "needs an IGMPv3 source-specific (S,G) join; any-source joins are ignored"),
    Block("glop", "GLOP", _v4("233.0.0.0"), _v4("233.251.255.255"), "RFC 3180", GLOBAL,
          "routed; statically assigned to the AS it encodes"),
    Block("ad-hoc-3", "AD-HOC Block III", *_cidr_range("233.252.0.0/14"), "RFC 5771 6", GLOBAL,
          _ROUTED_ASM),
    Block("unicast-prefix", "Unicast-Prefix-based", *_cidr_range("234.0.0.0/8"), "RFC 6034", GLOBAL,
          "routed; belongs to the holder of the unicast prefix it encodes"),
    Block("reserved-235", "Reserved", _v4("235.0.0.0"), _v4("238.255.255.255"),
          "RFC 5771 3", GLOBAL, _RESERVED),
    Block("admin-scoped", "Administratively Scoped", *_cidr_range("239.0.0.0/8"), "RFC 2365 4",
          ADMIN_SCOPED, "routed only inside the admin-scope boundary"),
)

_BLOCK_STARTS = [b.first for b in IPV4_BLOCKS]


def block_of(value: int) -> Block:
    """The registry block holding an IPv4 multicast value (caller ensures 224/4)."""
    return IPV4_BLOCKS[bisect.bisect_right(_BLOCK_STARTS, value) - 1]


@dataclass(frozen=True, slots=True)
class SubScope:
    """An RFC 2365 sub-range of 239.0.0.0/8."""

    key: str
    name: str
    first: int
    last: int
    relative: bool  #: whether the top 256 addresses are scope-relative (RFC 2365)

    @property
    def range_text(self) -> str:
        from mdiag.core.addresses.group import format_ipv4

        cidrs = cidrs_for_range(self.first, self.last)
        return cidrs[0] if len(cidrs) == 1 else f"{format_ipv4(self.first)}-{format_ipv4(self.last)}"


#: RFC 2365 sub-scopes of 239/8, ascending and gap-free (tested).
ADMIN_SUBSCOPES: tuple[SubScope, ...] = (
    SubScope("organization-local-expansion", "Organization-Local expansion",
             _v4("239.0.0.0"), _v4("239.191.255.255"), False),
    SubScope("organization-local", "Organization-Local Scope", *_cidr_range("239.192.0.0/14"), True),
    SubScope("unassigned", "no RFC 2365 sub-scope", _v4("239.196.0.0"), _v4("239.252.255.255"), False),
    SubScope("local-expansion", "Local Scope expansion",
             _v4("239.253.0.0"), _v4("239.254.255.255"), False),
    SubScope("local", "Local Scope", *_cidr_range("239.255.0.0/16"), True),
)
_SUBSCOPE_STARTS = [s.first for s in ADMIN_SUBSCOPES]


def subscope_of(value: int) -> SubScope | None:
    """The RFC 2365 sub-scope of a 239/8 value, None outside 239/8."""
    if value >> 24 != 239:
        return None
    return ADMIN_SUBSCOPES[bisect.bisect_right(_SUBSCOPE_STARTS, value) - 1]


#: Scope-relative addresses: offset below the top of a scope (IANA "Relative addresses" registry).
RELATIVE_NAMES: dict[int, str] = {
    0: "SAP (Session Announcement Protocol)",
    1: "MADCAP",
    2: "SLPv2 discovery",
    3: "MZAP",
    4: "Multicast Discovery of DNS Services",
    5: "SSDP",
    6: "DHCPv4",
    7: "AAP",
    8: "MBUS",
}

#: Assigned IPv4 groups people meet on real networks (IANA multicast registry).
IPV4_WELL_KNOWN: dict[int, str] = {
    _v4("224.0.0.0"): "base address, reserved",
    _v4("224.0.0.1"): "all systems on this subnet",
    _v4("224.0.0.2"): "all routers on this subnet",
    _v4("224.0.0.4"): "DVMRP routers",
    _v4("224.0.0.5"): "OSPF all routers",
    _v4("224.0.0.6"): "OSPF designated routers",
    _v4("224.0.0.9"): "RIPv2 routers",
    _v4("224.0.0.10"): "EIGRP routers",
    _v4("224.0.0.12"): "DHCP server / relay agent",
    _v4("224.0.0.13"): "all PIM routers",
    _v4("224.0.0.14"): "RSVP encapsulation",
    _v4("224.0.0.15"): "all CBT routers",
    _v4("224.0.0.16"): "designated SBM",
    _v4("224.0.0.17"): "all SBMs",
    _v4("224.0.0.18"): "VRRP",
    _v4("224.0.0.22"): "IGMPv3 routers (v3 reports)",
    _v4("224.0.0.102"): "HSRPv2 / GLBP",
    _v4("224.0.0.106"): "all snoopers (multicast router discovery)",
    _v4("224.0.0.107"): "PTP peer delay",
    _v4("224.0.0.251"): "mDNS",
    _v4("224.0.0.252"): "LLMNR",
    _v4("224.0.0.253"): "Teredo",
    _v4("224.0.1.1"): "NTP",
    _v4("224.0.1.39"): "Cisco RP announce",
    _v4("224.0.1.40"): "Cisco RP discovery",
    _v4("224.0.1.22"): "SLPv1 (SVRLOC)",
    _v4("224.0.1.35"): "SLPv1 directory agents (SVRLOC-DA)",
    _v4("224.0.1.41"): "H.323 gatekeeper discovery",
    _v4("224.0.1.75"): "SIP",
    _v4("224.0.1.129"): "PTP primary",
    _v4("224.0.1.130"): "PTP alternate 1",
    _v4("224.0.1.131"): "PTP alternate 2",
    _v4("224.0.1.132"): "PTP alternate 3",
    _v4("224.0.1.187"): "all CoAP nodes",
    _v4("224.0.23.12"): "KNXnet/IP (EIBnet/IP)",
    _v4("224.2.127.254"): "SAPv1 announcements",
    _v4("224.2.127.255"): "SAPv0 announcements (deprecated)",
}

SAP_DYNAMIC = _cidr_range("224.2.128.0/17")
MCAST_TEST_NET = _cidr_range("233.252.0.0/24")


# ---------------------------------------------------------------- IPv6 (RFC 4291 2.7)

IPV6_SCOPES: dict[int, str] = {
    0x0: "reserved",
    0x1: "interface-local",
    0x2: "link-local",
    0x3: "realm-local",
    0x4: "admin-local",
    0x5: "site-local",
    0x8: "organization-local",
    0xE: "global",
    0xF: "reserved",
}


def ipv6_scope_name(nibble: int) -> str:
    return IPV6_SCOPES.get(nibble, "unassigned")


def ipv6_coarse_scope(nibble: int) -> str:
    if nibble == 0x1:
        return INTERFACE_LOCAL
    if nibble == 0x2:
        return LINK_LOCAL
    if nibble == 0xE:
        return GLOBAL
    if nibble in (0x0, 0xF):
        return RESERVED_SCOPE
    return ADMIN_SCOPED


#: Well-known IPv6 groups valid in one scope only (full address).
IPV6_WELL_KNOWN: dict[int, str] = {
    0xFF010000000000000000000000000001: "all nodes (interface-local)",
    0xFF020000000000000000000000000001: "all nodes",
    0xFF010000000000000000000000000002: "all routers (interface-local)",
    0xFF020000000000000000000000000002: "all routers",
    0xFF050000000000000000000000000002: "all routers (site-local)",
    0xFF020000000000000000000000000005: "OSPFv3 all SPF routers",
    0xFF020000000000000000000000000006: "OSPFv3 designated routers",
    0xFF020000000000000000000000000009: "RIPng routers",
    0xFF02000000000000000000000000000A: "EIGRP routers",
    0xFF02000000000000000000000000000D: "all PIM routers",
    0xFF020000000000000000000000000012: "VRRP",
    0xFF020000000000000000000000000016: "all MLDv2-capable routers (MLDv2 reports)",
    0xFF02000000000000000000000000006A: "all snoopers (multicast router discovery)",
    0xFF02000000000000000000000000006B: "PTP peer delay",
    0xFF020000000000000000000000010002: "all DHCP relay agents and servers",
    0xFF020000000000000000000000010003: "LLMNR",
    0xFF050000000000000000000000010003: "all DHCP servers (site-local)",
}

#: Variable-scope IPv6 assignments ff0X::id (RFC 2375): group id -> name.
IPV6_VARIABLE_SCOPE: dict[int, str] = {
    0x0C: "SSDP",
    0xFB: "mDNSv6",
    0x101: "NTP",
    0x181: "PTP primary",
    0x182: "PTP alternate 1",
    0x183: "PTP alternate 2",
    0x184: "PTP alternate 3",
    0xFD: "all CoAP nodes",
}

#: ff02::1:ff00:0/104 solicited-node (RFC 4291 2.7.1).
SOLICITED_NODE_PREFIX = 0xFF0200000000000000000001FF000000
