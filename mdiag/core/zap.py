"""Channel change ("zapping") verdicts: how long from a join to the new channel's first packet,
and how much of the old channel still arrives after its leave.

The IPTV channel-change test of BNG Blaster's IGMP zapping and of RFC 3918's join/leave delay
applied to a set-top box: a receiver leaves channel A and joins channel B at once. For each zap

* **zap time** = first datagram of B after B's join report left the receiver;
* **overlap** = datagrams of A that still arrived after A's leave report (and how long they
  kept coming): the bandwidth a subscriber line must carry twice during a change.

Pure: events carry capture timestamps (ns) and are judged here; nothing is measured here.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from mdiag.core.delay import DelayStats, numbered_findings
from mdiag.core.findings import Finding, Severity

#: Zap-time bands reported as counts (ms): IPTV targets are usually quoted against these.
BANDS_MS: tuple[int, ...] = (125, 250, 500)


class ZapEventKind(enum.Enum):
    JOIN = "join"
    LEAVE = "leave"
    DATA = "data"


@dataclass(frozen=True, slots=True)
class ZapEvent:
    """One thing seen on the receiver's interface: its own report for ``group``, or a datagram."""

    ts_ns: int
    kind: ZapEventKind
    group: str


@dataclass(frozen=True, slots=True)
class Zap:
    """One channel change from ``leave_group`` to ``join_group`` (times in seconds)."""

    leave_group: str
    join_group: str
    zap_time: float | None
    overlap_packets: int
    overlap_time: float | None
    findings: tuple[Finding, ...] = ()

    def to_json(self) -> dict[str, Any]:
        return {"from": self.leave_group, "to": self.join_group, "zap_time": self.zap_time,
                "overlap_packets": self.overlap_packets, "overlap_time": self.overlap_time,
                "findings": [f.to_json() for f in self.findings]}


def analyse_zap(events: Iterable[ZapEvent], *, leave_group: str, join_group: str,
                started_ns: int, end_ns: int) -> Zap:
    """Judge one zap from the events captured between ``started_ns`` (the change was asked for)
    and ``end_ns`` (the capture window closed)."""
    ordered = sorted((e for e in events if started_ns <= e.ts_ns <= end_ns), key=lambda e: e.ts_ns)
    findings: list[Finding] = []
    join = next((e.ts_ns for e in ordered if e.kind is ZapEventKind.JOIN and e.group == join_group), None)
    leave = next((e.ts_ns for e in ordered if e.kind is ZapEventKind.LEAVE and e.group == leave_group), None)
    zap_time = None
    if join is None:
        findings.append(Finding("zap-no-join", Severity.ERROR,
                                f"no membership report for {join_group} left the receiver: the join was not sent",
                                "RFC 3376 5.1"))
    else:
        first = next((e.ts_ns for e in ordered if e.kind is ZapEventKind.DATA and e.group == join_group
                      and e.ts_ns >= join), None)
        if first is None:
            findings.append(Finding("zap-never-forwarded", Severity.ERROR,
                                    f"nothing of {join_group} arrived within {(end_ns - join) / 1e9:.3f} s "
                                    "of the join", "RFC 3918"))
        else:
            zap_time = (first - join) / 1e9
    overlap = 0
    overlap_time = None
    if leave is None:
        findings.append(Finding("zap-no-leave", Severity.ERROR,
                                f"no leave for {leave_group} left the receiver", "RFC 3376 5.1"))
    else:
        late = [e.ts_ns for e in ordered if e.kind is ZapEventKind.DATA and e.group == leave_group
                and e.ts_ns > leave]
        overlap = len(late)
        overlap_time = (late[-1] - leave) / 1e9 if late else 0.0
    return Zap(leave_group, join_group, zap_time, overlap, overlap_time, tuple(findings))


@dataclass(frozen=True, slots=True)
class ZapLimits:
    """What the user expects (``--expect``): None means not checked. Times in seconds."""

    max_zap: float | None = None
    p95_zap: float | None = None
    median_zap: float | None = None
    max_overlap: int | None = None


@dataclass(frozen=True, slots=True)
class ZapReport:
    """Every zap, zap-time statistics (min/median/p95/max), counts above 125/250/500 ms."""

    zaps: tuple[Zap, ...]
    rate_pps: float
    limits: ZapLimits = field(default_factory=ZapLimits)

    @property
    def zap_time(self) -> DelayStats:
        return DelayStats.of(z.zap_time for z in self.zaps)

    @property
    def overlap(self) -> DelayStats:
        return DelayStats.of(float(z.overlap_packets) for z in self.zaps)

    def above(self) -> dict[int, int]:
        """Zaps slower than each band (ms)."""
        return {band: sum(1 for z in self.zaps if z.zap_time is not None and z.zap_time * 1000 > band)
                for band in BANDS_MS}

    @property
    def resolution(self) -> float:
        """One packet gap of a channel, in seconds: the uncertainty of each zap time."""
        return 1.0 / self.rate_pps

    @property
    def findings(self) -> list[Finding]:
        return numbered_findings("zap", (z.findings for z in self.zaps)) + self.check()

    def check(self) -> list[Finding]:
        """Findings for the limits the user set."""
        stats, limits = self.zap_time, self.limits
        out: list[Finding] = []
        for name, value, limit in (("max", stats.maximum, limits.max_zap), ("p95", stats.p95, limits.p95_zap),
                                   ("median", stats.median, limits.median_zap)):
            if limit is not None and value is not None and value > limit:
                out.append(Finding(f"zap-{name}-over-limit", Severity.ERROR,
                                   f"{name} zap time {value * 1000:.1f} ms is over the expected "
                                   f"{limit * 1000:.1f} ms", "--expect"))
        worst = max((z.overlap_packets for z in self.zaps), default=0)
        if limits.max_overlap is not None and worst > limits.max_overlap:
            out.append(Finding("zap-overlap-over-limit", Severity.ERROR,
                               f"up to {worst} packets of the old channel arrived after its leave, more "
                               f"than the expected {limits.max_overlap}", "--expect"))
        return out

    @property
    def ok(self) -> bool:
        return bool(self.zaps) and not any(f.severity >= Severity.ERROR for f in self.findings)

    def to_json(self) -> dict[str, Any]:
        return {"zaps": [z.to_json() for z in self.zaps], "zap_time": self.zap_time.to_json(),
                "overlap_packets": self.overlap.to_json(),
                "above_ms": {str(k): v for k, v in self.above().items()},
                "resolution": self.resolution, "ok": self.ok,
                "findings": [f.to_json() for f in self.findings]}


def parse_limits(items: Sequence[tuple[str, str]], duration: Any) -> ZapLimits:
    """ZapLimits from ``(key, value)`` pairs: max-zap, p95-zap, median-zap (durations, parsed by
    ``duration``) and max-overlap (packets). Unknown keys raise ValueError naming the known ones."""
    values: dict[str, Any] = {}
    for key, value in items:
        if key in ("max-zap", "p95-zap", "median-zap"):
            values[key.split("-")[0] + "_zap"] = duration(value)
        elif key == "max-overlap":
            if not value.isdigit():
                raise ValueError(f"max-overlap={value!r}: give a number of packets, e.g. max-overlap=0")
            values["max_overlap"] = int(value)
        else:
            raise ValueError(f"{key!r} is not a zap expectation: use max-zap, p95-zap, median-zap "
                             "(times, e.g. 250ms) or max-overlap (packets)")
    return ZapLimits(**values)
