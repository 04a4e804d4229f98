"""Timed replay of a capture onto one interface, and reading a Linux bridge's MDB.

Frames keep their original spacing, scaled by a speed factor, or go back to back
(``speed=None``: as fast as possible). ``only_igmp`` keeps IGMP and MLD frames;
``rewrite_src_mac`` replaces the Ethernet source. Frames of other link types (Linux
cooked SLL/SLL2, raw IP) are given an Ethernet header: destination mapped from the
IPv4 destination (RFC 1112 6.4) or the IPv6 one (33:33 + low 32 bits, RFC 2464 7), source
from ``rewrite_src_mac`` or the IP source.

Planning reads the capture once to count what would be sent and the peak rate (the
most frames in any one second at the chosen speed), so callers can refuse floods
before sending anything; replaying reads it again, streaming, in constant memory.
"""

from __future__ import annotations

import collections
import json
import os
import shutil
import subprocess
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from mdiag.errors import InputError, MissingSystemPiece

_ZERO_MAC = b"\0" * 6
#: Seconds before a frame's due time during which replay spins instead of sleeping.
SPIN = 0.001


@dataclass(frozen=True, slots=True)
class Plan:
    """What a replay would send: frame count, span of the capture, peak rate."""

    frames: int
    skipped: int
    span: float
    peak_per_second: int
    speed: float | None
    #: What the capture reader found damaged (cut-short records, bad lengths...): one line each.
    damage: tuple[str, ...] = ()

    @property
    def duration(self) -> float:
        """Seconds the replay takes at this speed (0 for back to back)."""
        return 0.0 if self.speed is None else self.span / self.speed

    def to_json(self) -> dict[str, Any]:
        return {"frames": self.frames, "skipped": self.skipped, "span": self.span,
                "duration": self.duration, "peak_per_second": self.peak_per_second,
                "speed": "max" if self.speed is None else self.speed, "damage": list(self.damage)}


@dataclass
class Sent:
    """Counters of a finished replay."""

    frames: int = 0
    bytes: int = 0
    skipped: int = 0
    errors: list[str] = field(default_factory=list)
    elapsed: float = 0.0
    late_max: float = 0.0

    def to_json(self) -> dict[str, Any]:
        return {"frames": self.frames, "bytes": self.bytes, "skipped": self.skipped,
                "errors": self.errors[:20], "elapsed": round(self.elapsed, 6),
                "late_max": round(self.late_max, 6)}


def _ethernet_frames(path: str, *, only_igmp: bool, rewrite_src_mac: bytes | None,
                     count: int | None = None, damage: list[str] | None = None
                     ) -> Iterator[tuple[int | None, bytes | None]]:
    """(time_ns, Ethernet frame) per record; frame None for a record that is skipped.
    ``count`` stops after that many capture records; ``damage`` receives what the capture
    reader found damaged on the way."""
    from mdiag.adapters.capture import open_capture

    with open_capture(path) as capture:
        try:
            yield from _frames_of(capture, only_igmp=only_igmp, rewrite_src_mac=rewrite_src_mac, count=count)
        finally:
            if damage is not None:
                damage.extend(problem.message for problem in capture.problems)


def _frames_of(capture: Any, *, only_igmp: bool, rewrite_src_mac: bytes | None,
               count: int | None) -> Iterator[tuple[int | None, bytes | None]]:
    from mdiag.core import linklayer

    for frame in capture:
        if count is not None and frame.number > count:
            return
        data = frame.data
        located = linklayer.locate_ipv4(frame.linktype, data, 0, len(data))
        is_ip = located.status == linklayer.OK
        located6 = None if is_ip else linklayer.locate_ipv6(frame.linktype, data, 0, len(data))
        is_ip6 = located6 is not None and located6.status == linklayer.OK
        if only_igmp and not ((is_ip and data[located.ip + 9] == 2)
                              or (is_ip6 and located6 is not None and _is_mld(data[located6.ip:]))):
            yield frame.time_ns, None
            continue
        if frame.linktype == linklayer.LINKTYPE_ETHERNET:
            if len(data) < 14:
                yield frame.time_ns, None
                continue
            out = data if rewrite_src_mac is None else data[:6] + rewrite_src_mac + data[12:]
        elif is_ip6 and located6 is not None:
            ip6 = data[located6.ip:]
            dst_mac = b"\x33\x33" + ip6[36:40]  # RFC 2464 7: 33:33 + low 32 bits
            src_mac = rewrite_src_mac or (located6.src_mac or b"\x02\x00" + ip6[20:24])
            out = dst_mac + src_mac + b"\x86\xdd" + ip6
        elif is_ip:
            ip = data[located.ip:]
            dst = ip[16:20]
            if dst[0] & 0xF0 == 0xE0:
                dst_mac = bytes((0x01, 0x00, 0x5E, dst[1] & 0x7F, dst[2], dst[3]))
            else:
                dst_mac = b"\xff" * 6
            src_mac = rewrite_src_mac or (located.src_mac or b"\x02\x00" + ip[12:16])
            out = dst_mac + src_mac + b"\x08\x00" + ip
        else:
            yield frame.time_ns, None
            continue
        yield frame.time_ns, out


def _is_mld(packet: bytes) -> bool:
    """An IPv6 packet carrying MLD (the extension chain walked by the MLD decoder)."""
    from mdiag.core.mld import MalformedPacket, decode_ipv6

    try:
        decode_ipv6(packet)
    except MalformedPacket:
        return False
    return True


def plan(path: str, *, speed: float | None, only_igmp: bool = False, count: int | None = None) -> Plan:
    """Read the capture once: frames to send, skipped ones, span and peak frames/s."""
    limit = count
    count = skipped = 0
    first = last = None
    window: collections.deque[int] = collections.deque()
    peak = 0
    damage: list[str] = []
    for ts, frame in _ethernet_frames(path, only_igmp=only_igmp, rewrite_src_mac=None, count=limit,
                                      damage=damage):
        if frame is None:
            skipped += 1
            continue
        count += 1
        t = ts or 0
        first = t if first is None else first
        last = t
        if speed is None:
            peak = count
            continue
        window.append(t)
        horizon = t - int(1e9 * speed)  # one second of replay time is `speed` seconds of capture
        while window and window[0] <= horizon:
            window.popleft()
        peak = max(peak, len(window))
    span = 0.0 if first is None or last is None else (last - first) / 1e9
    return Plan(count, skipped, span, peak, speed, tuple(damage))


def replay(path: str, send: Callable[[bytes], None], *, speed: float | None, only_igmp: bool = False,
           rewrite_src_mac: bytes | None = None, clock: Callable[[], float] = time.perf_counter,
           sleep: Callable[[float], None] = time.sleep, deadline: float | None = None,
           count: int | None = None, spin: float = SPIN) -> Sent:
    """Send the capture's frames through ``send`` with original spacing / ``speed``.

    ``deadline`` (a ``clock()`` value) bounds the whole replay; frames still due after it
    are counted as skipped. A frame the interface refuses (too big, ...) is skipped and
    its error kept. The last ``spin`` seconds before each frame are busy-waited.
    """
    sent = Sent()
    start = clock()
    first: int | None = None
    for ts, frame in _ethernet_frames(path, only_igmp=only_igmp, rewrite_src_mac=rewrite_src_mac,
                                      count=count):
        if frame is None:
            sent.skipped += 1
            continue
        if speed is not None and ts is not None:
            first = ts if first is None else first
            due = start + (ts - first) / 1e9 / speed
            if deadline is not None and due > deadline:
                sent.skipped += 1
                continue
            now = clock()
            while now < due:
                # Sleep until about 1 ms before the frame is due, then spin: sleep alone
                # wakes up late by a scheduler tick under load.
                if due - now > spin:
                    sleep(min(due - now - spin, 0.5))
                now = clock()
            sent.late_max = max(sent.late_max, now - due)
        elif deadline is not None and clock() > deadline:
            sent.skipped += 1
            continue
        try:
            send(frame)
        except (OSError, InputError) as exc:
            sent.skipped += 1
            sent.errors.append(str(exc))
            continue
        sent.frames += 1
        sent.bytes += len(frame)
    sent.elapsed = clock() - start
    return sent


def read_mdb(bridge: str, netns: str | None = None, *, timeout: float = 10.0) -> list[dict[str, Any]]:
    """``bridge -j -d -s mdb show dev BRIDGE`` (inside ``netns``), flattened to entries."""
    from mdiag.adapters.lab import flatten_mdb

    tool = shutil.which("bridge")
    if tool is None:
        raise MissingSystemPiece("'bridge' is missing: install iproute2 (apt-get install iproute2)")
    argv = [tool, "-j", "-d", "-s", "mdb", "show", "dev", bridge]
    if netns is not None:
        if not os.path.exists(f"/run/netns/{netns}"):
            raise InputError(f"no network namespace {netns!r} (see 'ip netns list')")
        argv = ["ip", "netns", "exec", netns, *argv]
    proc = subprocess.run(argv, capture_output=True, text=True, timeout=timeout)
    if proc.returncode != 0:
        raise InputError(f"cannot read the MDB of {bridge!r}: {proc.stderr.strip() or 'bridge failed'}")
    try:
        return flatten_mdb(json.loads(proc.stdout or "[]"))
    except json.JSONDecodeError:
        raise InputError(f"'bridge -j mdb show' gave no JSON for {bridge!r}") from None
