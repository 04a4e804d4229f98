"""History: host membership intervals, data bins and expiries, table-driven, plus the
pipeline collecting it only when asked."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mdiag.adapters.capture import open_capture
from mdiag.analysis.history import MAX_BINS, History
from mdiag.analysis.pipeline import AnalysisOptions, analyze

ROOT = Path(__file__).resolve().parents[2]
LANE = (4, "if0")
H1 = 0xC6120010
GMI = 260.0


# (records as (time, mode, sources, change), expected intervals as (start, last_report, left, mode, sources))
HOST_CASES = [
    ("one join then reports", [(4.0, "exclude", (), "report"), (129.7, "exclude", (), "report")],
     [(4.0, 129.7, None, "exclude", ())]),
    ("join then leave", [(2.5, "exclude", (), "report"), (60.0, None, (), "leave")],
     [(2.5, 2.5, 60.0, "exclude", ())]),
    ("report after GMI starts anew", [(0.0, "exclude", (), "report"), (300.0, "exclude", (), "report")],
     [(0.0, 0.0, None, "exclude", ()), (300.0, 300.0, None, "exclude", ())]),
    ("include, allow, block the rest", [(1.0, "include", (1,), "report"), (2.0, None, (2,), "allow"),
                                        (3.0, None, (1, 2), "block")],
     [(1.0, 2.0, 3.0, "include", (1, 2))]),
    ("block some sources stays", [(1.0, "include", (1, 2), "report"), (2.0, None, (1,), "block")],
     [(1.0, 2.0, None, "include", (2,))]),
    ("block without membership is nothing", [(1.0, None, (1,), "block")], []),
    ("mode change keeps the interval", [(1.0, "include", (1,), "report"), (5.0, "exclude", (), "report")],
     [(1.0, 5.0, None, "exclude", ())]),
]


@pytest.mark.parametrize("name,records,expected", HOST_CASES, ids=[c[0] for c in HOST_CASES])
def test_host_intervals(name, records, expected):
    history = History()
    for time, mode, sources, change in records:
        history.host_record(LANE, "239.1.1.1", time, H1, mode, frozenset(sources), change, GMI)
    spans = history.hosts.get((LANE, "239.1.1.1"), {}).get(H1, [])
    got = [(s.start, s.last_report, s.left, s.mode, tuple(sorted(s.sources))) for s in spans]
    assert got == expected


def test_interval_end_is_leave_or_gmi_or_capture_end():
    history = History()
    history.host_record(LANE, "239.1.1.1", 10.0, H1, "exclude", frozenset(), "report", GMI)
    span = history.hosts[(LANE, "239.1.1.1")][H1][0]
    assert span.end(GMI, 1000.0) == 270.0 and span.reason == "timed out"
    assert span.end(GMI, 100.0) == 100.0
    span.left = 50.0
    assert span.end(GMI, 1000.0) == 50.0 and span.reason == "left"


@settings(max_examples=50, deadline=None)
@given(st.lists(st.floats(min_value=0, max_value=10_000, allow_nan=False), min_size=1, max_size=300))
def test_bins_keep_every_packet_and_stay_bounded(times):
    history = History()
    for t in sorted(times):
        history.data_packet("k", (LANE, "239.1.1.1"), t)
    bins = history.data[(LANE, "239.1.1.1")]
    assert sum(bins) == len(times)
    assert len(bins) <= MAX_BINS
    for t in times:                       # each packet is in the bin its time falls in
        assert bins[int(t / history.bin_width)] > 0


def test_expiry_with_data_is_found():
    history = History()
    for i in range(100):
        history.data_packet("k", (LANE, "239.1.1.1"), 300.0 + i * 0.9)
    history.membership_event(LANE, "239.1.1.1", 10.0, "joined by 198.18.0.10")
    history.membership_event(LANE, "239.1.1.1", 350.0, "membership expired")
    history.membership_event(LANE, "239.1.1.1", 500.0, "membership expired")
    history.membership_event(LANE, "239.1.1.1", 20.0, "IS_EX({}) from 198.18.0.10")   # not a state change
    assert history.expiries_with_data(LANE, "239.1.1.1") == [350.0]
    assert [k for _, k, _ in history.group_events[(LANE, "239.1.1.1")]] == ["joined", "expired", "expired"]


def _analyze(name: str, history: bool):
    with open_capture(str(ROOT / "pcaps" / name)) as capture:
        return analyze(capture, AnalysisOptions(history=history))


def test_pipeline_collects_only_when_asked():
    assert _analyze("scenarios/iptv-freeze.pcap", False).history is None
    report = _analyze("scenarios/iptv-freeze.pcap", True)
    h = report.history
    assert h.queries[LANE] == [(0.0, "198.18.0.1", "general", None), (125.0, "198.18.0.1", "general", None)]
    assert sum(h.data[(LANE, "239.1.1.1")]) == 386 and sum(h.data[(LANE, "239.1.1.2")]) == 231
    assert h.expiries_with_data(LANE, "239.1.1.1") == [pytest.approx(389.7)]
    (span,) = h.hosts[(LANE, "239.1.1.1")][0xC612000A]
    assert (span.start, span.last_report, span.left) == (4.0, pytest.approx(129.7), None)


def test_pipeline_history_does_not_change_the_report():
    for name in ("scenarios/iptv-freeze.pcap", "v2-leave-lmq.pcap", "scenarios/vlan-segments.pcap",
                 "v3-ssm-join-leave.pcap"):
        plain = _analyze(name, False).to_json()
        rich = _analyze(name, True).to_json()
        assert plain == rich, name


def test_group_specific_queries_and_leave_are_group_events():
    h = _analyze("v2-leave-lmq.pcap", True).history
    kinds = [(round(t, 3), k) for t, k, _ in h.group_events[(LANE, "239.1.1.1")]]
    assert kinds == [(2.5, "joined"), (60.0, "leave"), (60.002, "query"), (61.002, "query"), (62.002, "expired")]


def test_mld_lanes_are_family_six():
    with open_capture(str(ROOT / "pcaps/mld/dual-stack.pcap")) as capture:
        h = analyze(capture, AnalysisOptions(history=True)).history
    mld = (6, "if0 (MLD)")
    assert sum(h.data[(mld, "ff05::1:3")]) == 60 and sum(h.data[(LANE, "239.1.1.1")]) == 60
    assert [(t, sender, kind) for t, sender, kind, _ in h.queries[mld]][0] == (0.5, "fe80::1", "general")
    assert [k for _, k, _ in h.group_events[(mld, "ff05::1:3")]][0] == "joined"
    assert int(next(iter(h.hosts[(mld, "ff05::1:3")]))) == 0xFE800000000000000000000000000010
