"""The floating-point time codes of IGMPv3 and MLDv2, as one family.

IGMPv3's Max Resp Code and QQIC (RFC 3376 4.1.1, 4.1.7) and MLDv2's QQIC
(RFC 3810 5.1.9) are 8-bit codes; MLDv2's Maximum Response Code (RFC 3810 5.1.3)
is a 16-bit code. All read the same way: a code below ``2 ** (bits - 1)`` is the
value itself; otherwise its bits are ``1 | exp(3) | mant(bits - 4)`` and the value
is ``(mant | 1 << (bits - 4)) << (exp + 3)``.

Encoding rounds *down* to the nearest representable value, as Linux does
(net/ipv4/igmp.c, net/ipv6/mcast.c), so a querier never advertises more than it
was asked to. A value above the largest a code carries is an error, never a clip.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["FloatCode", "IGMP_CODE", "MLD_MRC"]


@dataclass(frozen=True, slots=True)
class FloatCode:
    """One floating-point code format of ``bits`` bits (8 or 16)."""

    bits: int

    @property
    def mant_bits(self) -> int:
        return self.bits - 4

    @property
    def linear_limit(self) -> int:
        """Codes (and values) below this are linear: 128 or 32768."""
        return 1 << (self.bits - 1)

    @property
    def max_code(self) -> int:
        return (1 << self.bits) - 1

    @property
    def max_value(self) -> int:
        """Largest value a code carries: 31744 (8 bits) or 8387584 (16 bits)."""
        return self.decode(self.max_code)

    def decode(self, code: int) -> int:
        """Value of ``code`` (RFC 3376 4.1.1, RFC 3810 5.1.3 / 5.1.9)."""
        if not 0 <= code <= self.max_code:
            raise ValueError(f"float code {code} is outside 0..{self.max_code}")
        if code < self.linear_limit:
            return code
        mant_bits = self.bits - 4
        mant = code & ((1 << mant_bits) - 1)
        exp = (code >> mant_bits) & 0x07
        return (mant | (1 << mant_bits)) << (exp + 3)

    def encode(self, value: int) -> int:
        """Code for ``value``, rounded down to a representable value as Linux does."""
        if value < 0:
            raise ValueError(f"value {value} is negative")
        top = self.max_value
        if value > top:
            raise ValueError(f"value {value} is above {top}, the largest a {self.bits}-bit float code carries")
        if value < self.linear_limit:
            return value
        mant_bits = self.bits - 4
        exp = value.bit_length() - mant_bits - 4
        mant = (value >> (exp + 3)) & ((1 << mant_bits) - 1)
        return self.linear_limit | (exp << mant_bits) | mant

    def is_exact(self, value: int) -> bool:
        """True if ``value`` survives encode/decode unchanged."""
        return 0 <= value <= self.max_value and self.decode(self.encode(value)) == value


#: IGMPv3 Max Resp Code and QQIC, MLDv2 QQIC (8 bits).
IGMP_CODE = FloatCode(8)
#: MLDv2 Maximum Response Code, in milliseconds (16 bits).
MLD_MRC = FloatCode(16)
