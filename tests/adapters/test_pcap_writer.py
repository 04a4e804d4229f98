"""Classic pcap writer: create, append (either byte order, us or ns), never clobber by accident."""

from __future__ import annotations

import struct

import pytest

from mdiag.adapters.capture import open_capture
from mdiag.adapters.pcap_writer import LINKTYPE_RAW, PcapExists, PcapWriter, write_pcap
from mdiag.errors import InputError

FRAME = bytes.fromhex("01005e0101010200c612000a080046c00020000040000102") + bytes(20)


def read(path):
    with open_capture(path) as capture:
        return [(f.time_ns, f.data, f.linktype) for f in capture]


def test_write_and_read_back(tmp_path):
    path = tmp_path / "a.pcap"
    assert write_pcap(path, [(1_000_000_123_000, FRAME), (2_000_000_000_000, FRAME[:30])]) == 2
    assert read(path) == [(1_000_000_123_000, FRAME, 1), (2_000_000_000_000, FRAME[:30], 1)]
    assert path.read_bytes()[:4] == b"\xd4\xc3\xb2\xa1"  # little-endian, microseconds


def test_nanosecond_resolution(tmp_path):
    path = tmp_path / "ns.pcap"
    with PcapWriter(path, nanosecond=True) as writer:
        writer.write(FRAME, 1_000_000_000_000_000_123)
    assert read(path)[0][0] == 1_000_000_000_000_000_123


def test_refuses_to_overwrite_without_force(tmp_path):
    path = tmp_path / "keep.pcap"
    path.write_bytes(b"precious")
    with pytest.raises(PcapExists):
        PcapWriter(path)
    assert path.read_bytes() == b"precious"
    with PcapWriter(path, force=True) as writer:
        writer.write(FRAME, 0)
    assert len(read(path)) == 1


def test_append_big_endian_file_keeps_its_format(tmp_path):
    path = tmp_path / "be.pcap"
    header = struct.pack(">IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, 1)
    record = struct.pack(">IIII", 100, 5, len(FRAME), len(FRAME)) + FRAME
    path.write_bytes(header + record)
    with PcapWriter(path, append=True) as writer:
        assert writer.count_before == 1 and writer.last_time_ns == 100_000_005_000
        writer.write(FRAME, 101_000_000_000)
    assert [t for t, _, _ in read(path)] == [100_000_005_000, 101_000_000_000]


@pytest.mark.parametrize(("content", "needle"), [
    (b"\x0a\x0d\x0d\x0a" + bytes(40), "pcapng cannot be appended"),
    (b"hello", "not a pcap file"),
])
def test_append_refuses_other_files(tmp_path, content, needle):
    path = tmp_path / "other"
    path.write_bytes(content)
    with pytest.raises(InputError, match=needle):
        PcapWriter(path, append=True)
    assert path.read_bytes() == content


def test_append_refuses_other_link_type(tmp_path):
    path = tmp_path / "raw.pcap"
    write_pcap(path, [(0, FRAME[14:])], linktype=LINKTYPE_RAW)
    with pytest.raises(InputError, match="link type 101"):
        PcapWriter(path, append=True)


def test_append_to_missing_or_empty_file_creates_it(tmp_path):
    path = tmp_path / "new.pcap"
    with PcapWriter(path, append=True) as writer:
        writer.write(FRAME, 0)
    empty = tmp_path / "empty.pcap"
    empty.write_bytes(b"")
    with PcapWriter(empty, append=True) as writer:
        writer.write(FRAME, 0)
    assert len(read(path)) == len(read(empty)) == 1


def test_writes_to_an_open_stream_and_leaves_it_open():
    import io

    buffer = io.BytesIO()
    with PcapWriter("standard output", stream=buffer) as writer:
        writer.write(FRAME, 1_000_000_000)
    assert not buffer.closed
    data = buffer.getvalue()
    assert data[:4] == bytes.fromhex("d4c3b2a1") and len(data) == 24 + 16 + len(FRAME)
