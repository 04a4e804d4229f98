"""Join/leave delay core: trials from events, statistics (RFC 3918 4.1/4.2)."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from mdiag.core.delay import DelayReport, DelayStats, Event, EventKind, analyse_trial, median, percentile

J, L, D = EventKind.JOIN, EventKind.LEAVE, EventKind.DATA
MS = 1_000_000


def events(*pairs):
    return [Event(t, k) for t, k in pairs]


@pytest.mark.parametrize("evs, join, leave, codes", [
    # clean: join at 0, data every 1 ms from 2.5 ms, leave at 100 ms, data stops at 300 ms
    (events((0, J), *[((2 + i) * MS + MS // 2, D) for i in range(298)], (100 * MS, L)),
     0.0025, 0.1995, set()),
    # never forwarded
    (events((0, J), (50 * MS, L)), None, None, {"delay-never-forwarded"}),
    # flooded before join: first packet after join still counted
    (events((0, D), (1 * MS, D), (2 * MS, J), (3 * MS, D), (5 * MS, L)), 0.001, 0.0,
     {"delay-flooded-before-join"}),
    # no join at all
    (events((0, D), (1 * MS, D)), None, None, {"delay-no-join"}),
    # join but no leave
    (events((0, J), (1 * MS, D)), 0.001, None, {"delay-no-leave"}),
])
def test_trials(evs, join, leave, codes):
    trial = analyse_trial(evs)
    assert trial.join_delay == (pytest.approx(join) if join is not None else None)
    assert trial.leave_delay == (pytest.approx(leave) if leave is not None else None)
    assert {f.code for f in trial.findings} == codes


def test_leave_not_honoured_when_data_flows_to_the_end():
    evs = events((0, J), *[(i * MS, D) for i in range(1, 1000)], (10 * MS, L))
    trial = analyse_trial(evs, end_ns=1000 * MS)
    assert "delay-leave-not-honoured" in {f.code for f in trial.findings}
    quiet = analyse_trial(evs, end_ns=2000 * MS)
    assert "delay-leave-not-honoured" not in {f.code for f in quiet.findings}


def test_event_order_does_not_matter():
    evs = events((0, J), (3 * MS, D), (7 * MS, D), (5 * MS, L))
    assert analyse_trial(evs) == analyse_trial(list(reversed(evs)))


@pytest.mark.parametrize("values, p, expected", [
    ([1.0], 95, 1.0), ([3.0, 1.0, 2.0], 50, 2.0), (list(range(1, 101)), 95, 95),
    (list(range(1, 21)), 95, 19), ([5.0, 1.0], 0, 1.0), ([5.0, 1.0], 100, 5.0),
])
def test_percentile_nearest_rank(values, p, expected):
    assert percentile(values, p) == expected


def test_median_even_and_odd():
    assert median([4, 1, 3, 2]) == 2.5
    assert median([3, 1, 2]) == 2


def test_stats_skip_unmeasured_and_report():
    stats = DelayStats.of([0.003, None, 0.001, 0.002])
    assert (stats.count, stats.minimum, stats.median, stats.p95, stats.maximum) == (3, 0.001, 0.002, 0.003, 0.003)
    assert DelayStats.of([None]).count == 0
    report = DelayReport((analyse_trial(events((0, J), (2 * MS, D), (4 * MS, L))),), rate_pps=1000)
    assert report.resolution == 0.001 and report.join.count == 1
    assert [f.code for f in report.check(max_join=0.001)] == ["delay-join-over-limit"]
    assert report.check(max_join=0.01) == []


@given(st.lists(st.floats(min_value=0, max_value=1e3, allow_nan=False), min_size=1, max_size=50))
def test_stats_are_ordered(values):
    s = DelayStats.of(values)
    assert s.minimum <= s.median <= s.maximum
    assert s.minimum <= s.p95 <= s.maximum


@given(st.lists(st.tuples(st.integers(0, 10**9), st.sampled_from(list(EventKind))), max_size=40))
def test_any_event_list_gives_a_trial_without_raising(pairs):
    trial = analyse_trial(events(*pairs))
    if trial.join_delay is not None:
        assert trial.join_delay >= 0
    if trial.leave_delay is not None:
        assert trial.leave_delay >= 0


def test_event_validation():
    with pytest.raises(ValueError):
        Event(-1, J)
    with pytest.raises(ValueError):
        Event(0, "join")
