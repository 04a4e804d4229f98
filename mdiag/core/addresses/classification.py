"""Classify a multicast group: registry block, scope, well-known name, consequence.

IPv4 against RFC 5771 and friends (see :mod:`mdiag.core.addresses.registry`); IPv6
by scope nibble and flags (RFC 4291 2.7), with the unicast prefix (RFC 3306) or
embedded RP address (RFC 3956) it carries.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass, field
from typing import Any

from mdiag.core.addresses import registry as reg
from mdiag.core.addresses.group import Group, IPv4Group, IPv6Group, as_group, format_ipv4
from mdiag.core.addresses.mac import LOW23, Mac, multicast_mac

FLOODED_ALIAS_CONSEQUENCE = "shares its MAC with {base}: snooping switches flood it to every port"


@dataclass(frozen=True, slots=True)
class Classification:
    """Everything the registry says about one group.

    ``scope`` is the coarse scope (link-local, global, admin-scoped; IPv6 adds
    interface-local and reserved); ``sub_scope`` the RFC 2365 sub-scope or the IPv6
    scope name; ``facts`` short human sentences; ``details`` the same facts as
    JSON-ready values.
    """

    group: Group
    block: str
    block_key: str
    block_range: str
    rfc: str
    scope: str
    sub_scope: str | None
    name: str | None
    mac: Mac
    consequences: tuple[str, ...]
    facts: tuple[str, ...] = ()
    details: dict[str, Any] = field(default_factory=dict, compare=False, hash=False)
    #: the block as exact CIDRs (one for most blocks; GLOP needs six)
    block_cidrs: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if not self.consequences:
            raise ValueError("a classification needs at least one consequence")

    @property
    def consequence(self) -> str:
        return "; ".join(self.consequences)

    @property
    def version(self) -> int:
        return self.group.version

    def to_json(self) -> dict[str, Any]:
        return {
            "group": str(self.group),
            "version": self.group.version,
            "block": self.block,
            "block_key": self.block_key,
            "block_range": self.block_range,
            "block_cidrs": list(self.block_cidrs or (self.block_range,)),
            "rfc": self.rfc,
            "scope": self.scope,
            "sub_scope": self.sub_scope,
            "name": self.name,
            "mac": str(self.mac),
            "consequence": self.consequence,
            "facts": list(self.facts),
            "details": dict(self.details),
        }


def is_ssm(addr: object) -> bool:
    """True for IPv4 232.0.0.0/8 and IPv6 ff3x::/32 (RFC 4607 1)."""
    if isinstance(addr, int) and not isinstance(addr, bool) and 0 <= addr <= 0xFFFFFFFF:
        return addr >> 24 == 232
    group = as_group(addr)
    if isinstance(group, IPv4Group):
        return group.value >> 24 == 232
    return group.value >> 116 == 0xFF3 and (group.value >> 96) & 0xFFFF == 0


def is_link_local(addr: object) -> bool:
    """True for 224.0.0.0/24 (RFC 5771 4) and IPv6 link/interface-local scopes (RFC 4291 2.7):
    groups that are never routed and that snooping switches flood."""
    if isinstance(addr, int) and not isinstance(addr, bool) and 0 <= addr <= 0xFFFFFFFF:
        return addr >> 8 == 0xE00000
    group = as_group(addr)
    if isinstance(group, IPv4Group):
        return group.value >> 8 == 0xE00000
    return group.scope in (0x1, 0x2)


def is_admin_scoped(addr: object) -> bool:
    """True for 239.0.0.0/8 (RFC 2365) and IPv6 scopes 3-8."""
    group = as_group(addr)
    if isinstance(group, IPv4Group):
        return group.value >> 24 == 239
    return 0x3 <= group.scope <= 0x8


def classify(addr: object) -> Classification:
    """Classify an IPv4 or IPv6 multicast group (text, int, ipaddress object or Group)."""
    group = as_group(addr)
    if isinstance(group, IPv4Group):
        return _classify_v4(group)
    return _classify_v6(group)


def _classify_v4(group: IPv4Group) -> Classification:
    value = group.value
    block = reg.block_of(value)
    facts: list[str] = []
    details: dict[str, Any] = {}
    consequences = [block.consequence]

    name = reg.IPV4_WELL_KNOWN.get(value)
    sub_scope: str | None = None
    o2, o3, o4 = (value >> 16) & 255, (value >> 8) & 255, value & 255

    if block.key == "glop":
        asn = o2 << 8 | o3
        facts.append(f"GLOP: AS {asn} owns 233.{o2}.{o3}.0/24")
        details["glop_as"] = asn
    elif block.key == "unicast-prefix":
        prefix = f"{o2}.{o3}.{o4}.0/24"
        facts.append(f"unicast prefix {prefix} (or group {o4} of {o2}.{o3}.0.0/16)")
        details["unicast_prefix"] = prefix
    elif block.key == "sdp-sap" and reg.SAP_DYNAMIC[0] <= value <= reg.SAP_DYNAMIC[1]:
        facts.append("SAP dynamic assignments 224.2.128.0/17")
        details["sap_dynamic"] = True
    elif block.key == "ad-hoc-3" and reg.MCAST_TEST_NET[0] <= value <= reg.MCAST_TEST_NET[1]:
        name = name or "MCAST-TEST-NET (documentation)"
        consequences = ["for documentation only (RFC 5771, RFC 6676): never use it on a network"]
        details["documentation"] = True
    elif block.key == "admin-scoped":
        scope = reg.subscope_of(value)
        assert scope is not None
        sub_scope = scope.key
        details["sub_scope_name"] = scope.name
        details["sub_scope_range"] = scope.range_text
        if scope.relative and scope.last - value < 256:
            offset = scope.last - value
            relative = reg.RELATIVE_NAMES.get(offset)
            details["relative_offset"] = offset
            if relative:
                details["relative_name"] = relative
                name = name or f"{relative} ({scope.name})"
                facts.append(f"scope-relative address {offset}: {relative}")
            else:
                facts.append(f"scope-relative address {offset} (reserved for scope-relative assignments)")
        if scope.key == "local-expansion":
            consequences.append("kept for Local Scope growth: RFC 2365 says not to use it before 239.255/16 is full")

    low23 = value & LOW23
    if low23 < 0x100 and block.key != "local-network-control":
        base = format_ipv4(0xE0000000 | low23)
        consequences.append(FLOODED_ALIAS_CONSEQUENCE.format(base=base))
        details["flooded_alias_of"] = base
    return Classification(
        group=group, block=block.name, block_key=block.key, block_range=block.range_text, rfc=block.rfc,
        scope=block.scope, sub_scope=sub_scope, name=name, mac=multicast_mac(group),
        consequences=tuple(consequences), facts=tuple(facts), details=details, block_cidrs=block.cidrs,
    )


def _classify_v6(group: IPv6Group) -> Classification:
    value = group.value
    flags, scope_nibble = group.flags, group.scope
    r_flag, p_flag, t_flag = bool(flags & 4), bool(flags & 2), bool(flags & 1)
    scope_name = reg.ipv6_scope_name(scope_nibble)
    coarse = reg.ipv6_coarse_scope(scope_nibble)
    facts: list[str] = ["flags " + ("".join(f for f, on in (("R", r_flag), ("P", p_flag), ("T", t_flag)) if on) or "none")
                        + (" (transient)" if t_flag else " (permanent, IANA-assigned)")]
    details: dict[str, Any] = {"scope_nibble": scope_nibble, "scope_name": scope_name,
                               "flags": {"R": r_flag, "P": p_flag, "T": t_flag}}
    if flags & 8:
        facts.append("high flag bit set (reserved, RFC 4291 2.7)")
    name = reg.IPV6_WELL_KNOWN.get(value)
    group_id = value & ((1 << 112) - 1)
    if name is None and flags == 0 and group_id in reg.IPV6_VARIABLE_SCOPE:
        name = f"{reg.IPV6_VARIABLE_SCOPE[group_id]} ({scope_name})"
    block, key, brange, rfc = "IPv6 multicast", "ipv6", "ff00::/8", "RFC 4291 2.7"
    consequences: list[str] = []

    plen = (value >> 96) & 0xFF
    if value >> 24 == reg.SOLICITED_NODE_PREFIX >> 24:
        block, key, brange = "Solicited-node", "ipv6-solicited-node", "ff02::1:ff00:0/104"
        name = name or "solicited-node (neighbor discovery)"
        facts.append(f"solicited-node for addresses ending in ..{(value >> 16) & 0xFF:02x}:{value & 0xFFFF:04x}")
    if p_flag and not r_flag:
        reserved = (value >> 104) & 0xFF
        prefix_bits = (value >> 32) & ((1 << 64) - 1)
        if plen == 0 and prefix_bits == 0 and reserved == 0:
            block, key, brange, rfc = "Source-Specific Multicast", "ipv6-ssm", "ff3x::/32", "RFC 4607 1"
            consequences.append("needs an MLDv2 source-specific (S,G) join; any-source joins are ignored")
        elif 0 < plen <= 64:
            network = ipaddress.IPv6Network(((prefix_bits >> (64 - plen)) << (128 - plen), plen))
            block, key, brange, rfc = "Unicast-Prefix-based", "ipv6-unicast-prefix", "ff30::/12", "RFC 3306"
            facts.append(f"unicast prefix {network}, group id 0x{value & 0xFFFFFFFF:x}")
            details["unicast_prefix"] = str(network)
        else:
            facts.append(f"P flag set but prefix length {plen} is invalid (RFC 3306: 1-64, or 0 for SSM)")
    if r_flag:
        riid = (value >> 104) & 0xF
        prefix_bits = (value >> 32) & ((1 << 64) - 1)
        block, key, brange, rfc = "Embedded-RP", "ipv6-embedded-rp", "ff70::/12", "RFC 3956"
        if p_flag and 0 < plen <= 64:
            prefix = (prefix_bits >> (64 - plen)) << (128 - plen)
            rp = ipaddress.IPv6Address(prefix | riid)
            facts.append(f"embedded RP {rp} (prefix /{plen}, RIID {riid})")
            details["rp"] = str(rp)
            consequences.append(f"any-source via the embedded RP {rp}")
        else:
            facts.append(f"R flag set without a valid P flag / prefix length {plen} (RFC 3956)")

    if value & 0xFFFFFFFF == 1 and scope_nibble not in (0x1, 0x2):
        consequences.append("shares 33:33:00:00:00:01 with ff02::1 (all nodes): every port receives it")
        details["flooded_alias_of"] = "ff02::1"
    if scope_nibble == 0x1:
        consequences.insert(0, "stays on the host (loopback only)")
    elif scope_nibble == 0x2:
        consequences.insert(0, "never routed; MLD snooping switches may flood it to every port")
    elif scope_nibble in (0x0, 0xF):
        consequences.insert(0, "reserved scope: must not be used (RFC 4291 2.7)")
    elif coarse == reg.ADMIN_SCOPED:
        consequences.insert(0, f"routed only inside the {scope_name} scope boundary")
    elif scope_name == "unassigned":
        consequences.insert(0, "unassigned scope: routers treat it as a scope boundary they may not know")
    else:
        consequences.insert(0, "routed globally")
    return Classification(
        group=group, block=block, block_key=key, block_range=brange, rfc=rfc, scope=coarse,
        sub_scope=scope_name, name=name, mac=multicast_mac(group), consequences=tuple(consequences),
        facts=tuple(facts), details=details,
    )


__all__ = ["Classification", "classify", "is_admin_scoped", "is_link_local", "is_ssm"]
