"""Router-side group membership table for one segment (RFC 3376 6.4, section 7.3.2),
and for MLD (RFC 3810 7.4, 8.3.2) with ``MembershipTable(family=6)``.

Pure: time is passed in. This is the table a multicast router (or snooping
switch) builds from reports, reconstructed from what it heard::

    table = MembershipTable(timers_fn=lambda: tracker.timers)   # or a fixed TimerSet
    table.report(time, frame, host, message)     # V1Report, V2Report, V2Leave, V3Report
    table.report_records(time, frame, host, int(host), prepare(message))  # same, prepared once
    table.query(time, frame, message)            # group(-and-source)-specific queries
    table.finish(end_time)
    table.groups                                 # {int(group): GroupState}
    list(table.findings)

Per group it keeps the filter mode, the group timer and source timers exactly as
the state table of RFC 3376 6.4.1/6.4.2 prescribes (GMI from the timers in
force), the older-host-present timers of 7.3.2 (v1/v2 reports are IS_EX({}), a
v2 leave is TO_IN({}); in v2 compatibility BLOCK is ignored and TO_EX forgets its
sources; in v1 compatibility leaves and TO_IN are ignored too), and the story
around it: reporting hosts, first join, last report, leaves, the group-specific
queries that followed each leave and the latency from leave to expiry.

MLD is the same state machine (RFC 3810 7.4 is RFC 3376 6.4 with IPv6 addresses):
an MLDv1 report is IS_EX({}) and a done TO_IN({}), and an MLDv1 host puts the
address in MLDv1 compatibility (RFC 3810 8.3.2) exactly as an IGMPv2 host does for
IGMPv3. Inside, MLD versions are kept on IGMP's scale (MLDv1 = 2, MLDv2 = 3) so one
code path serves both; :attr:`GroupState.versions` and the JSON give MLD's numbers.

Addresses are kept as ints inside (an ``IPv4Address`` hashes slowly and this
table sees every report of a capture); ``GroupState.group`` and the JSON give
them back as addresses. Timers are absolute times; state is brought forward lazily (:meth:`GroupState.advance`)
before each event and at :meth:`finish`, so an expiry is dated when it happened,
not when the next packet arrived. The querier lowers a group's timer to LMQT
when it sends a group-specific query with the S flag clear (6.6.1, 6.6.3.1); the
table applies the same rule to the queries it sees, with LMQI taken from the
query's Max Response Time and LMQC from the robustness in force.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from ipaddress import IPv4Address, IPv6Address
from typing import Any

from mdiag.core.addresses import multicast_mac
from mdiag.core.findinglog import FindingLog
from mdiag.core.findings import Finding, Severity
from mdiag.core.igmp.messages import (
    RecordType,
    V1Report,
    V2Leave,
    V2Query,
    V2Report,
    V3Query,
    V3Report,
)
from mdiag.core.mld.messages import Mld1Done, Mld1Query, Mld1Report, Mld2Query, Mld2Report
from mdiag.core.records import EXCLUDE, INCLUDE
from mdiag.core.timers import TimerSet

__all__ = ["EXCLUDE", "INCLUDE", "GroupState", "LeaveRecord", "MembershipTable", "PreparedRecord", "prepare"]

IS_IN = RecordType.MODE_IS_INCLUDE
IS_EX = RecordType.MODE_IS_EXCLUDE
TO_IN = RecordType.CHANGE_TO_INCLUDE_MODE
TO_EX = RecordType.CHANGE_TO_EXCLUDE_MODE
ALLOW = RecordType.ALLOW_NEW_SOURCES
BLOCK = RecordType.BLOCK_OLD_SOURCES

_LINK_LOCAL_FIRST = int(IPv4Address("224.0.0.0"))
_LINK_LOCAL_LAST = int(IPv4Address("224.0.0.255"))
_LIST_LIMIT = 100  # leave records kept per group (the rest are counted in leave_count)
#: A leave must be followed by a group-specific query within this many seconds
#: (added to LMQI; the querier sends the first one at once, RFC 3376 6.6.3).
LEAVE_QUERY_GRACE = 2.0

EventSink = Callable[[float, "int | None", Any, str], None]
#: Told when a group starts or stops being forwarded: (time, group, "joined" or "expired",
#: the joining host as an int or None). Called on those changes only, so the report fast
#: paths stay (a picture's history uses it; see mdiag.analysis.history).
StateSink = Callable[[float, Any, str, "int | None"], None]
Address = IPv4Address | IPv6Address

#: Where each rule comes from, per address family.
_RFC = {4: {"leave": "RFC 2236 3, RFC 3376 6.4.2", "mac": "RFC 1112 6.4, RFC 4541 2.1.1"},
        6: {"leave": "RFC 2710 4, RFC 3810 7.4.2", "mac": "RFC 2464 7, RFC 4541 3"}}


@dataclass(frozen=True, slots=True)
class LeaveRecord:
    """One leave and what followed it."""

    time: float
    frame: int | None
    host: Address
    kind: str                      # "v2-leave", "done" (MLDv1), "to_in", "block"
    queries: int                   # group(-and-source)-specific queries that followed
    first_query_after: float | None
    ended: float | None            # when the membership (or the blocked sources) expired
    cancelled_by: Address | None   # a host that reported again and kept the group

    @property
    def latency(self) -> float | None:
        """Seconds from the leave to the end of membership (None: still joined)."""
        return None if self.ended is None else self.ended - self.time

    def to_json(self) -> dict[str, Any]:
        return {"time": self.time, "frame": self.frame, "host": str(self.host), "kind": self.kind,
                "queries": self.queries,
                "first_query_after": _r(self.first_query_after),
                "ended": self.ended, "latency": _r(self.latency),
                "cancelled_by": str(self.cancelled_by) if self.cancelled_by else None}


def _r(value: float | None) -> float | None:
    return None if value is None else round(value, 6)


@dataclass(slots=True)
class _PendingLeave:
    time: float
    frame: int | None
    host: int
    kind: str
    queries: int = 0
    first_query_after: float | None = None
    flagged: bool = False


@dataclass(slots=True)
class GroupState:
    """Router-side state of one group (RFC 3376 6.2.3 / 6.4, RFC 3810 7.2 / 7.4) plus its history."""

    group: Address
    mode: str = INCLUDE
    group_timer: float = 0.0                      # EXCLUDE mode only (absolute expiry)
    sources: dict[int, float] = field(default_factory=dict)   # A / X: expiry times
    blocked: set[int] = field(default_factory=set)             # Y (EXCLUDE, timer 0)
    v1_host_until: float = 0.0
    v2_host_until: float = 0.0
    present: bool = False
    hosts: dict[int, float] = field(default_factory=dict)      # last report per host
    since: dict[int, float] = field(default_factory=dict)      # start of each host's membership
    #: closed membership spans of hosts: (host, start, end, how it ended); first 100
    member_history: list[tuple[int, float, float, str]] = field(default_factory=list)
    reporters: set[int] = field(default_factory=set)            # every host that reported
    first_join: float | None = None
    first_join_frame: int | None = None
    last_report: float | None = None
    last_report_frame: int | None = None
    reports: int = 0
    joins: int = 0
    expiries: int = 0
    last_expiry: float | None = None
    versions: set[int] = field(default_factory=set)
    leaves: list[LeaveRecord] = field(default_factory=list)
    leave_count: int = 0
    pending: _PendingLeave | None = None
    group_queries: int = 0
    max_leave_latency: float | None = None

    # -- compatibility (RFC 3376 7.3.2) -------------------------------------------
    def compatibility(self, now: float) -> int:
        """Group Compatibility Mode: 1 or 2 while older hosts are present, else 3; for an
        IPv6 address MLD's numbers: 1 while MLDv1 hosts are present (RFC 3810 8.3.2), else 2."""
        if now < self.v1_host_until:
            level = 1
        elif now < self.v2_host_until:
            level = 2
        else:
            level = 3
        return level - 1 if self.group.version == 6 else level

    @property
    def protocol_versions(self) -> list[int]:
        """The versions heard, in the protocol's numbers (IGMPv1-3, MLDv1-2)."""
        if self.group.version == 6:
            return sorted(v - 1 for v in self.versions)
        return sorted(self.versions)

    # -- timers -------------------------------------------------------------------
    def expires(self) -> float | None:
        """When the membership ends if nothing more is heard (None: not present)."""
        if not self.present:
            return None
        if self.mode == EXCLUDE:
            return self.group_timer
        return max(self.sources.values(), default=None)

    def members(self, now: float, gmi: float) -> list[Address]:
        """Hosts whose last report is still within GMI at ``now`` (and did not leave)."""
        if not self.present:
            return []
        ip = type(self.group)
        return [ip(h) for h in sorted(h for h, t in self.hosts.items() if now - t < gmi)]

    def member_spans(self, now: float, gmi: float) -> list[tuple[Address, float, float | None, str | None]]:
        """Each host's membership over time: (host, start, end, how it ended: "left",
        "expired" with the group, "timed-out" (no report for GMI); end None: still a
        member at ``now``), in start order."""
        ip = type(self.group)
        out: list[tuple[Address, float, float | None, str | None]] = [
            (ip(h), start, end, how) for h, start, end, how in self.member_history]
        for h, last in self.hosts.items():
            start = self.since.get(h, last)
            if self.present and now - last < gmi:
                out.append((ip(h), start, None, None))
            else:
                out.append((ip(h), start, last + gmi, "timed-out"))
        out.sort(key=lambda span: (span[1], int(span[0])))
        return out

    def close_member(self, h: int, end: float, how: str) -> None:
        """End host ``h``'s membership span at ``end``."""
        start = self.since.pop(h, None)
        last = self.hosts.get(h)
        if start is None:
            start = last if last is not None else end
        if len(self.member_history) < _LIST_LIMIT:
            self.member_history.append((h, start, end, how))

    def to_json(self, now: float, gmi: float) -> dict[str, Any]:
        exp = self.expires()
        ip = type(self.group)
        return {
            "group": str(self.group),
            "mac": str(multicast_mac(self.group)),
            "state": self.mode if self.present else "absent",
            "present": self.present,
            "sources": [str(ip(s)) for s in sorted(self.sources)],
            "excluded_sources": [str(ip(s)) for s in sorted(self.blocked)],
            "expires": exp if exp is not None else self.last_expiry,
            "compatibility_mode": self.compatibility(now),
            "members": [str(h) for h in self.members(now, gmi)],
            "member_spans": [{"host": str(h), "start": _r(start), "end": _r(end), "ended": how}
                             for h, start, end, how in self.member_spans(now, gmi)],
            "reporting_hosts": [str(ip(h)) for h in sorted(self.reporters)],
            "versions": self.protocol_versions,
            "first_join": self.first_join,
            "first_join_frame": self.first_join_frame,
            "last_report": self.last_report,
            "last_report_frame": self.last_report_frame,
            "reports": self.reports,
            "joins": self.joins,
            "expiries": self.expiries,
            "leaves": self.leave_count,
            "group_queries": self.group_queries,
            "max_leave_latency": _r(self.max_leave_latency),
            "leave_details": [leave.to_json() for leave in self.leaves],
        }


class MembershipTable:
    """Membership state of every group on one segment (see the module docstring)."""

    def __init__(self, timers: TimerSet | Callable[[], TimerSet] | None = None, *,
                 findings: FindingLog | None = None, segment: str = "",
                 on_event: EventSink | None = None, family: int = 4,
                 on_state: StateSink | None = None) -> None:
        if family not in (4, 6):
            raise ValueError(f"address family must be 4 (IGMP) or 6 (MLD), not {family}")
        self.family = family
        self._ip: type[IPv4Address] | type[IPv6Address] = IPv4Address if family == 4 else IPv6Address
        self._rfc = _RFC[family]
        self._timers: Callable[[], TimerSet]
        if isinstance(timers, TimerSet) or timers is None:
            fixed: TimerSet = timers or TimerSet()
            self._timers = lambda: fixed
        else:
            self._timers = timers
        self.findings = findings if findings is not None else FindingLog()
        self.segment = segment
        self.groups: dict[int, GroupState] = {}
        self.on_event = on_event
        self.on_state = on_state
        self._live_by_mac: dict[int, set[int]] = {}
        self._where = f" on {segment}" if segment else ""
        self.reports = 0
        #: Reports and leaves heard, by the version of the message on IGMP's scale (MLDv1 = 2,
        #: MLDv2 = 3; a monitor's counter).
        self.reports_by_version: dict[int, int] = {}
        self._cached_timers: TimerSet | None = None
        self._gmi = 0.0
        self._ohpi = 0.0

    @property
    def timers(self) -> TimerSet:
        return self._timers()

    # -- helpers ------------------------------------------------------------------
    def _event(self, time: float, frame: int | None, group: Address, text: str) -> None:
        if self.on_event is not None:
            self.on_event(time, frame, group, text)

    def _finding(self, code: str, severity: Severity, message: str, rfc: str, time: float,
                 frame: int | None, key: Any, **context: Any) -> None:
        if self.segment:
            context["segment"] = self.segment
        self.findings.add(Finding(code, severity, message + self._where, rfc, None, time, frame,
                                  context), (code, self.segment, key))

    def _state(self, key: int, group: Address) -> GroupState:
        state = self.groups.get(key)
        if state is None:
            state = self.groups[key] = GroupState(group)
        return state

    # -- lazy timer advance -------------------------------------------------------------
    def advance(self, state: GroupState, now: float) -> None:
        """Apply every timer expiry of ``state`` up to ``now`` (RFC 3376 6.5)."""
        if not state.present:
            self._check_pending(state, now)
            return
        if state.mode == EXCLUDE:
            if state.group_timer <= now:
                # 6.5: group timer expired in EXCLUDE -> INCLUDE with running sources, or delete.
                when = state.group_timer
                state.blocked.clear()
                running = {s: t for s, t in state.sources.items() if t > when}
                state.sources = running
                state.mode = INCLUDE
                if running:
                    if self.on_event is not None:
                        self._event(when, None, state.group,
                                    f"group timer expired: back to INCLUDE with {len(running)} source(s)")
                else:
                    self._expire(state, when)
                    self._check_pending(state, now)
                    return
            else:
                # Source timers in EXCLUDE mode that expire move to Y (they are not deleted).
                for src, t in list(state.sources.items()):
                    if t <= now:
                        del state.sources[src]
                        state.blocked.add(src)
        if state.mode == INCLUDE:
            if state.sources:
                expired = [s for s, t in state.sources.items() if t <= now]
                if expired:
                    last = max(state.sources[s] for s in expired)
                    for src in expired:
                        del state.sources[src]
                    if not state.sources:
                        self._expire(state, last)
                    elif state.pending is not None and state.pending.kind == "block" and state.pending.queries:
                        # The blocked sources timed out after the querier's group-and-source
                        # queries: that source leave is complete.
                        self._close_leave(state, state.pending, ended=last, cancelled_by=None)
            elif state.present:
                self._expire(state, now)
        self._check_pending(state, now)

    def _expire(self, state: GroupState, when: float) -> None:
        state.present = False
        state.mode = INCLUDE
        state.sources.clear()
        state.blocked.clear()
        state.expiries += 1
        state.last_expiry = when
        gmi = self._gmi or self.timers.group_membership_interval
        for h, last in state.hosts.items():
            timed_out = last + gmi < when
            state.close_member(h, last + gmi if timed_out else when, "timed-out" if timed_out else "expired")
        state.hosts.clear()
        state.since.clear()
        live = self._live_by_mac.get(_mac_key(int(state.group), self.family))
        if live is not None:
            live.discard(int(state.group))
        self._event(when, None, state.group, "membership expired")
        if self.on_state is not None:
            self.on_state(when, state.group, "expired", None)
        pending = state.pending
        if pending is not None:
            self._close_leave(state, pending, ended=when, cancelled_by=None)

    def _close_leave(self, state: GroupState, pending: _PendingLeave, *, ended: float | None,
                     cancelled_by: int | None) -> None:
        if ended is not None:
            self._check_pending(state, ended)
        state.pending = None
        if ended is not None:
            latency = ended - pending.time
            if state.max_leave_latency is None or latency > state.max_leave_latency:
                state.max_leave_latency = latency
        if len(state.leaves) < _LIST_LIMIT:
            state.leaves.append(LeaveRecord(
                pending.time, pending.frame, self._ip(pending.host), pending.kind, pending.queries,
                pending.first_query_after, ended,
                self._ip(cancelled_by) if cancelled_by is not None else None))

    def _check_pending(self, state: GroupState, now: float) -> None:
        pending = state.pending
        if pending is None or pending.queries or pending.flagged:
            return
        timers = self.timers
        window = timers.last_member_query_interval + LEAVE_QUERY_GRACE
        if now - pending.time > window:
            pending.flagged = True
            self._finding(
                "leave-without-group-query", Severity.WARNING,
                f"{pending.kind} for {state.group} from {self._ip(pending.host)} was not followed by a "
                f"{self._query_name(False)} query within {window:.1f} s: the querier will not notice the "
                "leave until the membership times out "
                + ("(Group Membership Interval)" if self.family == 4 else "(Multicast Address Listening Interval)"),
                self._rfc["leave"], pending.time, pending.frame,
                ("leave", state.group), group=str(state.group), host=str(self._ip(pending.host)))

    def _query_name(self, with_sources: bool) -> str:
        """IGMP's "group-specific" / "group-and-source"; MLD's "address-specific" /
        "address-and-source" (Multicast Address Specific Queries, RFC 3810 5.1.12)."""
        if self.family == 6:
            return "address-and-source" if with_sources else "address-specific"
        return "group-and-source" if with_sources else "group-specific"

    # -- joining ------------------------------------------------------------------------
    def _join(self, state: GroupState, time: float, frame: int | None, host: int) -> None:
        state.present = True
        state.joins += 1
        if state.first_join is None:
            state.first_join = time
            state.first_join_frame = frame
        if self.on_event is not None:
            self._event(time, frame, state.group, f"joined by {self._ip(host)}")
        if self.on_state is not None:
            self.on_state(time, state.group, "joined", host)
        key = int(state.group)
        live = self._live_by_mac.setdefault(_mac_key(key, self.family), set())
        for other in [g for g in live if g != key]:
            self.advance(self.groups[other], time)   # expiries are applied lazily
        others = [self._ip(g) for g in sorted(live) if g != key]
        live.add(key)
        if others:
            mac = multicast_mac(state.group)
            self._finding(
                "mac-shared-groups", Severity.WARNING,
                f"{state.group} and {', '.join(map(str, others))} are joined at the same time and "
                f"share the MAC {mac}: switches that forward by MAC deliver both to every member",
                self._rfc["mac"], time, frame,
                ("mac", mac.value, tuple(sorted([state.group, *others]))),
                mac=str(mac), groups=[str(g) for g in sorted([state.group, *others])])

    def _link_local(self, group: Address, value: int, time: float, frame: int | None,
                    host: Address) -> None:
        if _LINK_LOCAL_FIRST <= value <= _LINK_LOCAL_LAST:
            self._finding(
                "report-link-local", Severity.INFO,
                f"{host} reports {group}, a link-local group (224.0.0.0/24) that is always flooded "
                "and needs no membership (Linux: net.ipv4.igmp_link_local_mcast_reports=0 stops it)",
                "RFC 4541 2.1.2, RFC 5771 4", time, frame, ("ll", group),
                group=str(group), host=str(host))
            return

    # -- input --------------------------------------------------------------------------
    def report(self, time: float, frame: int | None, host: Address, message: object) -> None:
        """Feed a report or leave (V1Report, V2Report, V2Leave, V3Report; for family 6
        Mld1Report, Mld1Done, Mld2Report)."""
        self.report_records(time, frame, host, int(host), prepare(message))

    def report_records(self, time: float, frame: int | None, host: Address, h: int,
                       records: tuple[PreparedRecord, ...]) -> None:
        """Feed the records of one report as :func:`prepare` gives them (``h`` is
        ``int(host)``). Callers that see the same packet many times (a capture)
        prepare it once and feed the result each time."""
        if records:   # one count per message: its records share the version
            version = records[0][4]
            self.reports_by_version[version] = self.reports_by_version.get(version, 0) + 1
        timers = self._timers()
        if timers is not self._cached_timers:
            self._cached_timers = timers
            self._gmi = timers.group_membership_interval
            self._ohpi = timers.older_host_present_interval
        groups = self.groups
        quiet = self.on_event is None
        for g, group, rtype, sources, version, leave, refresh in records:
            state = groups.get(g)
            # Fast paths, special cases of _record for the two most frequent records when
            # no timeline is told, no leave is pending and nothing has run out yet.
            if state is not None and quiet and state.present and state.pending is None:
                if refresh:
                    # The periodic refresh: EXCLUDE({}, {}) + IS_EX({}) or TO_EX({}) ->
                    # EXCLUDE({}, {}), GT = GMI (RFC 3376 6.4.1/6.4.2). ``refresh`` says: no
                    # sources, IS_EX or TO_EX, not link-local (see prepare()).
                    if (state.mode == EXCLUDE and state.group_timer > time
                            and not state.sources and not state.blocked):
                        self.reports += 1
                        state.versions.add(version)
                        if version == 1:
                            state.v1_host_until = time + self._ohpi
                        elif version == 2:
                            state.v2_host_until = time + self._ohpi
                        state.reports += 1
                        state.last_report = time
                        state.last_report_frame = frame
                        last = state.hosts.get(h)
                        if last is None or time - last >= self._gmi:
                            _new_member(state, h, last, time, self._gmi)
                        state.hosts[h] = time
                        state.reporters.add(h)
                        state.group_timer = time + self._gmi
                        continue
                elif (sources and version == 3 and (rtype is ALLOW or rtype is IS_IN)
                      and state.mode == INCLUDE and g > _LINK_LOCAL_LAST
                      and time >= state.v2_host_until and time >= state.v1_host_until
                      and min(state.sources.values()) > time):
                    # Source refresh in INCLUDE(A): IS_IN(B) / ALLOW(B) -> INCLUDE(A+B),
                    # (B) = GMI (RFC 3376 6.4.1/6.4.2), no v1/v2 host present.
                    self.reports += 1
                    state.versions.add(3)
                    state.reports += 1
                    state.last_report = time
                    state.last_report_frame = frame
                    last = state.hosts.get(h)
                    if last is None or time - last >= self._gmi:
                        _new_member(state, h, last, time, self._gmi)
                    state.hosts[h] = time
                    state.reporters.add(h)
                    expiry = time + self._gmi
                    known = state.sources
                    for src in sources:
                        known[src] = expiry
                    continue
            self._record(time, frame, host, h, g, group, state, rtype, sources, version, leave)

    def _record(self, time: float, frame: int | None, host: Address, h: int, g: int,
                group: Address, state: GroupState | None, rtype: RecordType,
                sources: frozenset[int], version: int, leave: bool) -> None:
        """The general path: one group record (RFC 3376 6.4), ``state`` being the
        group's state if it has one."""
        self.reports += 1
        gmi = self._gmi
        if state is None:
            state = self.groups[g] = GroupState(group)
        if state.pending is not None or state.sources or (state.present and state.group_timer <= time):
            self.advance(state, time)   # something may have expired (the common refresh skips this)
        state.versions.add(version)
        if version == 1:
            state.v1_host_until = time + self._ohpi
        elif version == 2 and not leave:
            state.v2_host_until = time + self._ohpi
        # Group Compatibility Mode (RFC 3376 7.3.2), inlined: this runs for every record.
        compat = 1 if time < state.v1_host_until else 2 if time < state.v2_host_until else 3
        events = self.on_event is not None
        # RFC 3376 7.3.2: what older hosts' presence changes.
        if compat < 3 and version == 3:
            if rtype == BLOCK:
                if events:
                    self._event(time, frame, group, f"BLOCK from {host} ignored ({self._version(compat)} "
                                "compatibility)")
                return
            if rtype == TO_EX:
                sources = _EMPTY
            if compat == 1 and rtype == TO_IN:
                if events:
                    self._event(time, frame, group, f"TO_IN from {host} ignored (v1 compatibility)")
                return
        if leave and compat == 1:
            if events:
                self._event(time, frame, group, f"leave from {host} ignored (v1 compatibility)")
            return

        if g <= _LINK_LOCAL_LAST:
            self._link_local(group, g, time, frame, host)
        is_leave = (rtype == TO_IN and not sources) or rtype == BLOCK
        if not is_leave:
            state.reports += 1
            state.last_report = time
            state.last_report_frame = frame
            last = state.hosts.get(h)
            if last is None or time - last >= gmi:
                _new_member(state, h, last, time, gmi)
            state.hosts[h] = time
            state.reporters.add(h)
            pending = state.pending
            if pending is not None and (rtype in (IS_EX, TO_EX) or (rtype in (IS_IN, ALLOW) and sources)):
                # Another member answered the last-member queries: the group stays.
                self._close_leave(state, pending, ended=None, cancelled_by=h)
        was_present = state.present
        if state.mode == INCLUDE or not state.present:
            self._include(state, time, rtype, sources, gmi)
        else:
            self._exclude(state, time, rtype, sources, gmi)
        if state.present and not was_present:
            self._join(state, time, frame, h)
        elif not is_leave and events:
            self._event(time, frame, group,
                        f"{_NAMES[rtype]}{_fmt_sources(sources, self._ip)} from {host}" if version == 3
                        else f"{self._version(version)} report from {host}")

        if is_leave:
            if rtype == BLOCK and not (state.mode == INCLUDE and not sources.isdisjoint(state.sources)):
                # BLOCK of sources not forwarded: nothing to leave.
                if events:
                    self._event(time, frame, group, f"BLOCK{_fmt_sources(sources, self._ip)} from {host}")
                return
            state.leave_count += 1
            if h in state.hosts:
                state.close_member(h, time, "left")
            state.hosts.pop(h, None)
            label = (("v2-leave" if self.family == 4 else "done") if leave
                     else ("block" if rtype == BLOCK else "to_in"))
            if events:
                what = ("leave" if self.family == 4 else "done") if leave else \
                    _NAMES[rtype] + _fmt_sources(sources, self._ip)
                self._event(time, frame, group, f"{what} from {host}")
            if state.present and state.pending is None:
                state.pending = _PendingLeave(time, frame, h, label)

    # RFC 3376 6.4.1 / 6.4.2, router in INCLUDE(A)
    def _include(self, state: GroupState, now: float, rtype: RecordType, b: frozenset[int],
                 gmi: float) -> None:
        a = state.sources
        if rtype in (IS_IN, ALLOW, TO_IN):
            for src in b:
                a[src] = now + gmi            # (B) = GMI
            # TO_IN also sends Q(G, A-B) and BLOCK sends Q(G, A*B): the querier's queries
            # are observed in the capture (query()), not simulated.
            if a:
                state.present = True
        elif rtype == BLOCK:
            return
        elif rtype in (IS_EX, TO_EX):
            # INCLUDE(A) + IS_EX(B)/TO_EX(B) -> EXCLUDE(A*B, B-A); (B-A)=0; del(A-B); GT=GMI
            keep = {s: t for s, t in a.items() if s in b}
            state.sources = keep
            state.blocked = set(b - set(a))
            state.mode = EXCLUDE
            state.group_timer = now + gmi
            state.present = True

    # RFC 3376 6.4.1 / 6.4.2, router in EXCLUDE(X, Y)
    def _exclude(self, state: GroupState, now: float, rtype: RecordType, a: frozenset[int],
                 gmi: float) -> None:
        x = state.sources
        y = state.blocked
        if rtype in (IS_IN, ALLOW, TO_IN):
            # -> EXCLUDE(X+A, Y-A), (A)=GMI   (TO_IN also sends Q(G,X-A), Q(G))
            for src in a:
                x[src] = now + gmi
            y -= a
        elif rtype == BLOCK:
            # -> EXCLUDE(X+(A-Y), Y), (A-X-Y)=Group Timer
            for src in a:
                if src not in y and src not in x:
                    x[src] = state.group_timer
        elif rtype in (IS_EX, TO_EX):
            # IS_EX(A) -> EXCLUDE(A-Y, Y*A), (A-X-Y)=GMI, del(X-A), del(Y-A), GT=GMI
            # TO_EX(A) -> same but (A-X-Y)=Group Timer
            fill = now + gmi if rtype == IS_EX else state.group_timer
            new_x = {}
            for src in a:
                if src in y:
                    continue
                new_x[src] = x[src] if src in x else fill
            state.sources = new_x
            state.blocked = y & a
            state.group_timer = now + gmi

    def _version(self, level: int) -> str:
        """``IGMPv2``, or for MLD ``MLDv1`` (levels are IGMP's numbers, see the module docstring)."""
        return f"IGMPv{level}" if self.family == 4 else f"MLDv{level - 1}"

    def query(self, time: float, frame: int | None, message: object) -> None:
        """Feed a group-specific or group-and-source-specific query (others are ignored).

        A query with the S flag clear lowers the group timer (or the listed sources'
        timers) to LMQT (RFC 3376 6.6.1, RFC 3810 7.6.1), LMQI being the query's Max
        Response Time.
        """
        kind = type(message)
        msg: Any = message
        if kind is V3Query or kind is Mld2Query:
            suppress = msg.s_flag
            sources = msg.sources
        elif kind is V2Query or kind is Mld1Query:
            suppress = False
            sources = ()
        else:
            return
        group = msg.group
        g = int(group)
        if g == 0:
            return
        state = self.groups.get(g)
        if state is None:
            state = self.groups[g] = GroupState(group)
        self.advance(state, time)
        state.group_queries += 1
        pending = state.pending
        if pending is not None:
            if pending.first_query_after is None:
                pending.first_query_after = time - pending.time
            pending.queries += 1
        lmqt = msg.max_resp_time * self.timers.lmqc
        if self.on_event is not None:
            self._event(time, frame, group,
                        f"{self._query_name(bool(sources))} query"
                        f"{_fmt_sources(sources, self._ip) if sources else ''} (MRT {msg.max_resp_time:g} s{', S' if suppress else ''})")
        if suppress or not state.present:
            return
        limit = time + lmqt
        if sources:
            for src in sources:
                src = int(src)
                t = state.sources.get(src)
                if t is not None and t > limit:
                    state.sources[src] = limit
        elif state.mode == EXCLUDE:
            if state.group_timer > limit:
                state.group_timer = limit
        else:
            # INCLUDE mode, group-specific query (v2 router on a v2 leave, 6.6.3.1)
            for src, t in state.sources.items():
                if t > limit:
                    state.sources[src] = limit

    def finish(self, end_time: float) -> None:
        """Bring every group to ``end_time``; open leaves stay open (still joined)."""
        for state in self.groups.values():
            self.advance(state, end_time)

    def forget(self, group: int) -> bool:
        """Drop everything known about ``group`` (``int`` address), as a long-running
        monitor does to bound its memory; True when the group was known."""
        state = self.groups.pop(group, None)
        if state is None:
            return False
        live = self._live_by_mac.get(_mac_key(group, self.family))
        if live is not None:
            live.discard(group)
            if not live:
                del self._live_by_mac[_mac_key(group, self.family)]
        return True

    def trim(self, now: float, *, reporters: int, leaves: int) -> int:
        """Bound every group's history for a run of days: hosts whose last report is
        older than GMI are members no more (RFC 3376 6.4) and their entry goes; at most
        ``reporters`` reporting hosts and the last ``leaves`` leave records (and closed
        membership spans) are kept per group. Returns how many reporting hosts were dropped
        for the cap."""
        gmi = self.timers.group_membership_interval
        dropped = 0
        for state in self.groups.values():
            hosts = state.hosts
            if hosts:
                for host in [h for h, t in hosts.items() if now - t >= gmi]:
                    del hosts[host]
            if len(state.reporters) > reporters:
                keep = set(hosts)
                for host in sorted(state.reporters - keep)[: len(state.reporters) - reporters]:
                    state.reporters.discard(host)
                    dropped += 1
            if len(state.leaves) > leaves:
                del state.leaves[: len(state.leaves) - leaves]
            if len(state.member_history) > leaves:
                del state.member_history[: len(state.member_history) - leaves]
        return dropped

    def get(self, group: Address | int) -> GroupState | None:
        """The state of ``group`` (an address or its int), or None."""
        return self.groups.get(int(group))

    def max_leave_latency(self) -> float | None:
        values = [s.max_leave_latency for s in self.groups.values() if s.max_leave_latency is not None]
        return max(values, default=None)


_NAMES = {IS_IN: "IS_IN", IS_EX: "IS_EX", TO_IN: "TO_IN", TO_EX: "TO_EX", ALLOW: "ALLOW", BLOCK: "BLOCK"}


_EMPTY: frozenset[int] = frozenset()

#: One group record ready for :meth:`MembershipTable.report_records`: (int group,
#: group, record type, int sources, version, is a v2 leave, is a refresh candidate).
PreparedRecord = tuple[int, Any, RecordType, frozenset[int], int, bool, bool]


def prepare(message: object) -> tuple[PreparedRecord, ...]:
    """The group records of a report or leave as the table applies them: v1/v2
    reports are IS_EX({}), a v2 leave is TO_IN({}) (RFC 3376 7.3.2); for MLD an MLDv1
    report is IS_EX({}) and a done TO_IN({}) (RFC 3810 8.3.2), versions on IGMP's scale
    (MLDv1 = 2, MLDv2 = 3). Records of an unknown type and groups outside 224.0.0.0/4
    (ff00::/8) are dropped (the decoder reports them). Pure and immutable, so one
    packet heard many times is prepared once."""
    kind = type(message)
    msg: Any = message
    if kind is Mld2Report or kind is Mld1Report or kind is Mld1Done:
        return _prepare_mld(msg)
    if kind is V3Report:
        items = [(record.group, record.record_type,
                  frozenset([int(x) for x in record.sources]) if record.sources else _EMPTY, 3, False)
                 for record in msg.records if type(record.record_type) is RecordType]
    elif kind is V2Report or kind is V1Report:
        items = [(msg.group, IS_EX, _EMPTY, 2 if kind is V2Report else 1, False)]
    elif kind is V2Leave:
        items = [(msg.group, TO_IN, _EMPTY, 2, True)]
    else:
        return ()
    out = []
    for group, rtype, sources, version, leave in items:
        g = int(group)
        if g >> 28 != 0xE:
            continue
        refresh = not sources and (rtype is IS_EX or rtype is TO_EX) and g > _LINK_LOCAL_LAST
        out.append((g, group, rtype, sources, version, leave, refresh))
    return tuple(out)


def _new_member(state: GroupState, h: int, last: float | None, time: float, gmi: float) -> None:
    """Host ``h`` starts a membership span at ``time`` (its earlier one, if any, timed
    out GMI after its last report)."""
    if last is not None:
        state.close_member(h, last + gmi, "timed-out")
    state.since[h] = time


def _prepare_mld(msg: Any) -> tuple[PreparedRecord, ...]:
    kind = type(msg)
    if kind is Mld2Report:
        items = [(record.group, record.record_type,
                  frozenset([int(x) for x in record.sources]) if record.sources else _EMPTY, 3, False)
                 for record in msg.records if type(record.record_type) is RecordType]
    elif kind is Mld1Report:
        items = [(msg.group, IS_EX, _EMPTY, 2, False)]
    else:
        items = [(msg.group, TO_IN, _EMPTY, 2, True)]
    out = []
    for group, rtype, sources, version, leave in items:
        g = int(group)
        if g >> 120 != 0xFF:
            continue
        refresh = not sources and (rtype is IS_EX or rtype is TO_EX)
        out.append((g, group, rtype, sources, version, leave, refresh))
    return tuple(out)


def _mac_key(group: int, family: int = 4) -> int:
    """The group's Ethernet MAC as an int (RFC 1112 6.4: 01:00:5e + low 23 bits;
    RFC 2464 7: 33:33 + low 32 bits)."""
    if family == 6:
        return 0x333300000000 | (group & 0xFFFFFFFF)
    return 0x01005E000000 | (group & 0x7FFFFF)


def _fmt_sources(sources: Any, ip: Any = IPv4Address) -> str:
    if not sources:
        return "({})"
    items = sorted(int(s) for s in sources)
    text = ", ".join(str(ip(s)) for s in items[:4])
    if len(items) > 4:
        text += f", +{len(items) - 4}"
    return "({" + text + "})"
