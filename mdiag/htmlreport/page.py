"""One self-contained HTML page: the timelines of analysed captures, or the per-round
delays of ``verify`` / ``delay`` / ``zap`` (docs/report.md).

No scripts, no web fonts, no external references: inline CSS and inline SVG only, so
the file works offline, in a ticket, on a phone and on paper. Every value is
autoescaped by Jinja2 (the ``mdiag[report]`` extra).
"""

from __future__ import annotations

import datetime as _dt
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, select_autoescape
from markupsafe import Markup

from mdiag import __version__
from mdiag.analysis.tables import Table, findings_table, summary_tables
from mdiag.htmlreport import svg as _svg
from mdiag.htmlreport.lanes import sections, time_ticks
from mdiag.htmlreport.strip import Series, strip_svg

__all__ = ["TABLE_ROWS", "analysis_page", "probe_page"]

#: Rows of one summary table in the page at most (10,000 groups fit, a few MB).
TABLE_ROWS = 10_000

_ENV = Environment(loader=FileSystemLoader(Path(__file__).parent / "templates"),
                   autoescape=select_autoescape(default=True, default_for_string=True),
                   trim_blocks=True, lstrip_blocks=True)


def _now() -> str:
    return _dt.datetime.now(_dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")


def _table(table: Table) -> dict[str, Any]:
    return {"name": table.name, "headers": table.headers, "rows": table.rows[:TABLE_ROWS],
            "cut": max(0, len(table.rows) - TABLE_ROWS)}


def _chips(findings: Sequence[Any]) -> list[tuple[str, str]]:
    counts: dict[str, int] = {}
    for f in findings:
        counts[str(f.severity)] = counts.get(str(f.severity), 0) + 1
    if not counts:
        return [("ok", "no findings")]
    plural = {"error": "errors", "warning": "warnings", "info": "info"}
    return [(sev, f"{counts[sev]} {sev if counts[sev] == 1 else plural[sev]}")
            for sev in ("error", "warning", "info") if sev in counts]


def _findings_with_rfc(report: Any) -> Table:
    """The text output's findings table with the RFC section each rule comes from."""
    table = findings_table(report)
    return Table(table.name, [*table.headers[:4], "RFC", table.headers[4]],
                 [[*row[:4], f.rfc or "", row[4]] for row, f in zip(table.rows, report.findings)])


def _timeline(report: Any) -> list[Table]:
    """The ``--timeline`` story as the last table, when it was asked for."""
    if not report.timeline:
        return []
    rows = [[f"{e.time:.3f}", e.frame or "", e.segment, e.group or "", e.text] for e in report.timeline]
    if report.timeline_dropped:
        rows.append(["", "", "", "", f"({report.timeline_dropped} more events not kept; narrow with --group, "
                                     "--querier or --since/--until)"])
    return [Table("timeline", ["time", "frame", "segment", "group", "event"], rows)]


def _capture(index: int, report: Any) -> dict[str, Any]:
    cid = f"c{index}"
    c = report.counters
    comp = f", {report.compression}" if report.compression else ""
    lines = [f"{report.name} ({report.format}{comp}): {c['frames']:,} frames, {report.duration:.3f} s from "
             f"{report.start_iso or '-'}; timers {report.profile.value}",
             f"IGMP {c['igmp']:,}, multicast data {c['multicast_data_packets']:,} packets / "
             f"{c['multicast_data_bytes']:,} bytes"]
    out_sections = []
    for sec in sections(report, index):
        grid = time_ticks(sec.duration)
        axis = [(round(t / max(sec.duration, 1e-9) * 100, 3), f"{t:g} s") for t in grid]
        lanes = [{"id": lane.id, "kind": lane.kind, "title": lane.title, "subtitle": lane.subtitle,
                  "rows": lane.rows, "svg": Markup(_svg.lane_svg(lane, grid, sec.duration))}
                 for lane in sec.lanes]
        out_sections.append({"id": sec.id, "title": sec.title, "family": sec.family, "axis": axis,
                             "lanes": lanes, "hidden": sec.groups_total - sec.groups_drawn})
    return {"id": cid, "name": report.name, "lines": lines, "sections": out_sections,
            "findings": _table(_findings_with_rfc(report)), "findings_dropped": report.findings_dropped,
            "tables": [_table(t) for t in summary_tables(report) + _timeline(report)]}


def analysis_page(reports: Sequence[Any]) -> str:
    """The page for one or more analysed captures (each with ``history``)."""
    captures = [_capture(i, r) for i, r in enumerate(reports)]
    names = ", ".join(r.name for r in reports)
    findings = [f for r in reports for f in r.findings]
    nav = [(sec["id"], f"{sec['title']} · {sec['family']}") for cap in captures for sec in cap["sections"]]
    nav += [(f"{cap['id']}-findings", "findings" + (f" ({cap['name']})" if len(captures) > 1 else ""))
            for cap in captures]
    return _ENV.get_template("page.html.j2").render(
        title=f"mdiag analyze: {names}", header=[], chips=_chips(findings), nav=nav, captures=captures,
        probes=[], svg_css=Markup(_svg.CSS), version=__version__, generated=_now())


def probe_page(title: str, header: Sequence[str], figures: Sequence[tuple[str, Sequence[Series]]],
               tables: Sequence[Table], findings: Sequence[Any]) -> str:
    """The page of an active probe: one strip plot per figure (per-round delays with
    p50/p95 lines), then its tables."""
    block = {"figures": [{"title": name, "svg": Markup(strip_svg(series))} for name, series in figures],
             "tables": [_table(t) for t in tables]}
    chips = _chips(findings)
    return _ENV.get_template("page.html.j2").render(
        title=title, header=list(header), chips=chips, nav=[], captures=[], probes=[block],
        svg_css=Markup(_svg.CSS), version=__version__, generated=_now())

