"""Channel change ("zapping"): a receiver leaves channel A and joins channel B, again and again.

The IPTV test of BNG Blaster's IGMP zapping, with RFC 3918's join and leave delay applied to a
set-top box. A sender streams every channel at ``rate`` packets/s each (one socket,
round-robin); the receiver tunes to the first channel, then every ``interval`` it leaves the
current channel and joins the next one (the kernel sends both reports). On the receiver's
interface, with kernel capture timestamps, the probe records its own reports and every
datagram; :func:`mdiag.core.zap.analyse_zap` turns each change into a zap time (B's join to
B's first packet) and an overlap (packets of A after A's leave).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

from mdiag.core.delay import EventKind
from mdiag.core.zap import Zap, ZapEvent, ZapEventKind, ZapLimits, ZapReport, analyse_zap
from mdiag.errors import InputError
from mdiag.probes.delay import wait_not_flooded
from mdiag.probes.frames import datagram_group, decode_membership, membership_change
from mdiag.probes.network import Endpoint, Network, sender_address

MAX_ZAPS = 1000
MAX_RATE = 50_000
#: Datagram size of each channel's stream.
SIZE = 64

_KINDS = {EventKind.JOIN: ZapEventKind.JOIN, EventKind.LEAVE: ZapEventKind.LEAVE}


@dataclass(frozen=True, slots=True)
class ZapOptions:
    """Sender and receiver, the channels zapped through in order, how fast and how often."""

    sender: Endpoint
    receiver: Endpoint
    channels: tuple[str, ...]
    port: int = 5001
    rate: float = 1000.0
    zaps: int = 10
    interval: float = 1.0
    ssm: bool = False
    limits: ZapLimits = field(default_factory=ZapLimits)
    #: bound of the wait for the channels to stop being flooded before the first zap
    quiet_timeout: float = 2.0

    def __post_init__(self) -> None:
        if len(set(self.channels)) < 2 or len(set(self.channels)) != len(self.channels):
            raise InputError("zap needs at least two different channels (groups) to change between")
        if not 1 <= self.zaps <= MAX_ZAPS:
            raise InputError(f"--zaps must be 1..{MAX_ZAPS}")
        if not 1 <= self.rate <= MAX_RATE:
            raise InputError(f"--rate must be 1..{MAX_RATE} packets/s per channel")
        if not 1 <= self.port <= 65535:
            raise InputError("--port must be 1..65535")
        if self.interval <= 0:
            raise InputError("--interval must be positive")
        if self.sender == self.receiver:
            raise InputError("sender and receiver must be different interfaces")


@dataclass
class ZapResult:
    options: ZapOptions
    report: ZapReport
    source: str | None
    sent: int
    #: the tune-in to the first channel (not a change: no channel is left)
    tune_in: Zap | None = None

    @property
    def ok(self) -> bool:
        return self.report.ok

    def to_json(self) -> dict[str, Any]:
        o = self.options
        return {"channels": list(o.channels), "source": self.source, "port": o.port, "rate_pps": o.rate,
                "interval": o.interval, "sent": self.sent,
                "sender": o.sender.to_json(), "receiver": o.receiver.to_json(),
                "tune_in_time": self.tune_in.zap_time if self.tune_in else None, **self.report.to_json()}


def run(options: ZapOptions, network: Network) -> ZapResult:
    """Tune in, then change channel ``zaps`` times, ``interval`` apart."""
    o = options
    network.require_raw("measuring channel changes")
    source = sender_address(network, o.sender, o.channels[0]) if o.ssm else None
    if o.ssm and source is None:
        raise InputError(f"{o.sender.iface} has no IPv{6 if ':' in o.channels[0] else 4} address: an SSM "
                         "join needs the sender's address")
    channels = list(o.channels)
    stream = network.stream(o.sender, channels, o.port, pps=o.rate * len(channels), size=SIZE,
                            duration=o.quiet_timeout + o.interval * (o.zaps + 1) + 5.0)
    opened: list[Any] = []
    events: list[ZapEvent] = []
    zaps: list[Zap] = []
    tune_in = None
    try:
        capture = network.packet_socket(o.receiver, udp_to=(channels, o.port))
        opened.append(capture)
        members = {g: network.membership(o.receiver, [(g, source)], o.port) for g in channels}
        opened.extend(members.values())
        stream.start()
        wait_not_flooded(capture, lambda frame: datagram_group(frame, o.port) in channels,
                         o.rate * len(channels), o.quiet_timeout)
        capture.drain()

        def watch(seconds: float) -> int:
            for c in capture.capture(time.monotonic() + seconds):
                events.extend(_events(c, channels, source, o.port))
            return time.time_ns()

        current = channels[0]
        started = time.time_ns()
        members[current].join()
        end = watch(o.interval)
        tune_in = analyse_zap(events, leave_group="", join_group=current, started_ns=started, end_ns=end)
        for number in range(o.zaps):
            nxt = channels[(number + 1) % len(channels)]
            started = time.time_ns()
            members[current].leave()
            members[nxt].join()
            end = watch(o.interval)
            zaps.append(analyse_zap(events, leave_group=current, join_group=nxt, started_ns=started, end_ns=end))
            current = nxt
            stream.check()
    finally:
        stream.stop()
        for thing in reversed(opened):
            thing.close()
    return ZapResult(o, ZapReport(tuple(zaps), rate_pps=o.rate, limits=o.limits), source, stream.sent, tune_in)


def _events(captured: Any, channels: list[str], source: str | None, port: int) -> list[ZapEvent]:
    """A datagram of a channel, or the receiver's own report: one IGMPv3 report may carry the
    leave of A and the join of B together (the kernel merges pending changes), so a frame can
    give several events."""
    if not captured.outgoing:
        group = datagram_group(captured.frame, port)
        return [ZapEvent(captured.ts_ns, ZapEventKind.DATA, group)] if group in channels else []
    got = decode_membership(captured.frame, 6 if ":" in channels[0] else 4)
    if got is None:
        return []
    message = got[0].message
    return [ZapEvent(captured.ts_ns, _KINDS[kind], group) for group in channels
            if (kind := membership_change(message, group, source)) is not None]
