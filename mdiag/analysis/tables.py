"""The summary tables of ``mdiag analyze`` as plain rows, for the terminal and the HTML
report alike (segments, routers, elections and gaps, groups, findings)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

__all__ = ["Table", "findings_table", "summary_tables"]


@dataclass(frozen=True, slots=True)
class Table:
    name: str
    headers: list[str]
    rows: list[list[Any]]


def _t(value: float | None) -> str:
    return "" if value is None else f"{value:.3f}"


def _dur(value: float | None) -> str:
    return "" if value is None else f"{value:.3f} s"


def _n(value: int) -> str:
    """A count as every mdiag output writes it: thousands separated by commas."""
    return f"{value:,}"


def _mrt(router: Any) -> str:
    """The Max Response Times of a router's general queries: one value or a range."""
    if router.mrt_min is None:
        return "-"
    if router.mrt_min == router.mrt_max:
        return f"{router.mrt_min:g}"
    return f"{router.mrt_min:g}-{router.mrt_max:g}"


def _hosts(members: Any, shown: int = 3) -> str:
    """Member addresses, the first few and how many more."""
    members = list(members)
    if not members:
        return "-"
    text = ", ".join(members[:shown])
    return text + (f" +{len(members) - shown}" if len(members) > shown else "")


def _v1(segment: Any, address: Any) -> bool:
    """The router at ``address`` queried with IGMPv1 only (no election in IGMPv1)."""
    router = next((r for r in segment.routers if str(r.address) == str(address)), None)
    return router is not None and set(router.versions) == {1}


def _querier_now(segment: Any) -> str:
    """The querier at the end, and who was querier before when there is none now."""
    if segment.querier:
        return str(segment.querier)
    spans = [span for span in segment.querier_spans if span.querier]
    if not spans:
        return "none"
    last = spans[-1]
    return f"none since {_t(last.end)} ({last.querier} until then)"


def _role(segment: Any, router: Any) -> str:
    """proxy, querier, querier too (an IGMPv1 router querying beside the IGMPv1 querier),
    querier until T (it was, then fell silent or lost the election), or other."""
    if router.proxy:
        return "proxy"
    address = str(router.address)
    if segment.querier == address:
        return "querier"
    if (segment.querier and _v1(segment, router.address) and _v1(segment, segment.querier)
            and router.last_time >= segment.querier_spans[-1].start):
        # IGMPv1 has no election (RFC 1112 App. I): a v1 router that still queries is a
        # querier as well, not one that lost an election.
        return "querier too (IGMPv1)"
    span = segment.was_querier(address)
    if span is not None:
        return f"querier until {_t(span.end)}"
    return "other"


def _elections(segment: Any) -> Any:
    """Changes of querier; ``- (IGMPv1)`` where only IGMPv1 routers query (RFC 1112 App. I:
    no election, the elections table tells who queried when)."""
    routers = [r for r in segment.routers if not r.proxy]
    if segment.family == 4 and routers and all(set(r.versions) == {1} for r in routers):
        return "- (IGMPv1)"
    return len(segment.elections)


def summary_tables(report: Any) -> list[Table]:
    """The tables the text output prints, those with rows only."""
    tables: list[Table] = []
    if report.segments:
        tables.append(Table("segments", [
            "segment", "querier", "version", "routers", "elections", "gaps", "groups", "IGMP/MLD", "GMI"], [
            [s.label, _querier_now(s),
             f"{'MLD' if s.family == 6 else ''}v{s.querier_version}" if s.querier_version else "",
             sum(1 for r in s.routers if not r.proxy), _elections(s), len(s.gaps),
             _n(sum(1 for g in s.groups if g.detail.get("joins"))), _n(s.igmp_messages),
             f"{s.timers.group_membership_interval:g} s"]
            for s in report.segments]))
    routers = [(s, r) for s in report.segments for r in s.routers]
    if routers:
        rows = []
        for s, r in routers:
            role = _role(s, r)
            mean = r.mean_interval
            interval = f"{mean:.1f}" if mean is not None else "-"
            advertised = f"{r.qqi}" if r.qqi else "125 (default)" if not r.proxy else "-"
            startup = (f"{r.startup_queries} q {sum(r.startup_gaps) / len(r.startup_gaps):.1f} s apart"
                       if r.startup_gaps else "-")
            rows.append([s.label, str(r.address), role, ",".join(sorted(r.macs)) or "-",
                         "/".join(f"v{v}" for v in sorted(r.versions)), _n(r.general_queries), startup,
                         _n(r.group_queries + r.group_source_queries), f"{interval} / {advertised}",
                         r.qrv if r.qrv is not None else "-", _mrt(r),
                         _t(r.first_time), _t(r.last_time)])
        tables.append(Table("routers", ["segment", "router", "role", "MAC", "versions", "general", "startup",
                                        "group q", "interval s (measured / QQI)", "QRV", "MRT s", "first",
                                        "last"], rows))
    if any(len(s.querier_spans) > 1 or (s.querier_spans and s.querier_spans[-1].querier is None)
           for s in report.segments):
        tables.append(Table("queriers over time",
                            ["segment", "from", "until", "querier", "version", "last query", "how it ended"],
                            [[s.label, _t(span.start), "end" if span.open else _t(span.end),
                              span.querier or "none", f"v{span.version}" if span.version else "",
                              _t(span.last_query), span.ended_by or "-"]
                             for s in report.segments for span in s.querier_spans]))
    elections = [(s, e) for s in report.segments for e in s.elections]
    if len(elections) > len(report.segments) or any(s.gaps for s in report.segments):
        # IGMPv1 has no querier election (RFC 1112: the multicast routing protocol picks
        # the querier): its querier is just "querier".
        rows = [[_t(e.time), e.frame or "", s.label, "querier" if _v1(s, e.querier) else "election",
                 str(e.querier or "none"), e.reason]
                for s, e in elections]
        rows += [[_t(g.start), g.frame or "", s.label, "gap", f"{g.duration:.1f} s",
                  "until the end of the capture" if g.open_at_end else f"until {g.end:.3f}"]
                 for s in report.segments for g in s.gaps]
        rows.sort(key=lambda row: float(row[0]))
        tables.append(Table("elections and gaps",
                            ["time", "frame", "segment", "event", "querier / length", "why"], rows))
    groups = report.all_groups()
    if groups:
        tables.append(Table("groups", [
            "segment", "group", "MAC", "state", "compat", "members", "hosts", "first join", "last report",
            "leaves", "max leave latency", "expires", "data pkts", "senders", "join to data"], [
            [s.label, str(g.group), g.mac, g.state,
             f"v{g.compatibility_mode}" if g.compatibility_mode else "-", _hosts(g.members), len(g.reporting_hosts), _t(g.first_join),
             _t(g.last_report), _n(g.leaves), _dur(g.max_leave_latency),
             (f"{_t(g.expires)} (ended)" if g.expired else _t(g.expires)) if g.expires is not None else "",
             _n(g.data.packets) if g.data else 0, _n(len(g.data.senders)) if g.data else 0,
             "flooded" if g.flooded_before_join else _dur(g.join_latency)]
            for s, g in groups]))
    peers = [(s, r) for s in report.segments for r in s.multicast_routers]
    if peers:
        tables.append(Table("multicast routing protocols", [
            "segment", "protocol", "sender", "messages", "kinds", "first", "last"], [
            [s.label, r.protocol, r.address, _n(r.messages), ", ".join(r.kinds), _t(r.first), _t(r.last)]
            for s, r in peers]))
    local = [(s, t) for s in report.segments for t in s.link_local]
    if local:
        tables.append(Table("link-local traffic", [
            "segment", "link-local group", "name", "packets", "bytes", "senders", "first", "last"], [
            [s.label, str(t.group), t.name or "-", _n(t.data.packets), _n(t.data.bytes),
             _hosts(sorted(t.data.senders)), _t(t.data.first), _t(t.data.last)]
            for s, t in local]))
    return tables


def findings_table(report: Any) -> Table:
    """Every finding kept, in the order of the report (time, frame, severity, code, text)."""
    return Table("findings", ["time", "frame", "severity", "code", "finding"], [
        [_t(f.time), f.frame or "", str(f.severity), f.code,
         f.message + (f" (x{f.context['count']})" if f.context.get("count") else "")]
        for f in report.findings])
