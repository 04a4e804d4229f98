"""The reader's multicast-data fast path and its reused read buffer.

``Capture.records(multicast_udp)`` counts plain multicast UDP itself (one struct
unpack per pcap record) and yields everything else; blocks are refilled through a
reused bytearray. Checked here against the rule written out in Python, with tiny
block sizes so records straddle blocks and the end-of-block fallback runs often.
"""

from __future__ import annotations

import io
import struct

from tests.analysis.builders import pcap_bytes
from hypothesis import given, settings
from hypothesis import strategies as st

from mdiag.adapters import capture as cap
from mdiag.adapters.capture import open_stream


def _udp(src: int, dst: int, frag: int = 0x4000, ihl: int = 5, ethertype: int = 0x0800, pad: int = 20) -> bytes:
    ip = struct.pack("!BBHHHBBH4s4s", 0x40 | ihl, 0, 28 + pad, 0, frag, 8, 17, 0,
                     src.to_bytes(4, "big"), dst.to_bytes(4, "big"))
    return b"\x01\x00\x5e\x01\x01\x01" + b"\x02" * 6 + ethertype.to_bytes(2, "big") + ip + bytes(8 + pad)


frames = st.one_of(
    st.builds(_udp, st.sampled_from([0xC6120001, 0xC6120002]),
              st.sampled_from([0xEF010101, 0xE0000001, 0xEFFFFFFF, 0xDF000001, 0xF0000001]),
              st.sampled_from([0x4000, 0x0000, 0x8000, 0x2000, 0x0001, 0x6000, 0x4100]),
              st.sampled_from([5, 5, 5, 6]), st.sampled_from([0x0800, 0x0800, 0x8100, 0x86DD]),
              st.integers(0, 40)),
    st.binary(max_size=50),
).flatmap(lambda f: st.integers(0, len(f)).map(lambda cut: f if cut == 0 else f[:cut]))


def _eligible(frame: bytes) -> bool:
    return (len(frame) >= 34 and frame[12:15] == b"\x08\x00\x45" and frame[23] == 17
            and 224 <= frame[30] <= 239 and not (frame[20] & 0x3F or frame[21]))


class _ReadOnly:
    """A stream with read and peek but no readinto."""

    def __init__(self, data: bytes) -> None:
        self._buf = io.BufferedReader(io.BytesIO(data))

    def peek(self, n: int) -> bytes:
        return self._buf.peek(n)

    def read(self, n: int = -1) -> bytes:
        return self._buf.read(n)

    def close(self) -> None:
        pass


@settings(max_examples=120, deadline=None)
@given(st.lists(frames, max_size=30), st.integers(40, 400), st.booleans(), st.booleans(), st.booleans())
def test_counted_and_yielded_frames_follow_the_rule(frame_list, block, big_endian, nanos, no_readinto):
    data = pcap_bytes([(i / 1000, f) for i, f in enumerate(frame_list)], big_endian=big_endian, nanos=nanos)
    original = cap.BLOCK_SIZE
    cap.BLOCK_SIZE = block
    try:
        fast: dict[bytes, list[int]] = {}
        stream = _ReadOnly(data) if no_readinto else io.BytesIO(data)
        with open_stream(stream) as c:  # type: ignore[arg-type]
            yielded = {r[0]: (r[1], r[4][r[5]:r[5] + r[6]]) for r in c.records(fast)}
            assert not c.problems
    finally:
        cap.BLOCK_SIZE = original
    expected: dict[bytes, list[int]] = {}
    offset = 24
    base_ns = 1_700_000_000 * 10**9
    for number, frame in enumerate(frame_list, 1):
        offset += 16 + len(frame)
        t = base_ns + round((number - 1) / 1000 * 1e9)
        # the first frame and the rest of the first block are always yielded
        if _eligible(frame) and number > 1 and offset > 24 + block:
            assert number not in yielded
            stats = expected.setdefault(frame[26:34], [0, 0, t, t])
            stats[0] += 1
            stats[1] += len(frame)
            stats[3] = t
        else:
            assert yielded[number] == (t, frame)
    assert fast == expected


def test_short_last_frame_that_looks_like_ipv4_is_yielded_not_indexed_past_its_end():
    """A 15-byte last record starting like Ethernet + IPv4 (it used to raise IndexError
    in the record-by-record path at the end of a pcap or pcapng stream)."""
    from tests.adapters.test_capture_reader import _epb, _idb, _shb

    data_frame = _udp(0xC6120001, 0xEF010101)
    short = data_frame[:15]
    for block in (40, 64, 1 << 20):
        cap.BLOCK_SIZE, original = block, cap.BLOCK_SIZE
        try:
            for data in (pcap_bytes([(0, data_frame), (0.001, data_frame), (0.002, short)]),
                         _shb() + _idb(1) + _epb(0, 1, data_frame) + _epb(0, 2, data_frame) + _epb(0, 3, short)):
                fast: dict[bytes, list[int]] = {}
                with open_stream(io.BytesIO(data)) as c:
                    got = [r[4][r[5]:r[5] + r[6]] for r in c.records(fast)]
                assert got[-1] == short
                assert len(got) + sum(v[0] for v in fast.values()) == 3
        finally:
            cap.BLOCK_SIZE = original


@settings(max_examples=80, deadline=None)
@given(st.lists(frames, max_size=30), st.integers(40, 400), st.booleans())
def test_pcapng_counted_and_yielded_frames_follow_the_rule(frame_list, block, no_readinto):
    from tests.adapters.test_capture_reader import _epb, _idb, _shb

    data = _shb() + _idb(1) + b"".join(_epb(0, 1000 * i, f) for i, f in enumerate(frame_list))
    original = cap.BLOCK_SIZE
    cap.BLOCK_SIZE = block
    try:
        fast: dict[bytes, list[int]] = {}
        stream = _ReadOnly(data) if no_readinto else io.BytesIO(data)
        with open_stream(stream) as c:  # type: ignore[arg-type]
            yielded = {r[0]: (r[1], r[4][r[5]:r[5] + r[6]]) for r in c.records(fast)}
            assert not c.problems
    finally:
        cap.BLOCK_SIZE = original
    expected: dict[bytes, list[int]] = {}
    for number, frame in enumerate(frame_list, 1):
        t = 1000 * (number - 1) * 1000     # microsecond timestamps in nanoseconds
        if number in yielded:
            assert yielded[number] == (t, frame)
            continue
        # only the multicast data of frames after the first one may be counted
        assert number > 1 and _eligible(frame)
        stats = expected.setdefault(frame[26:34], [0, 0, t, t])
        stats[0] += 1
        stats[1] += len(frame)
        stats[3] = t
    assert fast == expected
    # past the first block read, every multicast data frame is counted
    ends = [len(_shb() + _idb(1))]
    for i, f in enumerate(frame_list):
        ends.append(ends[-1] + len(_epb(0, 1000 * i, f)))
    assert all(n == 1 or not _eligible(frame_list[n - 1]) or ends[n] <= block for n in yielded)
