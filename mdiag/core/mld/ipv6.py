"""The IPv6 header and extension headers that carry MLD (RFC 8200, RFC 2711, RFC 3810 5).

MLD goes in ICMPv6 (next header 58) behind a Hop-by-Hop Options header that holds
the Router Alert option (type 5, length 2, value 0 "MLD", RFC 2711 2.1), with hop
limit 1 and a link-local source. The Hop-by-Hop header is padded to 8 bytes: Linux
hosts pad with PadN (``05 02 00 00 01 00``), the Linux bridge with two Pad1
(``05 02 00 00 00 00``); decoders walk the options.

:class:`IPv6Header` is what the crafter is told (every field overridable, down to
the option bytes); :class:`Ip6Facts` is what the decoder saw. :func:`walk` follows
the extension-header chain (Hop-by-Hop 0, Routing 43, Fragment 44, Destination
Options 60, AH 51, Mobility 135, HIP 139, Shim6 140) to the upper layer.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from ipaddress import IPv6Address
from typing import TYPE_CHECKING, NamedTuple

from mdiag.core.mld.messages import UNSPECIFIED, AddressLike, address

NEXT_ICMPV6 = 58
NEXT_HOP_BY_HOP = 0
NEXT_FRAGMENT = 44
NEXT_NONE = 59
#: Extension headers in the generic (next header, length in 8-byte units beyond the first 8) form.
EXTENSION_HEADERS = frozenset((0, 43, 60, 135, 139, 140))
NEXT_AH = 51
#: Router Alert option, value 0 "Datagram contains a Multicast Listener Discovery message" (RFC 2711 2.1).
ROUTER_ALERT_OPTION = b"\x05\x02\x00\x00"
#: Hop-by-Hop options as Linux hosts send them: Router Alert + PadN of 0 bytes.
HBH_PADN = ROUTER_ALERT_OPTION + b"\x01\x00"
#: ... and as the Linux bridge querier sends them: Router Alert + two Pad1.
HBH_PAD1 = ROUTER_ALERT_OPTION + b"\x00\x00"

_FIXED = struct.Struct("!IHBB16s16s")


class WalkError(Exception):
    """The extension-header chain cannot be followed (offset in the packet, what was expected)."""

    def __init__(self, offset: int, expected: str, detail: str = "") -> None:
        super().__init__(expected)
        self.offset = offset
        self.expected = expected
        self.detail = detail


class Walked(NamedTuple):
    """Where the extension-header chain ended.

    ``next_header`` is the upper-layer protocol (58 for ICMPv6), ``offset`` where it
    starts, ``chain`` the extension headers passed, ``hbh_options`` the option bytes
    of the Hop-by-Hop header (b"" without one), ``fragment`` whether a Fragment
    header of a real fragment was seen (an atomic fragment, RFC 6946, is not one).
    """

    next_header: int
    offset: int
    chain: tuple[int, ...]
    hbh_options: bytes
    fragment: bool


def walk(packet: bytes, end: int) -> Walked:
    """Follow the chain from the fixed header of ``packet`` (IPv6 payload ends at ``end``).

    Raises :class:`WalkError` when a header runs past ``end`` or the chain is too long.
    """
    nxt = packet[6]
    pos = 40
    chain: list[int] = []
    hbh = b""
    fragment = False
    while nxt in EXTENSION_HEADERS or nxt == NEXT_FRAGMENT or nxt == NEXT_AH:
        if len(chain) >= 16:
            raise WalkError(pos, "at most 16 extension headers", "the chain goes on")
        if pos + 8 > end:
            raise WalkError(pos, f"an 8-byte extension header ({_EXT_NAMES.get(nxt, nxt)})",
                            f"the packet ends at byte {end}")
        if nxt == NEXT_FRAGMENT:
            size = 8
            # An atomic fragment (offset 0, M 0) is a whole packet, processed in
            # isolation (RFC 6946 4; Linux's ipv6_skip_exthdr walks past it too).
            fragment = fragment or bool(int.from_bytes(packet[pos + 2:pos + 4], "big") & 0xFFF9)
        elif nxt == NEXT_AH:
            size = (packet[pos + 1] + 2) * 4
        else:
            size = (packet[pos + 1] + 1) * 8
        if pos + size > end:
            raise WalkError(pos, f"{size} bytes of {_EXT_NAMES.get(nxt, nxt)} header",
                            f"the packet ends at byte {end}")
        if nxt == NEXT_HOP_BY_HOP:
            if chain:
                raise WalkError(pos, "Hop-by-Hop Options only right after the IPv6 header (RFC 8200 4.1)")
            hbh = packet[pos + 2:pos + size]
        chain.append(nxt)
        nxt = packet[pos]
        pos += size
    return Walked(nxt, pos, tuple(chain), hbh, fragment)


_EXT_NAMES = {0: "Hop-by-Hop Options", 43: "Routing", 44: "Fragment", 51: "Authentication",
              60: "Destination Options", 135: "Mobility", 139: "HIP", 140: "Shim6"}


def router_alert_value(options: bytes) -> int | None:
    """The value of the Router Alert option in Hop-by-Hop ``options``, None without one.

    Walks Pad1 (type 0, one byte) and every TLV option (RFC 8200 4.2).
    """
    if options[:4] == ROUTER_ALERT_OPTION:
        return 0
    i, n = 0, len(options)
    while i < n:
        kind = options[i]
        if kind == 0:
            i += 1
            continue
        if i + 1 >= n:
            return None
        length = options[i + 1]
        if kind == 5 and length == 2 and i + 4 <= n:
            return (options[i + 2] << 8) | options[i + 3]
        i += 2 + length
    return None


def pad_options(options: bytes) -> bytes:
    """``options`` padded so that the Hop-by-Hop header is a multiple of 8 bytes (RFC 8200 4.2):
    Pad1 for one byte, PadN for more."""
    missing = (-(len(options) + 2)) % 8
    if missing == 0:
        return options
    if missing == 1:
        return options + b"\x00"
    return options + bytes((1, missing - 2)) + bytes(missing - 2)


class Ip6Facts(NamedTuple):
    """The IPv6 header and extension headers of a decoded packet, as they were on the wire.

    ``next_header`` is the fixed header's field; ``chain`` the extension headers walked;
    ``hbh_options`` the Hop-by-Hop option bytes; ``router_alert_value`` the Router
    Alert value (None without one). ``ttl`` is the hop limit under IPv4's name, so
    family-blind code can read either.
    """

    src: IPv6Address
    dst: IPv6Address
    hop_limit: int
    traffic_class: int
    flow_label: int
    router_alert: bool
    payload_length: int
    next_header: int
    chain: tuple[int, ...] = (0,)
    hbh_options: bytes = HBH_PADN
    router_alert_value: int | None = 0

    @property
    def ttl(self) -> int:
        return self.hop_limit

    @property
    def tos(self) -> int:
        return self.traffic_class

    @property
    def total_length(self) -> int:
        return 40 + self.payload_length

    def header(self) -> IPv6Header:
        """The same header as a crafting spec (payload length recomputed)."""
        return IPv6Header(self.src, self.dst, self.hop_limit, self.traffic_class, self.flow_label,
                          self.router_alert, self.hbh_options if 0 in self.chain else None)


@dataclass(frozen=True, slots=True)
class IPv6Header:
    """An IPv6 header (with its Hop-by-Hop Options header) as wanted when crafting.

    ``hbh_options=None`` means "Router Alert + PadN if ``router_alert``, else no
    Hop-by-Hop header at all"; given bytes are used as they are (padded to 8 bytes
    by :func:`pad_options` if needed). ``payload_length`` and ``next_header``
    override the computed fields (to test receivers against bad input).
    """

    src: IPv6Address = UNSPECIFIED
    dst: IPv6Address = UNSPECIFIED
    hop_limit: int = 1
    traffic_class: int = 0
    flow_label: int = 0
    router_alert: bool = True
    hbh_options: bytes | None = None
    payload_length: int | None = None
    next_header: int | None = None

    if TYPE_CHECKING:
        def __init__(self, src: AddressLike = UNSPECIFIED, dst: AddressLike = UNSPECIFIED, hop_limit: int = 1,
                     traffic_class: int = 0, flow_label: int = 0, router_alert: bool = True,
                     hbh_options: bytes | None = None, payload_length: int | None = None,
                     next_header: int | None = None) -> None: ...

    def __post_init__(self) -> None:
        object.__setattr__(self, "src", address(self.src))
        object.__setattr__(self, "dst", address(self.dst))
        for name, bits in (("hop_limit", 8), ("traffic_class", 8), ("flow_label", 20)):
            value = getattr(self, name)
            if not isinstance(value, int) or not 0 <= value < (1 << bits):
                raise ValueError(f"IPv6 {name.replace('_', ' ')} {value!r} does not fit in {bits} bits")
        if self.payload_length is not None and not 0 <= self.payload_length <= 0xFFFF:
            raise ValueError(f"IPv6 payload length {self.payload_length} does not fit in 16 bits")
        if self.next_header is not None and not 0 <= self.next_header <= 0xFF:
            raise ValueError(f"IPv6 next header {self.next_header} does not fit in 8 bits")
        if self.hbh_options is not None:
            options = pad_options(bytes(self.hbh_options))
            if len(options) + 2 > 2048:
                raise ValueError(f"Hop-by-Hop options of {len(options)} bytes do not fit its 8-bit length")
            object.__setattr__(self, "hbh_options", options)

    @property
    def extension(self) -> bytes:
        """The option bytes of the Hop-by-Hop header, or b"" when there is none."""
        if self.hbh_options is not None:
            return self.hbh_options
        return HBH_PADN if self.router_alert else b""

    @property
    def header_length(self) -> int:
        """Bytes before the ICMPv6 message: 40, plus the Hop-by-Hop header."""
        options = self.extension
        return 40 + (len(options) + 2 if options or self.hbh_options is not None else 0)

    def encode(self, payload_length: int, upper: int = NEXT_ICMPV6) -> bytes:
        """The fixed header and the Hop-by-Hop header for ``payload_length`` bytes of ICMPv6."""
        options = self.extension
        has_hbh = bool(options) or self.hbh_options is not None
        ext = bytes((upper, (len(options) + 2) // 8 - 1)) + options if has_hbh else b""
        length = self.payload_length if self.payload_length is not None else len(ext) + payload_length
        if length > 0xFFFF:
            raise ValueError(f"an IPv6 payload of {length} bytes does not fit the 16-bit payload length "
                             "(RFC 8200 3): fewer sources or records")
        nxt = self.next_header if self.next_header is not None else (NEXT_HOP_BY_HOP if has_hbh else upper)
        first = (6 << 28) | (self.traffic_class << 20) | self.flow_label
        return _FIXED.pack(first, length, nxt, self.hop_limit, self.src.packed, self.dst.packed) + ext
