"""Does a group reach every receiver, how fast after the join, and does it stop after the leave?

RFC 3918 join and leave delay per receiver over ``repeat`` rounds, and RFC 4541 snooping: a paced
test stream runs from the sender for the whole check. Each round every receiver joins with a real
socket (the kernel sends the report), stays joined for ``hold``, then leaves. On each receiver's
interface a packet socket with kernel timestamps sees the report going out and the group's
datagrams coming in: join delay = first datagram after the join report, leave delay = last
datagram after the leave report (traffic counts as stopped once nothing has come for the quiet
time). Non-member hosts must see none of the group's datagrams while the receivers are joined.
"""

from __future__ import annotations

import statistics
import threading
import time
from dataclasses import dataclass, field
from typing import Any

from mdiag.errors import InputError
from mdiag.probes.frames import datagram_group, decode_membership
from mdiag.probes.network import Endpoint, Network
from mdiag.probes.network import sender_address as sender_address_of

MAX_REPEAT = 100
MAX_PPS = 100_000


@dataclass(frozen=True, slots=True)
class VerifyOptions:
    """Who sends, who must receive, who must not, and how the rounds go (seconds, packets/s)."""

    group: str
    sender: Endpoint
    receivers: tuple[Endpoint, ...]
    non_members: tuple[Endpoint, ...] = ()
    anchor: Endpoint | None = None
    port: int = 5001
    ssm: bool = False
    pps: float = 1000.0
    rate_text: str = "1000pps"
    size: int = 64
    hold: float = 1.0
    repeat: int = 1
    leave_timeout: float = 5.0
    max_join: float | None = None
    max_leave: float | None = None
    #: why the switch may forward by port flags rather than by joins (the lab bridge's settings)
    flood_note: str | None = None

    def __post_init__(self) -> None:
        if not self.receivers:
            raise InputError("no receiver: the lab needs at least 2 hosts, or give --receiver")
        if not 1 <= self.repeat <= MAX_REPEAT:
            raise InputError(f"--repeat {self.repeat} must be 1..{MAX_REPEAT}")
        if not 1 <= self.port <= 65535:
            raise InputError(f"--port {self.port} is out of range 1..65535")
        if not 32 <= self.size <= 65507:
            raise InputError(f"--size {self.size} must be 32..65507")
        if not 0 < self.pps <= MAX_PPS:
            raise InputError(f"--rate {self.rate_text} is {self.pps:,.0f} pps; verify needs at most 100,000 pps")


@dataclass
class _Observer:
    endpoint: Endpoint
    role: str  # receiver, non-member, anchor
    raw: Any = None
    member: Any = None
    frames: list[tuple[int, str]] = field(default_factory=list)  # (ts_ns, "data"|"report")
    delivered: int = 0
    rounds: list[dict[str, Any]] = field(default_factory=list)
    delivered_at_leave: list[int] = field(default_factory=list)

    def count(self, *_: Any) -> None:
        """Receiver handler: one datagram delivered to the joined socket."""
        self.delivered += 1


def run(options: VerifyOptions, network: Network) -> dict[str, Any]:
    """Run the rounds; the result is the JSON-ready report (``ok``, ``problems``, per host).

    Ctrl-C after at least one finished round reports those rounds (``interrupted``)."""
    o = options
    network.require_raw("verifying delivery")
    sender_address = sender_address_of(network, o.sender, o.group)
    source = None
    if o.ssm:
        if not sender_address:
            raise InputError(f"--ssm needs an IPv{6 if ':' in o.group else 4} address on the sender's "
                             f"{o.sender.iface}")
        source = sender_address
    observers: list[_Observer] = []
    stop = threading.Event()
    threads: list[threading.Thread] = []
    quiet_ns = int(max(0.25, 20.0 / o.pps) * 1e9)
    interrupted = False
    windows: list[tuple[int, int]] = []
    budget_s = 0.5 + o.repeat * (o.hold + o.leave_timeout + 1.0) + 5.0
    stream = network.stream(o.sender, o.group, o.port, pps=o.pps, size=o.size, duration=budget_s)
    try:
        for role, eps in (("receiver", o.receivers), ("non-member", o.non_members),
                          ("anchor", [o.anchor] if o.anchor else [])):
            for ep in eps:
                obs = _Observer(ep, role)
                observers.append(obs)
                obs.raw = network.packet_socket(ep, udp_to=(o.group, o.port))
                if role != "non-member":
                    obs.member = network.membership(ep, [(o.group, source)], o.port)
        for obs in observers:
            threads.append(threading.Thread(target=_capture, args=(obs, o.group, o.port, stop), daemon=True))
            if obs.member is not None:
                threads.append(threading.Thread(target=obs.member.receive, args=(obs.count,),
                                                kwargs={"stop": stop.is_set}, daemon=True))
        for t in threads:
            t.start()
        stream.start()
        for obs in observers:
            if obs.role == "anchor":
                obs.member.join()
        time.sleep(0.25)  # the stream runs before the first join: flooding would show up now
        members = [obs for obs in observers if obs.role == "receiver"]
        try:
            _rounds(o, members, windows, quiet_ns)
        except KeyboardInterrupt:  # Ctrl-C: report the rounds that finished, if any
            done = min((len(m.rounds) for m in members), default=0)
            if not done:
                raise
            interrupted = True
            del windows[done:]
            for m in members:
                del m.rounds[done:]
                del m.delivered_at_leave[done:]
        stream.check()
    finally:
        stop.set()
        for t in threads:
            t.join(2)
        stream.stop()
        for obs in observers:
            if obs.member is not None:
                obs.member.close()
            if obs.raw is not None:
                obs.raw.close()
    result = _summarise(o, sender_address, source, observers, windows)
    result["rounds_done"] = len(windows)
    result["interrupted"] = interrupted
    return result


def _rounds(o: VerifyOptions, members: list[_Observer], windows: list[tuple[int, int]], quiet_ns: int) -> None:
    """The join/hold/leave rounds; each finished round appends to ``windows`` and ``o.rounds``."""
    for _round in range(o.repeat):
        join_ns = time.time_ns()
        for m in members:
            m.member.join()
        time.sleep(o.hold)
        leave_ns = time.time_ns()
        for m in members:
            m.delivered_at_leave.append(m.delivered)
            m.member.leave()
        windows.append((join_ns, leave_ns))
        deadline = time.monotonic() + o.leave_timeout
        while time.monotonic() < deadline:
            time.sleep(min(0.05, quiet_ns / 4e9))
            now = time.time_ns()
            if all(_last_data(m.frames, leave_ns) < now - quiet_ns for m in members):
                break
        time.sleep(quiet_ns / 1e9)
        for m in members:
            m.rounds.append(_round_result(m.frames, join_ns, leave_ns, o.leave_timeout, quiet_ns))


def _capture(obs: _Observer, group: str, port: int, stop: threading.Event) -> None:
    """Record the host's own IGMP (IPv6 group: MLD) reports and the group's datagrams, with
    kernel timestamps."""
    family = 6 if ":" in group else 4
    raw = obs.raw
    while not stop.is_set():
        got = raw.recv(0.05)
        if got is None:
            continue
        f = got.frame
        if got.outgoing:
            if decode_membership(f, family) is not None:
                obs.frames.append((got.ts_ns, "report"))
        elif datagram_group(f, port) == group:
            obs.frames.append((got.ts_ns, "data"))


def _last_data(frames: list[tuple[int, str]], after: int) -> int:
    for ts, kind in reversed(frames):
        if kind == "data" and ts > after:
            return ts
        if ts <= after:
            break
    return after


def _round_result(frames: list[tuple[int, str]], join_ns: int, leave_ns: int, timeout: float,
                  quiet_ns: int) -> dict[str, Any]:
    snapshot = list(frames)
    reports_join = [ts for ts, k in snapshot if k == "report" and join_ns - 1_000_000 <= ts < leave_ns]
    reports_leave = [ts for ts, k in snapshot if k == "report" and ts >= leave_ns - 1_000_000]
    join_ref = reports_join[0] if reports_join else join_ns
    leave_ref = reports_leave[0] if reports_leave else leave_ns
    pre = [ts for ts, k in snapshot if k == "data" and join_ns - 200_000_000 <= ts < join_ref]
    during = [ts for ts, k in snapshot if k == "data" and join_ref <= ts < leave_ref]
    after = [ts for ts, k in snapshot if k == "data" and ts >= leave_ref]
    # Stopped: the last datagram came a quiet time before the deadline (the wait ends early
    # once every receiver has been quiet that long; traffic that never stops runs past it).
    end = leave_ref + int(timeout * 1e9)
    stopped = not after or after[-1] < end - quiet_ns
    return {
        "join_report": bool(reports_join), "leave_report": bool(reports_leave),
        "flooded_before_join": bool(pre), "frames_joined": len(during),
        "join_delay_ns": (during[0] - join_ref) if during else None,
        "leave_delay_ns": ((after[-1] - leave_ref) if after else 0) if stopped else None,
        "stopped": stopped,
    }


def _stats(values: list[float]) -> dict[str, Any] | None:
    if not values:
        return None
    return {"min": round(min(values), 3), "median": round(statistics.median(values), 3),
            "max": round(max(values), 3), "samples": [round(v, 3) for v in values]}


def _summarise(opts: VerifyOptions, sender_address: str | None, source: str | None,
               observers: list[_Observer], windows: list[tuple[int, int]]) -> dict[str, Any]:
    group, sender_ep, flood_note = opts.group, opts.sender, opts.flood_note
    max_join, max_leave, leave_timeout = opts.max_join, opts.max_leave, opts.leave_timeout
    problems: list[str] = []
    receivers_out = []
    for o in observers:
        if o.role != "receiver":
            continue
        rounds = o.rounds
        delivered_counts = [b - a for a, b in zip([0, *o.delivered_at_leave], o.delivered_at_leave, strict=False)]
        joins = [r["join_delay_ns"] / 1e6 for r in rounds if r["join_delay_ns"] is not None]
        leaves = [r["leave_delay_ns"] / 1e6 for r in rounds if r["leave_delay_ns"] is not None]
        delivered = all(c > 0 for c in delivered_counts) and len(delivered_counts) == len(rounds)
        mine: list[str] = []
        if not delivered:
            missing = sum(1 for c in delivered_counts if c == 0)
            mine.append(f"{o.endpoint.label}: nothing delivered in {missing} of {len(rounds)} round(s)")
        not_stopped = sum(1 for r in rounds if not r["stopped"])
        if not_stopped:
            mine.append(f"{o.endpoint.label}: traffic did not stop within {leave_timeout:g} s of the leave "
                        f"in {not_stopped} of {len(rounds)} round(s)" + (f" ({flood_note})" if flood_note else ""))
        if max_join is not None and joins and max(joins) > max_join * 1e3:
            mine.append(f"{o.endpoint.label}: join delay {max(joins):.1f} ms exceeds --max-join")
        if max_leave is not None and leaves and max(leaves) > max_leave * 1e3:
            mine.append(f"{o.endpoint.label}: leave delay {max(leaves):.1f} ms exceeds --max-leave")
        problems += mine
        receivers_out.append({
            "host": o.endpoint.label, "netns": o.endpoint.netns, "iface": o.endpoint.iface,
            "delivered": delivered, "datagrams": delivered_counts,
            "join_delay_ms": _stats(joins), "leave_delay_ms": _stats(leaves),
            "flooded_before_join": any(r["flooded_before_join"] for r in rounds),
            "stopped_after_leave": not not_stopped, "rounds": [
                {**{k: v for k, v in r.items() if not k.endswith("_ns")},
                 "join_delay_ms": None if r["join_delay_ns"] is None else round(r["join_delay_ns"] / 1e6, 3),
                 "leave_delay_ms": None if r["leave_delay_ns"] is None else round(r["leave_delay_ns"] / 1e6, 3)}
                for r in rounds],
            "ok": not mine, "problems": mine})
    non_out = []
    # A non-member must see nothing while every receiver is joined and receiving.
    receiving_from = []
    for join_ns, leave_ns in windows:
        firsts = []
        for o in observers:
            if o.role == "receiver":
                data = [ts for ts, k in o.frames if k == "data" and join_ns <= ts < leave_ns]
                firsts.append(data[0] if data else leave_ns)
        receiving_from.append((max(firsts) if firsts else join_ns, leave_ns))
    for o in observers:
        if o.role != "non-member":
            continue
        leaked = sum(1 for ts, k in o.frames if k == "data"
                     and any(a <= ts < b for a, b in receiving_from))
        total = sum(1 for _, k in o.frames if k == "data")
        mine = []
        if leaked:
            mine.append(f"{o.endpoint.label} (not a member) got {leaked} of the group's datagrams while "
                        "the receivers were joined: the switch floods the group")
        problems += mine
        non_out.append({"host": o.endpoint.label, "netns": o.endpoint.netns, "iface": o.endpoint.iface,
                        "datagrams_while_joined": leaked, "datagrams_total": total, "ok": not mine,
                        "problems": mine})
    return {"group": group, "port": opts.port, "source": source,
            "sender": {"host": sender_ep.label, "netns": sender_ep.netns, "iface": sender_ep.iface,
                       "address": sender_address},
            "repeat": opts.repeat, "rate": opts.rate_text, "hold_s": opts.hold,
            "receivers": receivers_out, "non_members": non_out,
            "anchor": next((o.endpoint.label for o in observers if o.role == "anchor"), None),
            "notes": [n for n in (flood_note, _unchecked_snooping(opts)) if n], "problems": problems,
            "ok": not problems}


def _unchecked_snooping(opts: VerifyOptions) -> str | None:
    """The note when no host checks that the group stays away from non-members (RFC 4541)."""
    if opts.non_members:
        return None
    return ("no non-member host took part, so nothing checked that the switch keeps the group away "
            "from ports without members (IGMP snooping, RFC 4541): add --non-member-iface, or leave a "
            "lab host out of --receiver")


