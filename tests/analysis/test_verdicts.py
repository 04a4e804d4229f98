"""The verdicts of issue 10 on the small captures made for them (pcaps/, written by
mdiag.testing.pcapgen): each capture shows one thing mdiag used to tell wrong."""

from __future__ import annotations

from pathlib import Path

from mdiag.adapters.capture import open_capture
from mdiag.analysis.pipeline import AnalysisOptions, analyze
from mdiag.core.querier import split_startup

PCAPS = Path(__file__).resolve().parents[2] / "pcaps"


def _analyze(name: str, **options):
    with open_capture(PCAPS / name) as capture:
        return analyze(capture, AnalysisOptions(**options))


def _codes(report) -> list[str]:
    return [f.code for f in report.findings]


def test_startup_queries_are_their_own_phase_not_drift():
    """Item 1: 2 startup queries QI/4 apart, then QI: no drift, the startup phase told."""
    report = _analyze("querier-startup.pcap")
    [router] = report.segments[0].routers
    assert router.startup_queries == 2 and router.startup_gaps == [31.25]
    assert router.interval_count == 3 and router.mean_interval == 125.0
    assert "querier-interval-drift" not in _codes(report)


def test_split_startup_is_one_rule():
    assert split_startup([31.25, 125, 125], 125).startup == (31.25,)
    assert split_startup([7.2, 7.2, 7.2, 7.2], 125).only_startup     # igmpproxy heard for 30 s
    assert split_startup([31.25, 60, 60], 125).steady == (60, 60)     # too fast after startup
    assert split_startup([60.0] * 12, 125).startup == ()              # too many: no startup phase
    assert split_startup([125, 31.25], 125).startup == ()             # joined in steady state


def test_a_max_response_time_above_the_query_interval_is_flagged_with_its_range():
    """Item 2: MRT 3072 s against QQIC 125 s (tcpdump's igmpv3-queries.pcap)."""
    report = _analyze("querier-mrt-too-long.pcap")
    [finding] = [f for f in report.findings if f.code == "querier-mrt-exceeds-interval"]
    assert finding.context["max_resp_time"] == 3072 and finding.context["query_interval"] == 125
    assert finding.context["count"] == 2 and finding.rfc == "RFC 3376 8.3"
    [router] = report.segments[0].routers
    assert (router.mrt_min, router.mrt_max) == (10.0, 3072.0)


def test_counted_findings_describe_every_occurrence():
    """Item 10: 2 general and 2 group-specific queries without Router Alert are two
    findings of 2, each naming its kind."""
    report = _analyze("router-alert-mixed.pcap")
    missing = [f for f in report.findings if f.code == "router-alert-missing"]
    assert [(f.context["count"], "general" in f.message) for f in missing] == [(2, True), (2, False)]
    assert "group-specific" in missing[1].message


def test_the_querier_over_time_and_when_it_went_silent():
    """Item 7: iptv-freeze's querier 198.18.0.1 queried until 125 s and lost the role at
    380 s (OQPI later); the report says so instead of 'none' and 'other'."""
    report = _analyze("scenarios/iptv-freeze.pcap")
    [seg] = report.segments
    assert seg.querier is None
    spans = [(s.start, s.end, s.querier, s.last_query, s.open) for s in seg.querier_spans]
    assert spans == [(0.0, 380.0, "198.18.0.1", 125.0, False), (380.0, 430.11, None, None, True)]
    assert seg.was_querier("198.18.0.1").end == 380.0
    body = seg.to_json()["querier_spans"]
    assert body[0]["ended_by"].startswith("198.18.0.1 silent") and body[1]["open"]


def test_querier_expectations_say_when():
    from mdiag.analysis import expectations as ex

    report = _analyze("scenarios/iptv-freeze.pcap")
    texts = ["querier=198.18.0.1", "querier@throughout=198.18.0.1", "querier@end=198.18.0.1",
             "querier@any=198.18.0.1", "querier@end=none", "querier@any!=198.18.0.9"]
    results = ex.evaluate(report, [ex.parse(t) for t in texts])
    assert [r.passed for r in results] == [False, False, False, True, True, True]
    assert "198.18.0.1 0.0-380.0 s, none 380.0 s-end" in results[0].detail
    steady = _analyze("v2-leave-lmq.pcap")
    assert all(r.passed for r in ex.evaluate(steady, [ex.parse("querier=198.18.0.1"),
                                                      ex.parse("querier@end=198.18.0.1")]))


def test_a_missed_query_is_flagged_when_it_happens_and_the_stop_names_its_cause():
    """Item 9: silent past QI + margin is flagged then (262.5 s), not only after OQPI;
    traffic-stopped names the querier's silence, or the hosts' (iptv-reports-stop)."""
    report = _analyze("scenarios/iptv-freeze.pcap")
    [missed] = [f for f in report.findings if f.code == "querier-query-missed"]
    assert missed.time == 262.5 and missed.context["last_query"] == 125.0
    [stopped] = [f for f in report.findings if f.code == "traffic-stopped"]
    assert stopped.context["cause"] == "querier-silent"
    assert "the querier 198.18.0.1 fell silent after its general query at 125.0 s" in stopped.message
    other = _analyze("scenarios/iptv-reports-stop.pcap")
    [stopped] = [f for f in other.findings if f.code == "traffic-stopped"]
    assert stopped.context["cause"] == "hosts-silent" and "kept asking (2 general queries" in stopped.message
    assert "querier-query-missed" not in _codes(other)


def test_expiry_times_and_members_everywhere():
    """Item 8: an expired group tells when it ended; members by address and over time."""
    report = _analyze("scenarios/iptv-freeze.pcap")
    groups = {str(g.group): g for g in report.segments[0].groups}
    gone = groups["239.1.1.1"]
    assert gone.state == "absent" and gone.expired and gone.expires == 389.7
    body = gone.to_json()
    assert body["expires"] == 389.7 and body["expired"] is True
    assert body["member_spans"] == [{"host": "198.18.0.10", "start": 4.0, "end": 389.7, "ended": "expired"}]
    playing = groups["239.1.1.2"].to_json()
    assert playing["member_spans"] == [{"host": "198.18.0.11", "start": 200.0, "end": None, "ended": None}]
    left = _analyze("v2-leave-lmq.pcap").segments[0].groups[0].to_json()
    assert [s["ended"] for s in left["member_spans"]] == ["left"] and left["expires"] == 62.002


def test_the_group_table_lists_members_and_when_an_expired_group_ended(cli):
    out = cli("analyze", str(PCAPS / "scenarios/iptv-freeze.pcap")).stdout
    assert "389.700 (ended)" in out and "198.18.0.11" in out


def test_other_routing_protocols_are_routers_by_protocol_not_igmp():
    """Item 11: PIMv2 hellos, PIMv1, DVMRP, MRD over IP protocol 2: routers by protocol,
    not counted as IGMP, and no querier-none on a segment with no IGMP at all."""
    report = _analyze("scenarios/routing-noise.pcap")
    [seg] = report.segments
    peers = {(p.protocol, p.address): p for p in seg.multicast_routers}
    assert set(peers) == {("PIMv2", "198.18.0.1"), ("PIMv2", "198.18.0.2"), ("DVMRP", "198.18.0.2"),
                          ("PIMv1", "198.18.0.1"), ("MRD", "198.18.0.1")}
    assert peers[("PIMv2", "198.18.0.1")].messages == 4 and peers[("PIMv2", "198.18.0.1")].kinds == ("hello",)
    assert report.counters["igmp"] == 0 and report.counters["multicast_routing"] == 12
    assert "querier-none" not in _codes(report) and report.findings == []


def test_link_local_control_traffic_is_not_a_group():
    """Item 12: HSRP and RIP to 224.0.0.x are link-local traffic, not groups in state never."""
    report = _analyze("scenarios/routing-noise.pcap")
    [seg] = report.segments
    assert seg.groups == ()
    local = {str(t.group): t for t in seg.link_local}
    assert set(local) == {"224.0.0.9", "224.0.0.102"}
    assert local["224.0.0.9"].name == "RIPv2 routers" and local["224.0.0.9"].data.packets == 4
    body = seg.to_json()
    assert [t["group"] for t in body["link_local_traffic"]] == ["224.0.0.9", "224.0.0.102"]


def test_numbers_are_written_one_way(cli):
    """Item 14: counts in tables carry thousands separators as the header does."""
    from mdiag.analysis.tables import summary_tables

    report = _analyze("scenarios/iptv-freeze.pcap")
    [groups] = [t for t in summary_tables(report) if t.name == "groups"]
    assert [row[12] for row in groups.rows] == ["386", "231"]
    out = cli("analyze", str(PCAPS / "scenarios/routing-noise.pcap")).stdout
    assert "multicast routing 12" in out and "RIPv2 routers" in out


def test_igmpv1_querier_compatibility_off_subnet_reporter_and_report_flood(cli):
    """Item 13: IGMPv1 has no election (the querier is 'querier'), the compatibility mode
    is in the table, a reporter outside the known subnet (pcapng if_IPv4addr) and a host
    sending 150 reports in a second are flagged."""
    report = _analyze("igmpv1-querier.pcapng")
    assert report.interfaces[0].ipv4_networks == ("198.18.0.0/24",)
    [off] = [f for f in report.findings if f.code == "report-source-off-subnet"]
    assert off.context["host"] == "10.9.9.9" and off.context["subnets"] == ["198.18.0.0/24"]
    [flood] = [f for f in report.findings if f.code == "report-flood"]
    assert flood.context["host"] == "198.18.0.11" and flood.time == 20.0
    assert {g.compatibility_mode for g in report.segments[0].groups} == {1}
    out = cli("analyze", str(PCAPS / "igmpv1-querier.pcapng"), "--timeline").stdout
    assert "querier: 198.18.0.1 (first general query)" in out and "elected querier" not in out
    assert "compat" in out and " v1 " in out
    # the subnet given by hand does the same for a pcap
    given = cli("analyze", str(PCAPS / "v1-report.pcap"), "--subnet", "10.0.0.0/8", "--json").json()
    assert "report-source-off-subnet" in {f["code"] for f in given["analyses"][0]["findings"]}
    assert cli("analyze", str(PCAPS / "v1-report.pcap"), "--subnet", "bogus").status == 2


def test_two_igmpv1_queriers_are_not_an_election(cli):
    """Item 13: IGMPv1 has no election (RFC 1112 App. I): of two IGMPv1 routers that both
    query, neither 'is lower' nor fails to yield; both are queriers."""
    report = _analyze("igmpv1-two-queriers.pcap")
    assert _codes(report) == ["querier-v1-several"]
    out = cli("analyze", str(PCAPS / "igmpv1-two-queriers.pcap"), "--timeline").stdout
    assert "is lower than" not in out and "elected" not in out and "querier-two-active" not in out
    assert "querier too (IGMPv1)" in out and "IGMPv1 has no election" in out
    assert "v1         2          - (IGMPv1)" in out   # the segments table counts no elections


def test_the_iptv_freeze_story_names_the_querier_silence(cli):
    """Items 7 and 9: the story of one frozen channel shows why it froze (the querier missed
    its query at 262.5 s and lost the role at 380 s), although no packet marks either."""
    out = cli("analyze", str(PCAPS / "scenarios/iptv-freeze.pcap"), "--timeline", "--group", "239.1.1.1").stdout
    story = out[out.index("event\n"):]
    assert "262.500           if0                   198.18.0.1 missed its scheduled general query" in story
    assert "380.000           if0                   no querier: 198.18.0.1 silent for more than 255.0 s" in story
    assert story.index("no querier") < story.index("membership expired")
