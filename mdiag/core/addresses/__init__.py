"""Multicast addresses: value types, MAC mapping, IANA classification, plans and audits.

Pure (no I/O). The public API other modules rely on::

    parse_group("239.1.2.3")            -> IPv4Group / IPv6Group (AddressError: one clear line)
    parse_group_list(["ff3e::1-ff3e::9"], iface="lab0") -> (groups, error lines); IPv4 or IPv6,
                                           link-local IPv6 groups need the interface (RFC 4007)
    parse_source_list(["fd00::1"])      -> (unicast sources, error lines)
    multicast_mac(addr)                 -> Mac           (01:00:5e + low 23 bits; 33:33 + low 32)
    aliases(addr)                       -> 32 IPv4Groups sharing the MAC (itself included)
    groups_for_mac("01:00:5e:00:40:20") -> the 32 IPv4Groups behind a MAC
    classify(addr)                      -> Classification (block, scope, name, consequence, ...)
    is_ssm(addr), is_link_local(addr), is_flooded_alias(addr), is_admin_scoped(addr)
    shared_macs(groups)                 -> {Mac: (groups...)} for MACs used by 2+ groups

``addr`` may be text, an int (IPv4 when < 2**32), packed bytes, an ``ipaddress``
object or a group value; the int path of the ``is_*`` helpers is allocation-free
for per-packet use.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

# Names load on first use (PEP 562) so `mdiag mac` pays only for the modules it touches.
_EXPORTS: dict[str, str] = {
    "Classification": "classification", "classify": "classification", "is_admin_scoped": "classification",
    "is_link_local": "classification", "is_ssm": "classification",
    "AddressError": "group", "Group": "group", "IPv4Group": "group", "IPv6Group": "group",
    "as_group": "group", "format_ipv4": "group", "is_ipv4_multicast": "group", "parse_group": "group",
    "parse_ipv4": "group", "parse_group_list": "lists", "parse_source_list": "lists",
    "Mac": "mac", "MacError": "mac", "aliases": "mac", "groups_for_mac": "mac", "is_flooded_alias": "mac",
    "multicast_mac": "mac", "shared_macs": "mac",
}

__all__ = [
    "AddressError",
    "Classification",
    "Group",
    "IPv4Group",
    "IPv6Group",
    "Mac",
    "MacError",
    "aliases",
    "as_group",
    "classify",
    "format_ipv4",
    "groups_for_mac",
    "is_admin_scoped",
    "is_flooded_alias",
    "is_ipv4_multicast",
    "is_link_local",
    "is_ssm",
    "multicast_mac",
    "parse_group",
    "parse_group_list",
    "parse_ipv4",
    "parse_source_list",
    "shared_macs",
]

if TYPE_CHECKING:  # explicit re-exports for type checkers; at run time names load lazily
    from mdiag.core.addresses.classification import Classification as Classification
    from mdiag.core.addresses.classification import classify as classify
    from mdiag.core.addresses.classification import is_admin_scoped as is_admin_scoped
    from mdiag.core.addresses.classification import is_link_local as is_link_local
    from mdiag.core.addresses.classification import is_ssm as is_ssm
    from mdiag.core.addresses.group import AddressError as AddressError
    from mdiag.core.addresses.group import Group as Group
    from mdiag.core.addresses.group import IPv4Group as IPv4Group
    from mdiag.core.addresses.group import IPv6Group as IPv6Group
    from mdiag.core.addresses.group import as_group as as_group
    from mdiag.core.addresses.group import format_ipv4 as format_ipv4
    from mdiag.core.addresses.group import is_ipv4_multicast as is_ipv4_multicast
    from mdiag.core.addresses.group import parse_group as parse_group
    from mdiag.core.addresses.group import parse_ipv4 as parse_ipv4
    from mdiag.core.addresses.lists import parse_group_list as parse_group_list
    from mdiag.core.addresses.lists import parse_source_list as parse_source_list
    from mdiag.core.addresses.mac import Mac as Mac
    from mdiag.core.addresses.mac import MacError as MacError
    from mdiag.core.addresses.mac import aliases as aliases
    from mdiag.core.addresses.mac import groups_for_mac as groups_for_mac
    from mdiag.core.addresses.mac import is_flooded_alias as is_flooded_alias
    from mdiag.core.addresses.mac import multicast_mac as multicast_mac
    from mdiag.core.addresses.mac import shared_macs as shared_macs


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'mdiag.core.addresses' has no attribute {name!r}")
    import importlib

    value = getattr(importlib.import_module(f"mdiag.core.addresses.{module}"), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_EXPORTS))
