"""The HTML pages of the active probes, built from the same result their ``--json``
prints (docs/active.md, docs/lab.md): per-round delays as strip plots with p50/p95
lines, then the tables of the text output."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from mdiag.analysis.tables import Table
from mdiag.htmlreport.page import probe_page
from mdiag.htmlreport.strip import Series, percentile

__all__ = ["delay_page", "verify_page", "zap_page"]


def _ms(value: float | None) -> str:
    return "-" if value is None else f"{value:.3f}"


def _stats_row(name: str, values: list[float]) -> list[Any]:
    if not values:
        return [name, 0, "-", "-", "-", "-"]
    return [name, len(values), _ms(min(values)), _ms(percentile(values, 0.5)), _ms(percentile(values, 0.95)),
            _ms(max(values))]


class _Finding:
    """A finding from JSON, enough for the severity chips."""

    def __init__(self, severity: str) -> None:
        self.severity = severity


def _findings_table(findings: Iterable[dict[str, Any]]) -> Table:
    return Table("findings", ["severity", "code", "finding", "RFC"],
                 [[f.get("severity", ""), f.get("code", ""), f.get("message", ""), f.get("rfc", "")]
                  for f in findings])


def delay_page(body: dict[str, Any]) -> str:
    """``mdiag delay --html``: join and leave delay of every cycle (RFC 3918 4.1/4.2)."""
    trials = body.get("trials", [])

    def series(key: str) -> tuple[tuple[int, float | None], ...]:
        return tuple((i, None if t.get(key) is None else t[key] * 1000) for i, t in enumerate(trials, 1))
    join, leave = Series("join", "join", series("join_delay")), Series("leave", "leave", series("leave_delay"))
    target = f"({body['source']}, {body['group']})" if body.get("source") else f"(*, {body['group']})"
    receiver = body.get("receiver", {})
    header = [f"{target} port {body.get('port')}, {body.get('rate_pps', 0):g} packets/s (resolution "
              f"{(body.get('resolution') or 0) * 1000:g} ms), {len(trials)} cycle(s), receiver "
              f"{(receiver.get('netns') + ':') if receiver.get('netns') else ''}{receiver.get('iface', '')}",
              "verdict: " + ("ok" if body.get("ok") else "FAILED")]
    cycles = Table("cycles", ["cycle", "join delay (ms)", "leave delay (ms)", "received", "before join"],
                   [[i, _ms(j), _ms(lv), t.get("received", ""), t.get("before_join", "")]
                    for (i, j), (_, lv), t in zip(join.values, leave.values, trials)])
    stats = Table("delays", ["delay", "n", "min (ms)", "p50 (ms)", "p95 (ms)", "max (ms)"],
                  [_stats_row("join", join.measured), _stats_row("leave", leave.measured)])
    findings = body.get("findings", [])
    tables = [cycles, stats] + ([_findings_table(findings)] if findings else [])
    return probe_page(f"mdiag delay {target}", header, [("join and leave delay per cycle", [join, leave])],
                      tables, [_Finding(f.get("severity", "info")) for f in findings])


def verify_page(result: dict[str, Any]) -> str:
    """``mdiag verify --html``: per receiver, the join and leave delay of every round."""
    series: list[Series] = []
    for r in result.get("receivers", []):
        rounds = r.get("rounds", [])
        for key, kind in (("join_delay_ms", "join"), ("leave_delay_ms", "leave")):
            series.append(Series(f"{r['host']} {kind}", kind,
                                 tuple((i, rd.get(key)) for i, rd in enumerate(rounds, 1))))
    what = f"({result['source']}, {result['group']})" if result.get("source") else str(result.get("group"))
    s = result.get("sender", {})
    header = [f"verify {what} port {result.get('port')} from {s.get('host')} ({s.get('address') or '?'}) at "
              f"{result.get('rate')}, {result.get('repeat')} round(s) of {result.get('hold_s', 0):g} s joined",
              "verdict: " + ("ok" if result.get("ok") else "FAILED")
              + (" (interrupted)" if result.get("interrupted") else "")]
    rows = []
    for r in result.get("receivers", []):
        joins = [v for v in (rd.get("join_delay_ms") for rd in r.get("rounds", [])) if v is not None]
        leaves = [v for v in (rd.get("leave_delay_ms") for rd in r.get("rounds", [])) if v is not None]
        rows.append([r["host"], "receiver", "yes" if r.get("delivered") else "NO",
                     ",".join(str(c) for c in r.get("datagrams", [])),
                     _ms(percentile(joins, 0.5)), _ms(percentile(joins, 0.95)),
                     _ms(percentile(leaves, 0.5)) if r.get("stopped_after_leave") else "did not stop",
                     _ms(percentile(leaves, 0.95)) if r.get("stopped_after_leave") else "-",
                     "ok" if r.get("ok") else "FAIL"])
    for n in result.get("non_members", []):
        rows.append([n["host"], "non-member", "no" if not n.get("datagrams_while_joined") else "YES",
                     str(n.get("datagrams_while_joined")), "-", "-", "-", "-", "ok" if n.get("ok") else "FAIL"])
    hosts = Table("hosts", ["host", "role", "delivered", "datagrams", "join p50 (ms)", "join p95 (ms)",
                            "leave p50 (ms)", "leave p95 (ms)", "verdict"], rows)
    notes = [["note", n] for n in result.get("notes", [])] + [["FAIL", p] for p in result.get("problems", [])]
    tables = [hosts] + ([Table("notes and problems", ["kind", "text"], notes)] if notes else [])
    findings = [_Finding("error") for _ in result.get("problems", [])]
    figures = [("join and leave delay per round", series)] if series else []
    return probe_page(f"mdiag verify {what}", header, figures, tables, findings)


def zap_page(body: dict[str, Any]) -> str:
    """``mdiag zap --html``: the zap time of every channel change (the join of the new
    channel to its first packet) and the old channel's overlap after its leave."""
    zaps = body.get("zaps", [])
    zap = Series("zap time", "zap", tuple((i, None if z.get("zap_time") is None else z["zap_time"] * 1000)
                                          for i, z in enumerate(zaps, 1)))
    overlap = Series("overlap", "leave", tuple((i, None if z.get("overlap_time") is None else z["overlap_time"] * 1000)
                                               for i, z in enumerate(zaps, 1)))
    receiver = body.get("receiver", {})
    where = receiver.get("host") or (f"{receiver.get('netns')}:" if receiver.get("netns") else "") + str(
        receiver.get("iface", ""))
    header = [f"{len(zaps)} channel change(s) between {', '.join(body.get('channels', []))} port {body.get('port')}, "
              f"every {body.get('interval', 0):g} s, {body.get('rate_pps', 0):g} packets/s per channel (resolution "
              f"{(body.get('resolution') or 0) * 1000:g} ms), receiver {where}",
              "verdict: " + ("ok" if body.get("ok") else "FAILED")]
    rows = [[i, z.get("from", ""), z.get("to", ""), _ms(zv), z.get("overlap_packets", ""), _ms(ov)]
            for (i, zv), (_, ov), z in zip(zap.values, overlap.values, zaps)]
    above = body.get("above_ms", {})
    stats = Table("zap time", ["", "n", "min (ms)", "p50 (ms)", "p95 (ms)", "max (ms)",
                               *(f"> {b} ms" for b in sorted(above, key=float))],
                  [[*_stats_row("zap time", zap.measured), *(above[b] for b in sorted(above, key=float))]])
    findings = body.get("findings", [])
    tables = [Table("channel changes", ["zap", "from", "to", "zap time (ms)", "overlap (packets)",
                                        "overlap (ms)"], rows), stats]
    tables += [_findings_table(findings)] if findings else []
    figures = [("zap time per channel change", [zap])]
    if overlap.measured:
        figures.append(("old channel's packets after its leave (overlap)", [overlap]))
    return probe_page("mdiag zap " + " ".join(body.get("channels", [])), header, figures, tables,
                      [_Finding(f.get("severity", "info")) for f in findings])
