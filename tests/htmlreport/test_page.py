"""The HTML report of every scenario capture, checked by its structure: a section per
segment and family, a querier lane and a lane per group, the marks that must be there
(query ticks, gaps, elections, members, expiries, findings linked to their rows), the
summary tables, and nothing that reaches out of the file."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from mdiag.adapters.capture import open_capture
from mdiag.analysis.pipeline import AnalysisOptions, analyze
from mdiag.htmlreport import lanes as lanes_mod
from mdiag.htmlreport.page import analysis_page
from mdiag.htmlreport.svg import picture
from tests.htmlreport.pagetree import parse

ROOT = Path(__file__).resolve().parents[2]
SCENARIOS = sorted((ROOT / "pcaps" / "scenarios").glob("*.pcap*")) + sorted((ROOT / "pcaps" / "mld").glob("*.pcap"))


def report_of(path: Path, **options):
    with open_capture(str(path)) as capture:
        return analyze(capture, AnalysisOptions(history=True, **options))


def page_of(path: Path):
    report = report_of(path)
    html = analysis_page([report])
    return report, html, parse(html)


def lane_nodes(tree, kind):
    return [n for n in tree.find_all("div", "lane") if kind in n.classes]


def marks(node, cls):
    return [n for n in node.iter() if cls in n.classes]


def assert_offline(html: str) -> None:
    assert "<script" not in html.lower()
    assert not re.search(r"""(src|href)\s*=\s*["']?\s*(https?:|//|ftp:)""", html, re.I)
    assert "@import" not in html and "url(" not in html
    assert "<link" not in html.lower()


@pytest.mark.parametrize("path", SCENARIOS, ids=[p.name for p in SCENARIOS])
def test_every_scenario_renders_its_lanes(path):
    report, html, tree = page_of(path)
    assert_offline(html)
    sections = tree.find_all("section", "segment")
    assert len(sections) == len(report.segments)
    for section, seg in zip(sections, report.segments):
        heading = section.find_all("h2")[0].all_text()
        assert str(seg.segment) in heading and f"· {seg.protocol}" in heading
        (querier,) = lane_nodes(section, "querier")
        labels = [d.all_text() for d in querier.find_all("div") if "height:" in d.attrs.get("style", "")]
        for router in seg.routers:            # a row per query sender
            assert any(label.startswith(str(router.address)) for label in labels), (router.address, labels)
        general = sum(r.general_queries for r in seg.routers)
        ticks = marks(querier, "q-general")
        assert (len(ticks) == general) if general < 500 else 0 < len(ticks) <= 1000
        assert len(marks(querier, "election")) == len(seg.elections)
        assert len(marks(querier, "gap")) == len(seg.gaps)
        groups = lane_nodes(section, "group")
        assert len(groups) == min(len(seg.groups), lanes_mod.GROUP_LANES)
        assert {g.find_all("b")[0].all_text() for g in groups} == {str(g.group) for g in seg.groups}
        for lane, group in ((g, next(x for x in seg.groups if str(x.group) == g.find_all("b")[0].all_text()))
                            for g in groups):
            bars = marks(lane, "member")      # one bar per membership span of the report
            spans = group.detail.get("member_spans", [])
            assert len(bars) == len(spans)
            for bar, span in zip(sorted(bars, key=lambda b: b.title()),
                                 sorted(spans, key=lambda x: (x["host"], x["start"]))):
                assert bar.title().startswith(span["host"] + ": ") and f"from {span['start']:.3f} s" in bar.title()
            assert bool(marks(lane, "rate")) == (group.data is not None)
    # every finding with a time is a marker linked to its row in the findings table
    rows = {r.attrs["id"] for r in tree.find_all("tr") if r.attrs.get("id", "").startswith("c0-finding-")}
    assert len(rows) == len(report.findings)
    links = [a.attrs["href"] for a in tree.find_all("a") if a.attrs.get("href", "").startswith("#c0-finding-")]
    timed = [f for f in report.findings if f.time is not None]
    assert len(links) == len(timed)
    assert {href[1:] for href in links} <= rows
    rows_shown = tree.find_all("table", "findings")[0].find_all("tr")[1:] if report.findings else []
    for f, row in zip(report.findings, rows_shown, strict=True):
        cells = [c.all_text() for c in row.find_all("td")]   # time, frame, severity, code, RFC, text
        assert cells[2:5] == [str(f.severity), f.code, f.rfc or ""] and cells[5].startswith(f.message[:40])
    table_names = [h.all_text() for h in tree.find_all("h3")]
    assert "segments" in table_names and ("groups" in table_names) == bool(report.all_groups())


def test_iptv_freeze_tells_its_story():
    report, html, tree = page_of(ROOT / "pcaps/scenarios/iptv-freeze.pcap")
    (querier,) = lane_nodes(tree, "querier")
    (gap,) = marks(querier, "gap")
    assert "no general query for 305.1 s" in gap.title() and "255 s" in gap.title()
    assert [m.title() for m in marks(querier, "election")][1].startswith("380.000 s querier: none")
    spans = [m.title() for m in marks(querier, "span")]
    assert spans[0].startswith("querier 198.18.0.1 from 0.000 s to 380.000 s, last general query 125.000 s")
    assert spans[1].startswith("querier none from 380.000 s")
    lane = next(n for n in lane_nodes(tree, "group") if n.attrs["id"].endswith("g239.1.1.1"))
    (member,) = marks(lane, "member")
    assert member.title().startswith("198.18.0.10: EXCLUDE {} from 4.000 s to 389.700 s (expired with the group; 3 report(s)")
    (expired,) = [m for m in marks(lane, "expired") if "data" in m.classes]
    assert expired.title().startswith("389.700 s membership expired while data still flowed")
    assert marks(lane, "rate") and "386 packets" in marks(lane, "rate")[0].title()
    finding = next(a for a in lane.find_all("a"))
    assert "traffic-stopped" in finding.find_all("line")[0].title()
    # the summary numbers of the text output are in the tables
    for text in ("305.1 s", "389.080", "129.700", "460.900", "260 s"):
        assert text in html


def test_querier_lane_per_sender_and_group_queries():
    _, _, tree = page_of(ROOT / "pcaps/scenarios/querier-stubborn.pcap")
    (querier,) = lane_nodes(tree, "querier")
    assert len(marks(querier, "election")) == 2
    _, _, tree = page_of(ROOT / "pcaps/v2-leave-lmq.pcap")
    lane = lane_nodes(tree, "group")[0]
    assert len(marks(lane, "q-group")) == 2 and len(marks(lane, "leave")) == 1
    (member,) = marks(lane, "member")
    assert "to 60.000 s (left" in member.title()


def test_include_mode_member_shows_its_sources():
    _, _, tree = page_of(ROOT / "pcaps/scenarios/ssm-unrequested-source.pcap")
    titles = [m.title() for m in tree.iter() if "member" in m.classes and "include" in m.classes]
    assert titles and all("INCLUDE {198.18.1.100}" in t for t in titles)


def test_vlan_segments_get_a_section_each():
    report, _, tree = page_of(ROOT / "pcaps/scenarios/vlan-segments.pcap")
    titles = [s.find_all("h2")[0].all_text() for s in tree.find_all("section", "segment")]
    assert len(titles) == len(report.segments) >= 2
    assert any("vlan 20" in t for t in titles)


def test_drift_is_marked():
    from mdiag.analysis.history import History
    from mdiag.htmlreport.lanes import _drift_marks, _Axis

    class Router:
        expected_interval = 125.0
    got = _drift_marks(_Axis(1000.0), [0.0, 31.25, 156.25, 356.25, 481.25], Router())
    assert [(round(m.x0, 2), round(m.x1, 2)) for m in got] == [(156.25, 356.25)]
    assert "interval 200.0 s" in got[0].title and History is not None


def test_static_picture_has_its_labels():
    report = report_of(ROOT / "pcaps/scenarios/iptv-freeze.pcap")
    svg = picture("iptv-freeze", lanes_mod.sections(report))
    assert svg.startswith("<svg") and "<script" not in svg
    for text in ("queriers", "239.1.1.1", "198.18.0.10", "400 s"):
        assert text in svg
    assert 'class="expired data"' in svg


def test_escapes_what_the_capture_brings(tmp_path):
    report = report_of(ROOT / "pcaps/scenarios/iptv-freeze.pcap")
    report.name = '<img src=x onerror=alert(1)>"'
    html = analysis_page([report])
    assert "<img src=x" not in html and "&lt;img src=x" in html


def test_lanes_are_drawn_per_family():
    """An MLD segment (family 6) gets its own section, titled MLD, with IPv6 hosts and sources."""
    from ipaddress import IPv6Address
    from types import SimpleNamespace

    from mdiag.analysis.history import History
    from mdiag.core.timers import TimerSet

    lane = (6, "if0")
    history = History()
    history.query(lane, 0.0, "fe80::1", "general", None)
    host, source = int(IPv6Address("fe80::10")), int(IPv6Address("fd00::100"))
    history.host_record(lane, "ff3e::1234", 2.0, host, "include", frozenset({source}), "report", 260.0)
    history.membership_event(lane, "ff3e::1234", 2.0, "joined by fe80::10")
    group = SimpleNamespace(group=IPv6Address("ff3e::1234"), data=None, members=("fe80::10",),
                            reporting_hosts=("fe80::10",), mac="33:33:00:00:12:34", state="include")
    seg = SimpleNamespace(segment="if0", label="if0", family=6, routers=(), elections=(), gaps=(),
                          timers=TimerSet(), groups=(group,), querier="fe80::1", querier_version=2)
    report = SimpleNamespace(history=history, duration=100.0, findings=[], segments=[seg])
    (section,) = lanes_mod.sections(report)
    assert section.family == "MLD"
    querier, group_lane = section.lanes
    assert querier.rows[0].label == "fe80::1" and len(querier.marks("q-general")) == 1
    (bar,) = group_lane.marks("member")
    assert bar.title.startswith("fe80::10: INCLUDE {fd00::100} from 2.000 s")
    assert "querier fe80::1, IGMPv2" not in querier.subtitle and "MLDv2" in querier.subtitle
