"""Querier election tracker for one segment and address family (RFC 3376 6.6.2,
RFC 2236 3 and 7; for MLD RFC 3810 7.6.2, RFC 2710 6).

Pure: time is passed in. Feed it every IGMP query seen on one segment (one
broadcast domain: an interface, or a VLAN on it), in time order, from a capture
or from a live sniffer::

    tracker = QuerierTracker()                      # optionally TimerSet(...) / Profile
    tracker.observe(time, frame, src, dst, message, mac="02:00:00:00:00:01")
    ...
    tracker.finish(end_time)                        # closes gaps at the end
    tracker.elected            # IPv4Address | None: the querier now
    tracker.routers            # {IPv4Address: RouterInfo}, 0.0.0.0 = proxy queries
    tracker.elections          # [Election]: every change of elected querier
    tracker.gaps               # [Gap]: no general query for longer than OQPI
    tracker.timers             # TimerSet in force (adopted from the querier's QRV/QQI/MRT)
    list(tracker.findings)     # Finding values (codes in docs/findings.md)

``time`` is float seconds on any monotonic clock (capture-relative in mdiag
analyze); ``frame`` a frame number or ``None``; ``src``/``dst`` are
``ipaddress.IPv4Address``; ``message`` a V1Query, V2Query or V3Query from
:mod:`mdiag.core.igmp.messages` (other messages are ignored); ``mac`` the
sender's MAC as text or ``None``.

Rules applied:

* MLD (``QuerierTracker(family=6)``, fed Mld1Query and Mld2Query): the same rules
  with RFC 3810's numbers (MLDv1 is version 1, MLDv2 version 2); a query from ``::``
  or from a source that is not link-local takes no part in the election (RFC 3810
  5.1.14: routers ignore it), as proxy queries from 0.0.0.0 do for IGMP.
* Election: the router with the lowest IP address among those that sent a
  general query within the Other Querier Present Interval is the querier
  (RFC 3376 6.6.2). Queries from 0.0.0.0 (snooping-switch proxies, RFC 4541
  2.1.1) never take part.
* A router with a higher address that sends a general query after a lower
  address has queried, before OQPI has run out, did not yield:
  ``querier-two-active``. IGMPv1 has no election (RFC 1112 App. I): two IGMPv1-only
  routers that both query give the info ``querier-v1-several`` instead, and the lower
  address is shown as querier without being called elected.
* No general query for longer than OQPI: ``querier-gap`` (a general query ends
  it; the capture end closes an open one).
* Intervals between one router's general queries are compared with its
  advertised QQI (v3) or the default 125 s (v1/v2), leaving out its startup
  phase (the leading run of gaps below QI, RFC 3376 8.6/8.7, RFC 2236 8.6/8.7;
  :func:`split_startup`, shared with ``mdiag querier``): ``querier-interval-drift``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from ipaddress import IPv4Address, IPv6Address
from typing import Any

from mdiag.core.findinglog import FindingLog
from mdiag.core.findings import Finding, Severity
from mdiag.core.igmp.messages import V1Query, V2Query, V3Query
from mdiag.core.mld.messages import Mld1Query, Mld2Query
from mdiag.core.timers import Profile, TimerSet

__all__ = ["Election", "Gap", "QueryPhases", "QuerierTracker", "RouterInfo", "is_startup_gap",
           "missed_query_margin", "split_startup"]

_ZERO = IPv4Address(0)
_ALL_SYSTEMS = IPv4Address("224.0.0.1")
_ALL_NODES = IPv6Address("ff02::1")
#: query class -> (version, carries sources, S, QRV and QQIC)
_QUERY_KINDS: dict[type, tuple[int, bool]] = {V1Query: (1, False), V2Query: (2, False), V3Query: (3, True),
                                              Mld1Query: (1, False), Mld2Query: (2, True)}
#: Where each rule comes from, per address family.
_RFC: dict[int, dict[str, str]] = {
    4: {"election": "RFC 3376 6.6.2", "gap": "RFC 3376 8.5", "mrt": "RFC 3376 8.3", "mrt_old": "RFC 2236 8.3",
        "qqic": "RFC 3376 4.1.7", "qi_old": "RFC 2236 8.2", "versions": "RFC 3376 7.3.1",
        "group_zero": "RFC 3376 4.1.12", "qi": "RFC 3376 8.2"},
    6: {"election": "RFC 3810 7.6.2", "gap": "RFC 3810 9.5", "mrt": "RFC 3810 9.3", "mrt_old": "RFC 2710 7.3",
        "qqic": "RFC 3810 5.1.9", "qi_old": "RFC 2710 7.2", "versions": "RFC 3810 8.3.1",
        "group_zero": "RFC 3810 5.1.15", "qi": "RFC 3810 9.2"},
}
_LIST_LIMIT = 1000
_TIMES_LIMIT = 100_000
#: A measured steady interval may differ this much from the advertised one.
DRIFT_TOLERANCE = 0.10
DRIFT_MIN_SECONDS = 2.0
#: More general queries than this in a row, all closer than the Query Interval, are not
#: a startup phase (Startup Query Count defaults to the Robustness Variable, RFC 3376
#: 8.7; routers allow at most 7-10) but a querier that queries too often.
STARTUP_QUERY_LIMIT = 10


def missed_query_margin(query_interval: float) -> float:
    """How late a scheduled general query may be before it counts as missed: 10 % of the
    Query Interval and at least 2 s (the tolerance of the interval check)."""
    return max(DRIFT_TOLERANCE * query_interval, DRIFT_MIN_SECONDS)


def is_startup_gap(gap: float, query_interval: float, first: float | None = None) -> bool:
    """A gap between general queries that belongs to a startup phase: clearly below the
    Query Interval (RFC 3376 8.6: the Startup Query Interval is QI/4 by default but
    configurable, so any spacing below QI by more than 10 % and 0.25 s qualifies) and,
    after the first startup gap ``first``, about equal to it (startup queries are one
    Startup Query Interval apart: within 25 % or 1 s)."""
    if gap >= query_interval - max(0.25, DRIFT_TOLERANCE * query_interval):
        return False
    return first is None or abs(gap - first) <= max(1.0, 0.25 * first)


@dataclass(frozen=True, slots=True)
class QueryPhases:
    """One router's general-query gaps split into its startup phase and steady state."""

    startup: tuple[float, ...]
    steady: tuple[float, ...]

    @property
    def startup_queries(self) -> int:
        """General queries in the startup phase (0: none seen)."""
        return len(self.startup) + 1 if self.startup else 0

    @property
    def startup_interval(self) -> float | None:
        return sum(self.startup) / len(self.startup) if self.startup else None

    @property
    def only_startup(self) -> bool:
        """Every gap heard belongs to the startup phase: the interval is not measured yet."""
        return bool(self.startup) and not self.steady

    def describe(self, query_interval: float, robustness: int = 2) -> str:
        """One line judging the startup phase by its own rule (RFC 3376 8.6/8.7, RFC 2236
        8.6/8.7): Startup Query Count queries, Startup Query Interval apart."""
        if not self.startup:
            return "no startup phase heard (the querier was already in steady state)"
        sqi = query_interval / 4
        mean = self.startup_interval or 0.0
        text = (f"startup phase: {self.startup_queries} general queries {mean:.1f} s apart "
                f"(RFC default: {robustness} queries {sqi:g} s apart, Query Interval / 4; "
                "both are configurable)")
        if self.only_startup:
            text += "; no steady-state query heard yet"
        return text


def split_startup(gaps: Sequence[float], query_interval: float,
                  limit: int = STARTUP_QUERY_LIMIT) -> QueryPhases:
    """Split the gaps between one router's general queries, in order, into its startup
    phase (the leading run of equal gaps below the Query Interval, RFC 3376 8.6/8.7,
    see :func:`is_startup_gap`) and its
    steady state. A run of ``limit`` or more short gaps is no startup phase: all of it
    is steady state (a querier that queries too often)."""
    run = 0
    while run < len(gaps) and is_startup_gap(gaps[run], query_interval, gaps[0] if run else None):
        run += 1
    if run >= limit:
        return QueryPhases((), tuple(gaps))
    return QueryPhases(tuple(gaps[:run]), tuple(gaps[run:]))


@dataclass(slots=True)
class RouterInfo:
    """Everything seen from one query sender on a segment."""

    address: IPv4Address | IPv6Address
    first_time: float
    first_frame: int | None
    last_time: float = 0.0
    last_frame: int | None = None
    macs: set[str] = field(default_factory=set)
    versions: set[int] = field(default_factory=set)
    general_queries: int = 0
    group_queries: int = 0
    group_source_queries: int = 0
    startup_queries: int = 0
    #: gaps of the startup phase (RFC 3376 8.6/8.7), while it may still be one
    startup_gaps: list[float] = field(default_factory=list)
    in_startup: bool = True
    last_general: float | None = None
    #: steady intervals between this router's general queries
    interval_count: int = 0
    interval_sum: float = 0.0
    interval_min: float | None = None
    interval_max: float | None = None
    qqi: int | None = None          # last advertised (v3; 0 = unspecified)
    qrv: int | None = None          # last advertised (v3)
    max_resp_time: float | None = None  # of the last general query
    #: range of Max Response Times over its general queries
    mrt_min: float | None = None
    mrt_max: float | None = None
    s_flag_queries: int = 0

    @property
    def proxy(self) -> bool:
        """Takes no part in the election: queries from 0.0.0.0 or :: come from snooping
        switches (RFC 4541 2.1.1), and MLD routers ignore queries from a source that is
        not link-local (RFC 3810 5.1.14)."""
        address = self.address
        return int(address) == 0 or (address.version == 6 and not address.is_link_local)

    @property
    def mean_interval(self) -> float | None:
        return self.interval_sum / self.interval_count if self.interval_count else None

    @property
    def expected_interval(self) -> float:
        """The interval the router announces (QQI) or the RFC default 125 s."""
        return float(self.qqi) if self.qqi else 125.0

    def to_json(self) -> dict[str, Any]:
        return {
            "address": str(self.address),
            "proxy": self.proxy,
            "macs": sorted(self.macs),
            "versions": sorted(self.versions),
            "first_seen": self.first_time,
            "first_frame": self.first_frame,
            "last_seen": self.last_time,
            "last_frame": self.last_frame,
            "general_queries": self.general_queries,
            "group_queries": self.group_queries,
            "group_source_queries": self.group_source_queries,
            "startup_queries": self.startup_queries,
            "startup_interval": _round(sum(self.startup_gaps) / len(self.startup_gaps))
            if self.startup_gaps else None,
            "interval": {
                "measured_mean": _round(self.mean_interval),
                "min": _round(self.interval_min),
                "max": _round(self.interval_max),
                "samples": self.interval_count,
                "advertised_qqi": self.qqi,
            },
            "qrv": self.qrv,
            "max_resp_time": self.max_resp_time,
            "max_resp_time_range": [self.mrt_min, self.mrt_max] if self.mrt_min is not None else None,
        }


@dataclass(frozen=True, slots=True)
class Election:
    """The elected querier changed at ``time`` (``querier`` None: none left)."""

    time: float
    frame: int | None
    querier: IPv4Address | IPv6Address | None
    previous: IPv4Address | IPv6Address | None
    reason: str
    #: the last general query heard from ``previous`` (when it went silent, for a
    #: querier that stopped)
    previous_last_query: float | None = None

    def to_json(self) -> dict[str, Any]:
        return {"time": self.time, "frame": self.frame,
                "querier": str(self.querier) if self.querier is not None else None,
                "previous": str(self.previous) if self.previous is not None else None,
                "reason": self.reason, "previous_last_query": self.previous_last_query}


@dataclass(frozen=True, slots=True)
class Gap:
    """No general query from ``start`` to ``end`` (longer than OQPI)."""

    start: float
    end: float
    frame: int | None
    open_at_end: bool = False
    #: the Other Querier Present Interval in force when the gap was judged
    limit: float = 255.0

    @property
    def duration(self) -> float:
        return self.end - self.start

    def to_json(self) -> dict[str, Any]:
        return {"start": self.start, "end": self.end, "duration": _round(self.duration),
                "frame": self.frame, "open_at_end": self.open_at_end, "limit": self.limit}


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 6)


def _fmt(seconds: float) -> str:
    return f"{seconds:.1f} s" if seconds < 1000 else f"{seconds:.0f} s"


class QuerierTracker:
    """Reconstructs queriers and elections on one segment (see module docstring)."""

    def __init__(self, timers: TimerSet | None = None, *, profile: Profile | None = None,
                 findings: FindingLog | None = None, segment: str = "", family: int = 4) -> None:
        if family not in (4, 6):
            raise ValueError(f"address family must be 4 (IGMP) or 6 (MLD), not {family}")
        self.family = family
        self._rfc = _RFC[family]
        self._protocol = "IGMP" if family == 4 else "MLD"
        self._zero: IPv4Address | IPv6Address = _ZERO if family == 4 else IPv6Address(0)
        self._all = _ALL_SYSTEMS if family == 4 else _ALL_NODES
        self.timers = timers or TimerSet(profile=profile or Profile.RFC3376)
        self.configured = self.timers
        self.findings = findings if findings is not None else FindingLog()
        self.segment = segment
        self.routers: dict[Any, RouterInfo] = {}
        self.elected: Any = None
        self.elections: list[Election] = []
        self.gaps: list[Gap] = []
        self.first_time: float | None = None
        self.last_general_time: float | None = None
        self.last_time: float | None = None
        self.queries = 0
        self.dropped_events = 0
        #: times of the general queries of non-proxy routers (the first _TIMES_LIMIT)
        self.general_times: list[float] = []
        #: the elected querier's overdue query being told: (querier, its last query)
        self._missed: tuple[IPv4Address | IPv6Address, float] | None = None
        self._querier_version: int | None = None
        #: scheduled general queries the querier missed, and the last: (querier, its last
        #: query, when the next was due)
        self.missed_queries = 0
        self.last_missed: tuple[IPv4Address | IPv6Address, float, float] | None = None
        self._where = f" on {segment}" if segment else ""

    # -- helpers ----------------------------------------------------------------
    def _finding(self, code: str, severity: Severity, message: str, rfc: str, time: float,
                 frame: int | None, key: Any, *, latest: bool = False, revise: bool = False,
                 **context: Any) -> None:
        """Record a finding once per key; with ``latest`` a repeat replaces its message and
        context (the latest values) and keeps its first time and frame; ``revise`` tells the
        same occurrence again with more facts (not a repeat)."""
        if self.segment:
            context["segment"] = self.segment
        finding = Finding(code, severity, message + self._where, rfc, None, time, frame, context)
        if latest:
            self.findings.update(finding, (code, self.segment, key), repeat=not revise)
        else:
            self.findings.add(finding, (code, self.segment, key))

    def _elect(self, time: float, frame: int | None, new: Any, reason: str) -> None:
        if new == self.elected:
            return
        before = self.routers.get(self.elected) if self.elected is not None else None
        if len(self.elections) < _LIST_LIMIT:
            self.elections.append(Election(time, frame, new, self.elected, reason,
                                           before.last_general if before is not None else None))
        else:
            self.dropped_events += 1
        self.elected = new
        self._refresh_version()

    def _refresh_version(self) -> None:
        info = self.routers.get(self.elected) if self.elected is not None else None
        self._querier_version = min(info.versions) if info and info.versions else None

    @property
    def querier_version(self) -> int | None:
        """IGMP (or MLD) version of the elected querier's queries (the lowest it used)."""
        return self._querier_version

    @property
    def versions(self) -> set[int]:
        """Every version a non-proxy router queried with."""
        out: set[int] = set()
        for info in self.routers.values():
            if not info.proxy:
                out |= info.versions
        return out

    # -- input --------------------------------------------------------------------
    def observe(self, time: float, frame: int | None, src: Any, dst: Any,
                message: object, mac: str | None = None) -> None:
        """Feed one query (anything else is ignored): IGMP queries with IPv4 addresses to
        a family 4 tracker, MLD queries with IPv6 addresses to a family 6 one. Times
        must not go backwards."""
        known = _QUERY_KINDS.get(type(message))
        if known is None or getattr(message, "family", 4) != self.family:
            return
        version, full = known
        query: Any = message
        if self.elected is not None:
            self.advance(time)      # silence before this query (missed query, lost role)
        self.queries += 1
        if self.first_time is None:
            self.first_time = time
        self.last_time = time
        info = self.routers.get(src)
        if info is None:
            info = self.routers[src] = RouterInfo(src, time, frame)
        info.last_time = time
        info.last_frame = frame
        if mac:
            info.macs.add(mac)
        if version not in info.versions:
            info.versions.add(version)
            self._check_versions(time, frame)
            if src == self.elected:
                self._refresh_version()
        group = query.group
        sources = query.sources if full else ()
        zero = self._zero
        general = group == zero and not sources
        if full and query.s_flag:
            info.s_flag_queries += 1

        if group == zero and dst is not None and dst != self._all and dst.is_multicast:
            # RFC 3376 4.1.12 / RFC 2236 2.1 (RFC 3810 5.1.15): a group-specific query is
            # sent to the group itself; one sent to a group but naming group 0 is broken
            # (hosts take it for a general query or drop it). Group 0 with sources is the
            # decoder's general-query-with-sources.
            self._finding(
                "query-group-zero", Severity.ERROR,
                f"query from {src} to {dst} carries group {zero}: a group-specific query "
                "must name its group", self._rfc["group_zero"],
                time, frame, ("gz", src), source=str(src), destination=str(dst))
            return
        if not general:
            if sources:
                info.group_source_queries += 1
            else:
                info.group_queries += 1
            return

        # -- general query --------------------------------------------------------
        info.general_queries += 1
        if not info.proxy and len(self.general_times) < _TIMES_LIMIT:
            self.general_times.append(time)
        if self._missed is not None and self._missed[0] == src:
            self._late(info, time, frame)
        oqpi = self.timers.other_querier_present_interval
        if self.last_general_time is not None and time - self.last_general_time > oqpi:
            self._gap(self.last_general_time, time, frame, open_at_end=False)
        self.last_general_time = time

        if full:
            info.qqi = query.qqi
            info.qrv = query.qrv
        mrt = query.max_resp_time
        info.max_resp_time = mrt
        if info.mrt_min is None or mrt < info.mrt_min:
            info.mrt_min = mrt
        if info.mrt_max is None or mrt > info.mrt_max:
            info.mrt_max = mrt
        if mrt >= info.expected_interval and not info.proxy:
            self._mrt_too_long(info, mrt, time, frame)
        self._interval(info, time, frame, version)
        info.last_general = time

        if info.proxy:
            # The decoder already reports query-from-zero-source (mld-source-not-link-local)
            # for each sender.
            if self.elected is None:
                # Only a proxy: adopt its timers, no election.
                self._adopt(query, full)
            return

        # -- election (RFC 3376 6.6.2) ------------------------------------------
        current = self.elected
        if current is not None and current != src:
            cur = self.routers[current]
            silent = cur.last_general is None or time - cur.last_general > oqpi
            # IGMPv1 has no querier election (RFC 1112 App. I: the multicast routing protocol
            # chooses the querier): between IGMPv1-only routers nobody yields, and the table
            # shows the lowest address without calling it elected.
            v1 = self.family == 4 and info.versions == {1} and cur.versions == {1}
            if src < current:
                self._elect(time, frame, src,
                            f"{src} queries too; IGMPv1 has no election, the lowest address is shown"
                            if v1 else f"{src} is lower than {current}")
            elif silent:
                self._elect(time, frame, src, f"{current} silent for more than {_fmt(oqpi)} (OQPI)")
            elif v1:
                self._finding(
                    "querier-v1-several", Severity.INFO,
                    f"IGMPv1 routers {current} and {src} both send general queries: IGMPv1 has no "
                    "querier election (the multicast routing protocol should leave one querier), so "
                    "neither is at fault, but hosts get every query twice",
                    "RFC 1112 App. I", time, frame, ("v1", src, current),
                    querier=str(current), other=str(src))
            else:
                assert cur.last_general is not None
                heard = cur.last_general
                if time - heard > 0.5 and cur.first_time < time:
                    self._finding(
                        "querier-two-active", Severity.WARNING,
                        f"{src} kept sending general queries {_fmt(time - heard)} after the "
                        f"lower-addressed querier {current} queried (it must stay silent for "
                        f"the Other Querier Present Interval, {_fmt(oqpi)})",
                        self._rfc["election"], time, frame, ("two", src, current),
                        querier=str(current), other=str(src))
        elif current is None:
            if not self.elections:
                reason = "first general query"
            elif any(e.querier == src for e in self.elections):
                reason = f"{src} queries again"
            else:
                reason = f"{src} takes over (no other querier heard)"
            self._elect(time, frame, src, reason)
        if self.elected == src:
            self._adopt(query, full)

    def _mrt_too_long(self, info: RouterInfo, mrt: float, time: float, frame: int | None) -> None:
        """RFC 3376 8.3 / RFC 2236 8.3: the Query Response Interval must be less than the
        Query Interval, or hosts answer after the next query is already due."""
        key = ("querier-mrt-exceeds-interval", self.segment, ("mrt", info.address))
        if self.findings.bump(key):
            return
        qi = info.expected_interval
        source = f"its QQIC {qi:g} s" if info.qqi else "the default Query Interval 125 s"
        self._finding(
            "querier-mrt-exceeds-interval", Severity.WARNING,
            f"{info.address} asks for answers within {_fmt(mrt)} (Max Response Time), not less than "
            f"{source}: hosts may answer after the next query is due, and the timers derived "
            "from it (Other Querier Present, Group Membership) grow with it",
            self._rfc["mrt"] if info.qqi else self._rfc["mrt_old"], time, frame, ("mrt", info.address),
            router=str(info.address), max_resp_time=mrt, query_interval=qi)

    def _adopt(self, query: Any, full: bool) -> None:
        if full:
            self.timers = self.timers.adopt(qrv=query.qrv, qqi=query.qqi,
                                            max_resp_time=query.max_resp_time)
        else:
            self.timers = self.timers.adopt(max_resp_time=query.max_resp_time)

    def _interval(self, info: RouterInfo, time: float, frame: int | None, version: int) -> None:
        previous = info.last_general
        if previous is None:
            return  # a startup query only if the next one follows less than QI later
        interval = time - previous
        expected = info.expected_interval
        # RFC 3376 8.6/8.7: Startup Query Count queries, Startup Query Interval apart
        # (split_startup is the same rule for a whole list of gaps).
        if info.in_startup:
            if is_startup_gap(interval, expected, info.startup_gaps[0] if info.startup_gaps else None):
                if len(info.startup_gaps) + 1 < STARTUP_QUERY_LIMIT:
                    info.startup_gaps.append(interval)
                    info.startup_queries = len(info.startup_gaps) + 1
                    return
                # Too many to be a startup phase: a querier that queries too often.
                earlier = info.startup_gaps
                info.startup_gaps = []
                info.startup_queries = 0
                info.in_startup = False
                for gap in earlier:
                    self._steady(info, gap, time, frame)
            info.in_startup = False
        if interval > self.timers.other_querier_present_interval:
            return  # a gap (or the router lost and regained the election), not an interval
        self._steady(info, interval, time, frame)

    def _steady(self, info: RouterInfo, interval: float, time: float, frame: int | None) -> None:
        expected = info.expected_interval
        info.interval_count += 1
        info.interval_sum += interval
        info.interval_min = interval if info.interval_min is None else min(info.interval_min, interval)
        info.interval_max = interval if info.interval_max is None else max(info.interval_max, interval)
        if info.interval_count >= 2:
            mean = info.interval_sum / info.interval_count
            if abs(mean - expected) > max(DRIFT_TOLERANCE * expected, DRIFT_MIN_SECONDS):
                # The finding carries the latest mean and the range so far (it is dated
                # when the drift was first seen).
                source = (f"its QQIC ({int(expected)} s)" if info.qqi
                          else "the default 125 s (IGMPv1/v2 carry no QQIC)" if self.family == 4
                          else "the default 125 s (MLDv1 carries no QQIC)")
                assert info.interval_min is not None and info.interval_max is not None
                self._finding(
                    "querier-interval-drift", Severity.WARNING,
                    f"{info.address} sends general queries every {_fmt(mean)} on average "
                    f"({_fmt(info.interval_min)} to {_fmt(info.interval_max)} over "
                    f"{info.interval_count} steady intervals), not the {_fmt(expected)} of {source}",
                    self._rfc["qqic"] if info.qqi else self._rfc["qi_old"], time, frame,
                    ("drift", info.address), latest=True, router=str(info.address),
                    measured=round(mean, 3), min=round(info.interval_min, 3),
                    max=round(info.interval_max, 3), samples=info.interval_count, advertised=expected)

    def _check_versions(self, time: float, frame: int | None) -> None:
        versions = self.versions
        if len(versions) > 1:
            by = {str(a): sorted(i.versions) for a, i in self.routers.items() if not i.proxy}
            self._finding(
                "querier-version-mismatch", Severity.WARNING,
                f"routers query with different {self._protocol} versions ("
                + ", ".join(f"{a} v{'/v'.join(map(str, v))}" for a, v in by.items())
                + "); every router on a link must run the same version",
                self._rfc["versions"], time, frame, "versions", routers=by)

    def _gap(self, start: float, end: float, frame: int | None, *, open_at_end: bool) -> None:
        if len(self.gaps) < _LIST_LIMIT:
            self.gaps.append(Gap(start, end, frame, open_at_end,
                                 self.timers.other_querier_present_interval))
        else:
            self.dropped_events += 1
        self._gap_finding(start, end, frame, open_at_end=open_at_end)

    def _gap_finding(self, start: float, end: float, frame: int | None, *, open_at_end: bool) -> None:
        oqpi = self.timers.other_querier_present_interval
        what = "until the end of the capture" if open_at_end else "before the next one"
        self._finding(
            "querier-gap", Severity.WARNING,
            f"no general query for {_fmt(end - start)} (from {start:.3f} s {what}), longer than "
            f"the Other Querier Present Interval {_fmt(oqpi)}: memberships may expire and "
            "snooping switches may stop forwarding", self._rfc["gap"], end if not open_at_end else start,
            frame, ("gap", round(start, 6)), start=start, end=end)

    def advance(self, now: float) -> None:
        """Bring the tracker to ``now`` with no query heard: the elected querier that
        missed its scheduled general query (silent past its Query Interval plus a
        margin) is flagged (``querier-query-missed``), and one silent for longer than
        the Other Querier Present Interval is no longer the querier, from the moment its
        interval ran out (RFC 3376 6.6.2). Each is dated when it happened."""
        if self.elected is None:
            return
        info = self.routers[self.elected]
        last = info.last_general
        if last is None:
            return
        deadline = last + info.expected_interval + missed_query_margin(info.expected_interval)
        if now > deadline and (self._missed is None or self._missed != (info.address, last)):
            self._missed = (info.address, last)
            self.missed_queries += 1
            self.last_missed = (info.address, last, deadline)
            self._missed_finding(info, last, deadline, None)
        oqpi = self.timers.other_querier_present_interval
        if now - last > oqpi:
            self._elect(last + oqpi, None, None,
                        f"{self.elected} silent for more than {_fmt(oqpi)} (OQPI)")

    def _missed_finding(self, info: RouterInfo, last: float, deadline: float,
                        came: float | None, *, revise: bool = False) -> None:
        qi = info.expected_interval
        margin = missed_query_margin(qi)
        late = (f"; the next one came at {came:.3f} s, {came - last - qi:.1f} s late" if came is not None
                else "")
        self._finding(
            "querier-query-missed", Severity.WARNING,
            f"the querier {info.address} missed its scheduled general query: none since {last:.3f} s, "
            f"its Query Interval ({_fmt(qi)}) and a {_fmt(margin)} margin ran out at {deadline:.3f} s"
            + late, self._rfc["qi"], deadline, None, (info.address, round(last, 6)), latest=True, revise=revise,
            querier=str(info.address), last_query=last, deadline=round(deadline, 6), query_interval=qi,
            next_query=came)

    def _late(self, info: RouterInfo, time: float, frame: int | None) -> None:
        """The querier whose missed query was told queries again: say when."""
        assert self._missed is not None
        last = self._missed[1]
        self._missed = None
        qi = info.expected_interval
        self._missed_finding(info, last, last + qi + missed_query_margin(qi), time, revise=True)

    def open_gap(self, now: float) -> Gap | None:
        """The gap running at ``now`` (no general query for longer than OQPI), if any."""
        oqpi = self.timers.other_querier_present_interval
        if self.last_general_time is not None and now - self.last_general_time > oqpi:
            return Gap(self.last_general_time, now, None, True, oqpi)
        return None

    def judge(self, now: float, findings: FindingLog, *, had_igmp: bool = True,
              start_time: float | None = None) -> Gap | None:
        """The judgements that need an end, made at ``now`` into ``findings`` without
        changing the tracker (so a live analysis can judge again later): a gap still
        open (returned) and no router heard at all (``querier-none``)."""
        self.advance(now)
        own = self.findings
        self.findings = findings
        try:
            gap = self.open_gap(now)
            if gap is not None:
                self._gap_finding(gap.start, now, None, open_at_end=True)
            oqpi = self.timers.other_querier_present_interval
            has_router = any(not i.proxy and i.general_queries for i in self.routers.values())
            if not has_router and had_igmp:
                span = now - (start_time if start_time is not None else now)
                sure = span >= oqpi
                proxy = any(i.proxy for i in self.routers.values())
                self._finding(
                    "querier-none", Severity.WARNING if sure else Severity.INFO,
                    ("no router sent a general query"
                     + ((" (only a switch's proxy queries from 0.0.0.0)" if self.family == 4 else
                         " (only queries from :: or non-link-local sources, which MLD routers ignore)")
                        if proxy else ""))
                    + (f" in {_fmt(span)}, longer than OQPI ({_fmt(oqpi)})" if sure
                       else f" in this {_fmt(span)} capture (shorter than OQPI {_fmt(oqpi)}, so not conclusive)"),
                    self._rfc["election"], start_time if start_time is not None else now, None, "none")
        finally:
            self.findings = own
        return gap

    def finish(self, end_time: float, *, had_igmp: bool = True, start_time: float | None = None) -> None:
        """Close the analysis at ``end_time`` for good: :meth:`judge` into the tracker's
        own findings, the open gap kept in :attr:`gaps`."""
        gap = self.judge(end_time, self.findings, had_igmp=had_igmp, start_time=start_time)
        if gap is not None:
            self.gaps.append(gap)


@dataclass(frozen=True, slots=True)
class QuerierSpan:
    """Who was the elected querier from ``start`` to ``end`` (seconds; ``querier`` None:
    no querier). ``last_query`` is the querier's last general query in the span (when it
    went silent, for a querier that stopped); ``ended_by`` the reason of the change that
    ended it, None when it lasts to the end of the analysis (``open``)."""

    start: float
    end: float
    querier: str | None
    version: int | None
    last_query: float | None
    ended_by: str | None
    started_by: str

    @property
    def open(self) -> bool:
        return self.ended_by is None

    def to_json(self) -> dict[str, Any]:
        return {"start": _round(self.start), "end": _round(self.end), "querier": self.querier,
                "version": self.version, "last_query": _round(self.last_query),
                "started_by": self.started_by, "ended_by": self.ended_by, "open": self.open}


def querier_spans(tracker: QuerierTracker, end: float) -> tuple[QuerierSpan, ...]:
    """The elected querier over time, from the first election to ``end`` (RFC 3376 6.6.2)."""
    spans = []
    elections = tracker.elections
    for index, election in enumerate(elections):
        nxt = elections[index + 1] if index + 1 < len(elections) else None
        querier = election.querier
        info = tracker.routers.get(querier) if querier is not None else None
        if nxt is not None:
            last_query = nxt.previous_last_query
        else:
            last_query = info.last_general if info is not None else None
        spans.append(QuerierSpan(
            election.time, nxt.time if nxt is not None else max(end, election.time),
            str(querier) if querier is not None else None,
            min(info.versions) if info is not None and info.versions else None,
            last_query if querier is not None else None,
            nxt.reason if nxt is not None else None, election.reason))
    return tuple(spans)


#: When a querier expectation must hold (``analyze --expect querier@WHEN=`` and
#: ``mdiag querier --expect querier@WHEN=``): the qualifier after ``@`` -> its name.
#: Without one, ``querier=IP`` means throughout.
QUERIER_WHEN = {"throughout": "throughout", "end": "at-end", "at-end": "at-end", "any": "any-time",
                "any-time": "any-time", "ever": "any-time"}
#: how each qualifier reads in a result
QUERIER_WHEN_TEXT = {"throughout": "throughout", "at-end": "at the end", "any-time": "at any time"}


def querier_held(spans: Sequence[QuerierSpan], at_end: str | None, want: str | None, when: str) -> bool:
    """Whether ``want`` (None: no querier) was the elected querier ``when``: throughout every
    span, at the end (``at_end``), or in some span (RFC 3376 6.6.2 / RFC 3810 7.6.2)."""
    if when == "at-end":
        return (at_end or None) == want
    if when == "any-time":
        return any(span.querier == want for span in spans) or (want is None and not spans)
    return all(span.querier == want for span in spans) if spans else want is None


def querier_story(spans: Sequence[QuerierSpan]) -> str:
    """The querier over time in one line: ``198.18.0.1 0.0-380.0 s, none 380.0 s-end``."""
    def secs(value: float) -> str:
        return f"{round(value, 1) + 0.0:.1f}"  # + 0.0: never "-0.0"

    return ", ".join(f"{span.querier or 'none'} {secs(span.start)} s-end" if span.open
                     else f"{span.querier or 'none'} {secs(span.start)}-{secs(span.end)} s"
                     for span in spans) or "none"
