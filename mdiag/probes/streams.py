"""Test streams: the paced sender of ``mdiag send`` and the measuring receiver of ``mdiag listen``.

Typed options in, a report value out; the sockets come from a :class:`StreamPort`
(:class:`mdiag.adapters.network.LiveStreams` in real runs, fakes in tests/probes). The stream
format (sequence, send time, END marker) is :mod:`mdiag.core.stream`; pacing and budgets are
:mod:`mdiag.core.rate`. Durations are promises: ``send`` stops at its deadline even when the
host cannot keep the rate, and ``listen`` counts making its sockets and joining in its duration,
giving its report when interrupted while joining (docs/exit-status.md).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from mdiag.core.rate import Pacing, Rate, packet_budget
from mdiag.errors import InputError

#: Seconds past ``duration`` a paced stream may take to send its last datagram (a scheduler tick).
DEADLINE_GRACE = 0.05
#: ``send``/``listen`` without ``duration`` or ``count``: seconds.
DEFAULT_DURATION = 10.0
#: ``listen`` with ``count`` alone is still bounded (a day); Ctrl-C stops earlier.
COUNT_ONLY_DURATION = 24 * 3600.0


class StreamPort(Protocol):
    """What the stream probes need from the outside world (UDP sockets on one interface)."""

    def sender(self, destinations: Sequence[str], port: int, iface: str, *, ttl: int, loop: bool,
               kind: str, source_port: int, tos: int) -> Any:
        """A paced sender (:class:`mdiag.adapters.sockets.Sender`), a context manager."""

    def receiver(self, joins: Sequence[tuple[str, str | None]], iface: str, port: int, *,
                 unicast: Sequence[str], until_ns: int) -> Any:
        """Sockets joined to ``joins`` (:class:`mdiag.adapters.sockets.Receiver`)."""

    def collector(self, *, on_plain: Callable[..., None], latency: bool | None, streams: int) -> Any:
        """The per-stream accounting of what arrives (:class:`mdiag.adapters.sockets.StreamCollector`)."""

    def is_multicast(self, address: str) -> bool: ...

    def stream_id(self) -> int: ...

    def clock_id(self) -> int: ...

    def first_address(self, iface: str, family: int) -> str | None: ...


# ---- send ------------------------------------------------------------------------------------

@dataclass(frozen=True)
class SendOptions:
    """One ``mdiag send`` run. ``lines`` (stdin mode): each item is one datagram, sent once."""

    destinations: Sequence[str]
    port: int
    iface: str
    rate: Rate
    size: int = 1200
    duration: float | None = None
    count: int | None = None
    ttl: int = 1
    loop: bool = True
    kind: str = "multicast"
    source_port: int = 0
    tos: int = 0
    lines: Iterable[bytes] | None = None


@dataclass
class SendReport:
    """What went out: ``result`` is the sender's (sent, elapsed, pps, bytes, retries...)."""

    result: Any
    local: tuple[str, int]
    destinations: Sequence[str]
    #: the stream's total rate over all groups (None: stdin lines)
    pps: float | None = None
    budget: int | None = None
    duration: float | None = None

    @property
    def interrupted(self) -> bool:
        return bool(self.result.interrupted)

    @property
    def short_of_rate(self) -> bool:
        """The host could not keep the rate: the deadline came before the budget was sent."""
        return (self.budget is not None and self.duration is not None and not self.interrupted
                and self.result.sent < self.budget)


def send(o: SendOptions, port: StreamPort, *,
         progress: Callable[[int, float], None] | None = None) -> SendReport:
    """Send the test stream (or the lines) of ``o``; ``progress(sent, elapsed)`` is the live line."""
    if o.lines is None:
        o.rate.pps(o.size)  # refuses absurd rates before any socket exists
    sender = port.sender(o.destinations, o.port, o.iface, ttl=o.ttl, loop=o.loop, kind=o.kind,
                         source_port=o.source_port, tos=o.tos)
    with sender:
        if o.lines is not None:
            pacing = None if o.rate.unlimited else Pacing(o.rate.pps(max(1, o.size)), burst=1)
            result = sender.send_datagrams(o.lines, pacing=pacing)
            return SendReport(result, _local(sender, o.iface, port), sender.destinations)
        pps = o.rate.pps(o.size) * len(o.destinations)  # the rate is per group
        duration = o.duration
        if o.count is None and duration is None:
            duration = DEFAULT_DURATION
        budget = packet_budget(pps, duration, None if o.count is None else o.count * len(o.destinations))
        pacing = None if o.rate.unlimited else Pacing(pps, burst=max(1, min(64, int(pps / 1000) + 1)))
        stream_id, clock_id = port.stream_id(), port.clock_id()
        result = sender.send_stream(size=o.size, pacing=pacing, budget=budget,
                                    # --duration is a promise: the budget ends a paced stream
                                    # on time; a host that cannot keep the rate stops at the
                                    # deadline (a scheduling tick of grace) and says so
                                    duration=None if duration is None else
                                    duration if budget is None else duration + DEADLINE_GRACE,
                                    stream_id=stream_id, clock_id=clock_id, progress=progress)
        sender.send_end(stream_id, result.sent, clock_id)
        return SendReport(result, _local(sender, o.iface, port), sender.destinations, pps, budget, duration)


def _local(sender: Any, iface: str, port: StreamPort) -> tuple[str, int]:
    """The sender's address; unconnected (several groups): the interface's own address."""
    local: tuple[str, int] = sender.local_address
    if local[0] in ("0.0.0.0", "::"):
        local = (port.first_address(iface, sender.family) or local[0], local[1])
    return local


# ---- listen ----------------------------------------------------------------------------------

@dataclass(frozen=True)
class ListenOptions:
    """One ``mdiag listen`` run: ``groups`` may hold unicast/broadcast addresses (bound, not joined)."""

    groups: Sequence[str]
    iface: str
    port: int = 5001
    sources: Sequence[str] = ()
    duration: float | None = None
    count: int | None = None
    until_end: bool = False
    from_zero: bool = False
    #: one-way latency: None when sender and receiver share a clock
    latency: bool | None = None

    @property
    def deadline(self) -> float:
        if self.duration is not None:
            return self.duration
        return COUNT_ONLY_DURATION if self.count else DEFAULT_DURATION


@dataclass
class ListenReport:
    """What arrived per group and per stream, and how the joins went."""

    groups: Sequence[str]
    counts: dict[str, int]
    reports: list[Any]
    elapsed: float
    interrupted: bool
    first_seen: dict[str, int] = field(default_factory=dict)
    join_ns: dict[str, int | None] = field(default_factory=dict)
    #: group sockets planned and joined, and the seconds joining took
    planned: int = 0
    joined: int = 0
    joining: float = 0.0

    @property
    def joins_cut_short(self) -> bool:
        """The deadline came before every group socket was joined."""
        return not self.interrupted and self.joined < self.planned

    def join_to_first_ms(self, group: str) -> float | None:
        joined = self.join_ns.get(group)
        if group not in self.first_seen or joined is None:
            return None
        return round((self.first_seen[group] - joined) / 1e6, 3)


def sources_of(group: str, sources: Sequence[str]) -> list[str | None]:
    """The sources of ``group``'s family (None: any-source); InputError when sources were given
    but none fits (an IPv6 group cannot have an IPv4 sender)."""
    if not sources:
        return [None]
    from mdiag.core.addresses.lists import address_family, sources_for

    own: list[str | None] = list(sources_for(group, list(sources)))
    if not own:
        version = address_family(group)
        raise InputError(f"{group} is an IPv{version} group but no --source is IPv{version}: give its "
                         "sources, or listen to it in a separate run")
    return own


def listen(o: ListenOptions, port: StreamPort, *, on_plain: Callable[..., None],
           tick: Callable[[int, int, int, float], None] | None = None) -> ListenReport:
    """Join, receive until the duration, ``count`` datagrams or (``until_end``) every stream's
    END, and account each stream. ``on_plain(member, data, sender, now_ns)`` gets datagrams that
    are not test-stream data; ``tick(receiving_groups, datagrams, lost, elapsed)`` the live line."""
    multicast = [g for g in o.groups if port.is_multicast(g)]
    joined_kind = set(multicast)  # a set: thousands of groups must not cost n² comparisons
    baseline = [g for g in o.groups if g not in joined_kind]
    joins = [(g, s) for g in multicast for s in sources_of(g, o.sources)]
    collector = port.collector(on_plain=on_plain, latency=o.latency, streams=len(joins))
    started = time.monotonic()
    # the duration is a promise: it counts making the sockets and joining (16,384 groups take seconds)
    deadline_ns = time.monotonic_ns() + int(o.deadline * 1e9)
    interrupted = False
    try:
        receiver = port.receiver(joins, o.iface, o.port, unicast=baseline, until_ns=deadline_ns)
    except KeyboardInterrupt:  # Ctrl-C / SIGTERM while the sockets are made: the report all the same
        receiver, interrupted = None, True

    def live() -> None:
        assert tick is not None and receiver is not None
        receiving = len({m.group for m in receiver.members if m.datagrams})
        tick(receiving, sum(m.datagrams for m in receiver.members), sum(s.lost for s in collector.streams),
             time.monotonic() - started)

    join_ns: dict[str, int | None] = {}
    members = receiver.members if receiver is not None else []
    try:
        try:
            if receiver is not None:
                receiver.join(until_ns=deadline_ns)
        except KeyboardInterrupt:  # Ctrl-C / SIGTERM while joining: the report all the same
            interrupted = True
        for m in members:
            if m.join_ns is not None and (join_ns.get(m.group) or m.join_ns + 1) > m.join_ns:
                join_ns[m.group] = m.join_ns
        joining = time.monotonic() - started
        joined = sum(1 for m in members if m.joined and not m.bind_only)
        planned = receiver.planned if receiver is not None else 0
        if not interrupted and joined >= planned and receiver is not None:
            try:
                receiver.receive(collector, until_ns=deadline_ns, max_packets=o.count,
                                 tick=live if tick is not None else None,
                                 stop=(lambda: bool(collector.streams) and all(
                                     s.end_total is not None for s in collector.streams))
                                 if o.until_end else None)
            except KeyboardInterrupt:
                interrupted = True
        elapsed = time.monotonic() - started
        counts: dict[str, int] = {g: 0 for g in o.groups}
        first_seen: dict[str, int] = {}
        for m in members:
            counts[m.group] += m.datagrams
            if m.first_ns is not None and m.first_ns < first_seen.get(m.group, m.first_ns + 1):
                first_seen[m.group] = m.first_ns
    finally:
        if receiver is not None:
            receiver.close()
    reports = [s.report() for s in collector.streams]
    if o.from_zero:
        reports = [r.counted_from_zero() for r in reports]
    return ListenReport(o.groups, counts, reports, elapsed, interrupted, first_seen, join_ns,
                        planned, joined, joining)
