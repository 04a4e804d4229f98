"""Router-side membership table: RFC 3376 6.4 transitions, section 7 compatibility, leaves."""

from __future__ import annotations

from ipaddress import IPv4Address as A

import pytest

from mdiag.core.igmp import GroupRecord, V1Report, V2Leave, V2Query, V2Report, V3Query, V3Report
from mdiag.core.membership import EXCLUDE, INCLUDE, MembershipTable
from mdiag.core.timers import Profile, TimerSet

H1, H2 = A("198.18.0.10"), A("198.18.0.11")
G = A("239.1.1.1")
S1, S2, S3 = A("198.18.1.1"), A("198.18.1.2"), A("198.18.1.3")
GMI = 260.0


def rec(kind, *sources, group=G):
    return V3Report((GroupRecord(kind, group, tuple(sources)),))


IS_IN, IS_EX, TO_IN, TO_EX, ALLOW, BLOCK = 1, 2, 3, 4, 5, 6


def state_of(table, group=G):
    s = table.get(group)
    return (s.mode if s.present else "absent",
            {str(A(x)): t for x, t in s.sources.items()},
            {str(A(x)) for x in s.blocked},
            s.group_timer if s.mode == EXCLUDE else None)


# (records applied at t=0 then t=10, expected (mode, source timers, Y, group timer)) --------
# RFC 3376 6.4.1/6.4.2, with GMI = 260 s (RFC 3376 profile defaults).
TRANSITIONS = [
    ("IN(A)+ALLOW(B)", [(0, ALLOW, S1), (10, ALLOW, S2)],
     (INCLUDE, {"198.18.1.1": 260, "198.18.1.2": 270}, set(), None)),
    ("IN(A)+IS_IN(B)", [(0, ALLOW, S1), (10, IS_IN, S1, S2)],
     (INCLUDE, {"198.18.1.1": 270, "198.18.1.2": 270}, set(), None)),
    ("IN(A)+BLOCK(B) keeps timers", [(0, ALLOW, S1, S2), (10, BLOCK, S1)],
     (INCLUDE, {"198.18.1.1": 260, "198.18.1.2": 260}, set(), None)),
    ("IN(A)+IS_EX(B) -> EX(A*B,B-A)", [(0, ALLOW, S1, S2), (10, IS_EX, S2, S3)],
     (EXCLUDE, {"198.18.1.2": 260}, {"198.18.1.3"}, 270)),
    ("IN(A)+TO_EX({}) any-source join", [(0, ALLOW, S1), (10, TO_EX)],
     (EXCLUDE, {}, set(), 270)),
    ("EX(X,Y)+ALLOW(A)", [(0, TO_EX, S1), (10, ALLOW, S1, S2)],
     (EXCLUDE, {"198.18.1.1": 270, "198.18.1.2": 270}, set(), 260)),
    ("EX(X,Y)+BLOCK(A) -> (A-X-Y)=GT", [(0, TO_EX, S1), (10, BLOCK, S2)],
     (EXCLUDE, {"198.18.1.2": 260}, {"198.18.1.1"}, 260)),
    ("EX(X,Y)+IS_EX(A)", [(0, TO_EX, S1), (10, IS_EX, S1, S2)],
     (EXCLUDE, {"198.18.1.2": 270}, {"198.18.1.1"}, 270)),
    ("EX(X,Y)+TO_EX(A) -> (A-X-Y)=GT", [(0, TO_EX, S1), (10, TO_EX, S2)],
     (EXCLUDE, {"198.18.1.2": 260}, set(), 270)),
    ("EX(X,Y)+TO_IN(A)", [(0, TO_EX), (10, TO_IN, S1)],
     (EXCLUDE, {"198.18.1.1": 270}, set(), 260)),
    ("IN + TO_IN(B)", [(0, ALLOW, S1), (10, TO_IN, S2)],
     (INCLUDE, {"198.18.1.1": 260, "198.18.1.2": 270}, set(), None)),
]


@pytest.mark.parametrize("name,steps,expected", TRANSITIONS, ids=[t[0] for t in TRANSITIONS])
def test_rfc3376_state_table(name, steps, expected):
    table = MembershipTable()
    for frame, (t, kind, *sources) in enumerate(steps, 1):
        table.report(t, frame, H1, rec(kind, *sources))
    assert state_of(table) == expected


def test_group_timer_expiry_to_include_with_running_sources():
    table = MembershipTable()
    table.report(0, 1, H1, rec(TO_EX))
    table.report(100, 2, H1, rec(ALLOW, S1))     # S1 timer 360, group timer 260
    table.finish(300)
    assert state_of(table) == (INCLUDE, {"198.18.1.1": 360}, set(), None)
    table.finish(400)
    assert state_of(table)[0] == "absent"
    assert table.get(G).last_expiry == 360


def test_v2_leave_with_last_member_queries_latency():
    table = MembershipTable()
    table.report(0, 1, H1, V2Report(G))
    table.report(30, 2, H1, V2Leave(G))
    table.query(30.01, 3, V2Query(10, G))   # LMQI 1 s, LMQC 2 -> timer 32.01
    table.query(31.01, 4, V2Query(10, G))   # does not extend it
    table.finish(100)
    s = table.get(G)
    assert not s.present and s.last_expiry == pytest.approx(32.01)
    [leave] = s.leaves
    assert leave.queries == 2 and leave.latency == pytest.approx(2.01)
    assert leave.first_query_after == pytest.approx(0.01)
    assert list(table.findings) == []


def test_leave_answered_by_another_member_keeps_group():
    table = MembershipTable()
    table.report(0, 1, H1, V2Report(G))
    table.report(1, 2, H2, V2Report(G))
    table.report(30, 3, H1, V2Leave(G))
    table.query(30.01, 4, V2Query(10, G))
    table.report(30.5, 5, H2, V2Report(G))   # H2 answers: timer back to GMI
    table.finish(100)
    s = table.get(G)
    assert s.present and s.members(100, GMI) == [H2]
    assert s.leaves[0].cancelled_by == H2 and s.leaves[0].latency is None


def test_leave_without_group_query_is_a_finding():
    table = MembershipTable()
    table.report(0, 1, H1, V2Report(G))
    table.report(30, 2, H1, V2Leave(G))
    table.finish(400)
    [f] = list(table.findings)
    assert f.code == "leave-without-group-query" and f.frame == 2
    assert table.get(G).leaves[0].latency == pytest.approx(230)  # expired at GMI after the report


def test_suppressed_query_does_not_lower_timers():
    table = MembershipTable()
    table.report(0, 1, H1, rec(TO_EX))
    table.query(10, 2, V3Query.build(group=G, max_resp_time=1, s_flag=True))
    assert table.get(G).group_timer == 260


def test_source_leave_with_group_and_source_query():
    table = MembershipTable()
    ssm = A("232.1.1.1")
    table.report(0, 1, H1, rec(ALLOW, S1, group=ssm))
    table.report(20, 2, H1, rec(BLOCK, S1, group=ssm))
    table.query(20.01, 3, V3Query.build(group=ssm, sources=[S1], max_resp_time=1))
    table.finish(50)
    s = table.get(ssm)
    assert not s.present and s.leaves[0].kind == "block" and s.leaves[0].latency == pytest.approx(2.01)


def test_v2_compatibility_ignores_block_and_to_ex_sources():
    table = MembershipTable()
    table.report(0, 1, H1, V2Report(G))
    table.report(1, 2, H2, rec(TO_EX, S1))          # sources forgotten in v2 mode
    assert state_of(table)[2] == set()
    table.report(2, 3, H2, rec(BLOCK, S2))          # ignored
    assert state_of(table)[1] == {}
    assert table.get(G).compatibility(2) == 2


def test_v1_compatibility_ignores_leaves():
    table = MembershipTable()
    table.report(0, 1, H1, V1Report(G))
    table.report(5, 2, H2, V2Leave(G))
    table.report(6, 3, H2, rec(TO_IN))
    s = table.get(G)
    assert s.present and s.leave_count == 0 and s.compatibility(6) == 1
    assert s.compatibility(261) == 3   # Older Host Present Interval 260 s


def test_mac_shared_by_joined_groups():
    table = MembershipTable()
    table.report(0, 1, H1, rec(TO_EX, group=A("239.1.1.1")))
    table.report(1, 2, H2, rec(TO_EX, group=A("239.129.1.1")))
    [f] = list(table.findings)
    assert f.code == "mac-shared-groups" and f.frame == 2 and f.context["mac"] == "01:00:5e:01:01:01"


def test_mac_not_shared_when_first_expired():
    table = MembershipTable()
    table.report(0, 1, H1, rec(TO_EX, group=A("239.1.1.1")))
    table.report(300, 2, H2, rec(TO_EX, group=A("239.129.1.1")))
    assert list(table.findings) == []


def test_link_local_report():
    table = MembershipTable()
    table.report(0, 1, H1, V2Report("224.0.0.251"))
    assert [f.code for f in table.findings] == ["report-link-local"]


def test_rfc9776_profile_gmi():
    table = MembershipTable(TimerSet(profile=Profile.RFC9776))
    table.report(0, 1, H1, V2Report(G))
    assert table.get(G).group_timer == 270


def test_events_reach_the_sink():
    events = []
    table = MembershipTable(on_event=lambda t, f, g, text: events.append((t, f, str(g), text)))
    table.report(0, 1, H1, V2Report(G))
    table.report(5, 2, H1, V2Leave(G))
    table.query(5.1, 3, V2Query(10, G))
    table.finish(60)
    assert [e[3].split(" ")[0] for e in events] == ["joined", "leave", "group-specific", "membership"]
