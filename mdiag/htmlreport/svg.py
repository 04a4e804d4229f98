"""Lanes (:mod:`mdiag.htmlreport.lanes`) as SVG markup.

Two forms: :func:`lane_svg` is one lane for the HTML page, stretched to the page's
width (``preserveAspectRatio="none"``: rows keep their pixel height, time scales;
lines keep their width with ``non-scaling-stroke``; labels are HTML beside it so
they stay readable on a phone). :func:`picture` is one standalone SVG of fixed size
with its own labels and axis, for ``--svg`` / ``--png`` and chat.
"""

from __future__ import annotations

from collections.abc import Sequence
from html import escape

from mdiag.htmlreport.lanes import WIDTH, Lane, Mark, Section, time_ticks

__all__ = ["CSS", "lane_svg", "picture"]

#: Colours and strokes shared by the page and the standalone picture.
CSS = """
.grid{stroke:#e2e8f0;stroke-width:1}
.rowline{stroke:#f1f5f9;stroke-width:1}
.q-general{stroke:#2563eb;stroke-width:2}
.q-group{stroke:#9333ea;stroke-width:1.5}
.drift{fill:#f59e0b;fill-opacity:.35}
.gap{fill:#ef4444;fill-opacity:.14}
.election{stroke:#16a34a;stroke-width:4}
.span{fill:#16a34a;fill-opacity:.18}
.span.none{fill:#dc2626;fill-opacity:.22}
.election.none{stroke:#dc2626}
.member.exclude{fill:#3b82f6}
.member.include{fill:#14b8a6}
.member.union{fill:#93c5fd}
.present{fill:#94a3b8;fill-opacity:.55}
.expired{stroke:#475569;stroke-width:3}
.expired.data{stroke:#dc2626;stroke-width:5}
.leave{stroke:#f97316;stroke-width:3}
.rate{fill:#0ea5e9;fill-opacity:.35;stroke:#0284c7;stroke-width:1}
.finding{stroke-width:5}
.finding.error{stroke:#dc2626}
.finding.warning{stroke:#f59e0b}
.finding.info{stroke:#0ea5e9}
"""

_NS = 'vector-effect="non-scaling-stroke"'


def _title(text: str) -> str:
    return f"<title>{escape(text)}</title>" if text else ""


def _mark(mark: Mark, y: float, height: float) -> str:
    cls = escape(mark.cls)
    if mark.kind == "bar":
        width = max(mark.x1 - mark.x0, 0.6)
        body = (f'<rect class="{cls}" x="{mark.x0:.2f}" y="{y + 3:.1f}" width="{width:.2f}" '
                f'height="{max(height - 6, 2):.1f}">{_title(mark.title)}</rect>')
    elif mark.kind == "spark":
        base = y + height - 1
        top = height - 4
        pts = " ".join(f"{x:.1f},{base - v * top:.1f}" for x, v in mark.points)
        first = mark.points[0][0] if mark.points else mark.x0
        last = mark.points[-1][0] if mark.points else mark.x1
        body = (f'<polygon class="{cls}" {_NS} points="{first:.1f},{base:.1f} {pts} {last:.1f},{base:.1f}">'
                f'{_title(mark.title)}</polygon>')
    else:   # tick or marker: a vertical stroke
        inset = 2 if mark.kind == "tick" else 0
        body = (f'<line class="{cls}" {_NS} x1="{mark.x0:.2f}" x2="{mark.x0:.2f}" y1="{y + inset:.1f}" '
                f'y2="{y + height - inset:.1f}">{_title(mark.title)}</line>')
    if mark.href:
        return f'<a href="{escape(mark.href)}">{body}</a>'
    return body


def _rows(lane: Lane, grid: Sequence[float], duration: float) -> list[str]:
    parts = []
    height = lane.height
    for t in grid:
        x = t / max(duration, 1e-9) * WIDTH
        parts.append(f'<line class="grid" {_NS} x1="{x:.2f}" x2="{x:.2f}" y1="0" y2="{height}"/>')
    for shade in lane.shades:
        parts.append(f'<rect class="{escape(shade.cls)}" x="{shade.x0:.2f}" y="0" '
                     f'width="{max(shade.x1 - shade.x0, 0.6):.2f}" height="{height}">{_title(shade.title)}</rect>')
    y = 0
    for row in lane.rows:
        if y:
            parts.append(f'<line class="rowline" {_NS} x1="0" x2="{WIDTH:g}" y1="{y}" y2="{y}"/>')
        parts.extend(_mark(m, y, row.height) for m in row.marks)
        y += row.height
    return parts


def lane_svg(lane: Lane, grid: Sequence[float], duration: float) -> str:
    """One lane for the page (time stretched to the page width, rows in pixels)."""
    height = lane.height
    label = escape(f"{lane.title}: {lane.subtitle}")
    return (f'<svg class="plot" xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {WIDTH:g} {height}" '
            f'preserveAspectRatio="none" width="100%" height="{height}" role="img" aria-label="{label}">'
            + "".join(_rows(lane, grid, duration)) + "</svg>")


def _notes(lane: Lane) -> list[str]:
    """The marks' notes as text beside them (left of the mark near the right edge)."""
    out = []
    y = 0
    for row in lane.rows:
        for m in row.marks:
            if m.note:
                right = m.x0 > WIDTH * 0.7
                x = m.x0 - 6 if right else m.x0 + 6
                out.append(f'<text class="note" x="{x:.1f}" y="{y + row.height - 4}" '
                           f'text-anchor="{"end" if right else "start"}">{escape(m.note)}</text>')
        y += row.height
    for m in lane.shades:
        if m.note:
            out.append(f'<text class="note" x="{m.x0 + 6:.1f}" y="{lane.height - 4}">{escape(m.note)}</text>')
    return out


LABEL = 190
HEADING = 22
AXIS = 20


def picture(title: str, sections: Sequence[Section], *, lanes_per_section: int = 12) -> str:
    """A standalone SVG (fixed size, own labels and time axis) of the first lanes of each
    section: the querier lane and up to ``lanes_per_section - 1`` group lanes."""
    width = LABEL + WIDTH + 20
    parts: list[str] = []
    y = 28
    parts.append(f'<text class="h1" x="8" y="20">{escape(title)}</text>')
    for section in sections:
        grid = time_ticks(section.duration)
        scale = WIDTH / max(section.duration, 1e-9)
        parts.append(f'<text class="h2" x="8" y="{y + 16}">{escape(section.title)} · {escape(section.family)}</text>')
        y += HEADING
        for t in grid:   # axis labels
            parts.append(f'<text class="axis" x="{LABEL + t * scale:.1f}" y="{y + 14}" '
                         f'text-anchor="middle">{t:g} s</text>')
        y += AXIS
        shown = section.lanes[:lanes_per_section]
        for lane in shown:
            parts.append(f'<text class="h3" x="8" y="{y + 15}">{escape(lane.title)}</text>'
                         f'<text class="sub" x="{LABEL}" y="{y + 15}">{escape(lane.subtitle)}</text>')
            y += HEADING
            ry = y
            for row in lane.rows:
                parts.append(f'<text class="label" x="{LABEL - 8}" y="{ry + row.height / 2 + 4:.1f}" '
                             f'text-anchor="end">{escape(row.label)}</text>')
                ry += row.height
            parts.append(f'<g transform="translate({LABEL},{y})">' + "".join(_rows(lane, grid, section.duration))
                         + f'<rect class="frame" x="0" y="0" width="{WIDTH:g}" height="{lane.height}"/>'
                         + "".join(_notes(lane)) + "</g>")
            y += lane.height + 6
        hidden = len(section.lanes) - len(shown) + (section.groups_total - section.groups_drawn)
        if hidden > 0:
            parts.append(f'<text class="sub" x="8" y="{y + 14}">+{hidden} more group lane(s): '
                         f'see the HTML report (--html)</text>')
            y += 20
        y += 8
    style = CSS + """
text{font-family:DejaVu Sans,Arial,sans-serif;fill:#0f172a}
.h1{font-size:16px;font-weight:bold}.h2{font-size:14px;font-weight:bold}.h3{font-size:12px;font-weight:bold}
.sub{font-size:11px;fill:#475569}.label{font-size:11px}.axis{font-size:10px;fill:#475569}
.frame{fill:none;stroke:#cbd5e1}
.note{font-size:10.5px;font-weight:bold;fill:#991b1b;paint-order:stroke;stroke:#fff;stroke-width:3px}
"""
    return (f'<svg xmlns="http://www.w3.org/2000/svg" width="{width:g}" height="{y}" '
            f'viewBox="0 0 {width:g} {y}"><style>{style}</style>'
            f'<rect width="100%" height="100%" fill="#ffffff"/>' + "".join(parts) + "</svg>\n")
