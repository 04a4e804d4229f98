"""What analyze and decode say about the capture itself (issue 10 items 3, 5, 6):
FCS bits in a pcap link-type field, a pcapng cut inside its section header, frames of
an unsupported link type."""

from __future__ import annotations

import struct

import pytest

from mdiag.core.igmp import V2Report
from mdiag.errors import ExitStatus
from tests.analysis.builders import igmp, pcap_bytes

FRAME = igmp(V2Report("239.1.1.1"), "198.18.0.10")


def _pcap_with_linkfield(linkfield: int) -> bytes:
    data = pcap_bytes([(0.0, FRAME + b"\x12\x34\x56\x78")])     # 4 FCS bytes after the frame
    return data[:20] + struct.pack("<I", linkfield) + data[24:]


def test_linktype_fcs_bits_are_masked_like_libpcap(cli, tmp_path):
    """0x04000001: Ethernet with the F bit and FCS length set (tcpdump's bootp_asan.pcap)."""
    path = tmp_path / "fcs.pcap"
    path.write_bytes(_pcap_with_linkfield(0x04000001))
    doc = cli("analyze", str(path), "--json").json()
    [a] = doc["analyses"]
    assert a["capture"]["interfaces"][0]["linktype"] == 1
    assert a["counters"]["igmp"] == 1
    assert "capture-unknown-linktype" not in {f["code"] for f in a["findings"]}
    decoded = cli("decode", str(path), "--json").json()
    assert len(decoded["inputs"][0]["messages"]) == 1


@pytest.mark.parametrize("size", [4, 12, 27])
@pytest.mark.parametrize("command", ["analyze", "decode"])
def test_a_pcapng_cut_inside_its_section_header_is_bad_input(cli, tmp_path, command, size):
    shb = (b"\x0a\x0d\x0d\x0a" + struct.pack("<I", 28) + b"\x4d\x3c\x2b\x1a"
           + struct.pack("<HHq", 1, 0, -1) + struct.pack("<I", 28))
    path = tmp_path / "cut.pcapng"
    path.write_bytes(shb[:size])
    result = cli(command, str(path))
    assert result.status == ExitStatus.BAD_INPUT
    assert "section header is cut short" in result.stderr and "Traceback" not in result.stderr


def test_decode_and_analyze_say_a_link_type_is_unsupported(cli, tmp_path):
    path = tmp_path / "token-ring.pcap"
    path.write_bytes(pcap_bytes([(0.0, FRAME), (1.0, FRAME)], linktype=6))
    result = cli("decode", str(path))
    assert result.status == ExitStatus.PROBLEM_FOUND      # a warning, decode's default --fail-on
    assert "2 of an unsupported link type" in result.stdout
    assert "link type 6 is not one mdiag reads" in result.stdout and "its 2 frames were skipped" in result.stdout
    assert cli("decode", str(path), "--fail-on", "never").status == ExitStatus.OK
    doc = cli("decode", str(path), "--json").json()
    assert doc["inputs"][0]["unsupported_link"] == 2 and doc["inputs"][0]["not_igmp"] == 0
    analysed = cli("analyze", str(path), "--json").json()["analyses"][0]
    assert [f["code"] for f in analysed["findings"]] == ["capture-unknown-linktype"]


def test_decode_says_a_packet_was_cut_by_the_capture(cli, tmp_path):
    """Item 4 in decode: a report cut by the snap length is the capture's doing, with its
    addresses, not an undecodable packet from the sender."""
    from mdiag.core.igmp import GroupRecord, V3Report

    frame = igmp(V3Report((GroupRecord(4, "239.1.1.1"), GroupRecord(4, "239.1.1.2"))), "198.18.0.10")
    snap = 14 + 24 + 8 + 8 + 4
    data = (struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, snap, 1)
            + struct.pack("<IIII", 1_700_000_000, 0, snap, len(frame)) + frame[:snap])
    path = tmp_path / "cut.pcap"
    path.write_bytes(data)
    result = cli("decode", str(path))
    assert "cut by capture" in result.stdout and "198.18.0.10" in result.stdout
    assert "1 cut by the capture's snap length" in result.stdout and "undecodable" not in result.stdout
    assert cli("decode", str(path), "--fail-on", "error").status == ExitStatus.OK
    [message] = cli("decode", str(path), "--json").json()["inputs"][0]["messages"]
    assert message["cut_by_capture"] == {"captured": snap - 14, "ip_length": len(frame) - 14,
                                         "source": "198.18.0.10", "destination": "224.0.0.22",
                                         "kind": "v3-report", "records_announced": 2,
                                         "records": [{"type": "TO_EX", "type_code": 4, "group": "239.1.1.1",
                                                      "sources": []}]}
    # what was captured whole is shown, as tcpdump and tshark show it
    assert "v3-report (cut by capture)" in result.stdout
    assert "TO_EX 239.1.1.1 {} (1 of 2 records whole; 44 of 48 IP bytes captured)" in result.stdout
