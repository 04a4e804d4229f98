"""Test-stream header (fixed bytes) and receiver statistics (RFC 4737 / RFC 3550)."""

from __future__ import annotations

import random

import pytest
from hypothesis import given
from hypothesis import strategies as st

from mdiag.core import stream
from mdiag.core.stream import StreamFormatError, StreamHeader, StreamStats

HEADER_HEX = ("4d 44 47 53 01 00 00 20 12 34 56 78 00 00 00 00 00 00 00 2a"
              " 17 9a 2b 3c 4d 5e 6f 70 de ad be ef")


def test_header_bytes_are_fixed():
    h = StreamHeader(0x12345678, 42, 0x179A2B3C4D5E6F70, 0xDEADBEEF)
    assert h.pack() == bytes.fromhex(HEADER_HEX)
    assert stream.decode_header(bytes.fromhex(HEADER_HEX) + b"pad") == h


def test_template_and_in_place_rewrite():
    buf = stream.template(64, 7, clock_id=9)
    stream.SEQ_TIME.pack_into(buf, stream.SEQ_TIME_OFFSET, 5, 123)
    h = stream.decode_header(buf)
    assert (h.stream_id, h.sequence, h.send_ns, h.clock_id, h.is_end) == (7, 5, 123, 9, False)
    assert buf[32:36] == bytes([32, 33, 34, 35])  # filler pattern
    assert stream.decode_header(stream.end_marker(7, 100, 1)).is_end


@pytest.mark.parametrize("data, message", [
    (b"MDGS", "shorter"),
    (b"XXXX" + bytes(28), "magic"),
    (bytes.fromhex(HEADER_HEX.replace("53 01", "53 02")), "version 2"),
    (bytes.fromhex(HEADER_HEX.replace("00 20 12", "00 10 12")), "header length"),
])
def test_bad_headers(data, message):
    with pytest.raises(StreamFormatError, match=message):
        stream.decode_header(data)
    assert not stream.is_stream(b"short")


def test_template_needs_room_for_the_header():
    with pytest.raises(StreamFormatError):
        stream.template(31, 1)


def feed(seqs, **kw):
    s = StreamStats("239.1.2.3", "198.18.0.11:4000", 1, **kw)
    for i, seq in enumerate(seqs):
        s.observe(seq, send_ns=seq * 1_000_000, recv_ns=seq * 1_000_000 + 500_000 + i, size=100)
    return s


@pytest.mark.parametrize("seqs, received, lost, dup, reord", [
    ([0, 1, 2, 3], 4, 0, 0, 0),
    ([0, 1, 3, 4], 4, 1, 0, 0),
    ([0, 2, 1, 3], 4, 0, 0, 1),
    ([0, 1, 1, 2], 3, 0, 1, 0),
    ([5, 6, 7], 3, 0, 0, 0),          # joined late: nothing before 5 counts as lost
    ([5, 4, 6], 3, 0, 0, 1),          # 4 arrives late: reordered, and the start moves back
    ([0, 3, 2, 1, 3], 4, 0, 1, 2),
])
def test_loss_duplicates_reordering(seqs, received, lost, dup, reord):
    s = feed(seqs)
    r = s.report()
    assert (r.received, r.lost, r.duplicated, r.reordered) == (received, lost, dup, reord)


def test_end_marker_reveals_trailing_loss():
    s = feed([0, 1, 2])
    s.end(10)
    r = s.report()
    assert r.ended and r.expected == 10 and r.lost == 7 and r.loss_ratio == pytest.approx(0.7)


def test_jitter_follows_rfc3550():
    s = StreamStats("g", "s", 1)
    # transit times 10, 12, 10 ms: D = 2, 2 -> J = 2/16, then J += (2 - J)/16
    for seq, transit in enumerate([10, 12, 10]):
        s.observe(seq, 0, transit * 1_000_000)
    j1 = 2_000_000 / 16
    assert s.report().jitter_ns == pytest.approx(j1 + (2_000_000 - j1) / 16)


def test_latency_only_with_a_shared_clock_and_join_time():
    r = feed([0, 1], same_clock=True, join_ns=-1_000_000).report()
    assert r.latency_min_ns == 500_000 and r.latency_max_ns == 500_001
    assert r.join_to_first_ns == 1_500_000
    assert feed([0, 1]).report().latency_min_ns is None
    assert r.to_json()["latency_ms"] == {"min": 0.5, "avg": 0.5, "max": 0.5}


def test_window_must_be_power_of_two():
    with pytest.raises(ValueError):
        StreamStats("g", "s", 1, window=1000)


@given(st.integers(min_value=1, max_value=400), st.integers(min_value=0, max_value=2**32), st.data())
def test_statistics_match_a_simple_model(n, seed, data):
    rng = random.Random(seed)
    sent = list(range(n))
    arrived = [s for s in sent if rng.random() > 0.1]
    dups = [rng.choice(arrived) for _ in range(rng.randint(0, 5))] if arrived else []
    stream_ = arrived + dups
    rng.shuffle(stream_) if data.draw(st.booleans()) else None
    s = StreamStats("g", "s", 1, window=1024)
    for seq in stream_:
        s.observe(seq, 0, 0)
    s.end(n)
    r = s.report()
    unique = set(arrived)
    assert r.received == len(unique)
    assert r.duplicated == len(stream_) - len(unique)
    if unique:
        assert r.lost == n - min(unique) - len(unique)


def test_loss_counted_from_zero_adds_the_missed_head():
    from dataclasses import replace

    from mdiag.core.stream import StreamReport

    r = StreamReport(group="239.1.1.1", sender="198.18.0.11:4000", stream_id=1, received=900, lost=0,
                     duplicated=0, reordered=0, first_sequence=100, last_sequence=999, expected=900,
                     ended=True, jitter_ns=0.0, latency_min_ns=None, latency_avg_ns=None, latency_max_ns=None,
                     join_to_first_ns=None, first_recv_ns=None, last_recv_ns=None, bytes=0)
    zero = r.counted_from_zero()
    assert (zero.lost, zero.expected, zero.loss_ratio) == (100, 1000, 0.1)
    assert replace(r, first_sequence=0).counted_from_zero() == replace(r, first_sequence=0)
