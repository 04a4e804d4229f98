"""Float codes (RFC 3376 4.1.1 / 4.1.7) and the RFC 1071 checksum."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from mdiag.core.igmp import floatcode
from mdiag.core.igmp.checksum import internet_checksum, ones_complement_sum, verify

TABLE = [(0x00, 0), (0x64, 100), (0x7F, 127), (0x80, 128), (0x81, 136), (0x89, 200), (0x8F, 248),
         (0x90, 256), (0xC9, 3200), (0xF0, 16384), (0xFE, 30720), (0xFF, 31744)]


@pytest.mark.parametrize(("code", "value"), TABLE)
def test_decode_table(code, value):
    assert floatcode.decode(code) == value
    assert floatcode.encode(value) == code


def _reference(code: int) -> int:
    # RFC 3376 4.1.1 written out literally: 1 | exp | mant, (mant | 0x10) << (exp + 3)
    if code < 128:
        return code
    exp = (code >> 4) & 0b111
    mant = code & 0b1111
    return (mant | 0x10) << (exp + 3)


def test_all_256_codes_decode_exactly_and_round_trip():
    for code in range(256):
        assert floatcode.decode(code) == _reference(code)
        assert floatcode.encode(floatcode.decode(code)) == code
    values = [floatcode.decode(c) for c in range(256)]
    assert values == sorted(values) and len(set(values)) == 256


@pytest.mark.parametrize(("value", "code", "actual"), [(129, 0x80, 128), (255, 0x8F, 248), (1000, 0xAF, 992),
                                                        (31743, 0xFE, 30720)])
def test_encode_rounds_down(value, code, actual):
    assert floatcode.encode(value) == code
    assert floatcode.decode(code) == actual
    assert not floatcode.is_exact(value)


@given(st.integers(0, floatcode.MAX_VALUE))
def test_encode_is_largest_code_not_above_value(value):
    code = floatcode.encode(value)
    assert floatcode.decode(code) <= value
    assert code == 255 or floatcode.decode(code + 1) > value


@pytest.mark.parametrize("value", [-1, 31745, 40000])
def test_encode_refuses_out_of_range(value):
    with pytest.raises(ValueError):
        floatcode.encode(value)


def test_seconds_helpers():
    assert floatcode.mrc_from_seconds(2.5) == 25
    assert floatcode.mrc_from_seconds(0.3) == 3  # 0.3 * 10 is 2.9999999999999996 in floating point
    assert floatcode.mrc_seconds(0x89) == 20.0
    with pytest.raises(ValueError):
        floatcode.mrc_from_seconds(float("nan"))
    with pytest.raises(ValueError):
        floatcode.decode(256)


def _naive_sum(data: bytes) -> int:
    if len(data) % 2:
        data += b"\0"
    total = 0
    for i in range(0, len(data), 2):
        total += (data[i] << 8) | data[i + 1]
        total = (total & 0xFFFF) + (total >> 16)
    return total


@pytest.mark.parametrize(("hexdata", "checksum"), [
    ("1600 0000 ef01 0203", 0xF8FA),
    ("1100 0000 0000 0000", 0xEEFF),
    ("46c0 0020 0000 4000 0102 0000 c0a8 010a ef01 0203 9404 0000", 0x3161),
])
def test_checksum_vectors(hexdata, checksum):
    data = bytes.fromhex(hexdata.replace(" ", ""))
    assert internet_checksum(data) == checksum
    where = 10 if len(data) > 8 else 2
    assert verify(data[:where] + checksum.to_bytes(2, "big") + data[where + 2:])


@given(st.binary(max_size=200))
def test_checksum_matches_word_by_word_sum(data):
    assert ones_complement_sum(data) == _naive_sum(data)


@given(st.binary(min_size=4, max_size=200))
def test_inserting_checksum_verifies(data):
    body = data[:2] + b"\0\0" + data[4:]
    checksum = internet_checksum(body)
    full = body[:2] + checksum.to_bytes(2, "big") + body[4:]
    assert verify(full)
