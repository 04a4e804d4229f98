"""Join and leave delay through a snooping switch, RFC 3918 section 4 (4.1 join, 4.2 leave).

A sender streams to the group at a steady rate; the receiver joins with a real socket (the
kernel sends the report), stays joined for ``hold``, leaves, and the probe times, on the
receiver's interface with kernel capture timestamps, the report and the first forwarded packet
(join delay), the leave and the last forwarded packet (leave delay). An optional anchor host
stays joined all along so the group stays registered and is not flooded (RFC 4541 2.1.2).
:func:`mdiag.core.delay.analyse_trial` judges each cycle.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from mdiag.core.delay import DelayReport, Event, EventKind, analyse_trial
from mdiag.core.findings import Finding, Severity
from mdiag.errors import InputError
from mdiag.probes.frames import StreamMatcher, classify
from mdiag.probes.network import Endpoint, Network, PacketSocket, sender_address

MAX_RATE = 100_000
MAX_REPEAT = 1000
#: Pause with the stream running before each join, so data that is flooded shows up.
PRE_ROLL = 0.15
#: Datagram size of the delay stream (the test-stream header fits; small keeps the rate cheap).
SIZE = 64


@dataclass(frozen=True, slots=True)
class DelayOptions:
    """Who sends, who receives (and who anchors), what group, how fast and how often."""

    sender: Endpoint
    receiver: Endpoint
    group: str
    port: int = 5001
    source: str | None = None  # SSM: filled in with the sender's address by run()
    ssm: bool = False
    rate: float = 1000.0
    repeat: int = 5
    hold: float = 0.5
    settle: float = 3.0
    anchor: Endpoint | None = None
    #: bound of the wait for the stream to stop being flooded before the first cycle
    quiet_timeout: float = 2.0
    max_join: float | None = None
    max_leave: float | None = None

    def __post_init__(self) -> None:
        if not 1 <= self.repeat <= MAX_REPEAT:
            raise InputError(f"--repeat must be 1..{MAX_REPEAT}")
        if not 1 <= self.rate <= MAX_RATE:
            raise InputError(f"--rate must be 1..{MAX_RATE} packets/s")
        if not 1 <= self.port <= 65535:
            raise InputError("--port must be 1..65535")
        if self.sender == self.receiver:
            raise InputError("sender and receiver must be different interfaces")


@dataclass
class DelayResult:
    """The trials and their statistics, plus setup findings and what was sent."""

    options: DelayOptions
    report: DelayReport
    source: str | None
    sent: int
    setup: list[Finding] = field(default_factory=list)

    @property
    def findings(self) -> list[Finding]:
        limits = self.report.check(max_join=self.options.max_join, max_leave=self.options.max_leave)
        return [*self.setup, *self.report.findings, *limits]

    @property
    def ok(self) -> bool:
        return not any(f.severity >= Severity.ERROR for f in self.findings)

    def to_json(self) -> dict[str, Any]:
        o, r = self.options, self.report
        return {"group": o.group, "source": self.source, "port": o.port, "rate_pps": o.rate,
                "resolution": r.resolution, "sent": self.sent,
                "sender": {"iface": o.sender.iface, "netns": o.sender.netns},
                "receiver": {"iface": o.receiver.iface, "netns": o.receiver.netns},
                "anchor": o.anchor.netns if o.anchor else None, "trials": [t.to_json() for t in r.trials],
                "join": r.join.to_json(), "leave": r.leave.to_json(), "ok": self.ok,
                "findings": [f.to_json() for f in self.findings]}


def wait_not_flooded(capture: PacketSocket, data: Callable[[bytes], bool], rate: float, timeout: float) -> bool:
    """With the stream running and the receiver not joined, wait (bounded) until no datagram
    reaches the receiver for a window of several packet gaps.

    A switch floods a group while it has no querier (the Linux bridge for one query response
    interval after its querier is switched on or another querier appears,
    br_multicast_querier_exists) or while the group is unregistered (RFC 4541 2.1.2); a join
    measured then would be meaningless. Returns False if still flooded at the end (each cycle
    then reports ``delay-flooded-before-join``).
    """
    window = min(max(0.1, 5.0 / rate), timeout)
    end = time.monotonic() + timeout
    while (now := time.monotonic()) < end:
        if not any(not c.outgoing and data(c.frame) for c in capture.capture(min(now + window, end))):
            return True  # a whole window without a datagram
        capture.drain()
    return False


def run(options: DelayOptions, network: Network, *,
        registered: Callable[[str], bool] | None = None) -> DelayResult:
    """Measure ``repeat`` join/leave cycles. ``registered(group)`` (the lab bridge's view) says
    whether the anchor is a member yet; without it the anchor is trusted after its join."""
    o = options
    network.require_raw("measuring join/leave delay")
    source = None
    if o.ssm:
        source = sender_address(network, o.sender, o.group)
        if source is None:
            raise InputError(f"{o.sender.iface} has no IPv{6 if ':' in o.group else 4} address: an SSM join "
                             "needs the sender's address")
    data = StreamMatcher(o.group, o.port)
    per_cycle = PRE_ROLL + o.hold + o.settle
    stream = network.stream(o.sender, o.group, o.port, pps=o.rate, size=SIZE,
                            duration=per_cycle * o.repeat + 5.0 + o.quiet_timeout)
    opened: list[Any] = []
    setup: list[Finding] = []
    trials = []
    try:
        capture = network.packet_socket(o.receiver, udp_to=(o.group, o.port))
        opened.append(capture)
        member = network.membership(o.receiver, [(o.group, source)], o.port)
        opened.append(member)
        if o.anchor is not None:
            anchor = network.membership(o.anchor, [(o.group, source)], o.port)
            opened.append(anchor)
            anchor.join()
            if registered is not None and not _wait(lambda: registered(o.group), 2.0):
                setup.append(Finding(
                    "delay-anchor-not-registered", Severity.WARNING,
                    f"the bridge did not list the anchor {o.anchor.label} as a member of {o.group} "
                    "within 2 s: the group may be flooded as unregistered", "RFC 4541 2.1.2"))
        stream.start()
        wait_not_flooded(capture, data, o.rate, o.quiet_timeout)
        for _ in range(o.repeat):
            capture.drain()
            events: list[Event] = []

            def watch(seconds: float) -> int:
                for c in capture.capture(time.monotonic() + seconds):
                    kind = classify(c.frame, c.outgoing, o.group, source, data)
                    if kind is not None:
                        events.append(Event(c.ts_ns, kind))
                return time.time_ns()

            watch(PRE_ROLL)
            member.join()
            watch(o.hold)
            member.leave()
            end_ns = watch(o.settle)
            trials.append(analyse_trial(events, end_ns=end_ns, group=o.group))
            stream.check()
    finally:
        stream.stop()
        for thing in reversed(opened):
            thing.close()
    return DelayResult(o, DelayReport(tuple(trials), rate_pps=o.rate), source, stream.sent, setup)


def _wait(condition: Callable[[], bool], timeout: float) -> bool:
    end = time.monotonic() + timeout
    while not condition():
        if time.monotonic() >= end:
            return False
        time.sleep(0.05)
    return True


__all__ = ["DelayOptions", "DelayResult", "EventKind", "run", "wait_not_flooded"]
