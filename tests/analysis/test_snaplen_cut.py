"""Packets cut by the capture's snap length are the capture's doing (issue 10 item 4):
reported as such with their addresses, and what was captured whole is analysed."""

from __future__ import annotations

import io
import struct

from mdiag.adapters.capture import open_stream
from mdiag.analysis.pipeline import analyze
from mdiag.core.igmp import GroupRecord, V3Report, complete_records, encode
from tests.analysis.builders import igmp

HOST = "198.18.0.10"
REPORT = V3Report((GroupRecord(4, "239.1.1.1"), GroupRecord(4, "239.1.1.2"),
                   GroupRecord(1, "232.1.1.1", ("198.18.1.1", "198.18.1.2", "198.18.1.3"))))


def _cut_pcap(frame: bytes, snaplen: int) -> bytes:
    out = [struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, snaplen, 1)]
    out.append(struct.pack("<IIII", 1_700_000_000, 0, min(snaplen, len(frame)), len(frame)))
    out.append(frame[:snaplen])
    return b"".join(out)


def test_complete_records_keeps_the_records_captured_whole():
    payload = encode(REPORT)
    report, kept, announced = complete_records(payload[:8 + 8 + 8 + 8 + 4])   # inside record 3
    assert (kept, announced) == (2, 3)
    assert [str(r.group) for r in report.records] == ["239.1.1.1", "239.1.1.2"]
    assert complete_records(payload) == (REPORT, 3, 3)
    assert complete_records(b"\x16\x00") == (None, 0, 0)


def test_a_report_cut_by_the_snap_length_is_the_captures_doing():
    frame = igmp(REPORT, HOST)
    snaplen = 14 + 24 + 8 + 16 + 4          # Ethernet + IP with router alert + header + 2 records + 4
    with open_stream(io.BytesIO(_cut_pcap(frame, snaplen))) as capture:
        report = analyze(capture)
    [finding] = [f for f in report.findings if f.code == "capture-snaplen-cut"]
    assert finding.context["source"] == HOST and finding.context["destination"] == "224.0.0.22"
    assert finding.context["records_kept"] == 2 and finding.context["ip_length"] == len(frame) - 14
    assert "not the sender's" in finding.message
    assert "igmp-malformed" not in {f.code for f in report.findings}
    groups = {str(g.group): g for g in report.segments[0].groups}
    assert set(groups) == {"239.1.1.1", "239.1.1.2"} and groups["239.1.1.1"].reporting_hosts == (HOST,)
    assert report.counters["igmp_malformed"] == 0


def test_a_short_frame_not_cut_by_the_capture_is_still_malformed():
    frame = igmp(REPORT, HOST)
    short = frame[:-6]                       # shorter on the wire than its IP length says
    data = (struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 262144, 1)
            + struct.pack("<IIII", 1_700_000_000, 0, len(short), len(short)) + short)
    with open_stream(io.BytesIO(data)) as capture:
        report = analyze(capture)
    assert {f.code for f in report.findings} >= {"igmp-malformed"}
    assert "capture-snaplen-cut" not in {f.code for f in report.findings}
