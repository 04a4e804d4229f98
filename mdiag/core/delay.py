"""Join and leave delay through a snooping switch, RFC 3918 style (pure, time passed in).

RFC 3918 section 4.1 (Group Join Delay) measures from the moment the join leaves the
receiver to the first multicast packet forwarded to it; section 4.2 (Group Leave
Delay) from the leave to the last packet forwarded. mdiag times both ends on the
receiver's own interface with kernel capture timestamps (nanoseconds), so the
numbers include neither Python's scheduling nor the sender's clock.

The sender streams at a steady rate before the join and after the leave. A packet
every ``1/rate`` seconds bounds the sampling error of each delay by one packet gap
(1 ms at 1,000 packets/s); the timestamps themselves resolve to a microsecond.

Input is a list of :class:`Event` (what the receiver's interface saw); output is a
:class:`Trial` per join/leave cycle and :class:`DelayStats` over repeats, with
findings for what went wrong (never forwarded, never stopped, flooded before join).
"""

from __future__ import annotations

import enum
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from mdiag.core.findings import Finding, Severity


class EventKind(enum.Enum):
    """What the receiver's interface carried."""

    JOIN = "join"    # an outgoing membership report for the group (v1/v2 report, v3 TO_EX/ALLOW/IS_EX)
    LEAVE = "leave"  # an outgoing v2 leave or v3 TO_IN({})/BLOCK for the group
    DATA = "data"    # an incoming multicast datagram to the group


@dataclass(frozen=True, slots=True)
class Event:
    """One observation on the receiver's interface, ``ts_ns`` from the capture socket."""

    ts_ns: int
    kind: EventKind

    def __post_init__(self) -> None:
        if self.ts_ns < 0:
            raise ValueError(f"timestamp {self.ts_ns} is negative")
        if not isinstance(self.kind, EventKind):
            raise ValueError(f"kind must be an EventKind, not {self.kind!r}")


@dataclass(frozen=True, slots=True)
class Trial:
    """One join/leave cycle. Delays in seconds; None when not measurable."""

    join_ns: int | None
    first_data_ns: int | None
    leave_ns: int | None
    last_data_ns: int | None
    received: int = 0
    before_join: int = 0
    findings: tuple[Finding, ...] = ()

    @property
    def join_delay(self) -> float | None:
        """RFC 3918 4.1: first forwarded packet minus the join."""
        if self.join_ns is None or self.first_data_ns is None:
            return None
        return (self.first_data_ns - self.join_ns) / 1e9

    @property
    def leave_delay(self) -> float | None:
        """RFC 3918 4.2: last forwarded packet minus the leave (0 when none followed it)."""
        if self.leave_ns is None or self.last_data_ns is None:
            return None
        return max(0, self.last_data_ns - self.leave_ns) / 1e9

    def to_json(self) -> dict[str, Any]:
        return {"join_delay": self.join_delay, "leave_delay": self.leave_delay,
                "received": self.received, "before_join": self.before_join,
                "findings": [f.to_json() for f in self.findings]}


def analyse_trial(events: Iterable[Event], *, end_ns: int | None = None,
                  group: str = "") -> Trial:
    """Turn one cycle's events into a :class:`Trial`.

    The join is the first JOIN event; the first DATA after it starts forwarding. The
    leave is the first LEAVE after the join; the last DATA after the leave (and before
    ``end_ns``, when the capture stopped) ends it. Data seen before the join means the
    switch flooded an unregistered group (RFC 4541 2.1.2: may flood, then no join delay
    can be measured); data still arriving at the end means the leave was not honoured.
    """
    ordered = sorted(events, key=lambda e: e.ts_ns)
    findings: list[Finding] = []
    join = next((e.ts_ns for e in ordered if e.kind is EventKind.JOIN), None)
    leave = None
    if join is not None:
        leave = next((e.ts_ns for e in ordered if e.kind is EventKind.LEAVE and e.ts_ns >= join), None)
    data = [e.ts_ns for e in ordered if e.kind is EventKind.DATA]
    before = [t for t in data if join is not None and t < join]
    during = [t for t in data if join is not None and t >= join and (leave is None or t < leave)]
    after = [t for t in data if leave is not None and t >= leave]
    label = f" for {group}" if group else ""
    if join is None:
        findings.append(Finding("delay-no-join", Severity.ERROR,
                                f"no membership report{label} left the receiver: the join was not sent",
                                "RFC 3918 4.1"))
    if before:
        findings.append(Finding(
            "delay-flooded-before-join", Severity.WARNING,
            f"{len(before)} packet(s){label} reached the receiver before it joined: the switch floods "
            "unregistered multicast (no snooping, or no querier seen), so the join delay is not "
            "meaningful", "RFC 4541 2.1.2"))
    first = during[0] if during else (after[0] if after else None)
    if join is not None and first is None:
        findings.append(Finding("delay-never-forwarded", Severity.ERROR,
                                f"no packet{label} was forwarded after the join", "RFC 3918 4.1"))
    last = None
    if leave is not None:
        last = after[-1] if after else (during[-1] if during else None)
        if after and end_ns is not None and end_ns - after[-1] < _still_flowing_gap(data):
            findings.append(Finding(
                "delay-leave-not-honoured", Severity.ERROR,
                f"packets{label} were still forwarded when the capture ended "
                f"{(end_ns - leave) / 1e9:.3f} s after the leave", "RFC 3918 4.2"))
    elif join is not None:
        findings.append(Finding("delay-no-leave", Severity.WARNING,
                                f"no leave{label} left the receiver: leave delay not measured",
                                "RFC 3918 4.2"))
    return Trial(join, first, leave, last, received=len(during) + len(after),
                 before_join=len(before), findings=tuple(findings))


def _still_flowing_gap(data: Sequence[int]) -> int:
    """How close to the end the last packet must be to count as 'still flowing':
    three median packet gaps (at least 5 ms)."""
    if len(data) < 2:
        return 5_000_000
    gaps = sorted(b - a for a, b in zip(data, data[1:]))
    return max(5_000_000, 3 * gaps[len(gaps) // 2])


def numbered_findings(label: str, per_round: Iterable[Iterable[Finding]]) -> list[Finding]:
    """The findings of each round (trial, zap...) with ``label N:`` in front and N in the context."""
    return [Finding(f.code, f.severity, f"{label} {number}: {f.message}", f.rfc, context={label: number})
            for number, findings in enumerate(per_round, 1) for f in findings]


def percentile(values: Sequence[float], p: float) -> float:
    """Nearest-rank percentile (p in 0..100) of a non-empty sequence."""
    if not values:
        raise ValueError("percentile of no values")
    if not 0 <= p <= 100:
        raise ValueError(f"percentile {p} is outside 0..100")
    ordered = sorted(values)
    rank = max(1, math.ceil(p / 100 * len(ordered)))
    return ordered[rank - 1]


def median(values: Sequence[float]) -> float:
    """Middle value (mean of the two middle ones for an even count)."""
    if not values:
        raise ValueError("median of no values")
    ordered = sorted(values)
    mid = len(ordered) // 2
    return ordered[mid] if len(ordered) % 2 else (ordered[mid - 1] + ordered[mid]) / 2


@dataclass(frozen=True, slots=True)
class DelayStats:
    """min / median / p95 / max of a set of delays in seconds (``count`` measured)."""

    count: int
    minimum: float | None = None
    median: float | None = None
    p95: float | None = None
    maximum: float | None = None

    def __post_init__(self) -> None:
        if self.count < 0:
            raise ValueError("count is negative")
        if self.count and None in (self.minimum, self.median, self.p95, self.maximum):
            raise ValueError("stats of measured values need every field")

    @classmethod
    def of(cls, values: Iterable[float | None]) -> DelayStats:
        measured = [v for v in values if v is not None]
        if not measured:
            return cls(0)
        return cls(len(measured), min(measured), median(measured), percentile(measured, 95),
                   max(measured))

    def to_json(self) -> dict[str, Any]:
        return {"count": self.count, "min": self.minimum, "median": self.median,
                "p95": self.p95, "max": self.maximum}


@dataclass(frozen=True, slots=True)
class DelayReport:
    """Every trial plus join and leave statistics, and the sampling resolution."""

    trials: tuple[Trial, ...]
    rate_pps: float
    join: DelayStats = field(init=False)
    leave: DelayStats = field(init=False)

    def __post_init__(self) -> None:
        if self.rate_pps <= 0:
            raise ValueError("rate must be positive")
        object.__setattr__(self, "join", DelayStats.of(t.join_delay for t in self.trials))
        object.__setattr__(self, "leave", DelayStats.of(t.leave_delay for t in self.trials))

    @property
    def resolution(self) -> float:
        """Sampling uncertainty of each delay: one packet gap, in seconds."""
        return 1.0 / self.rate_pps

    @property
    def findings(self) -> list[Finding]:
        return numbered_findings("trial", (t.findings for t in self.trials))

    def check(self, *, max_join: float | None = None, max_leave: float | None = None) -> list[Finding]:
        """Findings for limits the user set (``--max-join`` / ``--max-leave``)."""
        out: list[Finding] = []
        for name, stats, limit in (("join", self.join, max_join), ("leave", self.leave, max_leave)):
            if limit is not None and stats.count and stats.maximum is not None and stats.maximum > limit:
                out.append(Finding(f"delay-{name}-over-limit", Severity.ERROR,
                                   f"{name} delay reached {stats.maximum * 1000:.3f} ms, over the "
                                   f"limit of {limit * 1000:.3f} ms", "RFC 3918 4"))
        return out
