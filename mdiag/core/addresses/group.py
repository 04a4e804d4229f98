"""Multicast group value types and parsing with precise one-line error messages.

IPv4 multicast is 224.0.0.0/4 (RFC 5771 section 1); IPv6 multicast is ff00::/8
(RFC 4291 section 2.7). Parsing never guesses: ``239.1.1`` is not an address (the
C library would read it as 239.1.0.1), leading zeros are refused (``010`` would be
octal to ``inet_aton``), and every refusal says which rule was broken.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from mdiag.errors import InputError

if TYPE_CHECKING:
    from mdiag.core.addresses.mac import Mac

#: 224.0.0.0/4 as integers.
IPV4_MULTICAST_FIRST = 0xE0000000
IPV4_MULTICAST_LAST = 0xEFFFFFFF


class AddressError(InputError, ValueError):
    """The text is not a valid multicast address (the message says why)."""


def parse_ipv4(text: str) -> int:
    """Parse a dotted-quad IPv4 address strictly into an integer.

    Raises :class:`AddressError` naming the broken rule: four decimal octets,
    each 0-255, no leading zeros, nothing else.
    """
    parts = text.split(".")
    if len(parts) == 4 and all(p.isdigit() and p.isascii() and len(p) <= 3 and (p[0] != "0" or len(p) == 1)
                               for p in parts):
        a, b, c, d = (int(p) for p in parts)
        if a <= 255 and b <= 255 and c <= 255 and d <= 255:  # fast path: plans hold thousands
            return a << 24 | b << 16 | c << 8 | d
    raw = text.strip()
    if not raw:
        raise AddressError("empty address")
    if "/" in raw or "-" in raw.strip("-"):
        raise AddressError(f"{raw!r} is a block or range, not one address "
                           "('mdiag collisions' audits ranges and CIDRs)")
    parts = raw.split(".")
    if len(parts) != 4:
        raise AddressError(f"{raw!r} is not an address (IPv4 needs four dotted octets, got {len(parts)})")
    value = 0
    for index, part in enumerate(parts, 1):
        if not part:
            raise AddressError(f"{raw!r} is not an address (octet {index} is empty)")
        if not part.isascii() or not part.isdigit():
            raise AddressError(f"{raw!r} is not an address (octet {index} {part!r} is not a decimal number)")
        if len(part) > 1 and part[0] == "0":
            raise AddressError(f"{raw!r} is not an address (octet {index} {part!r} has a leading zero)")
        octet = int(part)
        if octet > 255:
            raise AddressError(f"{raw!r} is not an address (octet {octet} out of range 0-255)")
        value = (value << 8) | octet
    return value


def format_ipv4(value: int) -> str:
    """Dotted-quad text of a 32-bit integer."""
    return f"{value >> 24 & 255}.{value >> 16 & 255}.{value >> 8 & 255}.{value & 255}"


def is_ipv4_multicast(value: int) -> bool:
    """True for 224.0.0.0/4 (RFC 5771)."""
    return IPV4_MULTICAST_FIRST <= value <= IPV4_MULTICAST_LAST


@dataclass(frozen=True, slots=True, order=True)
class IPv4Group:
    """An IPv4 multicast group (224.0.0.0/4), stored as a 32-bit integer.

    Ordered and hashable; ``str()`` is the dotted quad.
    """

    value: int

    def __post_init__(self) -> None:
        if not isinstance(self.value, int) or isinstance(self.value, bool):
            raise AddressError(f"group value must be an integer, not {type(self.value).__name__}")
        if not is_ipv4_multicast(self.value):
            if 0 <= self.value <= 0xFFFFFFFF:
                raise AddressError(f"{format_ipv4(self.value)} is not multicast (IPv4 multicast is 224.0.0.0/4)")
            raise AddressError(f"{self.value} is not a 32-bit IPv4 address")

    version = 4

    @classmethod
    def parse(cls, text: str) -> IPv4Group:
        """Parse dotted-quad text; :class:`AddressError` if invalid or not multicast."""
        return cls(parse_ipv4(text))

    def __str__(self) -> str:
        return format_ipv4(self.value)

    def __repr__(self) -> str:
        return f"IPv4Group('{self}')"

    @property
    def packed(self) -> bytes:
        return self.value.to_bytes(4, "big")

    @property
    def low23(self) -> int:
        """The 23 bits that survive in the MAC (RFC 1112 section 6.4)."""
        return self.value & 0x7FFFFF

    @property
    def mac(self) -> Mac:
        from mdiag.core.addresses.mac import multicast_mac

        return multicast_mac(self)


@dataclass(frozen=True, slots=True, order=True)
class IPv6Group:
    """An IPv6 multicast group (ff00::/8), stored as a 128-bit integer."""

    value: int

    def __post_init__(self) -> None:
        if not isinstance(self.value, int) or isinstance(self.value, bool):
            raise AddressError(f"group value must be an integer, not {type(self.value).__name__}")
        if not 0 <= self.value < 1 << 128:
            raise AddressError(f"{self.value} is not a 128-bit IPv6 address")
        if self.value >> 120 != 0xFF:
            import ipaddress

            raise AddressError(f"{ipaddress.IPv6Address(self.value)} is not multicast (IPv6 multicast is ff00::/8)")

    version = 6

    @classmethod
    def parse(cls, text: str) -> IPv6Group:
        raw = text.strip()
        if "%" in raw:
            raise AddressError(f"{raw!r}: give the group without a zone index (%iface)")
        import ipaddress

        try:
            address = ipaddress.IPv6Address(raw)
        except ValueError as exc:
            raise AddressError(f"{raw!r} is not an address ({exc})") from None
        return cls(int(address))

    def __str__(self) -> str:
        import ipaddress

        return str(ipaddress.IPv6Address(self.value))

    def __repr__(self) -> str:
        return f"IPv6Group('{self}')"

    @property
    def packed(self) -> bytes:
        return self.value.to_bytes(16, "big")

    @property
    def flags(self) -> int:
        """The 4 flag bits 0RPT (RFC 4291 2.7, RFC 3306, RFC 3956)."""
        return (self.value >> 116) & 0xF

    @property
    def scope(self) -> int:
        """The 4-bit scope field (RFC 4291 2.7, RFC 7346)."""
        return (self.value >> 112) & 0xF

    @property
    def mac(self) -> Mac:
        from mdiag.core.addresses.mac import multicast_mac

        return multicast_mac(self)


Group = IPv4Group | IPv6Group


def parse_group(text: str) -> Group:
    """Parse an IPv4 or IPv6 multicast group from text.

    >>> parse_group("239.1.2.3")
    IPv4Group('239.1.2.3')
    """
    if not isinstance(text, str):
        raise AddressError(f"expected text, got {type(text).__name__}")
    raw = text.strip()
    if ":" in raw:
        return IPv6Group.parse(raw)
    return IPv4Group.parse(raw)


def as_group(addr: object) -> Group:
    """Coerce text, an int (IPv4 if < 2**32), an ``ipaddress`` object or a Group."""
    if isinstance(addr, (IPv4Group, IPv6Group)):
        return addr
    if isinstance(addr, str):
        return parse_group(addr)
    if isinstance(addr, int) and not isinstance(addr, bool):
        return IPv4Group(addr) if addr <= 0xFFFFFFFF else IPv6Group(addr)
    import ipaddress

    if isinstance(addr, ipaddress.IPv4Address):
        return IPv4Group(int(addr))
    if isinstance(addr, ipaddress.IPv6Address):
        return IPv6Group(int(addr))
    if isinstance(addr, (bytes, bytearray, memoryview)):
        raw = bytes(addr)
        if len(raw) == 4:
            return IPv4Group(int.from_bytes(raw, "big"))
        if len(raw) == 16:
            return IPv6Group(int.from_bytes(raw, "big"))
        raise AddressError(f"packed address must be 4 or 16 bytes, got {len(raw)}")
    raise AddressError(f"cannot read a multicast group from {type(addr).__name__}")


def ipv4_value(addr: object) -> int:
    """The 32-bit value of an IPv4 group given in any accepted form (fast for ints)."""
    if isinstance(addr, int) and not isinstance(addr, bool) and 0 <= addr <= 0xFFFFFFFF:
        return addr
    group = as_group(addr)
    if not isinstance(group, IPv4Group):
        raise AddressError(f"{group} is IPv6; this needs an IPv4 group")
    return group.value

