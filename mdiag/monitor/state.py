"""What a monitor knows: counters harvested from an incremental analyzer, kept bounded.

Pure: no sockets, clocks or files; times are passed in (epoch nanoseconds). A
:class:`MonitorState` reads an :class:`~mdiag.analysis.pipeline.Analyzer` once per
tick (:meth:`MonitorState.harvest`): it turns the analyzer's per-segment querier
trackers, membership tables and data counts into cumulative counters and gauges,
tells what changed as structured events (querier elected or lost, a host joined or
stopped reporting, a leave, an expiry, data starting and stopping), and then trims
the analyzer so that a run of days holds bounded memory:

* groups that are absent and carried no data for ``forget_after`` are forgotten
  (their series disappear); beyond ``max_groups`` the least recently active go
  first, and every drop is counted (``dropped["group"]``);
* hosts silent for longer than GMI leave the tables; a group keeps at most
  ``max_reporters`` reporting hosts and a few leave records;
* data flows (sender, group) silent for ``forget_after`` go, at most ``max_flows``;
* routers silent for ``forget_after`` go; election, gap and general-query-time lists are
  trimmed, and so are the closed membership spans of each group.

Counters never go backwards while the process runs (a forgotten group that comes
back starts its per-group counters at zero: Prometheus's ``rate`` handles that as
a counter reset). Nothing is special about IPv4 here: a segment has a family, and
addresses are whatever the analyzer keeps (``str`` gives their text).
"""

from __future__ import annotations

import bisect
from collections.abc import Callable
from dataclasses import dataclass, field
from ipaddress import ip_address
from typing import Any

from mdiag.core.findings import Finding

__all__ = ["GroupView", "Limits", "MonitorState", "SegmentView"]

Event = dict[str, Any]

#: Data to a group that stopped for this long (seconds) is reported as stopped.
DATA_STOP_SECONDS = 5.0
#: Leave records kept per group.
LEAVES_KEPT = 4
#: Elections and gaps kept per tracker (the counters carry the rest).
HISTORY_KEPT = 16


@dataclass(frozen=True, slots=True)
class Limits:
    """The memory caps of one monitor (``mdiag monitor --max-*`` and ``--forget-after``)."""

    max_segments: int = 64
    max_groups: int = 2000
    max_flows: int = 10000
    max_reporters: int = 256
    max_routers: int = 64
    forget_after: float = 3600.0

    def __post_init__(self) -> None:
        for name in ("max_segments", "max_groups", "max_flows", "max_reporters", "max_routers"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be at least 1")
        if self.forget_after <= 0:
            raise ValueError("forget_after must be positive")


@dataclass(slots=True)
class GroupView:
    """One group on one segment as the monitor shows it."""

    group: str
    members: tuple[str, ...] = ()
    joins: int = 0
    leaves: int = 0
    expiries: int = 0
    data_packets: int = 0
    data_bytes: int = 0
    data_last_ns: int | None = None
    data_flowing: bool = False
    last_active_ns: int = 0
    # what the analyzer's GroupState said at the last harvest (to take differences)
    _state_id: int = 0
    _joins_seen: int = 0
    _leaves_seen: int = 0
    _expiries_seen: int = 0
    _reports_seen: int = 0


@dataclass(slots=True)
class SegmentView:
    """One segment (interface, VLAN stack, address family) as the monitor shows it."""

    key: tuple[Any, ...]
    name: str
    vlan: str
    family: str
    querier: str | None = None
    querier_version: int = 0
    queriers: int = 0
    query_interval: float | None = None
    query_interval_expected: float | None = None
    elections: int = 0
    joins: int = 0
    leaves: int = 0
    expiries: int = 0
    queries: dict[str, int] = field(default_factory=lambda: {"general": 0, "group": 0, "group_source": 0})
    reports: dict[str, int] = field(default_factory=dict)
    groups: dict[str, GroupView] = field(default_factory=dict)
    _elections_seen: int = 0
    _routers_seen: dict[Any, tuple[int, int, int, int, int, float]] = field(default_factory=dict)
    _reports_by_version_seen: dict[Any, int] = field(default_factory=dict)

    @property
    def labels(self) -> tuple[str, str]:
        return (self.vlan, self.family)

    def members(self) -> int:
        return sum(len(g.members) for g in self.groups.values())

    def hosts(self) -> int:
        return len({h for g in self.groups.values() for h in g.members})

    def present_groups(self) -> int:
        return sum(1 for g in self.groups.values() if g.members)


def _family_name(family: int) -> str:
    return "ipv6" if family == 6 else "ipv4"


class MonitorState:
    """Counters and gauges of one monitor, harvested from ``analyzer`` (see the module
    docstring). ``emit`` receives each structured event (a dict with ``event`` and
    ``time`` keys, epoch seconds)."""

    def __init__(self, analyzer: Any, *, limits: Limits | None = None,
                 emit: Callable[[Event], None] | None = None) -> None:
        self.analyzer = analyzer
        self.limits = limits or Limits()
        self.emit = emit or (lambda event: None)
        self.segments: dict[tuple[Any, ...], SegmentView] = {}
        self.findings: dict[tuple[str, str], int] = {}
        self.dropped: dict[str, int] = {}
        self.frames = 0
        self.bytes = 0
        self.kernel_drops = 0
        self.incidents = 0
        self._flows_seen: dict[Any, tuple[int, int]] = {}
        self._findings_dropped = 0

    # -- helpers ---------------------------------------------------------------------------
    def drop(self, what: str, count: int = 1) -> None:
        if count:
            self.dropped[what] = self.dropped.get(what, 0) + count

    def _epoch_ns(self, relative: float | None) -> int | None:
        t0: int | None = self.analyzer.t0
        if relative is None or t0 is None:
            return None
        return t0 + int(relative * 1e9)

    def _segment(self, key: tuple[Any, ...], family: int, vlans: tuple[int, ...],
                 ifindex: int | None) -> SegmentView | None:
        view = self.segments.get(key)
        if view is None:
            if len(self.segments) >= self.limits.max_segments:
                self.drop("segment")
                return None
            vlan = ".".join(str(v) for v in vlans)
            if ifindex is not None:
                vlan = f"ifindex{ifindex}" + (f".{vlan}" if vlan else "")
            name = ("vlan " + vlan if vlan else "untagged") + f" {_family_name(family)}"
            view = self.segments[key] = SegmentView(key, name, vlan, _family_name(family))
        return view

    def finding(self, finding: Finding, now_ns: int) -> None:
        """Count a new finding (the analyzer's ``on_finding``) and tell it as an event."""
        key = (finding.code, str(finding.severity))
        self.findings[key] = self.findings.get(key, 0) + 1
        event: Event = {"event": "finding", "time": now_ns / 1e9, "code": finding.code,
                        "severity": str(finding.severity), "message": finding.message}
        if finding.rfc:
            event["rfc"] = finding.rfc
        when = self._epoch_ns(finding.time)
        if when is not None:
            event["at"] = when / 1e9
        context = {k: v for k, v in finding.context.items() if isinstance(v, (str, int, float, bool))}
        if context:
            event["context"] = context
        self.emit(event)

    # -- the harvest -----------------------------------------------------------------------
    def harvest(self, now_ns: int) -> None:
        """Read the analyzer at ``now_ns`` (after ``analyzer.advance(now_ns)``): update
        counters, emit what changed, then trim the analyzer to the limits."""
        analyzer = self.analyzer
        if analyzer.t0 is None:
            return
        now = (now_ns - analyzer.t0) / 1e9
        for key, seg in list(analyzer.segments.items()):
            view = self._segment(key, key[0], seg.segment.vlans, seg.segment.ifindex)
            if view is None:
                continue
            self._querier(view, seg.tracker, now, now_ns)
        self._data(now_ns)    # first: an expiry tells whether data was flowing
        for key, seg in list(analyzer.segments.items()):
            view = self.segments.get(key)
            if view is not None:
                self._membership(view, seg.table, seg.tracker, now, now_ns)
        self._trim(now, now_ns)

    def _querier(self, view: SegmentView, tracker: Any, now: float, now_ns: int) -> None:
        elections = tracker.elections
        if len(elections) < view._elections_seen:   # trimmed by someone else: start over
            view._elections_seen = 0
        for election in elections[view._elections_seen:]:
            view.elections += 1
            when = self._epoch_ns(election.time)
            self.emit({"event": "querier", "time": now_ns / 1e9,
                       "at": when / 1e9 if when is not None else None, "segment": view.name,
                       "querier": str(election.querier) if election.querier is not None else None,
                       "previous": str(election.previous) if election.previous is not None else None,
                       "reason": election.reason})
        view._elections_seen = len(elections)
        elected = tracker.elected
        view.querier = str(elected) if elected is not None else None
        view.querier_version = (tracker.querier_version or 0) if elected is not None else 0
        oqpi = tracker.timers.other_querier_present_interval
        active = 0
        seen = view._routers_seen
        for address, info in tracker.routers.items():
            if not info.proxy and info.last_general is not None and now - info.last_general <= oqpi:
                active += 1
            before = seen.get(address)
            current = (id(info), info.general_queries, info.group_queries, info.group_source_queries,
                       info.interval_count, info.interval_sum)
            if before is None or before[0] != id(info):
                before = (id(info), 0, 0, 0, 0, 0.0)
            view.queries["general"] += current[1] - before[1]
            view.queries["group"] += current[2] - before[2]
            view.queries["group_source"] += current[3] - before[3]
            if address == elected:
                if current[4] > before[4]:
                    # the recent mean: intervals measured since the last harvest
                    view.query_interval = (current[5] - before[5]) / (current[4] - before[4])
                view.query_interval_expected = info.expected_interval
            seen[address] = current
        view.queriers = active
        if elected is None:
            view.query_interval = None
            view.query_interval_expected = None

    def _membership(self, view: SegmentView, table: Any, tracker: Any, now: float, now_ns: int) -> None:
        gmi = tracker.timers.group_membership_interval
        by_version = getattr(table, "reports_by_version", None)
        if by_version is not None:
            for version, count in by_version.items():
                before = view._reports_by_version_seen.get(version, 0)
                # the table counts MLD on IGMP's scale (MLDv1 = 2, MLDv2 = 3)
                label = str(version - 1 if view.family == "ipv6" else version)
                view.reports[label] = view.reports.get(label, 0) + count - before
                view._reports_by_version_seen[version] = count
        for state in list(table.groups.values()):
            text = str(state.group)
            group = view.groups.get(text)
            if group is None:
                if not state.joins and not state.leave_count:
                    continue
                group = view.groups[text] = GroupView(text)
            if group._state_id != id(state):
                group._state_id = id(state)
                group._joins_seen = group._leaves_seen = group._expiries_seen = 0
            joins = state.joins - group._joins_seen
            leaves = state.leave_count - group._leaves_seen
            expiries = state.expiries - group._expiries_seen
            group._joins_seen, group._leaves_seen, group._expiries_seen = (
                state.joins, state.leave_count, state.expiries)
            group.joins += joins
            group.leaves += leaves
            group.expiries += expiries
            view.joins += joins
            view.leaves += leaves
            view.expiries += expiries
            members = tuple(str(h) for h in state.members(now, gmi))
            base = {"time": now_ns / 1e9, "segment": view.name, "group": text}
            if members != group.members:
                old = set(group.members)
                new = set(members)
                for joined in sorted(new - old):
                    self.emit({"event": "member-joined", "host": joined, **base})
                for gone in sorted(old - new):
                    self.emit({"event": "member-gone", "host": gone, **base})
                group.members = members
            if leaves:
                # the leave being answered (pending) or the last one closed
                pending = state.pending
                host: str | None
                kind: str | None
                when: float | None
                if pending is not None:
                    host, kind, when = str(ip_address(pending.host)), pending.kind, pending.time
                elif state.leaves:
                    last = state.leaves[-1]
                    host, kind, when = str(last.host), last.kind, last.time
                else:
                    host, kind, when = None, None, None
                at = self._epoch_ns(when)
                self.emit({"event": "leave", "count": leaves, "host": host, "kind": kind,
                           "at": at / 1e9 if at is not None else None, **base})
            if expiries:
                when = self._epoch_ns(state.last_expiry)
                self.emit({"event": "expiry", "count": expiries, "data_flowing": group.data_flowing,
                           "at": when / 1e9 if when is not None else None, **base})
            last = max((t for t in (state.last_report, state.last_expiry, state.first_join)
                        if t is not None), default=None)
            if last is not None:
                group.last_active_ns = max(group.last_active_ns, self._epoch_ns(last) or 0)
        trim = getattr(table, "trim", None)
        if trim is not None:
            self.drop("host", trim(now, reporters=self.limits.max_reporters, leaves=LEAVES_KEPT))

    def _data(self, now_ns: int) -> None:
        seen = self._flows_seen
        for dkey, stats in self.analyzer.data.items():
            iface, key, pair = dkey
            half = len(pair) // 2
            family = 6 if half == 16 else 4
            seg = self._segment((family, iface, key), family, *self._vlans(iface, key))
            if seg is None:
                continue
            before = seen.get(dkey, (0, 0))
            packets = stats[0] - before[0]
            nbytes = stats[1] - before[1]
            if packets <= 0:
                continue
            seen[dkey] = (stats[0], stats[1])
            text = str(ip_address(bytes(pair[half:])))
            group = seg.groups.get(text)
            if group is None:
                group = seg.groups[text] = GroupView(text)
            group.data_packets += packets
            group.data_bytes += nbytes
            if group.data_last_ns is None or stats[3] > group.data_last_ns:
                group.data_last_ns = stats[3]
            group.last_active_ns = max(group.last_active_ns, stats[3])
        stop_ns = int(DATA_STOP_SECONDS * 1e9)
        for seg in self.segments.values():
            for group in seg.groups.values():
                flowing = group.data_last_ns is not None and now_ns - group.data_last_ns < stop_ns
                if flowing != group.data_flowing:
                    group.data_flowing = flowing
                    self.emit({"event": "data-started" if flowing else "data-stopped",
                               "time": now_ns / 1e9, "segment": seg.name, "group": group.group,
                               "members": len(group.members),
                               "last_data": (group.data_last_ns or 0) / 1e9})

    @staticmethod
    def _vlans(iface: int, key: tuple[int, ...]) -> tuple[tuple[int, ...], int | None]:
        ifindex = None
        if key and key[0] < 0:
            ifindex = -key[0] - 1
            key = key[1:]
        return tuple(key), ifindex

    # -- bounded memory ------------------------------------------------------------------
    def _trim(self, now: float, now_ns: int) -> None:
        limits = self.limits
        horizon = now_ns - int(limits.forget_after * 1e9)
        analyzer = self.analyzer
        # data flows: silent for forget_after, then the oldest beyond the cap
        flows = analyzer.data
        stale = [k for k, v in flows.items() if v[3] < horizon]
        if len(flows) - len(stale) > limits.max_flows:
            rest = sorted((k for k in flows if flows[k][3] >= horizon), key=lambda k: flows[k][3])
            extra = rest[: len(flows) - len(stale) - limits.max_flows]
            self.drop("flow", len(extra))
            stale.extend(extra)
        for k in stale:
            del flows[k]
            self._flows_seen.pop(k, None)
        # groups: absent and quiet for forget_after, then the least recently active
        tables = analyzer.segments
        candidates: list[tuple[int, tuple[Any, ...], str]] = []
        total = 0
        for key, view in self.segments.items():
            for text, group in list(view.groups.items()):
                total += 1
                if not group.members and not group.data_flowing and group.last_active_ns < horizon:
                    self._forget_group(view, tables.get(key), text)
                    total -= 1
                else:
                    candidates.append((group.last_active_ns, key, text))
        if total > limits.max_groups:
            candidates.sort()
            for _, key, text in candidates[: total - limits.max_groups]:
                self._forget_group(self.segments[key], tables.get(key), text)
                self.drop("group")
        # findings first seen before the horizon: a repeat counts as new again
        findings = analyzer.findings
        findings.forget(now - limits.forget_after)
        if findings.dropped > self._findings_dropped:
            self.drop("finding", findings.dropped - self._findings_dropped)
            self._findings_dropped = findings.dropped
        # routers and history lists
        for key, seg in analyzer.segments.items():
            tracker = seg.tracker
            routers = tracker.routers
            quiet = [a for a in routers if a != tracker.elected
                     and (self._epoch_ns(routers[a].last_time) or 0) < horizon]
            if len(routers) - len(quiet) > limits.max_routers:
                rest = sorted((a for a in routers if a not in quiet and a != tracker.elected),
                              key=lambda a: routers[a].last_time)
                extra = rest[: len(routers) - len(quiet) - limits.max_routers]
                self.drop("router", len(extra))
                quiet.extend(extra)
            for address in quiet:
                del routers[address]
            held = self.segments.get(key)
            if held is not None:
                for address in quiet:
                    held._routers_seen.pop(address, None)
            # general-query times: what the expiry diagnosis looks back on (one GMI); the
            # tracker stops recording at its own cap, so old ones go
            times = getattr(tracker, "general_times", None)
            if times is not None and len(times) > 1024:
                keep = max(limits.forget_after, 2 * tracker.timers.group_membership_interval)
                del times[:bisect.bisect_left(times, now - keep)]
            for name in ("elections", "gaps"):
                items = getattr(tracker, name)
                if len(items) > 4 * HISTORY_KEPT:
                    del items[: len(items) - HISTORY_KEPT]
                    if name == "elections" and held is not None:
                        held._elections_seen = len(items)

    def _forget_group(self, view: SegmentView, seg: Any, text: str) -> None:
        view.groups.pop(text, None)
        if seg is not None:
            forget = getattr(seg.table, "forget", None)
            if forget is not None:
                forget(int(ip_address(text)))

    # -- reading -------------------------------------------------------------------------
    def tracked(self) -> dict[str, int]:
        """State held now, by kind (``mdiag_monitor_tracked``)."""
        return {
            "segment": len(self.segments),
            "group": sum(len(v.groups) for v in self.segments.values()),
            "host": sum(v.hosts() for v in self.segments.values()),
            "flow": len(self.analyzer.data),
            "router": sum(len(s.tracker.routers) for s in self.analyzer.segments.values()),
        }
