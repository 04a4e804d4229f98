"""Max Resp Code and QQIC floating-point codes (RFC 3376 4.1.1 and 4.1.7).

A code below 128 is the value itself. A code of 128 or more reads as the bits
``1 exp(3) mant(4)`` and means ``(mant | 0x10) << (exp + 3)``. Max Resp Code counts
tenths of a second, QQIC whole seconds; both range from 0 to 31744.

The arithmetic is :mod:`mdiag.core.floatcode`'s, shared with MLDv2 (whose QQIC is
this same 8-bit code and whose Maximum Response Code is its 16-bit sibling).
Encoding rounds *down* to the nearest representable value, as Linux does
(net/ipv4/igmp.c), so a querier never advertises more than it was asked to. A value
above 31744 cannot be represented: crafting it is an error, never a silent clip.
"""

from __future__ import annotations

from mdiag.core.floatcode import IGMP_CODE

#: Largest value a float code can carry (code 0xFF).
MAX_VALUE = IGMP_CODE.max_value

#: ``CODE_VALUES[code]`` is the exact value of every one of the 256 codes.
CODE_VALUES: tuple[int, ...] = tuple(IGMP_CODE.decode(code) for code in range(256))


def decode(code: int) -> int:
    """Value (tenths of a second for MRC, seconds for QQIC) of a code 0..255 (RFC 3376 4.1.1)."""
    if not 0 <= code <= 255:
        raise ValueError(f"float code {code} is outside 0..255")
    return CODE_VALUES[code]


def encode(value: int) -> int:
    """Code for ``value``, rounded down to a representable value as Linux does.

    Raises ValueError for negative values and values above 31744 (RFC 3376 4.1.1).
    """
    if 0 <= value < 128:
        return value
    return IGMP_CODE.encode(value)


def is_exact(value: int) -> bool:
    """True if ``value`` survives encode/decode unchanged."""
    return 0 <= value <= MAX_VALUE and CODE_VALUES[encode(value)] == value


def mrc_from_seconds(seconds: float) -> int:
    """Max Resp Code for a response time in seconds (0.1 s units, rounded down; RFC 3376 4.1.1)."""
    return encode(_tenths(seconds))


def mrc_seconds(code: int) -> float:
    """Response time in seconds of an IGMPv3 Max Resp Code."""
    return decode(code) / 10


def _tenths(seconds: float) -> int:
    if seconds != seconds or seconds < 0:  # NaN or negative
        raise ValueError(f"time {seconds} s is not a non-negative number")
    tenths = seconds * 10
    # 2.5 s * 10 is 25.000000000000004 or 24.999999999999996 in binary floating point:
    # round to the nearest tenth first, then the code rounds down.
    return int(round(tenths, 6) // 1)
