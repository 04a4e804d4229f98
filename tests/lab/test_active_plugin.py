"""The pytest helpers of active probing: igmp_sniffer, pcap_cases, assert_subset, run_mdiag."""

from __future__ import annotations

import socket
import struct
from pathlib import Path

import pytest

from mdiag.testing.captures import assert_subset, differences, pcap_cases, run_mdiag

PCAPS = Path(__file__).resolve().parents[2] / "pcaps"


def test_pcap_cases_pair_captures_with_expected_analyses(tmp_path):
    (tmp_path / "expected").mkdir()
    for name in ("a.pcap", "b.pcap", "c.pcapng"):
        (tmp_path / name).write_bytes(b"")
    (tmp_path / "expected" / "a.json").write_text('{"k": 1}')
    (tmp_path / "c.expected.json").write_text('{"k": 3}')
    cases = {p.id: p.values[0] for p in pcap_cases(tmp_path)}
    assert set(cases) == {"a.pcap", "b.pcap", "c.pcapng"}
    assert cases["a.pcap"].expected == {"k": 1} and cases["b.pcap"].expected is None
    assert cases["c.pcapng"].expected == {"k": 3}
    assert [p.id for p in pcap_cases(tmp_path, require_expected=True)] == ["a.pcap", "c.pcapng"]
    with pytest.raises(FileNotFoundError):
        pcap_cases(tmp_path / "nowhere")


@pytest.mark.parametrize("actual, expected, found", [
    ({"a": 1, "b": [1, {"c": 2}]}, {"b": [1, {"c": 2}]}, []),
    ({"a": 1}, {"a": 2}, ["$.a: expected 2, got 1"]),
    ({"a": [1]}, {"a": [1, 2]}, ["$.a: expected 2 items, got 1"]),
    ({}, {"x": {"y": 1}}, ["$.x: missing"]),
    ({"t": 0.1 + 0.2}, {"t": 0.3}, []),
    ({"s": "x"}, {"s": {"y": 1}}, ["$.s: expected an object, got str"]),
])
def test_differences(actual, expected, found):
    assert differences(actual, expected) == found


def test_assert_subset_fails_listing_paths():
    with pytest.raises(pytest.fail.Exception, match=r"\$\.querier: expected '198.18.0.1'"):
        assert_subset({"querier": "198.18.0.2"}, {"querier": "198.18.0.1"})
    assert_subset({"anything": 1}, None)


def test_run_mdiag_parses_json():
    status, doc = run_mdiag("analyze", str(PCAPS / "v3-asm-join-leave.pcap"), "--json")
    assert status == 0 and doc["command"] == "analyze"
    status, text = run_mdiag("querier")
    assert status == 2 and "required: --iface" in text


@pytest.mark.lab
def _is_join(m) -> bool:
    return (m.outgoing and m.kind == "v3-report"
            and any(r.type_name == "TO_EX" and str(r.group) == "239.7.7.7" for r in m.message.records))


def test_igmp_sniffer_sees_a_real_join(mdiag_lab, igmp_sniffer):
    h2 = mdiag_lab.host("h2")
    sniffer = igmp_sniffer(h2.iface, netns=h2.netns)
    with mdiag_lab.inside("h2"):
        sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        index = socket.if_nametoindex(h2.iface)
    try:
        sock.setsockopt(socket.IPPROTO_IP, socket.IP_ADD_MEMBERSHIP,
                        struct.pack("4s4si", socket.inet_aton("239.7.7.7"), bytes(4), index))
        # the join's state-change report (a general query racing the join gets an IS_EX
        # current-state report too, which is not the one this test is about)
        seen = sniffer.wait_for(lambda ms: any(_is_join(m) for m in ms), 3)
    finally:
        sock.close()
    report = next(m for m in seen if _is_join(m))
    assert report.src == h2.address and report.dst == "224.0.0.22" and report.mac == h2.mac
    assert report.decoded.ttl == 1 and report.decoded.router_alert and report.decoded.tos == 0xC0
    (record,) = report.message.records
    assert (record.type_name, str(record.group)) == ("TO_EX", "239.7.7.7")
    queries = [m for m in sniffer.wait_for(lambda ms: any(not m.outgoing for m in ms), 3) if not m.outgoing]
    assert queries and queries[0].src == "198.18.0.1"
    assert len(sniffer.stop()) >= 2
