"""The monitor: frames in, an incremental analyzer, counters, events, metrics out.

:class:`Monitor` holds one :class:`~mdiag.analysis.pipeline.Analyzer`, the
:class:`~mdiag.monitor.state.MonitorState` harvested from it, the optional test
streams (``--group``, measured by :class:`mdiag.adapters.sockets.StreamCollector`
exactly as ``mdiag listen`` does) and the optional incident recorder. It does no
I/O itself: :meth:`Monitor.feed` takes captured frames, :meth:`Monitor.tick` the
time, so tests drive it with frames they build. :func:`run_capture` is the live
loop: an AF_PACKET socket (:mod:`mdiag.adapters.rawsock`, kernel BPF filter) in the
monitored namespace, the receiver in a thread, a tick every second.

Threads: the capture loop, the test-stream receiver and the metrics endpoint each
run in their own thread and meet under :attr:`Monitor.lock`.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from mdiag import __version__
from mdiag.analysis.codes import CODES
from mdiag.core.findings import Finding, Severity
from mdiag.monitor.metrics import Family, spec
from mdiag.monitor.ring import FrameRing, Incident, IncidentRecorder
from mdiag.monitor.state import Limits, MonitorState

__all__ = ["Monitor", "MonitorOptions", "run_capture"]

Event = dict[str, Any]


@dataclass(frozen=True, slots=True)
class MonitorOptions:
    """What ``mdiag monitor`` was asked to do."""

    iface: str
    netns: str | None = None
    limits: Limits = field(default_factory=Limits)
    tick: float = 1.0
    ring_dir: str | None = None
    ring_bytes: int = 16 << 20
    ring_after: float = 10.0
    ring_max_files: int = 100
    ring_severity: Severity = Severity.ERROR
    max_streams: int = 64
    promiscuous: bool = True


def _known_codes() -> dict[str, str]:
    """Every documented finding code (analysis, IGMP and MLD decoders) and its severity."""
    from mdiag.core.igmp import FINDING_CODES as IGMP_CODES
    from mdiag.core.mld import FINDING_CODES as MLD_CODES

    codes: dict[str, str] = {}
    for table in (CODES, IGMP_CODES, MLD_CODES):
        for code, (severity, _rfc, _meaning) in table.items():
            codes.setdefault(code, str(severity))
    return codes


@dataclass(slots=True)
class _StreamTotals:
    """Counters of one (group, sender address) pair, kept monotonic."""

    received: int = 0
    lost: int = 0
    expected: int = 0
    duplicated: int = 0
    reordered: int = 0
    jitter_ns: float = 0.0
    last_ns: int = 0
    retired: list[int] = field(default_factory=lambda: [0, 0, 0, 0, 0])


class Monitor:
    """See the module docstring. ``emit`` receives every structured event."""

    def __init__(self, options: MonitorOptions, *, emit: Callable[[Event], None] | None = None,
                 start_ns: int | None = None) -> None:
        from mdiag.analysis.pipeline import AnalysisOptions, Analyzer

        self.options = options
        self.lock = threading.RLock()
        self.start_ns = start_ns if start_ns is not None else time.time_ns()
        self.now_ns = self.start_ns
        self._emit = emit or (lambda event: None)
        self.events = 0
        self.analyzer = Analyzer(AnalysisOptions(), on_finding=self._on_finding, name=options.iface)
        self.state = MonitorState(self.analyzer, limits=options.limits, emit=self.emit)
        self.codes = _known_codes()
        self.recorder: IncidentRecorder | None = None
        if options.ring_dir is not None:
            self.recorder = IncidentRecorder(
                options.ring_dir, FrameRing(options.ring_bytes), after=options.ring_after,
                max_files=options.ring_max_files, on_written=self._incident_written)
        self.collector: Any = None           # a StreamCollector when --group is given
        self.receiver: Any = None
        self.streams: dict[tuple[str, str], _StreamTotals] = {}
        self._number = 0
        self.last_findings: list[Event] = []

    # -- events ----------------------------------------------------------------------------
    def emit(self, event: Event) -> None:
        self.events += 1
        if event.get("event") == "finding":
            self.last_findings = (self.last_findings + [event])[-20:]
        self._emit(event)

    def _on_finding(self, finding: Finding) -> None:
        code = finding.code if finding.code in self.codes else "other"
        if code != finding.code:
            finding = Finding(code, finding.severity, finding.message, finding.rfc, finding.offset,
                              finding.time, finding.frame, {**finding.context, "code": finding.code})
        self.state.finding(finding, self.now_ns)
        if self.recorder is not None and finding.severity >= self.options.ring_severity:
            incident = self.recorder.trigger(self.now_ns, finding.code)
            if incident is not None:
                self.emit({"event": "incident-started", "time": self.now_ns / 1e9, "path": incident.path,
                           "code": finding.code, "frames_before": incident.frames_before})
            elif self.recorder.current is None:
                self.state.drop("incident")

    def _incident_written(self, incident: Incident) -> None:
        self.state.incidents += 1
        self.emit({"event": "incident", "time": self.now_ns / 1e9, "path": incident.path,
                   "codes": list(incident.codes), "frames_before": incident.frames_before,
                   "frames_after": incident.frames_after})

    # -- input -----------------------------------------------------------------------------
    def feed(self, frames: list[tuple[int, bytes]]) -> None:
        """Captured Ethernet frames ``(kernel time ns, bytes)`` in time order."""
        if not frames:
            return
        with self.lock:
            number = self._number
            records = []
            state = self.state
            recorder = self.recorder
            for ts_ns, frame in frames:
                number += 1
                size = len(frame)
                state.frames += 1
                state.bytes += size
                if recorder is not None:
                    recorder.add(ts_ns, frame, size)
                records.append((number, ts_ns, 1, 0, frame, 0, size, size, None))
            self._number = number
            self.now_ns = max(self.now_ns, frames[-1][0])
            self.analyzer.feed_records(records)

    def tick(self, now_ns: int) -> None:
        """The clock moved to ``now_ns`` (epoch ns): timers fire, counters are harvested."""
        with self.lock:
            self.now_ns = max(self.now_ns, now_ns)
            if self.analyzer.t0 is not None:
                self.analyzer.advance(self.now_ns)
            self.state.harvest(self.now_ns)
            if self.recorder is not None:
                self.recorder.tick(self.now_ns)
            if self.collector is not None:
                self._harvest_streams()

    def close(self) -> None:
        with self.lock:
            if self.recorder is not None:
                self.recorder.close()

    # -- test streams ----------------------------------------------------------------------
    def attach_streams(self, receiver: Any, collector: Any) -> Callable[..., None]:
        """Measure the test streams ``receiver`` gets; returns the handler to give its
        ``receive`` (the collector, under the monitor's lock)."""
        self.receiver = receiver
        self.collector = collector
        lock = self.lock

        def handler(*args: Any) -> None:
            with lock:
                collector(*args)
        return handler

    def _harvest_streams(self) -> None:
        collector = self.collector
        horizon = self.now_ns - int(self.options.limits.forget_after * 1e9)
        live: dict[tuple[str, str], list[Any]] = {}
        keep = []
        retire = []
        for stats in collector.streams:
            if (stats.last_recv_ns or 0) < horizon and stats.received:
                retire.append(stats)
            else:
                keep.append(stats)
        if len(keep) > self.options.max_streams:
            keep.sort(key=lambda s: s.last_recv_ns or 0)
            extra = keep[: len(keep) - self.options.max_streams]
            keep = keep[len(extra):]
            retire.extend(extra)
            self.state.drop("stream", len(extra))
        for stats in retire:
            totals = self._totals(stats)
            for i, value in enumerate((stats.received, stats.lost, stats.expected, stats.duplicated,
                                       stats.reordered)):
                totals.retired[i] += value
            for member in self.receiver.members if self.receiver is not None else ():
                for key, value in list(member.stats.items()):
                    if value is stats:
                        del member.stats[key]
                        if member.last_stats is stats:
                            member.last_key = member.last_stats = None
        if retire:
            collector.streams[:] = keep
        for stats in keep:
            live.setdefault(self._key(stats), []).append(stats)
        for key, group in live.items():
            totals = self._totals(group[0])
            sums = [sum(getattr(s, name) for s in group) + totals.retired[i] for i, name in
                    enumerate(("received", "lost", "expected", "duplicated", "reordered"))]
            lost_before = totals.lost
            # lost can shrink when a late packet arrives: counters must not go backwards
            totals.received = max(totals.received, sums[0])
            totals.lost = max(totals.lost, sums[1])
            totals.expected = max(totals.expected, sums[2])
            totals.duplicated = max(totals.duplicated, sums[3])
            totals.reordered = max(totals.reordered, sums[4])
            newest = max(group, key=lambda s: s.last_recv_ns or 0)
            totals.jitter_ns = newest.jitter
            totals.last_ns = newest.last_recv_ns or 0
            if totals.lost > lost_before:
                self.emit({"event": "stream-loss", "time": self.now_ns / 1e9, "group": key[0],
                           "source": key[1], "lost": totals.lost - lost_before,
                           "lost_total": totals.lost, "expected_total": totals.expected})

    @staticmethod
    def _key(stats: Any) -> tuple[str, str]:
        """(group, sender address): ``198.18.0.1:5001`` and ``[fd00::1]:5001`` lose the port."""
        host = stats.sender.rsplit(":", 1)[0]
        if host.startswith("[") and host.endswith("]"):
            host = host[1:-1]
        return (stats.group, host)

    def _totals(self, stats: Any) -> _StreamTotals:
        key = self._key(stats)
        totals = self.streams.get(key)
        if totals is None:
            totals = self.streams[key] = _StreamTotals()
            self.emit({"event": "stream-started", "time": self.now_ns / 1e9, "group": key[0],
                       "source": key[1]})
        return totals

    # -- reading ---------------------------------------------------------------------------
    def families(self) -> list[Family]:
        """Every metric now (docs/monitor.md); called at each scrape."""
        with self.lock:
            return self._families()

    def _families(self) -> list[Family]:
        opts = self.options
        state = self.state
        iface = opts.iface
        out: dict[str, Family] = {}

        def fam(name: str) -> Family:
            family = out.get(name)
            if family is None:
                family = out[name] = Family(spec(name))
            return family

        fam("mdiag_monitor_info").add((iface, opts.netns or "", __version__), 1)
        fam("mdiag_monitor_start_time_seconds").add((iface,), self.start_ns / 1e9)
        fam("mdiag_capture_frames").add((iface,), state.frames)
        fam("mdiag_capture_bytes").add((iface,), state.bytes)
        fam("mdiag_capture_kernel_drops").add((iface,), state.kernel_drops)
        fam("mdiag_incidents").add((iface,), state.incidents)
        dropped = dict(state.dropped)
        if self.recorder is not None:
            dropped["incident"] = self.recorder.skipped + self.recorder.errors
        from mdiag.monitor.metrics import DROPPED_KINDS

        for what in DROPPED_KINDS:
            fam("mdiag_monitor_dropped").add((iface, what), dropped.get(what, 0))
        tracked = state.tracked()
        tracked["stream"] = len(self.streams)
        for what, count in sorted(tracked.items()):
            fam("mdiag_monitor_tracked").add((iface, what), count)
        for view in state.segments.values():
            seg = (iface, view.vlan, view.family)
            fam("mdiag_querier_present").add(seg, 1 if view.querier else 0)
            if view.querier:
                fam("mdiag_querier_info").add(seg + (view.querier, str(view.querier_version)), 1)
            fam("mdiag_querier_version").add(seg, view.querier_version)
            fam("mdiag_queriers").add(seg, view.queriers)
            if view.query_interval is not None:
                fam("mdiag_query_interval_seconds").add(seg, round(view.query_interval, 6))
            if view.query_interval_expected is not None:
                fam("mdiag_query_interval_expected_seconds").add(seg, view.query_interval_expected)
            fam("mdiag_querier_elections").add(seg, view.elections)
            for kind, count in view.queries.items():
                fam("mdiag_queries").add(seg + (kind,), count)
            fam("mdiag_groups").add(seg, view.present_groups())
            fam("mdiag_members").add(seg, view.members())
            fam("mdiag_hosts").add(seg, view.hosts())
            fam("mdiag_joins").add(seg, view.joins)
            fam("mdiag_leaves").add(seg, view.leaves)
            fam("mdiag_expiries").add(seg, view.expiries)
            for version, count in sorted(view.reports.items()):
                fam("mdiag_reports").add(seg + (version,), count)
            for group in view.groups.values():
                labels = seg + (group.group,)
                fam("mdiag_group_members").add(labels, len(group.members))
                fam("mdiag_group_joins").add(labels, group.joins)
                fam("mdiag_group_leaves").add(labels, group.leaves)
                fam("mdiag_group_expiries").add(labels, group.expiries)
                fam("mdiag_group_data_packets").add(labels, group.data_packets)
                fam("mdiag_group_data_bytes").add(labels, group.data_bytes)
                if group.data_last_ns is not None:
                    fam("mdiag_group_data_last_seen_timestamp_seconds").add(labels, group.data_last_ns / 1e9)
        for (group_text, source), totals in sorted(self.streams.items()):
            stream = (iface, group_text, source)
            fam("mdiag_stream_received_packets").add(stream, totals.received)
            fam("mdiag_stream_lost_packets").add(stream, totals.lost)
            fam("mdiag_stream_expected_packets").add(stream, totals.expected)
            fam("mdiag_stream_duplicated_packets").add(stream, totals.duplicated)
            fam("mdiag_stream_reordered_packets").add(stream, totals.reordered)
            fam("mdiag_stream_jitter_seconds").add(stream, totals.jitter_ns / 1e9)
        # every documented (code, severity) is there from the start at 0, so increase() and
        # the alert rules see a finding's first occurrence (a series born at 1 shows no increase)
        findings = dict.fromkeys(self.codes.items(), 0) | state.findings
        for (code, severity), count in sorted(findings.items()):
            fam("mdiag_findings").add((iface, code, severity), count)
        return list(out.values())

    def summary(self) -> dict[str, Any]:
        """The final (or current) summary: what ``mdiag monitor`` prints when it stops."""
        with self.lock:
            state = self.state
            return {
                "iface": self.options.iface, "netns": self.options.netns,
                "duration_s": round((self.now_ns - self.start_ns) / 1e9, 3),
                "frames": state.frames, "bytes": state.bytes, "kernel_drops": state.kernel_drops,
                "events": self.events,
                "segments": [{
                    "segment": v.name, "querier": v.querier, "querier_version": v.querier_version or None,
                    "query_interval_s": None if v.query_interval is None else round(v.query_interval, 3),
                    "elections": v.elections, "groups": v.present_groups(), "members": v.members(),
                    "hosts": v.hosts(), "joins": v.joins, "leaves": v.leaves, "expiries": v.expiries,
                    "reports": dict(sorted(v.reports.items())),
                    "data_packets": sum(g.data_packets for g in v.groups.values()),
                } for v in self.state.segments.values()],
                "streams": [{"group": g, "source": s, "received": t.received, "lost": t.lost,
                             "expected": t.expected, "loss_ratio": round(t.lost / t.expected, 6)
                             if t.expected else 0.0, "jitter_ms": round(t.jitter_ns / 1e6, 3)}
                            for (g, s), t in sorted(self.streams.items())],
                "findings": [{"code": c, "severity": s, "count": n}
                             for (c, s), n in sorted(state.findings.items())],
                "incidents": state.incidents,
                "dropped": dict(sorted(state.dropped.items())),
            }


def run_capture(monitor: Monitor, stop: threading.Event, *, until_ns: int | None = None,
                on_tick: Callable[[int], None] | None = None, groups: list[Any] | None = None,
                port: int = 5001, ready: Callable[[], None] | None = None) -> None:
    """The live loop: capture on ``monitor.options.iface`` (inside ``--netns``) until
    ``stop`` is set or the monotonic deadline ``until_ns`` passes; ``groups`` (Join
    values) are joined and measured in a receiver thread. ``on_tick(now_ns)`` runs
    after each tick (live table)."""
    from mdiag.adapters import netns, rawsock, sockets

    opts = monitor.options
    receiver = None
    with netns.entered(opts.netns):
        # a 32 MB ring shared with the kernel (no system call per frame, VLAN tags kept);
        # the 32 MB queue of a plain socket where the kernel has no rings
        sock = rawsock.RawSocket(opts.iface, rawsock.GROUP_TRAFFIC, promiscuous=opts.promiscuous,
                                 rcvbuf=32 << 20, ring_mb=32)
        try:
            if groups:
                receiver = sockets.Receiver(groups, opts.iface, port)
                receiver.join()
        except BaseException:
            sock.close()
            if receiver is not None:
                receiver.close()
            raise
    thread = None
    try:
        if receiver is not None:
            from mdiag.adapters import interfaces
            from mdiag.core import stream as stream_format

            collector = sockets.StreamCollector(clock_id=interfaces.boot_clock_id(),
                                                window=stream_format.SMALL_WINDOW)
            handler = monitor.attach_streams(receiver, collector)
            thread = threading.Thread(target=receiver.receive, args=(handler,),
                                      kwargs={"stop": stop.is_set}, name="mdiag-monitor-streams",
                                      daemon=True)
            thread.start()
        if ready is not None:
            ready()
        tick_ns = int(opts.tick * 1e9)
        next_tick = time.monotonic_ns() + tick_ns
        while not stop.is_set():
            now = time.monotonic_ns()
            if until_ns is not None and now >= until_ns:
                break
            wait = min(next_tick, until_ns if until_ns is not None else next_tick) - now
            frames = sock.read_batch(min(max(wait, 0) / 1e9, 0.25))
            if frames:
                monitor.feed(frames)
            now = time.monotonic_ns()
            if now >= next_tick:
                next_tick = now + tick_ns
                _received, drops = sock.statistics()
                monitor.state.kernel_drops += drops
                wall = time.time_ns()
                monitor.tick(wall)
                if on_tick is not None:
                    on_tick(wall)
        # what is queued already belongs to the run
        monitor.feed(sock.read_batch(0))
        monitor.tick(time.time_ns())
    finally:
        stop.set()
        if thread is not None:
            thread.join(timeout=5)
        sock.close()
        if receiver is not None:
            receiver.close()
        monitor.close()
