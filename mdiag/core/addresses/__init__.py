"""Multicast addresses: value types, MAC mapping, IANA classification, plans and audits.

Pure (no I/O). The public API other modules rely on::

    parse_group("239.1.2.3")            -> IPv4Group / IPv6Group (AddressError: one clear line)
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

from typing import TYPE_CHECKING, Any

# Names load on first use (PEP 562) so `mdiag mac` pays only for the modules it touches.
_EXPORTS: dict[str, str] = {
    "Classification": "classify", "classify": "classify", "is_admin_scoped": "classify",
    "is_link_local": "classify", "is_ssm": "classify",
    "AddressError": "group", "Group": "group", "IPv4Group": "group", "IPv6Group": "group",
    "as_group": "group", "format_ipv4": "group", "is_ipv4_multicast": "group", "parse_group": "group",
    "parse_ipv4": "group",
    "Mac": "mac", "MacError": "mac", "aliases": "mac", "groups_for_mac": "mac", "is_flooded_alias": "mac",
    "multicast_mac": "mac", "shared_macs": "mac",
}

__all__ = sorted(_EXPORTS)

if TYPE_CHECKING:
    from mdiag.core.addresses.classify import (
        Classification,
        classify,
        is_admin_scoped,
        is_link_local,
        is_ssm,
    )
    from mdiag.core.addresses.group import (
        AddressError,
        Group,
        IPv4Group,
        IPv6Group,
        as_group,
        format_ipv4,
        is_ipv4_multicast,
        parse_group,
        parse_ipv4,
    )
    from mdiag.core.addresses.mac import (
        Mac,
        MacError,
        aliases,
        groups_for_mac,
        is_flooded_alias,
        multicast_mac,
        shared_macs,
    )


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
