"""Link layers: find the IPv4 packet inside a captured frame, and the segment it was on.

Pure and I/O-free. :func:`locate_ipv4` takes a link type (the pcap LINKTYPE_*
number), a buffer and the frame's position in it, and answers with a
:class:`Located` tuple:

``status``
    :data:`OK` (IPv4 found), :data:`NOT_IPV4` (ARP, IPv6, LLDP, ...),
    :data:`TRUNCATED` (the frame ends inside a link header) or
    :data:`UNKNOWN_LINKTYPE`.
``ip``
    offset of the IPv4 header in the buffer (valid when ``status == OK``).
``key``
    hashable segment key inside the capture interface: the VLAN IDs outermost
    first (802.1Q 0x8100, 802.1ad 0x88a8 and the old QinQ 0x9100 TPID), and for
    Linux cooked v2 (``tcpdump -i any``) the interface index. A capture
    interface plus this key is one :class:`Segment` (one broadcast domain, one
    querier election).
``src_mac``
    the sender's 6-byte MAC when the link layer carries it, else ``None``.

Supported link types: Ethernet (1), Linux cooked SLL (113) and SLL2 (276), raw
IP (101, and 12/14 where old libpcap wrote DLT_RAW), IPv4 (228), IPv6 (229), BSD
loopback NULL (0) and LOOP (108).

:func:`locate_ipv6` answers the same for IPv6 (EtherType 0x86DD, MLD): a frame
that :func:`locate_ipv4` calls :data:`NOT_IPV4` is asked again, so the IPv4 path
pays nothing for IPv6. VLAN tags found after an SLL/SLL2 header are honoured
too (the kernel usually strips them; when it does not, the tag is in the data).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import NamedTuple

from mdiag.core.findings import Finding, Severity

__all__ = [
    "LINKTYPE_NAMES",
    "NOT_IPV4",
    "OK",
    "SUPPORTED_LINKTYPES",
    "TRUNCATED",
    "UNKNOWN_LINKTYPE",
    "VLAN_TPIDS",
    "Located",
    "Segment",
    "is_fragment",
    "locate_ipv4",
    "locate_ipv6",
    "unknown_linktype_finding",
]

OK = 0
NOT_IPV4 = 1
TRUNCATED = 2
UNKNOWN_LINKTYPE = 3

LINKTYPE_NULL = 0
LINKTYPE_ETHERNET = 1
LINKTYPE_RAW_DLT12 = 12
LINKTYPE_RAW_DLT14 = 14
LINKTYPE_RAW = 101
LINKTYPE_LOOP = 108
LINKTYPE_LINUX_SLL = 113
LINKTYPE_IPV4 = 228
LINKTYPE_IPV6 = 229
LINKTYPE_LINUX_SLL2 = 276

LINKTYPE_NAMES: dict[int, str] = {
    LINKTYPE_NULL: "BSD loopback",
    LINKTYPE_ETHERNET: "Ethernet",
    LINKTYPE_RAW_DLT12: "raw IP (DLT 12)",
    LINKTYPE_RAW_DLT14: "raw IP (DLT 14)",
    LINKTYPE_RAW: "raw IP",
    LINKTYPE_LOOP: "OpenBSD loopback",
    LINKTYPE_LINUX_SLL: "Linux cooked (SLL)",
    LINKTYPE_IPV4: "raw IPv4",
    LINKTYPE_IPV6: "raw IPv6",
    LINKTYPE_LINUX_SLL2: "Linux cooked v2 (SLL2)",
}
SUPPORTED_LINKTYPES = frozenset(LINKTYPE_NAMES)

#: IEEE 802.1Q C-tag, 802.1ad S-tag, and the pre-standard QinQ TPID.
VLAN_TPIDS = frozenset({0x8100, 0x88A8, 0x9100})
_MAX_TAGS = 4
_ETH_IPV4 = 0x0800
_ETH_IPV6 = 0x86DD
#: AF_INET6 as BSD loopback headers write it: Linux 10, NetBSD/OpenBSD 24, FreeBSD 28,
#: macOS 30, in either byte order.
_AF_INET6 = frozenset(b for v in (10, 24, 28, 30) for b in (v.to_bytes(4, "big"), v.to_bytes(4, "little")))


class Located(NamedTuple):
    """Answer of :func:`locate_ipv4` (see the module docstring)."""

    status: int
    ip: int
    key: tuple[int, ...]
    src_mac: bytes | None


_NOT_IPV4 = Located(NOT_IPV4, 0, (), None)
_TRUNCATED = Located(TRUNCATED, 0, (), None)
_UNKNOWN = Located(UNKNOWN_LINKTYPE, 0, (), None)


def _after_ethertype(buf: bytes, pos: int, end: int, ethertype: int,
                     key: tuple[int, ...], mac: bytes | None, version: int = 4) -> Located:
    """Walk VLAN tags from ``pos`` (just after an EtherType/protocol field) to IP ``version``."""
    tags = 0
    while ethertype in VLAN_TPIDS:
        if pos + 4 > end or tags == _MAX_TAGS:
            return _TRUNCATED if pos + 4 > end else _NOT_IPV4
        key = key + (((buf[pos] << 8) | buf[pos + 1]) & 0x0FFF,)
        ethertype = (buf[pos + 2] << 8) | buf[pos + 3]
        pos += 4
        tags += 1
    if ethertype != (_ETH_IPV4 if version == 4 else _ETH_IPV6):
        return _NOT_IPV4
    if pos + (20 if version == 4 else 40) > end:
        return _TRUNCATED
    if buf[pos] >> 4 != version:
        return _NOT_IPV4
    return _tuple_new(Located, (OK, pos, key, mac))


_tuple_new = tuple.__new__


def locate_ipv4(linktype: int, buf: bytes, start: int, length: int) -> Located:
    """Find the IPv4 header of the frame ``buf[start:start + length]``."""
    # Fast path: untagged Ethernet carrying IPv4 (most frames of most captures),
    # answered with one slice compare and no call.
    if (linktype == 1 and length >= 34 and buf[start + 12:start + 14] == b"\x08\x00"
            and buf[start + 14] >> 4 == 4):
        return _tuple_new(Located, (OK, start + 14, (), buf[start + 6:start + 12]))
    return _locate_general(linktype, buf, start, length)


def locate_ipv6(linktype: int, buf: bytes, start: int, length: int) -> Located:
    """Find the IPv6 header of the frame ``buf[start:start + length]`` (``OK`` means IPv6 here)."""
    if (linktype == 1 and length >= 54 and buf[start + 12:start + 14] == b"\x86\xdd"
            and buf[start + 14] >> 4 == 6):
        return _tuple_new(Located, (OK, start + 14, (), buf[start + 6:start + 12]))
    return _locate_general(linktype, buf, start, length, 6)


def _locate_general(linktype: int, buf: bytes, start: int, length: int, version: int = 4) -> Located:
    """:func:`locate_ipv4` (and :func:`locate_ipv6`) for every link type and every case
    (tests compare them with the fast paths)."""
    end = start + length
    if version == 6:
        return _locate_v6(linktype, buf, start, length, end)
    if linktype == LINKTYPE_ETHERNET:
        if length < 14:
            return _TRUNCATED
        ethertype = (buf[start + 12] << 8) | buf[start + 13]
        mac: bytes | None = buf[start + 6:start + 12]
        if ethertype == _ETH_IPV4:
            pos = start + 14
            if pos + 20 > end:
                return _TRUNCATED
            if buf[pos] >> 4 != 4:
                return _NOT_IPV4
            return _tuple_new(Located, (OK, pos, (), mac))
        return _after_ethertype(buf, start + 14, end, ethertype, (), mac)
    if linktype == LINKTYPE_LINUX_SLL:
        # pkttype(2) hatype(2) halen(2) addr(8) protocol(2)
        if length < 16:
            return _TRUNCATED
        halen = (buf[start + 4] << 8) | buf[start + 5]
        mac = buf[start + 6:start + 12] if halen == 6 else None
        protocol = (buf[start + 14] << 8) | buf[start + 15]
        return _after_ethertype(buf, start + 16, end, protocol, (), mac)
    if linktype == LINKTYPE_LINUX_SLL2:
        # protocol(2) reserved(2) ifindex(4) hatype(2) pkttype(1) halen(1) addr(8)
        if length < 20:
            return _TRUNCATED
        protocol = (buf[start] << 8) | buf[start + 1]
        ifindex = int.from_bytes(buf[start + 4:start + 8], "big")
        halen = buf[start + 11]
        mac = buf[start + 12:start + 18] if halen == 6 else None
        return _after_ethertype(buf, start + 20, end, protocol, (-ifindex - 1,), mac)
    if linktype in (LINKTYPE_RAW, LINKTYPE_RAW_DLT12, LINKTYPE_RAW_DLT14, LINKTYPE_IPV4):
        if length < 20:
            return _TRUNCATED if length == 0 or buf[start] >> 4 == 4 else _NOT_IPV4
        if buf[start] >> 4 != 4:
            return _NOT_IPV4
        return _tuple_new(Located, (OK, start, (), None))
    if linktype in (LINKTYPE_NULL, LINKTYPE_LOOP):
        if length < 4:
            return _TRUNCATED
        family = buf[start:start + 4]
        # AF_INET is 2 everywhere; NULL stores it in the writer's byte order.
        if family not in (b"\x02\x00\x00\x00", b"\x00\x00\x00\x02"):
            return _NOT_IPV4
        if length < 24:
            return _TRUNCATED
        if buf[start + 4] >> 4 != 4:
            return _NOT_IPV4
        return _tuple_new(Located, (OK, start + 4, (), None))
    if linktype == LINKTYPE_IPV6:
        return _NOT_IPV4
    return _UNKNOWN


def _locate_v6(linktype: int, buf: bytes, start: int, length: int, end: int) -> Located:
    if linktype == LINKTYPE_ETHERNET:
        if length < 14:
            return _TRUNCATED
        ethertype = (buf[start + 12] << 8) | buf[start + 13]
        return _after_ethertype(buf, start + 14, end, ethertype, (), buf[start + 6:start + 12], 6)
    if linktype == LINKTYPE_LINUX_SLL:
        if length < 16:
            return _TRUNCATED
        halen = (buf[start + 4] << 8) | buf[start + 5]
        mac = buf[start + 6:start + 12] if halen == 6 else None
        protocol = (buf[start + 14] << 8) | buf[start + 15]
        return _after_ethertype(buf, start + 16, end, protocol, (), mac, 6)
    if linktype == LINKTYPE_LINUX_SLL2:
        if length < 20:
            return _TRUNCATED
        protocol = (buf[start] << 8) | buf[start + 1]
        ifindex = int.from_bytes(buf[start + 4:start + 8], "big")
        mac = buf[start + 12:start + 18] if buf[start + 11] == 6 else None
        return _after_ethertype(buf, start + 20, end, protocol, (-ifindex - 1,), mac, 6)
    if linktype in (LINKTYPE_RAW, LINKTYPE_RAW_DLT12, LINKTYPE_RAW_DLT14, LINKTYPE_IPV6):
        if length == 0 or buf[start] >> 4 != 6:
            return _TRUNCATED if length == 0 else _NOT_IPV4
        return _TRUNCATED if length < 40 else _tuple_new(Located, (OK, start, (), None))
    if linktype in (LINKTYPE_NULL, LINKTYPE_LOOP):
        if length < 4:
            return _TRUNCATED
        if buf[start:start + 4] not in _AF_INET6:
            return _NOT_IPV4
        if length < 44:
            return _TRUNCATED
        if buf[start + 4] >> 4 != 6:
            return _NOT_IPV4
        return _tuple_new(Located, (OK, start + 4, (), None))
    if linktype == LINKTYPE_IPV4:
        return _NOT_IPV4
    return _UNKNOWN


def is_fragment(buf: bytes, ip: int) -> bool:
    """True for any IPv4 fragment (MF set or a non-zero fragment offset), RFC 791 3.1."""
    return bool(((buf[ip + 6] << 8) | buf[ip + 7]) & 0x3FFF)


@dataclass(frozen=True, slots=True, order=True)
class Segment:
    """One broadcast domain of a capture: the capture interface, and inside it the
    VLAN stack (outermost first) and, for ``tcpdump -i any`` captures, the Linux
    interface index."""

    interface: int = 0
    vlans: tuple[int, ...] = ()
    ifindex: int | None = None

    def __post_init__(self) -> None:
        if self.interface < 0:
            raise ValueError(f"capture interface index must be >= 0, not {self.interface}")
        for vid in self.vlans:
            if not 0 <= vid <= 4095:
                raise ValueError(f"VLAN ID must be 0..4095, not {vid}")

    @classmethod
    def from_key(cls, interface: int, key: tuple[int, ...]) -> Segment:
        """Build a segment from a capture interface and a :class:`Located` key."""
        ifindex = None
        if key and key[0] < 0:
            ifindex = -key[0] - 1
            key = key[1:]
        return cls(interface, tuple(key), ifindex)

    @property
    def vlan(self) -> int | None:
        """The innermost VLAN ID (the customer VLAN in QinQ), or None."""
        return self.vlans[-1] if self.vlans else None

    def __str__(self) -> str:
        text = f"if{self.interface}"
        if self.ifindex is not None:
            text += f" ifindex {self.ifindex}"
        if self.vlans:
            text += " vlan " + ".".join(str(v) for v in self.vlans)
        return text

    def to_json(self) -> dict[str, object]:
        return {"name": str(self), "interface": self.interface, "vlans": list(self.vlans),
                "ifindex": self.ifindex}


def unknown_linktype_finding(linktype: int, frame: int, offset: int | None,
                             frames: int | None = None) -> Finding:
    """``capture-unknown-linktype``: frames of a link type mdiag does not read were
    skipped (``frames`` of them when the count is known), the first at ``frame``."""
    where = f"frame {frame}" + (f", byte offset {offset}" if offset is not None else "")
    count = f"its {frames:,} frames were skipped" if frames is not None else "its frames were skipped"
    return Finding(
        "capture-unknown-linktype", Severity.WARNING,
        f"link type {linktype} is not one mdiag reads (it reads "
        + ", ".join(f"{n} {name}" for n, name in sorted(LINKTYPE_NAMES.items()))
        + f"); {count} (first: {where})",
        None, offset, None, frame, {"linktype": linktype, "file_offset": offset}
        | ({"frames": frames} if frames is not None else {}))
