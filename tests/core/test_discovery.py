"""Discovery core: hosts, groups, sources and response times from answered queries."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from mdiag.core.discovery import Heard, Record, Round, discover

S = 1_000_000_000
M1, M2 = "02:00:c6:12:00:0b", "02:00:c6:12:00:0c"


def test_general_query_lists_every_host_with_records_and_times():
    heard = (
        Heard(int(0.35 * S), "198.18.0.11", M1, 3, (Record("IS_EX", "239.1.1.1"),
                                                    Record("IS_IN", "232.1.1.1", ("198.18.0.5",)))),
        Heard(int(0.10 * S), "198.18.0.12", M2, 2, (Record("REPORT", "239.2.2.2"),)),
        Heard(int(0.20 * S), "198.18.0.1", M2, 3, (Record("IS_EX", "239.9.9.9"),)),  # ourselves
    )
    d = discover([Round(0, 1.0, heard)], own_addresses={"198.18.0.1"})
    assert [h.address for h in d.hosts] == ["198.18.0.11", "198.18.0.12"]
    h1, h2 = d.hosts
    assert h1.groups == ("232.1.1.1", "239.1.1.1") and h1.versions == (3,)
    assert h1.response_times == (pytest.approx(0.35),)
    assert [r.describe() for r in h1.records] == ["232.1.1.1 INCLUDE{198.18.0.5}", "239.1.1.1 EXCLUDE{}"]
    assert h2.records[0].mode == "exclude"
    assert {f.code for f in d.findings} == {"discover-older-host"}


def test_group_specific_round_counts_only_that_group():
    heard = (Heard(int(0.1 * S), "198.18.0.11", M1, 3, (Record("IS_EX", "239.9.9.9"),)),
             Heard(int(0.2 * S), "198.18.0.12", M2, 3, (Record("IS_EX", "239.1.1.1"),)))
    d = discover([Round(0, 1.0, heard, group="239.1.1.1")])
    assert [h.address for h in d.hosts] == ["198.18.0.12"]


def test_repeats_give_statistics_and_last_state_wins():
    rounds = [Round(i * 10 * S, 1.0, (Heard(i * 10 * S + (i + 1) * S // 10, "198.18.0.11", M1, 3,
                                             (Record("IS_EX", f"239.1.1.{i + 1}"),)),)) for i in range(3)]
    (host,) = discover(rounds).hosts
    assert host.rounds_answered == 3
    assert (host.stats.minimum, host.stats.median, host.stats.maximum) == pytest.approx((0.1, 0.2, 0.3))
    assert host.groups == ("239.1.1.3",)


@pytest.mark.parametrize("record, delay, code", [
    (Record("IS_EX", "232.1.1.1"), 0.1, "discover-ssm-exclude"),
    (Record("IS_EX", "239.1.1.1"), 2.0, "discover-late-answer"),
])
def test_findings(record, delay, code):
    d = discover([Round(0, 1.0, (Heard(int(delay * S), "198.18.0.11", M1, 3, (record,)),))])
    assert code in {f.code for f in d.findings}


def test_reports_before_the_query_are_not_answers():
    d = discover([Round(S, 1.0, (Heard(0, "198.18.0.11", M1, 3, (Record("IS_EX", "239.1.1.1"),)),))])
    assert d.hosts == ()


@pytest.mark.parametrize("query_version, heard_version, counted", [
    (1, 1, True), (1, 2, False), (1, 3, False), (2, 1, True), (2, 2, True), (2, 3, False),
    (3, 1, True), (3, 2, True), (3, 3, True),
])
def test_a_newer_report_than_the_query_answers_another_querier(query_version, heard_version, counted):
    record = Record("IS_EX" if heard_version == 3 else "REPORT", "239.1.1.1")
    heard = (Heard(int(0.5 * S), "198.18.0.12", M2, heard_version, (record,)),)
    d = discover([Round(0, 10.0 if query_version == 1 else 1.0, heard, version=query_version)])
    assert bool(d.hosts) is counted
    assert ("discover-not-an-answer" in {f.code for f in d.findings}) is (not counted)


@pytest.mark.parametrize("kwargs", [dict(kind="NOPE", group="239.1.1.1"),
                                    dict(kind="REPORT", group="239.1.1.1", sources=("1.2.3.4",)),
                                    dict(kind="IS_IN", group="x")])
def test_record_validation(kwargs):
    with pytest.raises(ValueError):
        Record(**kwargs)


def test_source_query_needs_group():
    with pytest.raises(ValueError):
        Round(0, 1.0, (), sources=("198.18.0.5",))


records = st.builds(Record, st.sampled_from(["IS_IN", "IS_EX", "TO_IN", "TO_EX", "ALLOW", "BLOCK"]),
                    st.sampled_from(["239.1.1.1", "232.1.1.1"]),
                    st.lists(st.sampled_from(["198.18.0.5", "198.18.0.6"]), max_size=2).map(tuple))


@given(st.lists(st.builds(Heard, st.integers(0, 5 * S), st.sampled_from(["198.18.0.11", "198.18.0.12"]),
                          st.just(M1), st.sampled_from([1, 2, 3]),
                          st.lists(records, min_size=1, max_size=3).map(tuple)), max_size=10))
def test_every_answering_host_is_listed_once(heard):
    d = discover([Round(0, 10.0, tuple(heard))])
    assert sorted(h.address for h in d.hosts) == sorted({h.source for h in heard})
    for h in d.hosts:
        assert all(t >= 0 for t in h.response_times)
