"""pcaps/: regeneration is byte-identical; scapy and the fast decoder agree on every frame."""

from __future__ import annotations

import filecmp
import os
from pathlib import Path

import pytest

from mdiag.adapters import scapy_igmp
from mdiag.adapters.capture import open_capture
from mdiag.core import linklayer
from mdiag.core.igmp import MalformedPacket, decode_ipv4
from mdiag.testing import pcapgen

PCAPS = Path(__file__).resolve().parent.parent / "pcaps"
CAPTURES = sorted(p.name for p in PCAPS.glob("*.pcap"))


def frames(name: str):
    with open_capture(PCAPS / name) as capture:
        for frame in capture:
            yield frame.number, frame.linktype, frame.data


def test_regeneration_is_byte_identical(tmp_path):
    names = pcapgen.write_all(str(tmp_path))
    assert sorted(names) == CAPTURES, "pcaps/ is out of date: run make pcaps"
    for name in [*names, "README.md"]:
        assert filecmp.cmp(tmp_path / name, PCAPS / name, shallow=False), f"{name} differs: run make pcaps"


def test_every_capture_is_described():
    readme = (PCAPS / "README.md").read_text()
    for name in CAPTURES:
        assert f"| {name} |" in readme


@pytest.mark.parametrize("name", CAPTURES)
def test_scapy_and_fast_decoder_agree(name):
    seen = 0
    for number, linktype, data in frames(name):
        located = linklayer.locate_ipv4(linktype, data, 0, len(data))
        assert located.status == linklayer.OK
        try:
            fast = decode_ipv4(data[located.ip:])
        except MalformedPacket as exc:
            with pytest.raises(MalformedPacket) as slow:
                scapy_igmp.parse_frame(data)
            assert name == "malformed.pcap" and number in pcapgen.UNDECODABLE_FRAMES
            assert exc.offset >= 0 and slow.value.offset >= 0
            continue
        slow = scapy_igmp.parse_frame(data)
        assert slow == fast, f"{name} frame {number}"
        seen += 1
        if name != "malformed.pcap":
            assert fast.checksum_ok and fast.ip_checksum_ok
            assert not [f for f in fast.findings if f.code != "ssm-old-version-report"
                        and f.code not in _EXPECTED.get(name, ())], f"{name} frame {number}: {fast.findings}"
    assert seen


_EXPECTED = {
    # The mtrace query is unicast with TTL 64 and has its own rules (no IGMP findings).
    "unknown-types.pcap": (),
}


def test_malformed_frames_have_one_finding_each():
    expected = {1: "igmp-checksum-bad", 2: "ip-checksum-bad", 3: "ip-ttl-not-1", 4: "router-alert-missing",
                5: "wrong-destination", 6: "general-query-with-sources", 7: "report-for-all-systems",
                10: "trailing-bytes", 11: "record-aux-data", 12: "ssm-exclude-mode", 13: "reserved-nonzero",
                14: "query-from-zero-source", 15: None, 16: "record-type-unknown"}
    for number, _, data in frames("malformed.pcap"):
        if number in pcapgen.UNDECODABLE_FRAMES:
            with pytest.raises(MalformedPacket):
                decode_ipv4(data[14:])
            continue
        codes = [f.code for f in decode_ipv4(data[14:]).findings]
        assert codes == ([expected[number]] if expected[number] else []), f"frame {number}: {codes}"


def test_generator_writes_bulk_capture(tmp_path):
    path = tmp_path / "bulk.pcap"
    pcapgen.main([str(path), "--bulk", "500"])
    kinds = set()
    with open_capture(path) as capture:
        for frame in capture:
            kinds.add(decode_ipv4(frame.data[14:]).kind)
    assert {"v2-report", "v2-leave", "v3-report"} <= kinds
    assert os.path.getsize(path) > 500 * 46
