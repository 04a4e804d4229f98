"""Multicast group to Ethernet MAC mapping, the 32:1 aliases and reverse lookup.

IPv4 (RFC 1112 section 6.4): 01:00:5e, a zero bit, then the low 23 bits of the
group. The 5 high-order bits after the 1110 prefix are lost, so 32 groups share
each MAC. IPv6 (RFC 2464 section 7): 33:33 followed by the low 32 bits.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from mdiag.core.addresses.group import (
    IPV4_MULTICAST_FIRST,
    AddressError,
    Group,
    IPv4Group,
    as_group,
    ipv4_value,
)

#: 01:00:5e:00:00:00 as a 48-bit integer; IPv4 multicast MACs are this | low23.
IPV4_MAC_BASE = 0x01005E000000
#: 33:33:00:00:00:00; IPv6 multicast MACs are this | low32.
IPV6_MAC_BASE = 0x333300000000
#: Groups per IPv4 multicast MAC.
ALIASES_PER_MAC = 32
LOW23 = 0x7FFFFF


class MacError(AddressError):
    """The text is not a usable MAC address."""


@dataclass(frozen=True, slots=True, order=True)
class Mac:
    """A 48-bit Ethernet address; ``str()`` is lower-case colon form."""

    value: int

    def __post_init__(self) -> None:
        if not isinstance(self.value, int) or not 0 <= self.value < 1 << 48:
            raise MacError(f"{self.value!r} is not a 48-bit MAC address")

    @classmethod
    def parse(cls, text: str) -> Mac:
        """Accepts 01:00:5e:00:40:20, 01-00-5E-00-40-20, 0100.5e00.4020 and 01005e004020."""
        raw = text.strip()
        digits = raw.replace(":", "").replace("-", "").replace(".", "")
        if ":" in raw or "-" in raw:
            sep = ":" if ":" in raw else "-"
            parts = raw.split(sep)
            if len(parts) != 6 or any(len(p) not in (1, 2) for p in parts):
                raise MacError(f"{raw!r} is not a MAC address (expected six hex pairs like 01:00:5e:00:40:20)")
            digits = "".join(p.rjust(2, "0") for p in parts)
        elif "." in raw:
            parts = raw.split(".")
            if len(parts) != 3 or any(len(p) != 4 for p in parts):
                raise MacError(f"{raw!r} is not a MAC address (Cisco form is 0100.5e00.4020)")
        if len(digits) != 12:
            raise MacError(f"{raw!r} is not a MAC address (needs 12 hex digits, got {len(digits)})")
        try:
            return cls(int(digits, 16))
        except ValueError:
            bad = next(c for c in digits if c not in "0123456789abcdefABCDEF")
            raise MacError(f"{raw!r} is not a MAC address ({bad!r} is not a hex digit)") from None

    def __str__(self) -> str:
        v = self.value
        return ":".join(f"{(v >> shift) & 255:02x}" for shift in range(40, -8, -8))

    def __repr__(self) -> str:
        return f"Mac('{self}')"

    @property
    def packed(self) -> bytes:
        return self.value.to_bytes(6, "big")

    @property
    def is_multicast(self) -> bool:
        """The I/G bit (least significant bit of the first octet)."""
        return bool((self.value >> 40) & 1)

    @property
    def is_ipv4_multicast(self) -> bool:
        """01:00:5e:00:00:00 - 01:00:5e:7f:ff:ff (RFC 1112 6.4)."""
        return self.value >> 23 == IPV4_MAC_BASE >> 23

    @property
    def is_ipv6_multicast(self) -> bool:
        """33:33:xx:xx:xx:xx (RFC 2464 7)."""
        return self.value >> 32 == 0x3333


def ipv4_mac_value(addr: object) -> int:
    """The MAC of an IPv4 group as a 48-bit integer (no validation of multicast-ness)."""
    return IPV4_MAC_BASE | (ipv4_value(addr) & LOW23)


def multicast_mac(addr: object) -> Mac:
    """The Ethernet MAC a group is sent to (IPv4: 01:00:5e + low 23 bits; IPv6: 33:33 + low 32)."""
    group = as_group(addr)
    if isinstance(group, IPv4Group):
        return Mac(IPV4_MAC_BASE | (group.value & LOW23))
    return Mac(IPV6_MAC_BASE | (group.value & 0xFFFFFFFF))


def alias_values(low23: int) -> range:
    """The 32 IPv4 group values whose MAC keeps ``low23`` (ascending)."""
    return range(IPV4_MULTICAST_FIRST | low23, 0xF0000000, 1 << 23)


def aliases(addr: object) -> tuple[IPv4Group, ...]:
    """All 32 IPv4 groups sharing the group's MAC, ascending, the group itself included."""
    group = as_group(addr)
    if not isinstance(group, IPv4Group):
        raise AddressError(f"{group} is IPv6: a 33:33 MAC is shared by 2**88 groups, there is no alias list")
    return tuple(IPv4Group(v) for v in alias_values(group.value & LOW23))


def groups_for_mac(mac: Mac | str | int) -> tuple[IPv4Group, ...]:
    """The 32 IPv4 groups behind an 01:00:5e MAC (reverse lookup), ascending."""
    if isinstance(mac, str):
        mac = Mac.parse(mac)
    elif isinstance(mac, int):
        mac = Mac(mac)
    if not mac.is_multicast:
        raise MacError(f"{mac} is not a multicast MAC (the I/G bit, the lowest bit of the first octet, is 0)")
    if mac.is_ipv6_multicast:
        raise MacError(f"{mac} is an IPv6 multicast MAC (33:33): it stands for every ffXX:...:"
                       f"{ipv6_low32_text(mac.value)} group, not a list of IPv4 groups")
    if not mac.is_ipv4_multicast:
        if mac.value >> 24 == IPV4_MAC_BASE >> 24:
            raise MacError(f"{mac} is outside the IPv4 multicast range 01:00:5e:00:00:00-01:00:5e:7f:ff:ff "
                           "(the bit after 01:00:5e must be 0)")
        raise MacError(f"{mac} is multicast but not an IP multicast MAC (IPv4 uses 01:00:5e, IPv6 33:33)")
    return tuple(IPv4Group(v) for v in alias_values(mac.value & LOW23))


def ipv6_low32_text(mac_value: int) -> str:
    """The low 32 bits of a 33:33 MAC written as the last two IPv6 hextets."""
    low = mac_value & 0xFFFFFFFF
    return f"{low >> 16:x}:{low & 0xFFFF:x}"


def is_flooded_alias(addr: object) -> bool:
    """True when the group's MAC equals that of a 224.0.0.x group (x.0.0.y, x.128.0.y),
    excluding 224.0.0.0/24 itself: snooping switches flood these to every port (RFC 4541 2.1.2)."""
    value = ipv4_value(addr)
    return value & LOW23 < 0x100 and value >> 8 != 0xE00000


def shared_macs(groups: Iterable[object]) -> dict[Mac, tuple[Group, ...]]:
    """For a small collection of groups, every MAC used by two or more distinct groups."""
    by_mac: dict[Mac, set[Group]] = {}
    for item in groups:
        group = as_group(item)
        by_mac.setdefault(multicast_mac(group), set()).add(group)
    return {mac: tuple(sorted(members, key=lambda g: g.value))
            for mac, members in sorted(by_mac.items()) if len(members) > 1}


__all__ = [
    "ALIASES_PER_MAC", "IPV4_MAC_BASE", "IPV6_MAC_BASE", "Mac", "MacError", "aliases", "alias_values",
    "groups_for_mac", "ipv4_mac_value", "is_flooded_alias", "multicast_mac", "shared_macs",
]
