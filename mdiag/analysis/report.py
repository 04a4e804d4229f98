"""The analysis report: plain values built once at the end of a capture.

``Report.to_json()`` is the stable ``mdiag analyze --json`` schema documented in
docs/analyze.md; the CLI's tables, CSV, expectations and JUnit output all read
these values.
"""

from __future__ import annotations

import datetime as _dt
from collections.abc import Iterable
from dataclasses import dataclass, field
from ipaddress import IPv4Address
from typing import Any

from mdiag.analysis.history import History
from mdiag.core.addresses import multicast_mac
from mdiag.core.findings import Finding, Severity
from mdiag.core.linklayer import Segment
from mdiag.core.membership import GroupState, MembershipTable
from mdiag.core.querier import Election, Gap, QuerierSpan, QuerierTracker, RouterInfo, querier_spans
from mdiag.core.timers import Profile, TimerSet

__all__ = ["DataStats", "Event", "GroupReport", "LinkLocalTraffic", "QuerierSpan", "RoutingPeer", "Report", "SegmentReport", "querier_spans"]


def _link_local_scope(group: Any) -> bool:
    """224.0.0.0/24 (RFC 5771 4) or an IPv6 link-local-scope group ff02::/16 (RFC 4291 2.7)."""
    if group.version == 4:
        return int(group) >> 8 == 0xE00000
    return (int(group) >> 112) & 0xF == 2


def _well_known(group: Any) -> str | None:
    """The IANA name of a well-known group (224.0.0.2 All Routers, 224.0.0.9 RIPv2...)."""
    from mdiag.core.addresses import classify

    return classify(group).name


def _r(value: float | None, digits: int = 6) -> float | None:
    return None if value is None else round(value, digits)


@dataclass(frozen=True, slots=True)
class DataStats:
    """Multicast UDP data to one group on one segment."""

    packets: int
    bytes: int
    senders: dict[str, int]
    first: float
    last: float

    def to_json(self) -> dict[str, Any]:
        return {"packets": self.packets, "bytes": self.bytes, "senders": dict(sorted(self.senders.items())),
                "first": _r(self.first), "last": _r(self.last)}


@dataclass(frozen=True, slots=True)
class Event:
    """One line of the timeline."""

    time: float
    frame: int | None
    segment: str
    group: str | None
    text: str

    def to_json(self) -> dict[str, Any]:
        return {"time": _r(self.time), "frame": self.frame, "segment": self.segment,
                "group": self.group, "text": self.text}


@dataclass(frozen=True, slots=True)
class RoutingPeer:
    """A multicast router heard by its routing protocol (PIMv2 hellos, PIMv1, DVMRP,
    mtrace, RFC 4286 Multicast Router Discovery), not by IGMP queries."""

    protocol: str
    address: str
    messages: int
    first: float
    last: float
    kinds: tuple[str, ...]

    def to_json(self) -> dict[str, Any]:
        return {"protocol": self.protocol, "address": self.address, "messages": self.messages,
                "first": _r(self.first), "last": _r(self.last), "kinds": list(self.kinds)}


@dataclass(frozen=True, slots=True)
class LinkLocalTraffic:
    """Data to a 224.0.0.0/24 (or IPv6 ff02::/16) group (routing and redundancy protocols:
    HSRP, RIP, LDP, mDNS...): link-local control traffic that routers never forward and that needs no
    membership (RFC 5771 4, RFC 4541 2.1.2), so it is told apart from groups."""

    group: IPv4Address
    name: str | None
    data: DataStats

    def to_json(self) -> dict[str, Any]:
        return {"group": str(self.group), "name": self.name, **self.data.to_json()}


@dataclass(frozen=True, slots=True)
class GroupReport:
    """A group on a segment: its membership state and its data traffic."""

    group: IPv4Address
    state: str                     # include | exclude | absent | never (data only)
    members: tuple[str, ...]
    reporting_hosts: tuple[str, ...]
    first_join: float | None
    first_join_frame: int | None
    last_report: float | None
    leaves: int
    max_leave_latency: float | None
    expires: float | None
    compatibility_mode: int | None
    detail: dict[str, Any]
    data: DataStats | None

    @property
    def mac(self) -> str:
        return str(multicast_mac(self.group))

    @property
    def join_latency(self) -> float | None:
        """Seconds from the first join to the first data packet (RFC 3918 style join
        delay as seen on this segment); None without data, or when data was already
        flowing before the join (then it was flooded: see ``flooded_before_join``)."""
        if self.data is None or self.first_join is None or self.data.first < self.first_join:
            return None
        return self.data.first - self.first_join

    @property
    def expired(self) -> bool:
        """The membership has ended (left or timed out): ``expires`` is when it did."""
        return self.state == "absent"

    @property
    def flooded_before_join(self) -> bool:
        """Data for the group was on the segment before any host joined it."""
        return self.data is not None and self.first_join is not None and self.data.first < self.first_join

    def to_json(self) -> dict[str, Any]:
        body: dict[str, Any] = {"group": str(self.group), "mac": self.mac, "state": self.state,
                "members": list(self.members), "reporting_hosts": list(self.reporting_hosts),
                "first_join": _r(self.first_join), "first_join_frame": self.first_join_frame,
                "last_report": _r(self.last_report), "leaves": self.leaves,
                "max_leave_latency": _r(self.max_leave_latency), "expires": _r(self.expires),
                "expired": self.expired,
                "compatibility_mode": self.compatibility_mode,
                "join_latency": _r(self.join_latency), "flooded_before_join": self.flooded_before_join}
        for key in ("sources", "excluded_sources", "versions", "reports", "joins", "expiries",
                    "group_queries", "leave_details", "member_spans"):
            if key in self.detail:
                body[key] = self.detail[key]
        body["data"] = self.data.to_json() if self.data else None
        return body


@dataclass(frozen=True, slots=True)
class SegmentReport:
    """Queriers, groups and data on one segment."""

    segment: Segment
    querier: str | None
    querier_version: int | None
    versions: tuple[int, ...]
    routers: tuple[RouterInfo, ...]
    elections: tuple[Election, ...]
    gaps: tuple[Gap, ...]
    timers: TimerSet
    groups: tuple[GroupReport, ...]
    igmp_messages: int
    #: the capture interface's name (pcapng if_name), when the capture gives one
    interface_name: str | None = None
    #: the elected querier over time (from the first election to the end)
    querier_spans: tuple[QuerierSpan, ...] = ()
    #: data to 224.0.0.0/24 groups nobody reported: link-local control traffic
    link_local: tuple[LinkLocalTraffic, ...] = ()
    #: multicast routers heard by their routing protocol, by protocol and address
    multicast_routers: tuple[RoutingPeer, ...] = ()

    def was_querier(self, address: str) -> QuerierSpan | None:
        """The last span in which ``address`` was the querier, if any."""
        return next((s for s in reversed(self.querier_spans) if s.querier == address), None)
    #: 4: IGMP over IPv4; 6: MLD over IPv6 (each family of a segment is its own report)
    family: int = 4

    @property
    def protocol(self) -> str:
        """``IGMP`` or ``MLD``."""
        return "MLD" if self.family == 6 else "IGMP"

    @property
    def name(self) -> str:
        """``if0 vlan 10`` (IGMP) or ``if0 vlan 10 (MLD)``: the name findings carry in
        ``context.segment``."""
        return f"{self.segment} (MLD)" if self.family == 6 else str(self.segment)

    @property
    def label(self) -> str:
        """``if0 vlan 10`` or, with an interface name, ``if0 vlan 10 (eth0)``; MLD adds ``(MLD)``."""
        return f"{self.name} ({self.interface_name})" if self.interface_name else self.name

    @classmethod
    def build(cls, segment: Segment, tracker: QuerierTracker, table: MembershipTable,
              data: dict[IPv4Address, DataStats], end: float,
              only: Iterable[IPv4Address] = (), igmp_messages: int = 0,
              interface_name: str | None = None, *, open_gap: Gap | None = None,
              family: int = 4,
              routing: dict[tuple[str, int], list[Any]] | None = None) -> SegmentReport:
        only = frozenset(only)
        gmi = tracker.timers.group_membership_interval
        groups: list[GroupReport] = []
        link_local: list[LinkLocalTraffic] = []
        names = {state.group for state in table.groups.values()} | set(data)
        for group in sorted(names):
            if only and group not in only:
                continue
            state: GroupState | None = table.get(group)
            stats = data.get(group)
            if state is None or (state.joins == 0 and not state.leave_count):
                if stats is None:
                    continue
                if _link_local_scope(group):
                    link_local.append(LinkLocalTraffic(group, _well_known(group), stats))
                    continue
                groups.append(GroupReport(group, "never", (), (), None, None, None, 0, None, None,
                                          None, {}, stats))
                continue
            detail = state.to_json(end, gmi)
            groups.append(GroupReport(
                group, detail["state"], tuple(detail["members"]), tuple(detail["reporting_hosts"]),
                state.first_join, state.first_join_frame, state.last_report, state.leave_count,
                state.max_leave_latency,
                state.expires() if state.present else state.last_expiry,
                state.compatibility(end), detail, stats))
        return cls(segment, str(tracker.elected) if tracker.elected is not None else None,
                   tracker.querier_version, tuple(sorted(tracker.versions)),
                   tuple(sorted(tracker.routers.values(), key=lambda r: r.address)),
                   tuple(tracker.elections),
                   tuple(tracker.gaps) + ((open_gap,) if open_gap is not None else ()),
                   tracker.timers, tuple(groups),
                   igmp_messages, interface_name, querier_spans(tracker, end), family=family,
                   link_local=tuple(link_local),
                   multicast_routers=tuple(
                       RoutingPeer(protocol, str(IPv4Address(src)), n, first, last, tuple(sorted(kinds)))
                       for (protocol, src), (n, first, last, kinds) in sorted((routing or {}).items())))

    def to_json(self) -> dict[str, Any]:
        return {
            "segment": {**self.segment.to_json(), "name": self.name, "interface_name": self.interface_name},
            "family": self.family,
            "protocol": self.protocol,
            "querier": self.querier,
            "querier_version": self.querier_version,
            "versions": list(self.versions),
            "igmp_messages": self.igmp_messages,
            "routers": [r.to_json() for r in self.routers],
            "elections": [e.to_json() for e in self.elections],
            "querier_spans": [span.to_json() for span in self.querier_spans],
            "gaps": [g.to_json() for g in self.gaps],
            "timers": self.timers.to_json(),
            "groups": [g.to_json() for g in self.groups],
            "link_local_traffic": [t.to_json() for t in self.link_local],
            "multicast_routers": [r.to_json() for r in self.multicast_routers],
        }


@dataclass(slots=True)
class Report:
    """Everything ``mdiag analyze`` found in one capture."""

    name: str
    format: str
    compression: str | None
    interfaces: list[Any]
    profile: Profile
    start_ns: int | None
    duration: float
    counters: dict[str, int]
    segments: list[SegmentReport]
    findings: list[Finding]
    timeline: list[Event] = field(default_factory=list)
    timeline_dropped: int = 0
    findings_dropped: int = 0
    #: when/what happened, for pictures: only with ``AnalysisOptions(history=True)``
    history: History | None = None

    @property
    def start_iso(self) -> str | None:
        if self.start_ns is None:
            return None
        try:
            when = _dt.datetime.fromtimestamp(self.start_ns / 1e9, _dt.timezone.utc)
        except (OverflowError, OSError, ValueError):  # a timestamp no calendar holds (damaged capture)
            return None
        return when.isoformat(timespec="microseconds").replace("+00:00", "Z")

    def worst(self) -> Severity | None:
        return max((f.severity for f in self.findings), default=None)

    def all_groups(self) -> list[tuple[SegmentReport, GroupReport]]:
        return [(s, g) for s in self.segments for g in s.groups]

    def join_latencies(self) -> list[float]:
        """Join-to-first-data latency of every group that has one."""
        return [g.join_latency for s in self.segments for g in s.groups if g.join_latency is not None]

    def leave_latencies(self) -> list[float]:
        """The longest leave-to-expiry latency of every group that had one."""
        return [g.max_leave_latency for s in self.segments for g in s.groups
                if g.max_leave_latency is not None]

    def family_of(self, segment_name: Any) -> int | None:
        """4 (IGMP) or 6 (MLD) for a segment's name as findings and events carry it; None
        for capture-wide findings."""
        if not isinstance(segment_name, str):
            return None
        for segment in self.segments:
            if segment.name == segment_name:
                return segment.family
        return 6 if segment_name.endswith("(MLD)") else 4

    def to_json(self) -> dict[str, Any]:
        return {
            "capture": {
                "name": self.name, "format": self.format, "compression": self.compression,
                "interfaces": [i.to_json() for i in self.interfaces],
                "start": self.start_iso, "start_ns": self.start_ns, "duration": _r(self.duration),
            },
            "profile": self.profile.value,
            "counters": dict(self.counters),
            "segments": [s.to_json() for s in self.segments],
            "findings": [{**f.to_json(), "family": self.family_of(f.context.get("segment"))}
                         for f in self.findings],
            "findings_dropped": self.findings_dropped,
            "summary": self.summary(),
            "timeline": [{**e.to_json(), "family": self.family_of(e.segment)} for e in self.timeline],
            "timeline_dropped": self.timeline_dropped,
        }

    def summary(self) -> dict[str, Any]:
        by_severity = {str(s): 0 for s in Severity}
        for f in self.findings:
            by_severity[str(f.severity)] += 1
        latencies = self.leave_latencies()
        return {
            "segments": len(self.segments),
            "queriers": sorted({s.querier for s in self.segments if s.querier and s.family == 4}),
            "mld_queriers": sorted({s.querier for s in self.segments if s.querier and s.family == 6}),
            "groups": len({g.group for _, g in self.all_groups()}),
            "findings": by_severity,
            "worst": str(self.worst()) if self.findings else None,
            "max_leave_latency": _r(max(latencies)) if latencies else None,
            "max_join_latency": _r(max(self.join_latencies())) if self.join_latencies() else None,
        }
