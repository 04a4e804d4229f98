"""The picture of a capture as plain values: lanes of rows of marks on one time axis.

A :class:`Lane` is a querier lane (one row per query sender: query ticks, elections,
shaded gaps longer than the Other Querier Present Interval, drifting intervals) or a
group lane (the data rate as a sparkline, one row per member host with its membership
intervals, the router-side state with leaves, group-specific queries and expiries).
Findings with a time are markers linked to the findings table. x runs 0..:data:`WIDTH`
over the capture; :mod:`mdiag.htmlreport.svg` draws lanes as SVG.

Level of detail keeps large captures small and fast (docs/report.md):

* ticks that fall on the same x (a thousandth of the capture) are drawn once, with
  their count in the tooltip;
* a sparkline has at most :data:`SPARK_POINTS` points (each the peak of its bins);
* at most :data:`HOST_ROWS` hosts get a row of their own; the others share one row;
* at most :data:`GROUP_LANES` group lanes per segment are drawn, those with findings
  or an expiry under running data first; every group is still in the groups table.
"""

from __future__ import annotations

import math

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from ipaddress import ip_address
from typing import Any

from mdiag.analysis.history import History, HostInterval, Lane as LaneKey, host_text
from mdiag.core.querier import DRIFT_MIN_SECONDS, DRIFT_TOLERANCE

__all__ = ["GROUP_LANES", "HOST_ROWS", "WIDTH", "Lane", "Mark", "Row", "Section", "sections",
           "time_ticks"]

WIDTH = 1000.0
ROW = 16
SPARK_ROW = 28
HOST_ROWS = 8
GROUP_LANES = 60
SPARK_POINTS = 250
FAMILY_NAMES = {4: "IGMP", 6: "MLD"}


@dataclass(frozen=True, slots=True)
class Mark:
    """One drawn thing. ``kind``: bar (x0..x1), tick / marker (at x0), spark
    (``points`` as (x, 0..1 of the row height, 1 = peak))."""

    kind: str
    x0: float
    x1: float
    cls: str
    title: str = ""
    href: str | None = None
    points: tuple[tuple[float, float], ...] = ()
    #: a few words written beside the mark in the static picture (where no tooltip helps)
    note: str = ""


@dataclass(slots=True)
class Row:
    label: str
    height: int = ROW
    marks: list[Mark] = field(default_factory=list)
    title: str = ""


@dataclass(slots=True)
class Lane:
    """Rows under one heading; ``shades`` span every row (gaps)."""

    id: str
    kind: str                      # querier | group
    title: str
    subtitle: str
    rows: list[Row]
    shades: list[Mark] = field(default_factory=list)

    @property
    def height(self) -> int:
        return sum(r.height for r in self.rows)

    def marks(self, cls: str | None = None) -> list[Mark]:
        found = [m for r in self.rows for m in r.marks] + self.shades
        return [m for m in found if cls is None or m.cls.split()[0] == cls]


@dataclass(slots=True)
class Section:
    """One segment and family of one capture."""

    id: str
    title: str
    family: str
    duration: float
    lanes: list[Lane]
    groups_total: int
    groups_drawn: int


class _Axis:
    def __init__(self, duration: float) -> None:
        self.duration = max(duration, 1e-9)

    def x(self, t: float) -> float:
        return max(0.0, min(WIDTH, t / self.duration * WIDTH))


def time_ticks(duration: float, most: int = 8) -> list[float]:
    """Round times (1, 2 or 5 x 10^k seconds apart) for the axis, at most ``most``."""
    if duration <= 0:
        return [0.0]
    power = math.floor(math.log10(duration / most))
    step = 10.0 ** power
    for k in (power, power + 1):
        found = next((f * 10.0 ** k for f in (1, 2, 5) if duration / (f * 10.0 ** k) <= most), None)
        if found is not None:
            step = found
            break
    count = int(duration / step + 1e-9)
    return [round(i * step, 9) for i in range(count + 1)]


def _s(t: float) -> str:
    return f"{t:.3f} s"


def _dedupe_ticks(axis: _Axis, items: Iterable[tuple[float, str]], cls: str) -> list[Mark]:
    """Ticks at x rounded to WIDTH/1000: one mark per column, the count in its title."""
    columns: dict[int, list[Any]] = {}
    for t, text in items:
        column = int(axis.x(t) * 1000 / WIDTH)
        entry = columns.get(column)
        if entry is None:
            columns[column] = [t, text, 1]
        else:
            entry[2] += 1
    marks = []
    for column, (t, text, count) in sorted(columns.items()):
        x = axis.x(t)
        title = text if count == 1 else f"{count} queries from {_s(t)}: {text} ..."
        marks.append(Mark("tick", x, x, cls, title))
    return marks


def sections(report: Any, capture_index: int = 0) -> list[Section]:
    """The lanes of every segment and family of one analysed capture (needs
    ``report.history``: ``AnalysisOptions(history=True)``)."""
    history: History = report.history or History()
    axis = _Axis(report.duration)
    findings = [(i, f) for i, f in enumerate(report.findings)]
    out: list[Section] = []
    for seg_index, seg in enumerate(report.segments):
        family = int(getattr(seg, "family", 4) or 4)
        name = str(getattr(seg, "name", seg.segment))        # "if0 vlan 10", "if0 vlan 10 (MLD)"
        lane_key: LaneKey = (family, name)
        sid = f"c{capture_index}s{seg_index}"
        seg_findings = [(i, f) for i, f in findings
                        if f.time is not None and f.context.get("segment") in (None, name)]
        lanes = [_querier_lane(sid, seg, history, lane_key, axis, seg_findings)]
        ranked = sorted(seg.groups, key=lambda g: _rank(g, history, lane_key, seg_findings))
        drawn = ranked[:GROUP_LANES]
        for g in sorted(drawn, key=lambda g: _rank(g, history, lane_key, seg_findings)[:1] + (int(g.group),)):
            lanes.append(_group_lane(sid, seg, g, history, lane_key, axis, seg_findings))
        title = seg.label.replace(" (MLD)", "") if family == 6 else seg.label
        out.append(Section(sid, title, FAMILY_NAMES.get(family, f"family {family}"), report.duration,
                           lanes, len(seg.groups), len(drawn)))
    return out


def _group_findings(group: str, seg_findings: Sequence[tuple[int, Any]]) -> list[tuple[int, Any]]:
    return [(i, f) for i, f in seg_findings if str(f.context.get("group", "")) == group]


def _rank(g: Any, history: History, lane: LaneKey, seg_findings: Sequence[tuple[int, Any]]) -> tuple[int, ...]:
    """Groups with findings or an expiry under running data first, then the busiest."""
    name = str(g.group)
    trouble = bool(_group_findings(name, seg_findings)) or bool(history.expiries_with_data(lane, name))
    packets = g.data.packets if g.data else 0
    return (0 if trouble else 1, -len(g.reporting_hosts), -packets, int(g.group))


def _finding_marks(axis: _Axis, items: Sequence[tuple[int, Any]], capture: str) -> list[Mark]:
    """Findings as markers linked to their row of the findings table (``#c0-finding-3``)."""
    return [Mark("marker", axis.x(f.time), axis.x(f.time), f"finding {f.severity}",
                 f"{_s(f.time)} {f.severity} {f.code}: {f.message}", href=f"#{capture}-finding-{i}")
            for i, f in items if f.time is not None]


def _querier_lane(sid: str, seg: Any, history: History, lane: LaneKey, axis: _Axis,
                  seg_findings: Sequence[tuple[int, Any]]) -> Lane:
    ticks = history.queries.get(lane, [])
    senders: dict[str, list[tuple[float, str, str | None]]] = {}
    for t, sender, kind, group in ticks:
        senders.setdefault(sender, []).append((t, kind, group))
    for router in seg.routers:            # routers known to the report but without kept ticks
        senders.setdefault(str(router.address), [])
    routers = {str(r.address): r for r in seg.routers}
    rows: list[Row] = []
    for sender in sorted(senders, key=lambda a: (a == "0.0.0.0", a)):
        items = senders[sender]
        info = routers.get(sender)
        general = [(t, f"{_s(t)} general query from {sender}") for t, kind, _ in items if kind == "general"]
        specific = [(t, f"{_s(t)} {kind} query for {group} from {sender}")
                    for t, kind, group in items if kind != "general"]
        row = Row(sender + (" (proxy)" if sender == "0.0.0.0" else ""))
        row.marks += _drift_marks(axis, [t for t, _ in general], info)
        row.marks += _dedupe_ticks(axis, general, "q-general")
        row.marks += _dedupe_ticks(axis, specific, "q-group")
        if info is not None:
            mean = info.mean_interval
            row.title = (f"{sender}: {info.general_queries} general, {info.group_queries + info.group_source_queries}"
                         f" group queries" + (f", mean interval {mean:.1f} s" if mean else ""))
        rows.append(row)
    elections = Row("elected")
    for span in getattr(seg, "querier_spans", ()):     # who was the querier, over time
        last = f", last general query {_s(span.last_query)}" if span.last_query is not None else ""
        ended = f"; ended: {span.ended_by}" if span.ended_by else ""
        elections.marks.append(Mark(
            "bar", axis.x(span.start), axis.x(span.end), "span" if span.querier else "span none",
            f"querier {span.querier or 'none'} from {_s(span.start)} to {_s(span.end)}{last}{ended}"))
    for e in seg.elections:
        x = axis.x(e.time)
        elections.marks.append(Mark("marker", x, x, "election" if e.querier else "election none",
                                    f"{_s(e.time)} querier: {e.querier or 'none'} ({e.reason})",
                                    note="" if e.querier else f"no querier from {e.time:.1f} s"))
    rows.append(elections)
    marked = Row("findings", marks=_finding_marks(axis, [(i, f) for i, f in seg_findings
                                                         if "group" not in f.context], sid[:sid.rindex("s")]))
    rows.append(marked)
    shades = [Mark("bar", axis.x(g.start), axis.x(g.end), "gap",
                   f"no general query for {g.duration:.1f} s ({_s(g.start)} to "
                   f"{'the end of the capture' if g.open_at_end else _s(g.end)}), longer than the "
                   f"Other Querier Present Interval {g.limit:g} s (RFC 3376 8.5)",
                   note=f"no general query for {g.duration:.1f} s")
              for g in seg.gaps]
    querier = seg.querier or "none"
    protocol = FAMILY_NAMES.get(lane[0], "IGMP")
    version = f", {protocol}v{seg.querier_version}" if seg.querier_version else ""
    subtitle = (f"querier {querier}{version}; {len(seg.elections)} election(s), {len(seg.gaps)} gap(s); "
                f"GMI {seg.timers.group_membership_interval:g} s, OQPI "
                f"{seg.timers.other_querier_present_interval:g} s")
    return Lane(f"{sid}-querier", "querier", "queriers", subtitle, rows, shades)


def _drift_marks(axis: _Axis, times: list[float], info: Any) -> list[Mark]:
    """Bars over intervals between general queries that differ from the advertised QQI
    (or 125 s) by more than the tolerance the tracker uses (startup queries excepted)."""
    if info is None or len(times) < 2:
        return []
    expected = info.expected_interval
    marks = []
    for a, b in zip(times, times[1:]):
        interval = b - a
        if abs(interval - expected / 4) <= max(0.25 * expected / 4, 1.0):
            continue                          # startup spacing (RFC 3376 8.7)
        if abs(interval - expected) > max(DRIFT_TOLERANCE * expected, DRIFT_MIN_SECONDS):
            marks.append(Mark("bar", axis.x(a), axis.x(b), "drift",
                              f"interval {interval:.1f} s from {_s(a)}, expected {expected:g} s "
                              "(QQI, RFC 3376 4.1.7)"))
    return marks


_ENDED = {"left": "left", "expired": "expired with the group", "timed-out": "timed out",
          "timed out": "timed out", None: "still a member at the end"}


def _union_bars(bars: list[Mark], axis: _Axis) -> list[Mark]:
    """Many hosts' bars as their union: one bar per stretch of time with any member,
    saying how many membership intervals it covers (the row stays a few elements)."""
    merged: list[list[Any]] = []
    for bar in sorted(bars, key=lambda m: (m.x0, m.x1)):
        if merged and bar.x0 <= merged[-1][1] + 0.5:
            merged[-1][1] = max(merged[-1][1], bar.x1)
            merged[-1][2] += 1
        else:
            merged.append([bar.x0, bar.x1, 1])
    scale = axis.duration / WIDTH
    return [Mark("bar", x0, x1, "member union",
                 f"{count} membership interval(s) of these hosts from {_s(x0 * scale)} to {_s(x1 * scale)}")
            for x0, x1, count in merged]


def _smoothed_rate(bins: list[int], width: float) -> tuple[list[float], float]:
    """Packets per second per bin, sparse traffic merged into wider bins (a stream of one
    packet every 2 s in 1 s bins would draw a saw, not a rate): bins are summed pairwise
    while they average under 4 packets and more than 60 remain."""
    total = sum(bins)
    if not total:
        return [], width
    while len(bins) > 60 and total / len(bins) < 4:
        bins = [sum(bins[i:i + 2]) for i in range(0, len(bins), 2)]
        width *= 2
    return [count / width for count in bins], width


def _interval_title(family: int, host: int, span: HostInterval | None, start: float, end: float,
                    how: str | None) -> str:
    """``host: MODE {sources} from .. to .. (how it ended; reports)``; the mode and sources
    are what the host last asked for in that interval (RFC 3376 4.2.12)."""
    if span is None:
        return f"{host_text(family, host)}: member from {_s(start)} to {_s(end)} ({_ENDED.get(how, how)})"
    sources = sorted(host_text(family, s) for s in span.sources)
    shown = ", ".join(sources[:6]) + (f", +{len(sources) - 6}" if len(sources) > 6 else "")
    return (f"{host_text(family, host)}: {span.mode.upper()} {{{shown}}} from {_s(start)} to {_s(end)} "
            f"({_ENDED.get(how, how)}; {span.reports} report(s), last {_s(span.last_report)})")


def _member_bars(g: Any, history: History, lane: LaneKey, axis: _Axis,
                 gmi: float) -> dict[int, list[tuple[float, Mark]]]:
    """Per host, its membership intervals as bars. The extents are the report's
    ``member_spans`` (router-side: a host's membership also ends when the group expires)
    when it has them; the filter mode and sources come from the history (what the host's
    reports asked for). Without ``member_spans``, the history's own intervals."""
    family = lane[0]
    end = axis.duration
    intervals = history.hosts.get((lane, str(g.group)), {})
    bars: dict[int, list[tuple[float, Mark]]] = {}
    spans = g.detail.get("member_spans") if isinstance(getattr(g, "detail", None), dict) else None
    if spans is None:
        for host, items in intervals.items():
            for span in items:
                stop = span.end(gmi, end)
                bars.setdefault(host, []).append((span.start, Mark(
                    "bar", axis.x(span.start), axis.x(stop), f"member {span.mode}",
                    _interval_title(family, host, span, span.start, stop, span.reason))))
        return bars
    for item in spans:
        host = int(ip_address(item["host"]))
        start = float(item["start"])
        stop = float(item["end"]) if item.get("end") is not None else end
        known = [span for span in intervals.get(host, ()) if span.start <= start + 1e-6]
        span = known[-1] if known else None
        mode = span.mode if span is not None else "exclude"
        bars.setdefault(host, []).append((start, Mark(
            "bar", axis.x(start), axis.x(stop), f"member {mode}",
            _interval_title(family, host, span, start, stop, item.get("ended")))))
    return bars


def _group_lane(sid: str, seg: Any, g: Any, history: History, lane: LaneKey, axis: _Axis,
                seg_findings: Sequence[tuple[int, Any]]) -> Lane:
    name = str(g.group)
    family = lane[0]
    end = axis.duration
    gmi = history.gmi.get(lane, seg.timers.group_membership_interval)
    rows: list[Row] = []
    # data rate
    rates, width = _smoothed_rate(list(history.data.get((lane, name), ())), history.bin_width)
    spark = Row("data" if rates else "no data", SPARK_ROW)
    if rates:
        peak = max(rates)
        step = max(1, -(-len(rates) // SPARK_POINTS))
        points = []
        for i in range(0, len(rates), step):
            chunk = rates[i:i + step]
            points.append((axis.x((i + step / 2) * width), max(chunk) / peak if peak else 0.0))
        spark.marks.append(Mark("spark", axis.x(0), axis.x(len(rates) * width), "rate",
                                f"data to {name}: peak {peak:.1f} packets/s ({width:g} s bins), "
                                f"{g.data.packets if g.data else 0:,} packets", points=tuple(points)))
        spark.title = f"peak {peak:.1f} packets/s"
    rows.append(spark)
    # hosts
    per_host = _member_bars(g, history, lane, axis, gmi)
    hosts = sorted(per_host, key=lambda h: (per_host[h][0][0], h))
    for host in hosts[:HOST_ROWS]:
        rows.append(Row(host_text(family, host), marks=[m for _, m in per_host[host]]))
    rest = hosts[HOST_ROWS:]
    if rest:
        rows.append(Row(f"+{len(rest)} hosts", title=f"{len(rest)} more hosts, drawn together",
                        marks=_union_bars([m for host in rest for _, m in per_host[host]], axis)))
    # router-side state
    state = Row("state")
    present: float | None = None
    for t, kind, detail in history.group_events.get((lane, name), ()):
        x = axis.x(t)
        if kind == "joined":
            if present is None:
                present = t
        elif kind == "expired":
            if present is not None:
                state.marks.append(Mark("bar", axis.x(present), x, "present",
                                        f"{name} forwarded from {_s(present)} to {_s(t)}"))
                present = None
            flowing = history.packets_near(lane, name, t)
            if flowing:
                state.marks.append(Mark("marker", x, x, "expired data",
                                        f"{_s(t)} membership expired while data still flowed "
                                        f"({flowing} packets around it): a snooping switch stops "
                                        "forwarding here (RFC 3376 6.5, RFC 4541 2.1.1)",
                                        note=f"expired at {t:.1f} s, data still flowing"))
            else:
                state.marks.append(Mark("marker", x, x, "expired", f"{_s(t)} membership expired"))
        elif kind == "leave":
            state.marks.append(Mark("marker", x, x, "leave", f"{_s(t)} leave {detail}"))
        elif kind == "query":
            state.marks.append(Mark("tick", x, x, "q-group", f"{_s(t)} {detail} for {name}"))
    if present is not None:
        state.marks.insert(0, Mark("bar", axis.x(present), axis.x(end), "present",
                                   f"{name} forwarded from {_s(present)} to the end of the capture"))
    rows.append(state)
    group_findings = _group_findings(name, seg_findings)
    if group_findings:
        rows.append(Row("findings", marks=_finding_marks(axis, group_findings, sid[:sid.rindex("s")])))
    members = len(g.members)
    data = f", {g.data.packets:,} data packets" if g.data else ""
    subtitle = f"{g.mac}, {g.state}, {members} member(s), {len(g.reporting_hosts)} reporting host(s){data}"
    return Lane(f"{sid}-g{name}", "group", name, subtitle, rows)
