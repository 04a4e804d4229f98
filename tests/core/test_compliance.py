"""Querier compliance verdicts over heard queries (RFC 2236, RFC 3376, RFC 4541)."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from mdiag.core.compliance import QueryHeard, Status, assess, steady_intervals

MAC = "02:00:c6:12:00:01"


def gq(ts, source="198.18.0.1", **kw):
    base = dict(destination="224.0.0.1", mac=MAC, version=3, max_resp=1.0, ttl=1, tos=0xC0,
                router_alert=True, qrv=2, qqi=2.0)
    base.update(kw)
    return QueryHeard(ts, source, **base)


def verdicts(report):
    return {v.check: v.status for v in report.verdicts}


def test_clean_v3_querier_passes_everything():
    r = assess([gq(t) for t in (0.0, 2.0, 4.0, 6.0)])
    assert r.ok and r.elected.address == "198.18.0.1" and r.elected.version == 3
    assert r.measured_interval == pytest.approx(2.0) and r.expected_interval == 2.0
    assert verdicts(r)["interval"] is Status.PASS
    assert verdicts(r)["group-specific-group"] is Status.NOT_APPLICABLE
    assert not r.findings


def test_startup_queries_are_not_held_against_the_interval():
    times = [0.0, 0.5, 1.0, 3.0, 5.0]  # startup at QI/4, then QI
    assert assess([gq(t) for t in times]).ok
    assert steady_intervals([0.5, 0.5, 2.0, 2.0], 2.0) == [2.0, 2.0]


@pytest.mark.parametrize("queries, check, extra", [
    ([gq(0, ttl=2), gq(2)], "ttl", {}),
    ([gq(0, router_alert=False)], "router-alert", {}),
    ([gq(0, tos=0)], "tos", {}),
    ([gq(0, destination="224.0.0.2")], "destination", {}),
    ([gq(0), gq(0.5, destination="239.1.1.1", group="0.0.0.0")], "group-specific-group", {}),
    ([gq(0), gq(0.5, destination="239.1.1.2", group="239.1.1.1")], "destination", {}),
    ([gq(0, checksum_ok=False)], "checksum", {}),
    ([gq(0), gq(3), gq(6)], "interval", {}),
    ([gq(0, max_resp=3.0)], "response-time", {}),
    ([gq(0, qrv=1)], "robustness", {}),
    ([gq(0), gq(0.1, source="198.18.0.2"), gq(2, source="198.18.0.2")], "single-querier", {}),
    ([gq(0), gq(0.1, source="198.18.0.2", version=2, qqi=None, qrv=None)], "versions-agree", {}),
    ([gq(0)], "expect-querier", {"expect_querier": "198.18.0.9"}),
    ([gq(0)], "expect-version", {"expect_version": 2}),
    ([gq(0, source="0.0.0.0")], "source-address", {}),
])
def test_each_rule_fails_alone(queries, check, extra):
    r = assess(queries, **extra)
    failed = {v.check for v in r.failed}
    assert failed == {check}
    assert {f.code for f in r.findings} == {f"querier-{check}"}


def test_v2_querier_is_held_to_125s_or_the_configured_interval():
    v2 = [gq(t, version=2, qqi=None, qrv=None, tos=0) for t in (0.0, 125.0)]
    r = assess(v2)
    assert r.ok and r.expected_interval == 125.0
    assert verdicts(r)["tos"] is Status.NOT_APPLICABLE
    assert not assess(v2, query_interval=60).ok


def test_lowest_address_is_elected_and_proxy_listed():
    r = assess([gq(0, source="198.18.0.9"), gq(0.2, source="198.18.0.3"), gq(0.3, source="0.0.0.0")])
    assert r.elected.address == "198.18.0.3"
    assert [o.address for o in r.others] == ["198.18.0.9"]
    assert [p.address for p in r.proxies] == ["0.0.0.0"]


def test_nothing_heard():
    r = assess([])
    assert not r.heard_anything and r.elected is None and r.verdicts == ()


def test_validation():
    with pytest.raises(ValueError):
        gq(0, version=4)
    with pytest.raises(ValueError):
        gq(0, source="1.2.3")


@given(st.lists(st.builds(gq, st.floats(0, 1000, allow_nan=False),
                          st.sampled_from(["198.18.0.1", "198.18.0.2", "0.0.0.0"]),
                          ttl=st.integers(0, 255), tos=st.integers(0, 255),
                          version=st.sampled_from([1, 2, 3]), router_alert=st.booleans(),
                          group=st.sampled_from(["0.0.0.0", "239.1.1.1"]),
                          destination=st.sampled_from(["224.0.0.1", "239.1.1.1", "224.0.0.2"])),
                max_size=20))
def test_any_set_of_queries_is_judged_without_raising(queries):
    r = assess(queries)
    assert r.heard_anything == bool(queries)
    assert all(v.status in Status for v in r.verdicts)


def test_a_querier_heard_only_in_its_startup_phase_passes_with_no_interval_measured():
    """igmpproxy as a live IGMPv2 querier, heard for 30 s: queries 7.2 s apart are its
    startup phase, judged by its own rule; the interval is not measured (and said so)."""
    v2 = [gq(t, version=2, qqi=None, qrv=None, tos=0) for t in (0.0, 7.2, 14.4, 21.6, 28.8)]
    r = assess(v2, expect_querier="198.18.0.1", expect_version=2)
    assert r.ok and r.measured_interval is None
    by = {v.check: v for v in r.verdicts}
    assert by["interval"].status is Status.NOT_APPLICABLE
    assert "no steady-state general query heard" in by["interval"].detail
    assert by["startup"].status is Status.PASS and "5 general queries 7.2 s apart" in by["startup"].detail


def test_after_the_startup_phase_only_steady_queries_are_measured():
    v2 = [gq(t, version=2, qqi=None, qrv=None, tos=0) for t in (0.0, 31.25, 156.25, 281.25)]
    r = assess(v2)
    assert r.ok and r.measured_interval == pytest.approx(125.0)
    assert "the 2 startup queries left out" in {v.check: v for v in r.verdicts}["interval"].detail
    fast = [gq(t, version=2, qqi=None, qrv=None, tos=0) for t in (0.0, 31.25, 91.25, 151.25)]
    assert {v.check: v.status for v in assess(fast).verdicts}["interval"] is Status.FAIL


def test_two_igmpv1_queriers_have_no_election_to_fail():
    """RFC 1112 App. I: IGMPv1 has no election, so a second IGMPv1 querier is told, not
    failed (analyze's querier-v1-several); a v2 router beside it still must yield."""
    v1 = dict(version=1, max_resp=10.0, qqi=None, qrv=None, tos=0)
    r = assess([gq(0, **v1), gq(0.1, source="198.18.0.2", **v1), gq(2, source="198.18.0.2", **v1)])
    by = {v.check: v for v in r.verdicts}
    assert by["single-querier"].status is Status.NOT_APPLICABLE and "no querier election" in by["single-querier"].detail
    assert "single-querier" not in {v.check for v in r.failed}
    v2 = dict(version=2, max_resp=10.0, qqi=None, qrv=None, tos=0)
    mixed = assess([gq(0, **v2), gq(0.1, source="198.18.0.2", **v1), gq(2, source="198.18.0.2", **v1)])
    assert "single-querier" in {v.check for v in mixed.failed}
