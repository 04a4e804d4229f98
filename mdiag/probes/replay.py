"""Play a capture into a link, then read the snooping bridge's multicast database and compare it
with what is expected (tcpreplay's timing, RFC 4541's snooping table as the verdict).

The plan (frames, peak rate, duration, damage) is made before anything is sent, so a flood or
an endless replay is refused first; a damaged capture is replayed as far as it is readable and
fails the run, whatever the MDB shows (:func:`mdiag.core.mdbcheck.compare` judges the MDB).
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

from mdiag.core.mdbcheck import actual_entries, compare
from mdiag.errors import UsageError
from mdiag.probes.network import Endpoint, Network

#: More frames than this in any one second of replay is a flood and needs ``force``.
FLOOD_LIMIT = 1000
MAX_DURATION = 3600.0


@dataclass(frozen=True, slots=True)
class ReplayOptions:
    """What to replay where, how fast, and which bridge's MDB to read afterwards."""

    capture: str
    at: Endpoint
    speed: float | None = 1.0  # None: back to back
    only_igmp: bool = False
    frames: int | None = None
    rewrite_src_mac: bytes | str | None = None  # "iface": the interface's own address
    bridge: Endpoint | None = None  # iface = the bridge device
    read_mdb: bool = False
    settle: float = 0.2
    expectation: Any = None
    force: bool = False

    def __post_init__(self) -> None:
        if self.frames is not None and self.frames < 1:
            raise UsageError("--frames must be 1 or more")
        if self.read_mdb and self.bridge is None:
            raise UsageError("--expect-mdb/--save-mdb/--show-mdb need --bridge BR (or --lab-host)")


@dataclass
class ReplayReport:
    options: ReplayOptions
    plan: Any
    sent: Any
    entries: list[Any] | None = None
    comparison: Any = None

    @property
    def damage(self) -> list[str]:
        return list(self.plan.damage)

    @property
    def ok(self) -> bool:
        """A damaged capture was not replayed whole: whatever the MDB shows proves nothing then."""
        return (self.comparison is None or self.comparison.ok) and not self.damage

    def to_json(self) -> dict[str, Any]:
        o = self.options
        return {"capture": o.capture, "iface": o.at.iface, "netns": o.at.netns, "plan": self.plan.to_json(),
                "sent": self.sent.to_json(), "bridge": o.bridge.iface if o.bridge else None,
                "bridge_netns": o.bridge.netns if o.bridge else None,
                "mdb": [e.to_json() for e in self.entries] if self.entries is not None else None,
                "comparison": self.comparison.to_json() if self.comparison else None,
                "damage": self.damage, "ok": self.ok}


def run(options: ReplayOptions, network: Network) -> ReplayReport:
    """Plan, refuse floods unless forced, replay with the capture's timing, read and judge the MDB."""
    o = options
    the_plan = network.plan_capture(o.capture, speed=o.speed, only_igmp=o.only_igmp, count=o.frames)
    if the_plan.peak_per_second > FLOOD_LIMIT and not o.force:
        rate = "back to back" if o.speed is None else f"at {o.speed:g}x"
        raise UsageError(f"replaying {the_plan.frames} frames {rate} sends up to "
                         f"{the_plan.peak_per_second} frames in one second, a flood: add --force "
                         "to confirm, or slow down with --speed")
    if the_plan.duration > MAX_DURATION:
        raise UsageError(f"the replay would take {the_plan.duration:.0f} s at this speed (limit "
                         f"{MAX_DURATION:.0f} s): raise --speed")
    network.require_raw("replaying a capture")
    sock = network.packet_socket(o.at, send_only=True)
    try:
        rewrite = o.rewrite_src_mac
        if rewrite == "iface":
            rewrite = network.hardware_address(o.at)
        sent = network.replay_capture(o.capture, sock.send, speed=o.speed, only_igmp=o.only_igmp,
                                      rewrite_src_mac=rewrite, count=o.frames,
                                      deadline=time.perf_counter() + min(the_plan.duration, MAX_DURATION) + 5.0)
    finally:
        sock.close()
    report = ReplayReport(o, the_plan, sent)
    if o.read_mdb and o.bridge is not None:
        time.sleep(o.settle)
        report.entries = sorted(actual_entries(network.read_mdb(o.bridge)), key=lambda e: e.sort_key)
        if o.expectation is not None:
            report.comparison = compare(o.expectation, report.entries)
    return report
