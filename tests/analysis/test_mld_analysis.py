"""MLD in capture analysis: per segment and address family, the querier election (lowest
IPv6 address, link-local only), listener state with MLDv1 compatibility, dones and their
latency, IPv6 data, and the expectations, JSON and CSV that name the family."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import pytest

from mdiag.analysis.pipeline import AnalysisOptions, Analyzer
from mdiag.core.findinglog import FindingLog
from mdiag.core.mld import Mld1Done, Mld1Query, Mld1Report, Mld2Query, Mld2Report, MldRecord, address
from mdiag.core.membership import MembershipTable
from mdiag.core.querier import QuerierTracker
from mdiag.testing.pcapgen_mld import mld_frame, udp6_frame

PCAPS = Path(__file__).resolve().parents[2] / "pcaps" / "mld"
GQ = Mld2Query.build(qqi=125)


def test_tracker_elects_the_lowest_link_local_address():
    tracker = QuerierTracker(family=6)
    tracker.observe(0.0, 1, address("fe80::2"), address("ff02::1"), GQ)
    tracker.observe(1.0, 2, address("fd00::1"), address("ff02::1"), GQ)   # not link-local: ignored
    tracker.observe(2.0, 3, address("::"), address("ff02::1"), GQ)        # unspecified: ignored
    assert tracker.elected == address("fe80::2")
    tracker.observe(5.0, 4, address("fe80::1"), address("ff02::1"), GQ)
    assert tracker.elected == address("fe80::1") and tracker.querier_version == 2
    assert [e.reason for e in tracker.elections] == ["first general query", "fe80::1 is lower than fe80::2"]
    # IGMP queries are not MLD's business
    from mdiag.core.igmp import V3Query

    tracker.observe(6.0, 5, address("fe80::0"), address("ff02::1"), V3Query())
    assert tracker.queries == 4


def test_mldv1_host_puts_the_address_in_mldv1_compatibility():
    table = MembershipTable(family=6, findings=FindingLog())
    host1, host2 = address("fe80::10"), address("fe80::11")
    table.report(0.0, 1, host1, Mld2Report((MldRecord(4, "ff05::1"),)))
    table.report(1.0, 2, host2, Mld1Report("ff05::1"))
    state = table.get(address("ff05::1"))
    assert state.compatibility(2.0) == 1 and state.protocol_versions == [1, 2]
    # In MLDv1 compatibility a BLOCK is ignored (RFC 3810 8.3.2): still EXCLUDE, still present.
    table.report(3.0, 3, host1, Mld2Report((MldRecord(6, "ff05::1", ("fd00::1",)),)))
    assert state.present and state.mode == "exclude"
    table.report(4.0, 4, host2, Mld1Done("ff05::1"))
    table.query(4.01, 5, Mld1Query(1000, "ff05::1"))
    table.finish(300.0)
    assert not state.present and state.leaves[0].kind == "done"
    assert state.to_json(300.0, 260.0)["compatibility_mode"] == 2   # back to MLDv2 mode by then


def test_dual_stack_segment_has_one_report_per_family(cli):
    result = cli("analyze", str(PCAPS / "dual-stack.pcap"), "--json", "--fail-on", "never")
    [analysis] = result.json()["analyses"]
    by_family = {s["family"]: s for s in analysis["segments"]}
    assert by_family[4]["querier"] == "198.18.0.1" and by_family[4]["protocol"] == "IGMP"
    assert by_family[6]["querier"] == "fe80::1" and by_family[6]["protocol"] == "MLD"
    assert by_family[6]["segment"]["name"] == "if0 (MLD)"
    groups6 = {g["group"]: g for g in by_family[6]["groups"]}
    assert groups6["ff05::1:3"]["data"]["packets"] == 60 and groups6["ff05::1:3"]["join_latency"] == 0.2
    assert analysis["counters"]["mld"] == 9 and analysis["summary"]["mld_queriers"] == ["fe80::1"]
    codes = {f["code"] for f in analysis["findings"]}
    assert "mac-shared-groups" in codes
    # solicited-node groups are memberships of neighbour discovery, never "without traffic"
    assert not [f for f in analysis["findings"] if "ff02::1:ff" in f["message"]]


def test_expect_keys_for_mld(cli):
    capture = str(PCAPS / "dual-stack.pcap")
    ok = cli("analyze", capture, "--fail-on", "never", "--expect", "mld-querier=fe80::1", "--expect",
             "mld-version=2", "--expect", "querier=198.18.0.1", "--expect", "igmp-version=3",
             "--expect", "group=ff05::1:3:members>=1", "--expect", "group=[ff15::1:3]:state=exclude",
             "--expect", "mld-messages=9", "--expect", "mld-querier@end=fe80::1")
    assert ok.status == 0, ok.stdout + ok.stderr
    bad = cli("analyze", capture, "--fail-on", "never", "--expect", "mld-querier=fe80::2")
    assert bad.status == 1 and "if0 (MLD): fe80::1" in bad.stdout
    none = cli("analyze", str(PCAPS.parent / "v2-join.pcap"), "--fail-on", "never", "--expect", "mld-version=2")
    assert none.status == 1 and "no segment with MLD" in none.stdout
    wrong = cli("analyze", capture, "--expect", "mld-querier=198.18.0.1")
    assert wrong.status == 2 and "not an IPv6 address" in wrong.stderr


def test_csv_says_the_family_of_every_row(cli):
    result = cli("analyze", str(PCAPS / "dual-stack.pcap"), "--csv", "--fail-on", "never")
    rows = list(csv.DictReader(io.StringIO(result.stdout)))
    assert {(r["group"], r["family"]) for r in rows} >= {("239.1.1.1", "4"), ("ff05::1:3", "6")}


def test_done_latency_and_the_timeline(cli):
    result = cli("analyze", str(PCAPS / "mld1-join-done.pcap"), "--json", "--timeline", "--fail-on", "never")
    [analysis] = result.json()["analyses"]
    [group] = analysis["segments"][0]["groups"]
    assert group["state"] == "absent" and group["max_leave_latency"] == 2.002
    assert group["leave_details"][0]["kind"] == "done" and group["leave_details"][0]["queries"] == 2
    texts = [e["text"] for e in analysis["timeline"]]
    assert "fe80::1: MLDv1 general query (MRT 10 s)" in texts and "done from fe80::10" in texts
    assert "MLDv1 report from fe80::10" in texts and "membership expired" in texts


def test_incremental_analyzer_takes_mld_frames():
    analyzer = Analyzer(AnalysisOptions())
    base = 1_767_225_600 * 10**9
    analyzer.feed(mld_frame(GQ, "fe80::1"), base)
    analyzer.feed(mld_frame(Mld2Report((MldRecord(4, "ff05::7"),)), "fe80::10"), base + 10**9)
    analyzer.feed(udp6_frame("fd00::100", "ff05::7", b"x" * 100), base + 2 * 10**9)
    report = analyzer.report()
    [seg] = report.segments
    assert (seg.family, seg.querier, seg.groups[0].data.packets) == (6, "fe80::1", 1)
    analyzer.advance(base + 400 * 10**9)   # the listener expires without a packet (MALI 260 s)
    assert analyzer.report(base + 400 * 10**9).segments[0].groups[0].state == "absent"


def test_ipv4_only_capture_has_no_mld_segment(cli):
    result = cli("analyze", str(PCAPS.parent / "v3-ssm-join-leave.pcap"), "--json")
    [analysis] = result.json()["analyses"]
    assert [s["family"] for s in analysis["segments"]] == [4] and analysis["counters"]["mld"] == 0


def test_distinct_mld_packets_do_not_grow_the_decode_cache_without_bound(monkeypatch):
    from mdiag.analysis import pipeline

    monkeypatch.setattr(pipeline, "DECODE_CACHE", 50)
    analyzer = Analyzer(AnalysisOptions())
    base = 1_767_225_600 * 10**9
    for i in range(300):   # 300 hosts, each report a distinct packet
        analyzer.feed(mld_frame(Mld2Report((MldRecord(4, "ff05::7"),)), f"fe80::{i + 16:x}"), base + i * 10**6)
    assert len(analyzer.decoded) <= 51
    assert len(analyzer.report().segments[0].groups[0].reporting_hosts) == 300


def _with_fragment_header(frame: bytes, frag_field: int) -> bytes:
    """``frame`` (Ethernet/IPv6/Hop-by-Hop/ICMPv6) with a Fragment header after the
    Hop-by-Hop header: offset and M flag from ``frag_field``."""
    import struct

    ip = 14
    plen = struct.unpack_from("!H", frame, ip + 4)[0] + 8
    hbh = bytearray(frame[ip + 40:ip + 48])
    nxt, hbh[0] = hbh[0], 44
    return (frame[:ip + 4] + struct.pack("!H", plen) + frame[ip + 6:ip + 40] + bytes(hbh)
            + struct.pack("!BBHI", nxt, 0, frag_field, 1) + frame[ip + 48:])


@pytest.mark.parametrize("frag_field, mld_messages, groups", [
    (0x0000, 2, ["ff05::1:3"]),   # atomic fragments: whole packets (RFC 6946 4), as Linux snoops them
    (0x0001, 0, []),              # first fragments (M 1): not MLD to a listener table
])
def test_mld_behind_a_fragment_header(tmp_path, cli, frag_field, mld_messages, groups):
    from tests.analysis.builders import write_pcap

    frames = [(0.0, mld_frame(GQ, "fe80::1")),
              (1.0, mld_frame(Mld2Report((MldRecord(4, "ff05::1:3"),)), "fe80::10"))]
    path = tmp_path / "frag.pcap"
    write_pcap(path, [(t, _with_fragment_header(f, frag_field)) for t, f in frames])
    [a] = cli("analyze", str(path), "--json", "--fail-on", "never").json()["analyses"]
    assert a["counters"]["mld"] == mld_messages
    assert [g["group"] for s in a["segments"] for g in s["groups"]] == groups
    decoded = cli("decode", str(path), "--json", "--fail-on", "never").json()["inputs"][0]["messages"]
    assert [m["kind"] for m in decoded] == (["mld2-query", "mld2-report"] if groups else [])


@pytest.mark.parametrize("frames, expected", [
    # MLDv2 reports (repeated) from a host that heard an MLDv1 querier's query: one finding,
    # dated at the first
    ([(0.0, "q1"), (1.0, "r2"), (125.0, "q1"), (126.0, "r2"), (127.0, "r2"), (128.0, "r2b")],
     [("compat-newer-host", 4, "fe80::10", 1)]),
    # an MLDv2 report before any query (a join) is not a fault; after the v1 query it is
    ([(0.0, "r2"), (1.0, "q1"), (2.0, "r2")], [("compat-newer-host", 3, "fe80::10", 1)]),
    # a host first heard after the query may have come up since (it did not hear it): no finding
    ([(0.0, "q1"), (1.0, "r2"), (2.0, "r2")], []),
    # the right versions: MLDv1 report to an MLDv1 querier, MLDv2 report to an MLDv2 querier
    ([(0.0, "q1"), (1.0, "r1")], []),
    ([(0.0, "q2"), (1.0, "r2")], []),
    # IGMP alike: IGMPv3 reports to an IGMPv2 querier
    ([(0.0, "v3r"), (0.5, "v2q"), (1.0, "v3r"), (2.0, "v3r")], [("compat-newer-host", 3, "198.18.0.10", 2)]),
    ([(0.0, "v3q"), (1.0, "v3r")], []),
])
def test_newer_reports_to_an_older_querier(tmp_path, cli, frames, expected):
    """RFC 3810 8.2.1 / RFC 3376 7.2.1: a host must answer an older querier in its version."""
    from mdiag.core.igmp import GroupRecord, V2Query, V3Query, V3Report
    from tests.analysis.builders import igmp, write_pcap

    build = {
        "q1": lambda: mld_frame(Mld1Query(10000), "fe80::1"),
        "q2": lambda: mld_frame(GQ, "fe80::1"),
        "r1": lambda: mld_frame(Mld1Report("ff05::1:3"), "fe80::10"),
        "r2": lambda: mld_frame(Mld2Report((MldRecord(4, "ff05::1:3"),)), "fe80::10"),
        "r2b": lambda: mld_frame(Mld2Report((MldRecord(2, "ff05::1:4"),)), "fe80::10"),
        "v2q": lambda: igmp(V2Query(100), "198.18.0.1"),
        "v3q": lambda: igmp(V3Query.build(), "198.18.0.1"),
        "v3r": lambda: igmp(V3Report((GroupRecord(4, "239.1.1.1"),)), "198.18.0.10"),
    }
    path = tmp_path / "versions.pcap"
    write_pcap(path, [(t, build[name]()) for t, name in frames])
    [a] = cli("analyze", str(path), "--json", "--fail-on", "never").json()["analyses"]
    found = [(f["code"], f["frame"], f["context"]["host"], f["context"]["querier_version"])
             for f in a["findings"] if f["code"].startswith("compat-")]
    assert found == expected


@pytest.mark.parametrize("capture, said, unsaid", [
    ("mld/mld2-querier-v1-host.pcap", "address-specific query (MRT 1 s)", "group-specific"),
    ("mld/mld2-ssm-join-leave.pcap", "address-and-source query({fd00::100})", "group-and-source"),
    ("v2-leave-lmq.pcap", "group-specific query (MRT 1 s)", "address-specific"),
])
def test_timeline_names_queries_in_each_protocols_words(cli, capture, said, unsaid):
    """MLD's Multicast Address Specific Queries (RFC 3810 5.1.12), IGMP's group-specific ones."""
    out = cli("analyze", str(PCAPS.parent / capture), "--timeline", "--fail-on", "never").stdout
    assert said in out and unsaid not in out
