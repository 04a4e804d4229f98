"""The streaming capture reader: every container variant, damaged files, and tools' output."""

from __future__ import annotations

import bz2
import gzip
import io
import lzma
import shutil
import struct
import subprocess

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mdiag.adapters import capture as cap
from mdiag.adapters.capture import open_capture, open_stream
from mdiag.errors import InputError
from mdiag.testing.requirements import need_tool

from tests.analysis.builders import pcap_bytes

FRAMES = [(0.0, b"\x01" * 60), (0.5, b"\x02" * 61), (1.25, b"\x03" * 1514), (2.000001, b"\x04" * 64)]


def _read(data: bytes):
    with open_stream(io.BytesIO(data)) as c:
        frames = list(c)
        return c, frames


@pytest.mark.parametrize("big_endian", [False, True])
@pytest.mark.parametrize("nanos", [False, True])
def test_pcap_byte_orders_and_resolutions(big_endian, nanos):
    c, frames = _read(pcap_bytes(FRAMES, big_endian=big_endian, nanos=nanos))
    assert c.format == "pcap" and not c.problems
    assert [f.data for f in frames] == [d for _, d in FRAMES]
    assert [f.number for f in frames] == [1, 2, 3, 4]
    assert frames[3].time_ns == 1_700_000_002_000_001_000
    assert frames[1].time == pytest.approx(1_700_000_000.5)
    assert frames[0].offset == 24 and frames[1].offset == 24 + 16 + 60
    assert c.interfaces[0].resolution == ("1ns" if nanos else "1us")


@pytest.mark.parametrize("compress,name", [(gzip.compress, "gzip"), (bz2.compress, "bzip2"),
                                           (lzma.compress, "xz")])
def test_compressed_by_magic(compress, name):
    c, frames = _read(compress(pcap_bytes(FRAMES)))
    assert c.compression == name
    assert len(frames) == 4


def test_stdin_dash_reads_binary_stream():
    stream = io.BufferedReader(io.BytesIO(gzip.compress(pcap_bytes(FRAMES))))
    with open_capture("-", stdin=stream) as c:
        assert len(list(c)) == 4
        assert c.name == "stdin"


def test_stream_without_peek_is_wrapped():
    class Raw(io.RawIOBase):
        def __init__(self, data):
            self.data = data

        def readable(self):
            return True

        def readinto(self, b):
            n = min(len(b), len(self.data), 7)  # dribble 7 bytes at a time
            b[:n] = self.data[:n]
            self.data = self.data[n:]
            return n

        def read(self, n=-1):
            out = bytearray(min(n, 7) if n >= 0 else len(self.data))
            got = self.readinto(out)
            return bytes(out[:got])

    with open_stream(Raw(pcap_bytes(FRAMES))) as c:
        assert [f.number for f in c] == [1, 2, 3, 4]


def test_truncated_last_record_keeps_the_rest():
    data = pcap_bytes(FRAMES)
    c, frames = _read(data[:-10])
    assert len(frames) == 3
    [problem] = c.problems
    assert problem.code == "capture-truncated-record"
    assert problem.frame == 4 and problem.offset == len(data) - 16 - 64
    assert "frame 4" in problem.message and "byte offset" in problem.message


def test_truncated_record_header():
    data = pcap_bytes(FRAMES[:1]) + b"\x00" * 7
    c, frames = _read(data)
    assert len(frames) == 1
    assert c.problems[0].code == "capture-truncated-record" and c.problems[0].frame == 2


def test_corrupt_length_stops_with_offset():
    data = bytearray(pcap_bytes(FRAMES))
    second = 24 + 16 + 60
    struct.pack_into("<I", data, second + 8, 0x7FFFFFF0)
    c, frames = _read(bytes(data))
    assert len(frames) == 1
    [problem] = c.problems
    assert problem.code == "capture-corrupt-length" and problem.offset == second and problem.frame == 2


@pytest.mark.parametrize("data", [b"", b"abc", b"hello world, not a capture", b"\x89PNG\r\n\x1a\n" + b"0" * 40])
def test_not_a_capture_is_input_error(data):
    with pytest.raises(InputError) as info:
        open_stream(io.BytesIO(data), name="x.bin")
    assert "x.bin" in info.value.message and "\n" not in info.value.message


def test_missing_file_and_directory(tmp_path):
    with pytest.raises(InputError, match="no such file"):
        open_capture(tmp_path / "nope.pcap")
    with pytest.raises(InputError, match="directory"):
        open_capture(tmp_path)


def test_pcap_header_cut_short():
    with pytest.raises(InputError, match="cut short"):
        with open_stream(io.BytesIO(pcap_bytes([])[:10])) as c:
            list(c)


# ---------------------------------------------------------------------------- pcapng


def _block(btype: int, body: bytes) -> bytes:
    body += b"\x00" * (-len(body) % 4)
    length = 12 + len(body)
    return struct.pack("<II", btype, length) + body + struct.pack("<I", length)


def _opt(code: int, value: bytes) -> bytes:
    return struct.pack("<HH", code, len(value)) + value + b"\x00" * (-len(value) % 4)


def _shb() -> bytes:
    return _block(0x0A0D0D0A, struct.pack("<IHHq", 0x1A2B3C4D, 1, 0, -1))


def _idb(linktype: int, tsresol: int | None = None, name: bytes = b"") -> bytes:
    opts = b""
    if name:
        opts += _opt(2, name)
    if tsresol is not None:
        opts += _opt(9, bytes([tsresol]))
    if opts:
        opts += _opt(0, b"")
    return _block(1, struct.pack("<HHI", linktype, 0, 65535) + opts)


def _epb(iface: int, ts: int, data: bytes) -> bytes:
    return _block(6, struct.pack("<IIIII", iface, ts >> 32, ts & 0xFFFFFFFF, len(data), len(data)) + data)


def test_pcapng_interfaces_linktypes_and_resolutions():
    data = (_shb() + _idb(1, name=b"eth0") + _idb(113, tsresol=9) + _idb(101, tsresol=0x80 | 10)
            + _epb(0, 1_000_000, b"\xaa" * 60)                  # 1 s in microseconds
            + _epb(1, 2_000_000_000, b"\xbb" * 20)              # 2 s in nanoseconds
            + _epb(2, 3 * 1024, b"\x45" + b"\x00" * 19)         # 3 s in 1/1024 s
            + _block(3, struct.pack("<I", 5) + b"\xcc" * 5)     # SPB: interface 0, no time
            + _block(5, b"\x00" * 12))                          # ISB: skipped
    c, frames = _read(data)
    assert c.format == "pcapng" and not c.problems
    assert [(f.interface, f.linktype, f.time_ns) for f in frames] == [
        (0, 1, 1_000_000_000), (1, 113, 2_000_000_000), (2, 101, 3_000_000_000), (0, 1, None)]
    assert frames[3].data == b"\xcc" * 5
    assert c.interfaces[0].name == "eth0"
    assert [i.resolution for i in c.interfaces][:2] == ["1us", "1ns"]


def test_pcapng_second_section_renumbers_interfaces():
    data = (_shb() + _idb(1) + _epb(0, 1, b"\x01" * 60)
            + _shb() + _idb(276) + _epb(0, 2, b"\x02" * 60))
    c, frames = _read(data)
    assert [(f.interface, f.linktype) for f in frames] == [(0, 1), (1, 276)]


def test_pcapng_corrupt_block_length():
    good = _shb() + _idb(1) + _epb(0, 1, b"\x01" * 60)
    bad = bytearray(_epb(0, 2, b"\x02" * 60))
    struct.pack_into("<I", bad, 4, 44)   # disagrees with the trailing copy
    c, frames = _read(good + bytes(bad))
    assert len(frames) == 1
    assert c.problems[0].code == "capture-corrupt-length"
    assert c.problems[0].offset == len(good) and c.problems[0].frame == 2


def test_pcapng_packet_for_undeclared_interface():
    c, frames = _read(_shb() + _idb(1) + _epb(3, 1, b"\x01" * 60) + _epb(0, 1, b"\x02" * 60))
    assert [f.number for f in frames] == [2]
    assert c.problems[0].code == "capture-unknown-interface" and c.problems[0].frame == 1


def test_pcapng_truncated_block():
    data = _shb() + _idb(1) + _epb(0, 1, b"\x01" * 60) + _epb(0, 2, b"\x02" * 60)
    c, frames = _read(data[:-20])
    assert len(frames) == 1 and c.problems[0].code == "capture-truncated-record"


def test_block_boundaries_do_not_matter(monkeypatch):
    """Records straddling the reader's block size are read whole."""
    monkeypatch.setattr(cap, "BLOCK_SIZE", 37)
    c, frames = _read(pcap_bytes(FRAMES))
    assert [f.data for f in frames] == [d for _, d in FRAMES]
    data = _shb() + _idb(1) + b"".join(_epb(0, i, bytes([i]) * (60 + i)) for i in range(20))
    c, frames = _read(data)
    assert [len(f.data) for f in frames] == [60 + i for i in range(20)]


# ---------------------------------------------------------------------------- properties

frame_lists = st.lists(st.tuples(st.integers(0, 10**6), st.binary(min_size=0, max_size=300)),
                       max_size=20)


@settings(max_examples=60, deadline=None)
@given(frame_lists, st.booleans(), st.booleans())
def test_roundtrip_any_frames(frames, big_endian, nanos):
    timed = [(t / 1000, d) for t, d in frames]
    c, got = _read(pcap_bytes(timed, big_endian=big_endian, nanos=nanos))
    assert [f.data for f in got] == [d for _, d in timed]
    assert not c.problems


@settings(max_examples=60, deadline=None)
@given(frame_lists, st.integers(0, 10_000))
def test_any_truncation_keeps_a_prefix(frames, cut):
    data = pcap_bytes([(t / 1000, d) for t, d in frames])
    cut = min(cut, len(data))
    if cut < 24:
        with pytest.raises(InputError):
            c, got = _read(data[:cut])
        return
    c, got = _read(data[:cut])
    assert [f.data for f in got] == [d for _, d in frames][:len(got)]
    boundaries = {24}
    for _, d in frames:
        boundaries.add(max(boundaries) + 16 + len(d))
    # a cut exactly between records is indistinguishable from a complete file
    assert bool(c.problems) == (cut not in boundaries)


# ---------------------------------------------------------------------------- real tools


def test_editcap_pcapng_and_nanosecond_output(tmp_path):
    editcap = need_tool("editcap", "tshark")
    src = tmp_path / "in.pcap"
    src.write_bytes(pcap_bytes(FRAMES))
    for fmt in ("pcapng", "nsecpcap"):
        out = tmp_path / f"out.{fmt}"
        subprocess.run([editcap, "-F", fmt, str(src), str(out)], check=True, capture_output=True)
        with open_capture(out) as c:
            frames = list(c)
        assert [f.data for f in frames] == [d for _, d in FRAMES]
        assert frames[3].time_ns == 1_700_000_002_000_001_000
        assert c.format == ("pcapng" if fmt == "pcapng" else "pcap")


def test_gzip_tool_output(tmp_path):
    gz = shutil.which("gzip")
    if gz is None:
        pytest.skip("no gzip")
    path = tmp_path / "x.pcap"
    path.write_bytes(pcap_bytes(FRAMES))
    subprocess.run([gz, str(path)], check=True)
    with open_capture(tmp_path / "x.pcap.gz") as c:
        assert len(list(c)) == 4 and c.compression == "gzip"
