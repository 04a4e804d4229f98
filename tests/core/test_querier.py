"""Querier election tracker (RFC 3376 6.6.2): elections, non-yielding routers, gaps, drift."""

from __future__ import annotations

from ipaddress import IPv4Address as A

from mdiag.core.igmp import V1Query, V2Query, V3Query
from mdiag.core.querier import QuerierTracker

R1, R2, R3 = A("198.18.0.1"), A("198.18.0.2"), A("198.18.0.3")
ALL = A("224.0.0.1")
ZERO = A("0.0.0.0")


def feed(events, tracker=None):
    tracker = tracker or QuerierTracker(segment="if0")
    for frame, (t, src, msg) in enumerate(events, 1):
        dst = ALL if getattr(msg, "is_general", True) else msg.group
        tracker.observe(t, frame, src, dst, msg, "02:00:00:00:00:01")
    return tracker


def codes(tracker):
    return sorted(f.code for f in tracker.findings)


def test_lowest_ip_wins_and_loser_yields():
    q = V3Query.build()
    t = feed([(0, R2, q), (5, R1, q), (125, R1, q), (250, R1, q)])
    t.finish(300)
    assert t.elected == R1
    assert [(e.time, e.querier, e.previous) for e in t.elections] == [(0, R2, None), (5, R1, R2)]
    assert codes(t) == []
    assert t.querier_version == 3


def test_higher_address_keeps_querying():
    q = V2Query(100)
    t = feed([(0, R1, q), (60, R2, q), (125, R1, q), (185, R2, q)])
    t.finish(200)
    assert t.elected == R1
    [finding] = list(t.findings)
    assert finding.code == "querier-two-active" and finding.frame == 2
    assert finding.context["count"] == 2 and finding.context["other"] == str(R2)


def test_silent_querier_is_replaced_after_oqpi():
    q = V2Query(100)
    t = feed([(0, R1, q), (10, R2, q), (300, R2, q)])   # R1 silent for 300 s > 255 s
    assert t.elected == R2
    # R1 lost the role when its OQPI ran out (255 s), dated then; R2 took over at its query
    assert [(e.time, e.querier) for e in t.elections] == [(0, R1), (255, None), (300, R2)]
    assert t.elections[1].reason.startswith("198.18.0.1 silent") and t.elections[1].previous_last_query == 0
    assert t.elections[2].reason == "198.18.0.2 takes over (no other querier heard)"
    assert [g.duration for g in t.gaps] == [290]
    assert "querier-gap" in codes(t)


def test_gap_at_end_and_querier_lost():
    t = feed([(0, R1, V2Query(100))])
    t.finish(400)
    assert t.gaps[0].open_at_end and t.gaps[0].duration == 400
    assert t.elected is None and t.elections[-1].time == 255


def test_interval_drift_against_qqic_ignores_startup():
    q = V3Query.build(qqi=125)
    # startup: two queries QI/4 apart, then every 60 s although QQIC says 125
    t = feed([(0, R1, q), (31.25, R1, q), (91.25, R1, q), (151.25, R1, q), (211.25, R1, q)])
    info = t.routers[R1]
    assert info.startup_queries == 2 and info.interval_count == 3 and info.mean_interval == 60
    assert codes(t) == ["querier-interval-drift"]


def test_steady_interval_matches():
    q = V3Query.build(qqi=60, max_resp_time=5)
    t = feed([(i * 60.0, R1, q) for i in range(5)])
    assert codes(t) == []
    assert t.timers.query_interval == 60 and t.timers.other_querier_present_interval == 122.5


def test_proxy_queries_do_not_elect():
    t = feed([(0, ZERO, V2Query(100)), (125, ZERO, V2Query(100))])
    t.finish(600)
    assert t.elected is None and t.routers[ZERO].proxy
    assert codes(t) == ["querier-gap", "querier-none"]  # 125 -> 600 s without a query


def test_version_mismatch():
    t = feed([(0, R1, V2Query(100)), (1, R2, V3Query.build())])
    assert "querier-version-mismatch" in codes(t)


def test_group_specific_with_group_zero():
    t = QuerierTracker()
    t.observe(0, 7, R1, A("239.1.1.1"), V2Query(10, "0.0.0.0"))
    [f] = list(t.findings)
    assert f.code == "query-group-zero" and f.frame == 7
    t2 = QuerierTracker()   # group 0 with sources: the decoder's general-query-with-sources
    t2.observe(0, 1, R1, ALL, V3Query.build(sources=["198.18.1.1"]))
    assert [f.code for f in t2.findings] == []


def test_group_queries_counted_not_elected():
    t = feed([(0, R1, V2Query(10, "239.1.1.1")), (1, R1, V3Query.build(group="232.1.1.1", sources=["198.18.1.1"]))])
    info = t.routers[R1]
    assert (info.general_queries, info.group_queries, info.group_source_queries) == (0, 1, 1)
    assert t.elected is None


def test_no_querier_short_capture_is_info():
    t = QuerierTracker()
    t.finish(10, had_igmp=True, start_time=0)
    [f] = list(t.findings)
    assert f.code == "querier-none" and str(f.severity) == "info"


def test_v1_query():
    t = feed([(0, R3, V1Query())])
    assert t.elected == R3 and t.querier_version == 1


def test_igmpv1_routers_have_no_election_and_none_must_yield():
    """RFC 1112 App. I: IGMPv1 has no querier election. Two IGMPv1-only routers that both
    query are told as such (info), never as a lower address winning or a router that did
    not yield; one of them speaking v2 brings the election rules back."""
    t = feed([(0, R2, V1Query()), (2, R1, V1Query()), (125, R2, V1Query()), (127, R1, V1Query()),
              (250, R2, V1Query())])
    assert t.elected == R1
    assert "is lower than" not in t.elections[-1].reason and "no election" in t.elections[-1].reason
    [several] = list(t.findings)
    assert (several.code, str(several.severity)) == ("querier-v1-several", "info")
    assert several.context["count"] == 2 and several.context["other"] == str(R2)
    mixed = feed([(0, R1, V2Query(100)), (60, R2, V1Query()), (125, R1, V2Query(100)), (185, R2, V1Query())])
    assert "querier-two-active" in codes(mixed) and "querier-v1-several" not in codes(mixed)


def test_startup_queries_need_the_startup_spacing():
    """RFC 3376 8.6: only queries Startup Query Interval (QI/4) apart are startup queries."""
    q = V3Query.build(qqi=125)
    steady = feed([(0, R1, q), (125, R1, q), (250, R1, q)]).routers[R1]
    assert steady.startup_queries == 0 and steady.interval_count == 2
    single = feed([(0, R1, q)]).routers[R1]
    assert single.startup_queries == 0
    late = feed([(0, R1, q), (125, R1, q), (156.25, R1, q)]).routers[R1]
    assert late.startup_queries == 0   # QI/4 spacing after the start is not a startup


def test_a_missed_query_is_told_when_due_and_when_it_came_late():
    q = V2Query(100)
    t = feed([(0, R1, q), (125, R1, q)])
    t.advance(263)                      # QI 125 s + 12.5 s margin after 125 s: overdue
    [missed] = [f for f in t.findings if f.code == "querier-query-missed"]
    assert missed.time == 262.5 and missed.context["next_query"] is None
    t.observe(300, 3, R1, A("224.0.0.1"), q)
    [missed] = [f for f in t.findings if f.code == "querier-query-missed"]
    assert missed.time == 262.5 and missed.context["next_query"] == 300
    assert "came at 300.000 s, 50.0 s late" in missed.message
    assert t.elected == R1 and len(t.elections) == 1   # late, but within OQPI: still the querier
    assert "count" not in missed.context                # told again with the late query, not twice
