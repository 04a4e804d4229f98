"""The IPv4 header that carries IGMP (RFC 791, RFC 2113 Router Alert, RFC 3376 4).

IGMP goes in IP protocol 2 with TTL 1; IGMPv2 and v3 carry the Router Alert option
``94 04 00 00`` (so IHL is 6); Linux sends reports with TOS 0xc0 and DF set.
:class:`IPv4Header` is both what the decoder reports and what the crafter is told:
every field is overridable so devices can be tested against bad input.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from ipaddress import IPv4Address
from typing import TYPE_CHECKING, NamedTuple

from mdiag.core.igmp.checksum import internet_checksum
from mdiag.core.igmp.messages import ZERO, AddressLike, address

PROTO_IGMP = 2
#: Router Alert option, value 0 "router shall examine packet" (RFC 2113 2.1).
ROUTER_ALERT = b"\x94\x04\x00\x00"
#: TOS byte for "Internetwork Control" precedence (RFC 3376 4).
TOS_INTERNETWORK_CONTROL = 0xC0

_HEADER = struct.Struct("!BBHHHBBH4s4s")


def has_router_alert(options: bytes) -> bool:
    """True if the option list ``options`` holds a Router Alert (type 148, RFC 2113)."""
    if options[:4] == ROUTER_ALERT:
        return True
    i, n = 0, len(options)
    while i < n:
        kind = options[i]
        if kind == 0:  # end of option list
            return False
        if kind == 1:  # no-operation
            i += 1
            continue
        if i + 1 >= n:
            return False
        length = options[i + 1]
        if kind == 0x94:
            return True
        if length < 2:
            return False
        i += length
    return False


class IpFacts(NamedTuple):
    """The IPv4 header of a decoded packet, as it was on the wire (RFC 791 3.1).

    A NamedTuple rather than a dataclass because the bulk decoder builds one per
    packet: a tuple is created in one C call, a frozen dataclass in one call per
    field. Same attribute names as :class:`IPv4Header`; :meth:`header` turns it into one
    (to re-craft what was seen).
    """

    src: IPv4Address
    dst: IPv4Address
    ttl: int
    tos: int
    df: bool
    router_alert: bool
    identification: int
    protocol: int
    options: bytes
    checksum: int
    total_length: int
    mf: bool = False
    fragment_offset: int = 0

    @property
    def ihl(self) -> int:
        """Header length in 32-bit words."""
        return 5 + len(self.options) // 4

    def header(self) -> IPv4Header:
        """The same header as a crafting spec (checksum and length recomputed)."""
        return IPv4Header(self.src, self.dst, self.ttl, self.tos, self.df, self.router_alert,
                          self.identification, self.protocol, self.options, None, None, self.mf,
                          self.fragment_offset)


@dataclass(frozen=True, slots=True)
class IPv4Header:
    """An IPv4 header as decoded, or as wanted when crafting.

    When crafting, ``options=None`` means "Router Alert if ``router_alert`` else none",
    and ``checksum=None`` / ``total_length=None`` mean "compute". Decoding fills
    every field with what was on the wire (``router_alert`` then says whether the
    options hold one).
    """

    src: IPv4Address = ZERO
    dst: IPv4Address = ZERO
    ttl: int = 1
    tos: int = TOS_INTERNETWORK_CONTROL
    df: bool = True
    router_alert: bool = True
    identification: int = 0
    protocol: int = PROTO_IGMP
    options: bytes | None = None
    checksum: int | None = None
    total_length: int | None = None
    mf: bool = False
    fragment_offset: int = 0

    if TYPE_CHECKING:  # addresses may be given as text or ints too (converted in __post_init__)
        def __init__(self, src: AddressLike = ZERO, dst: AddressLike = ZERO, ttl: int = 1,
                     tos: int = TOS_INTERNETWORK_CONTROL, df: bool = True, router_alert: bool = True,
                     identification: int = 0, protocol: int = PROTO_IGMP, options: bytes | None = None,
                     checksum: int | None = None, total_length: int | None = None, mf: bool = False,
                     fragment_offset: int = 0) -> None: ...

    def __post_init__(self) -> None:
        object.__setattr__(self, "src", address(self.src))
        object.__setattr__(self, "dst", address(self.dst))
        for name, bits in (("ttl", 8), ("tos", 8), ("identification", 16), ("protocol", 8),
                           ("fragment_offset", 13)):
            value = getattr(self, name)
            if not isinstance(value, int) or not 0 <= value < (1 << bits):
                raise ValueError(f"IP {name} {value!r} does not fit in {bits} bits")
        if self.checksum is not None and not 0 <= self.checksum <= 0xFFFF:
            raise ValueError(f"IP checksum {self.checksum} does not fit in 16 bits")
        if self.total_length is not None and not 0 <= self.total_length <= 0xFFFF:
            raise ValueError(f"IP total length {self.total_length} does not fit in 16 bits")
        if self.options is not None:
            options = bytes(self.options)
            if len(options) % 4 or len(options) > 40:
                raise ValueError(f"IP options of {len(options)} bytes: need a multiple of 4 up to 40")
            object.__setattr__(self, "options", options)

    @property
    def option_bytes(self) -> bytes:
        """The options as they go on the wire."""
        if self.options is not None:
            return self.options
        return ROUTER_ALERT if self.router_alert else b""

    @property
    def ihl(self) -> int:
        """Header length in 32-bit words."""
        return 5 + len(self.option_bytes) // 4

    def encode(self, payload_length: int) -> bytes:
        """The header bytes for a payload of ``payload_length`` bytes."""
        options = self.option_bytes
        ihl = 5 + len(options) // 4
        total = self.total_length if self.total_length is not None else ihl * 4 + payload_length
        if total > 0xFFFF:
            raise ValueError(f"an IPv4 packet of {total} bytes does not fit the 16-bit total length "
                             "(RFC 791 3.1): fewer sources or records")
        flags = (0x4000 if self.df else 0) | (0x2000 if self.mf else 0) | self.fragment_offset
        header = _HEADER.pack(0x40 | ihl, self.tos, total, self.identification, flags, self.ttl,
                              self.protocol, 0, self.src.packed, self.dst.packed) + options
        checksum = self.checksum if self.checksum is not None else internet_checksum(header)
        return header[:10] + checksum.to_bytes(2, "big") + header[12:]
