"""Group and source lists as users type them: ``G``, ``G1,G2``, ``FIRST-LAST``, IPv4 or IPv6.

The one text parser every host-side and active command uses for its GROUP arguments and
``--source`` values. Pure: no sockets, no interface lookups.

* Groups: IPv4 224.0.0.0/4 (RFC 5771) or IPv6 ff00::/8 (RFC 4291 2.7), strict text (see
  :func:`mdiag.core.addresses.group.parse_ipv4`; IPv6 via :mod:`ipaddress`), written back in
  canonical form (``ff3e:0::8000:1`` -> ``ff3e::8000:1``) so one group is one string.
* IPv6 interface- and link-local groups (scopes 1 and 2) exist once per link: they need the
  interface (RFC 4007 6). The interface comes from the command (``--iface``) or a zone
  (``ff02::42%lab0``); a zone naming another interface than ``--iface`` is refused.
* Sources (RFC 4607 SSM; MLDv2 RFC 3810 5.2.12): unicast senders of either family; IPv4
  ``0/8``, multicast and broadcast and IPv6 ``::``, multicast and IPv4-mapped are refused.

Each bad item gets its own error line; good ones are kept in order, without duplicates.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Sequence

from mdiag.core.addresses.group import (
    AddressError,
    format_ipv4,
    is_ipv4_multicast,
    parse_ipv4,
)
from mdiag.errors import InputError

#: Largest range one GROUP argument may expand to.
MAX_RANGE = 65536
#: IPv6 multicast scopes that exist per interface or link (RFC 4291 2.7, RFC 4007 6).
IPV6_ZONED_SCOPES = (0x1, 0x2)


def address_family(text: str) -> int:
    """4 or 6, by the text's shape (a colon means IPv6); no validation."""
    return 6 if ":" in text else 4


def split_zone(text: str) -> tuple[str, str | None]:
    """``("ff02::42", "lab0")`` for ``ff02::42%lab0``; the zone is None when absent."""
    address, sep, zone = text.partition("%")
    if sep and not zone:
        raise AddressError(f"{text!r} has an empty zone: write ADDRESS%IFACE or leave out the '%'")
    return address, (zone if sep else None)


def parse_ipv6(text: str) -> int:
    """Parse IPv6 text (no zone) into a 128-bit integer, or :class:`AddressError` saying why."""
    raw = text.strip()
    if not raw:
        raise AddressError("empty address")
    if "/" in raw:
        raise AddressError(f"{raw!r} is a block, not one address ('mdiag collisions' audits blocks)")
    try:
        return int(ipaddress.IPv6Address(raw))
    except ValueError as exc:
        raise AddressError(f"{raw!r} is not an address ({exc})") from None


def format_ipv6(value: int) -> str:
    """RFC 5952 canonical text of a 128-bit integer."""
    return str(ipaddress.IPv6Address(value))


def is_ipv6_multicast(value: int) -> bool:
    """True for ff00::/8 (RFC 4291 2.7)."""
    return value >> 120 == 0xFF


def needs_zone(value: int) -> bool:
    """True for an IPv6 multicast group of interface-local or link-local scope."""
    return is_ipv6_multicast(value) and (value >> 112) & 0xF in IPV6_ZONED_SCOPES


def _expand(item: str, first: int, last: int, family: int) -> range:
    """The groups of the range ``item`` (first..last): both ends multicast, at most MAX_RANGE."""
    if last < first:
        raise InputError(f"range {item}: the last address is below the first")
    multicast, fmt, rule = ((is_ipv6_multicast, format_ipv6, "IPv6 multicast is ff00::/8") if family == 6
                            else (is_ipv4_multicast, format_ipv4, "IPv4 multicast is 224.0.0.0/4"))
    for value in (first, last):
        if not multicast(value):
            raise InputError(f"range {item}: {fmt(value)} is not multicast ({rule})")
    if last - first + 1 > MAX_RANGE:
        raise InputError(f"range {item} has {last - first + 1} groups, more than {MAX_RANGE}")
    return range(first, last + 1)


def _zone_for(item: str, zone: str | None, iface: str | None) -> str | None:
    """The zone to keep in the text (only when no ``iface`` is given); checks agreement."""
    if zone is not None and iface is not None and zone != iface:
        raise InputError(f"{item}: the zone %{zone} is not --iface {iface}; a link-local group "
                         "is joined on the interface given with --iface")
    return zone if iface is None else None


def _v6_item(item: str, *, allow_unicast: bool, iface: str | None, hint: str) -> tuple[Sequence[int], str | None]:
    address, zone = split_zone(item)
    values: Sequence[int]
    if "-" in address:
        first_text, last_text = address.split("-", 1)
        if ":" not in last_text:
            raise InputError(f"range {item} mixes IPv6 and IPv4 addresses")
        values = _expand(item, parse_ipv6(first_text), parse_ipv6(last_text), 6)
    else:
        value = parse_ipv6(address)
        if not is_ipv6_multicast(value) and not allow_unicast:
            raise InputError(f"{item} is not a multicast group (IPv6 multicast is ff00::/8{hint})")
        values = [value]
    if needs_zone(values[0]) or needs_zone(values[-1]):
        if zone is None and iface is None:
            raise InputError(f"{item} is a link-local group: name its interface ({address}%IFACE "
                             "or --iface IFACE)")
    elif zone is not None:
        raise InputError(f"{item}: only interface- and link-local groups (ff01::/16, ff02::/16) "
                         "take a %zone; leave it out")
    return values, _zone_for(item, zone, iface)


def parse_group_list(texts: list[str], *, allow_unicast: bool = False, hint: str = "",
                     iface: str | None = None) -> tuple[list[str], list[str]]:
    """Expand ``G``, ``G1,G2`` and ``FIRST-LAST`` (IPv4 or IPv6); returns (groups, error lines).

    ``allow_unicast`` also accepts single non-multicast addresses (baselines); ``hint`` ends
    the line for a unicast address (what the calling command offers instead). ``iface`` is the
    interface the command acts on: IPv6 link-local groups then need no zone (and are returned
    without one); without it they must carry ``%IFACE``, which is kept in the text.
    """
    groups: list[str] = []
    seen: set[str] = set()
    errors: list[str] = []

    def add(text: str) -> None:
        if text not in seen:
            seen.add(text)
            groups.append(text)

    for text in texts:
        for item in (p.strip() for p in text.split(",")):
            if not item:
                continue
            try:
                if address_family(item) == 6:
                    values, zone = _v6_item(item, allow_unicast=allow_unicast, iface=iface, hint=hint)
                    suffix = f"%{zone}" if zone else ""
                    for value in values:
                        add(format_ipv6(value) + suffix)
                elif "-" in item:
                    first_text, last_text = item.split("-", 1)
                    for value in _expand(item, parse_ipv4(first_text), parse_ipv4(last_text), 4):
                        add(format_ipv4(value))
                else:
                    value = parse_ipv4(item)
                    if not is_ipv4_multicast(value) and not allow_unicast:
                        raise InputError(f"{item} is not a multicast group (IPv4 multicast is 224.0.0.0/4{hint})")
                    add(format_ipv4(value))
            except (AddressError, InputError) as exc:
                errors.append(exc.message if item in exc.message else f"{item}: {exc.message}")
    return groups, errors


def parse_source(item: str) -> str:
    """One unicast sender address (IPv4 or IPv6) in canonical text, or InputError saying why."""
    if address_family(item) == 6:
        address, _zone = split_zone(item)  # a source is matched by address; the zone adds nothing
        value = parse_ipv6(address)
        if is_ipv6_multicast(value):
            raise InputError(f"{item} is a multicast address; a source is a sender's unicast address")
        if value == 0:
            raise InputError(f"{item} is the unspecified address; a source is a sender's unicast address")
        if value >> 32 == 0xFFFF:
            raise InputError(f"{item} is an IPv4-mapped address: give the IPv4 source "
                             f"{format_ipv4(value & 0xFFFFFFFF)} with an IPv4 group")
        return format_ipv6(value)
    value = parse_ipv4(item)
    if is_ipv4_multicast(value) or value >> 24 == 0 or value == 0xFFFFFFFF:
        raise InputError(f"{item} is not a unicast sender address")
    return format_ipv4(value)


def parse_source_list(texts: list[str]) -> tuple[list[str], list[str]]:
    """Unicast SSM sources from repeatable, comma-separated values; returns (sources, errors)."""
    sources: list[str] = []
    errors: list[str] = []
    for text in texts:
        for item in (p.strip() for p in text.split(",")):
            if not item:
                continue
            try:
                source = parse_source(item)
            except (AddressError, InputError) as exc:
                message = exc.message
                errors.append(f"--source {message}" if message.startswith(item) else f"--source {item}: {message}")
                continue
            if source not in sources:
                sources.append(source)
    return sources, errors


def sources_for(group: str, sources: list[str]) -> list[str]:
    """The sources of ``group``'s address family (an IPv4 group cannot have an IPv6 sender)."""
    family = address_family(group)
    return [s for s in sources if address_family(s) == family]


__all__ = [
    "MAX_RANGE", "address_family", "format_ipv6", "is_ipv6_multicast", "needs_zone", "parse_group_list",
    "parse_ipv6", "parse_source", "parse_source_list", "sources_for", "split_zone",
]
