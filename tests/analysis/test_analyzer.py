"""The incremental :class:`~mdiag.analysis.pipeline.Analyzer`: fed frame by frame it
tells what the batch :func:`~mdiag.analysis.pipeline.analyze` tells; its timers fire
with no packet; a snapshot changes nothing that follows."""

from __future__ import annotations

import io
from pathlib import Path

import pytest

from mdiag.adapters.capture import open_capture, open_stream
from mdiag.analysis.pipeline import AnalysisOptions, Analyzer, analyze
from mdiag.core.igmp import GroupRecord, V2Query, V2Report, V3Query, V3Report

from tests.analysis.builders import igmp, pcap_bytes, udp

PCAPS = Path(__file__).resolve().parents[2] / "pcaps"
SECOND = 1_000_000_000
START = 1_700_000_000 * SECOND
ROUTER = "198.18.0.1"
HOST = "198.18.0.10"
G = "239.1.1.1"


def _batch(path: Path, timeline: bool = False) -> dict:
    with open_capture(path) as capture:
        return analyze(capture, AnalysisOptions(timeline=timeline)).to_json()


def _frame_by_frame(path: Path, timeline: bool = False, snapshots: bool = False) -> dict:
    """Every frame through :meth:`Analyzer.feed`, as a live capture would give them."""
    with open_capture(path) as capture:
        analyzer = Analyzer(AnalysisOptions(timeline=timeline), source=capture)
        for frame in capture:
            analyzer.feed(frame.data, frame.time_ns, linktype=frame.linktype, iface=frame.interface,
                          orig_len=frame.orig_len)
            if snapshots and frame.number % 7 == 0:
                analyzer.report()          # a snapshot must not change what follows
        return analyzer.report().to_json()


SCENARIOS = sorted((PCAPS / "scenarios").glob("*.pcap*")) + sorted(PCAPS.glob("*.pcap"))


@pytest.mark.parametrize("path", SCENARIOS, ids=lambda p: p.name)
def test_fed_frame_by_frame_with_snapshots_the_report_is_the_batch_one(path: Path) -> None:
    batch = _batch(path, timeline=True)
    fed = _frame_by_frame(path, timeline=True, snapshots=True)
    # frame numbers of the feed are its own count (the same for these captures)
    assert fed["segments"] == batch["segments"]
    assert fed["findings"] == batch["findings"]
    assert fed["counters"] == batch["counters"]
    assert fed["timeline"] == batch["timeline"]


def _v2_join() -> list[tuple[int, bytes]]:
    return [(START, igmp(V2Query(10), ROUTER)),
            (START + SECOND, igmp(V2Report(G), HOST))]


def test_advance_expires_the_membership_and_the_querier_without_a_packet() -> None:
    events = []
    analyzer = Analyzer(on_event=events.append)
    for t, frame in _v2_join():
        analyzer.feed(frame, t)
    seg = analyzer.report().segments[0]
    assert seg.querier == ROUTER and seg.groups[0].state == "exclude"
    analyzer.advance(START + 400 * SECOND)        # MRT 1 s: GMI 251 s, OQPI 250.5 s: both over
    report = analyzer.report(START + 400 * SECOND)
    seg = report.segments[0]
    assert report.duration == 400.0
    assert seg.querier is None
    assert [(e.time, str(e.querier)) for e in seg.elections] == [(0.0, ROUTER), (250.5, "None")]
    assert seg.groups[0].state == "absent"
    expired = [e for e in events if e.text == "membership expired"]
    assert [(e.time, e.group) for e in expired] == [(252.0, G)]
    assert [g.start for g in seg.gaps] == [0.0]          # open at the snapshot


def test_snapshot_judgements_are_made_afresh() -> None:
    """An open gap and data that stopped are judged in a snapshot only: when the
    querier and the data come back, a later snapshot no longer says so."""
    analyzer = Analyzer()
    analyzer.feed(igmp(V3Query.build(), ROUTER), START)
    analyzer.feed(igmp(V3Report((GroupRecord(2, G),)), HOST), START + SECOND)
    for k in range(3):
        analyzer.feed(udp("198.18.1.100", G), START + (2 + k) * SECOND)
    early = analyzer.report(START + 300 * SECOND)
    codes = {f.code for f in early.findings}
    assert {"querier-gap", "traffic-stopped"} <= codes
    analyzer.feed(igmp(V3Query.build(), ROUTER), START + 300 * SECOND)
    analyzer.feed(igmp(V3Report((GroupRecord(2, G),)), HOST), START + 301 * SECOND)
    for k in range(3):
        analyzer.feed(udp("198.18.1.100", G), START + (302 + k) * SECOND)
    late = analyzer.report()
    gaps = [f for f in late.findings if f.code == "querier-gap"]
    assert len(gaps) == 1 and gaps[0].context["end"] == 300.0      # closed by the query
    assert "traffic-stopped" not in {f.code for f in late.findings}


def test_findings_are_told_as_they_happen() -> None:
    told = []
    analyzer = Analyzer(on_finding=told.append)
    analyzer.feed(igmp(V2Report(G), HOST, ttl=64), START)
    assert [f.code for f in told] == ["ip-ttl-not-1"]
    analyzer.feed(igmp(V2Report(G), HOST, ttl=64), START + SECOND)
    assert len(told) == 1                                   # a repeat is counted, not told
    ttl = [f for f in analyzer.report().findings if f.code == "ip-ttl-not-1"]
    assert ttl[0].context["count"] == 2


def test_an_empty_analyzer_reports_nothing() -> None:
    analyzer = Analyzer(name="eth0", format="live")
    analyzer.advance(START)
    report = analyzer.report()
    assert (report.name, report.format, report.segments, report.counters["frames"]) == ("eth0", "live", [], 0)


def test_reader_counted_data_is_not_changed_by_a_snapshot() -> None:
    data = pcap_bytes([(0.0, igmp(V2Report(G), HOST))] + [(0.1 * k, udp("198.18.1.100", G)) for k in range(50)])
    with open_stream(io.BytesIO(data)) as capture:
        analyzer = Analyzer(source=capture)
        analyzer.feed_records(capture.records(analyzer.reader_counts))
        first = analyzer.report().to_json()
        assert analyzer.report().to_json() == first
    assert first["counters"]["multicast_data_packets"] == 50


@pytest.mark.parametrize("query_times, told", [
    # silent to the end: the missed query when it was due, the role lost after OQPI (255 s)
    ([0, 125], [(262.5, "198.18.0.1 missed its scheduled general query (none since 125.000 s)"),
                (380.0, "no querier: 198.18.0.1 silent for more than 255.0 s (OQPI)")]),
    # back late: the miss is told when it was due, although a query marks the return
    ([0, 125, 300], [(262.5, "198.18.0.1 missed its scheduled general query (none since 125.000 s)")]),
    # back after OQPI: the loss, then the return
    ([0, 125, 400], [(262.5, "198.18.0.1 missed its scheduled general query (none since 125.000 s)"),
                     (380.0, "no querier: 198.18.0.1 silent for more than 255.0 s (OQPI)"),
                     (400.0, "elected querier: 198.18.0.1 (198.18.0.1 queries again)")]),
])
def test_the_story_tells_the_querier_silence(query_times, told):
    """Issue 10 items 7 and 9: no packet marks a querier's silence, yet the timeline tells
    when it missed its scheduled query and when it lost the role, as the tables do."""
    frames = [(t, igmp(V2Query(100), ROUTER)) for t in query_times] + [(430.0, udp("198.18.1.100", G))]
    path = io.BytesIO(pcap_bytes(sorted(frames, key=lambda f: f[0])))
    with open_stream(path, name="silence.pcap") as capture:
        report = analyze(capture, AnalysisOptions(timeline=True))
    story = [(e.time, e.text) for e in report.timeline
             if "missed" in e.text or "no querier" in e.text or "queries again" in e.text]
    assert story == told
