"""The Internet checksum (RFC 1071) used by IPv4 headers and IGMP messages.

The one's complement sum of 16-bit big-endian words equals the whole byte string,
read as one big-endian integer, taken modulo 0xFFFF (because 2**16 = 1 mod 0xFFFF),
except that a non-zero sum that is a multiple of 0xFFFF is 0xFFFF in one's
complement. Python's big integers do that arithmetic in C, which makes this far
faster than a word-by-word loop.
"""

from __future__ import annotations

_from_bytes = int.from_bytes


def ones_complement_sum(data: bytes) -> int:
    """16-bit one's complement sum of ``data`` (odd lengths padded with a zero byte)."""
    if len(data) & 1:
        data = bytes(data) + b"\x00"
    number = _from_bytes(data, "big")
    if not number:
        return 0
    folded = number % 0xFFFF
    return folded or 0xFFFF


def internet_checksum(data: bytes) -> int:
    """RFC 1071 checksum of ``data`` (the checksum field itself must be zero in ``data``)."""
    return ~ones_complement_sum(data) & 0xFFFF


def verify(data: bytes) -> bool:
    """True if ``data``, checksum field included, sums to 0xFFFF (RFC 1071 section 3)."""
    if len(data) & 1:
        data = bytes(data) + b"\x00"
    number = _from_bytes(data, "big")
    return bool(number) and number % 0xFFFF == 0
