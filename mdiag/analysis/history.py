"""Time-resolved facts of a capture for pictures (``mdiag analyze --html/--svg/--png``).

The :class:`~mdiag.analysis.report.Report` says what a capture ended with; a
:class:`History` keeps *when* things happened, per segment and address family
("lane" = ``(family, segment name)``):

* every query as a tick (``queries``): time, sender, kind, group;
* per group and host, membership intervals as the host's own reports tell them
  (join to leave, or to the last report + Group Membership Interval, RFC 3376 8.4),
  with the filter mode and sources the host asked for (``hosts``);
* the group's router-side state changes from the membership table (``group_events``:
  joined, left, expired, group-specific queries), dated when they happened;
* multicast data as packet counts per time bin (``data``), never an object per frame.

It is only collected when asked for (``AnalysisOptions(history=True)``), so plain
``mdiag analyze`` pays nothing. Everything is bounded: time bins double in width
when a capture outgrows :data:`MAX_BINS` (counts are merged, so no packet is lost),
and query ticks, host intervals and events stop being kept past their limits (the
rest is counted in ``dropped``).
"""

from __future__ import annotations

from array import array
from dataclasses import dataclass, field
from ipaddress import IPv4Address, IPv6Address
from typing import Any

__all__ = ["History", "HostInterval", "Lane", "MAX_BINS", "host_text"]

#: A lane: (address family 4 or 6, segment name as ``str(Segment)``).
Lane = tuple[int, str]

#: Data bins per group at most; past it the bin width doubles (counts are merged).
MAX_BINS = 600
#: Query ticks kept per lane.
MAX_TICKS = 200_000
#: Host membership intervals kept over the whole capture.
MAX_INTERVALS = 200_000
#: Group events (joins, expiries, leaves, group queries) kept over the whole capture.
MAX_EVENTS = 400_000


@dataclass(slots=True)
class HostInterval:
    """One host's membership of one group, as its reports tell it."""

    start: float
    last_report: float
    mode: str                       # "exclude" or "include"
    sources: frozenset[int]
    reports: int = 1
    #: when the host left (its leave / TO_IN({}) / BLOCK of its last source); None: did not
    left: float | None = None

    def end(self, gmi: float, capture_end: float) -> float:
        """Leave time, else the last report + GMI, never past the end of the capture."""
        if self.left is not None:
            return self.left
        return min(self.last_report + gmi, capture_end)

    @property
    def reason(self) -> str:
        return "left" if self.left is not None else "timed out"


@dataclass(slots=True)
class History:
    """What happened when, per lane (see the module docstring)."""

    bin_width: float = 1.0
    #: lane -> [(time, sender, kind, group or None)]; kind: general | group | group-source
    queries: dict[Lane, list[tuple[float, str, str, str | None]]] = field(default_factory=dict)
    #: (lane, group) -> {host int: [HostInterval]}
    hosts: dict[tuple[Lane, str], dict[int, list[HostInterval]]] = field(default_factory=dict)
    #: (lane, group) -> [(time, kind, detail)]; kind: joined | expired | leave | query
    group_events: dict[tuple[Lane, str], list[tuple[float, str, str]]] = field(default_factory=dict)
    #: (lane, group) -> packets per bin of ``bin_width`` seconds from the first frame
    data: dict[tuple[Lane, str], array[int]] = field(default_factory=dict)
    #: the Group Membership Interval last seen per lane (for host intervals)
    gmi: dict[Lane, float] = field(default_factory=dict)
    dropped: dict[str, int] = field(default_factory=lambda: {"queries": 0, "intervals": 0, "events": 0})
    #: group (as an int) -> its text, for the callers that see ints
    names: dict[int, str] = field(default_factory=dict)
    _intervals: int = 0
    _events: int = 0
    _data_keys: dict[Any, array[int]] = field(default_factory=dict)

    # -- queries ------------------------------------------------------------------------
    def query(self, lane: Lane, time: float, sender: str, kind: str, group: str | None) -> None:
        """A query heard: ``kind`` general, group or group-source (RFC 3376 4.1.9)."""
        ticks = self.queries.setdefault(lane, [])
        if len(ticks) < MAX_TICKS:
            ticks.append((time, sender, kind, group))
        else:
            self.dropped["queries"] += 1
        if group is not None:
            self.group_event(lane, group, time, "query", f"{kind} query from {sender}")

    # -- router-side group state ---------------------------------------------------------
    def group_event(self, lane: Lane, group: str, time: float, kind: str, detail: str = "") -> None:
        if self._events >= MAX_EVENTS:
            self.dropped["events"] += 1
            return
        self._events += 1
        self.group_events.setdefault((lane, group), []).append((time, kind, detail))

    def state_sink(self, lane: Lane) -> Any:
        """The ``on_state`` callback of one lane's membership table
        (:class:`mdiag.core.membership.MembershipTable`): joins and expiries, dated."""
        family = lane[0]

        def on_state(time: float, group: Any, change: str, host: int | None) -> None:
            detail = host_text(family, host) if host is not None else "membership expired"
            self.group_event(lane, str(group), time, change, detail)
        return on_state

    def membership_event(self, lane: Lane, group: str, time: float, text: str) -> None:
        """A line the membership table told (:class:`mdiag.core.membership.MembershipTable`
        ``on_event``): keeps the state changes, ignores the report-by-report lines."""
        if text.startswith("joined by "):
            self.group_event(lane, group, time, "joined", text[len("joined by "):])
        elif text.startswith("membership expired"):
            self.group_event(lane, group, time, "expired", text)

    # -- hosts ---------------------------------------------------------------------------
    def host_record(self, lane: Lane, group: str, time: float, host: int, mode: str | None,
                    sources: frozenset[int], change: str, gmi: float) -> None:
        """One group record from ``host`` (RFC 3376 4.2.12): ``mode`` "exclude" or
        "include" for a state or mode-change record, None for ALLOW/BLOCK; ``change``
        is "report", "allow", "block" or "leave" (a v2 leave, TO_IN({}))."""
        self.gmi[lane] = gmi
        per_host = self.hosts.setdefault((lane, group), {})
        spans = per_host.get(host)
        current = spans[-1] if spans else None
        if current is not None and (current.left is not None or time > current.last_report + gmi):
            current = None                            # left or timed out: a new interval
        if change == "leave" or (change == "block" and current is not None and current.mode == "include"
                                 and current.sources <= sources):
            if current is not None:
                current.left = time
            if change == "leave":
                self.group_event(lane, group, time, "leave", f"from {host_text(lane[0], host)}")
            return
        if current is None:
            if change == "block":
                return
            if self._intervals >= MAX_INTERVALS:
                self.dropped["intervals"] += 1
                return
            self._intervals += 1
            current = HostInterval(time, time, mode or "include", sources)
            if spans is None:
                per_host[host] = [current]
            else:
                spans.append(current)
            return
        current.last_report = time
        current.reports += 1
        if change == "block":
            current.sources = current.sources - sources
        elif change == "allow":
            current.sources = current.sources | sources
        elif mode is not None:
            current.mode = mode
            current.sources = sources

    # -- data ----------------------------------------------------------------------------
    def bins_for(self, lane: Lane, group: str) -> array[int]:
        """The packet counts of one group on one lane, to count into with :meth:`count`
        (the same array for the life of the history: widening merges in place)."""
        bins = self.data.get((lane, group))
        if bins is None:
            bins = self.data[(lane, group)] = array("I")
        return bins

    @property
    def bin_ns(self) -> int:
        return int(self.bin_width * 1e9)

    def count(self, bins: array[int], time: float) -> None:
        """One packet at ``time`` (seconds from the first frame) into ``bins``.

        Callers on a hot path may do the common case themselves: ``index =
        ns // history.bin_ns``; ``if index < len(bins): bins[index] += 1`` and call this
        otherwise."""
        index = int(time / self.bin_width)
        if index >= len(bins):
            if index >= MAX_BINS:
                self._widen(time)
                index = int(time / self.bin_width)
            if index >= len(bins):
                bins.extend(array("I", [0]) * (index + 1 - len(bins)))
        bins[index] += 1

    def data_packet(self, key: Any, lane_group: tuple[Lane, str] | None, time: float) -> None:
        """Count one data packet at ``time`` for ``key`` (any hashable the caller uses
        for a segment and group; ``lane_group`` names it the first time it is seen)."""
        bins = self._data_keys.get(key)
        if bins is None:
            if lane_group is None:
                return
            bins = self._data_keys[key] = self.bins_for(*lane_group)
        self.count(bins, time)

    def _widen(self, time: float) -> None:
        """Double the bin width until ``time`` fits, merging counts pairwise in place."""
        while int(time / self.bin_width) >= MAX_BINS:
            self.bin_width *= 2
            for bins in self.data.values():
                merged = array("I", [0]) * ((len(bins) + 1) // 2)
                for i, value in enumerate(bins):
                    merged[i >> 1] += value
                bins[:] = merged

    # -- questions the pictures ask -------------------------------------------------------
    def rate(self, lane: Lane, group: str) -> list[float]:
        """Packets per second in each bin."""
        bins = self.data.get((lane, group))
        if not bins:
            return []
        width = self.bin_width
        return [count / width for count in bins]

    def packets_near(self, lane: Lane, group: str, time: float) -> int:
        """Data packets in the bin holding ``time`` and the one after it."""
        bins = self.data.get((lane, group))
        if not bins:
            return 0
        index = int(time / self.bin_width)
        return sum(bins[index:index + 2])

    def expiries_with_data(self, lane: Lane, group: str) -> list[float]:
        """Times the group's membership expired while its data still flowed (packets in
        the bin of the expiry or the next one): the moment a snooping switch stops
        forwarding what a receiver still watches (RFC 4541 2.1.1)."""
        return [t for t, kind, _ in self.group_events.get((lane, group), ())
                if kind == "expired" and self.packets_near(lane, group, t)]

    def lanes(self) -> list[Lane]:
        names = set(self.queries) | {key[0] for key in self.hosts} | {key[0] for key in self.data} \
            | {key[0] for key in self.group_events}
        return sorted(names)


def host_text(family: int, host: int) -> str:
    """A host kept as an int, as text in its family."""
    return str(IPv4Address(host) if family == 4 else IPv6Address(host))
