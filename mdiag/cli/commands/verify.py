"""``mdiag verify``: does the group reach every receiver, how fast after the join, and does it stop
after the leave? RFC 3918 style join and leave delay, per receiver, over ``--repeat N`` rounds.

A paced test stream runs from the sender for the whole check. Each round every receiver joins
with a real socket (the kernel sends the IGMP report), stays joined for ``--hold``, then leaves.
On each receiver's interface a packet socket with kernel timestamps sees the report going out
and the group's datagrams coming in: join delay = first datagram after the join report, leave
delay = last datagram after the leave report (traffic counts as stopped once nothing has come
for the quiet time). Non-member hosts must see none of the group's datagrams while the
receivers are joined (IGMP snooping, RFC 4541). Exit 0 when every expectation holds.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import socket
import statistics
import threading
import time
from dataclasses import dataclass, field
from typing import Any

from mdiag.cli import options, pictures
from mdiag.cli.environment import Environment
from mdiag.errors import ExitStatus, InputError, UsageError

HELP = "verify delivery of a group to receivers with join and leave delay (RFC 3918), e.g. in the lab"

MAX_REPEAT = 100


@dataclass(frozen=True, slots=True)
class Endpoint:
    """A host taking part: lab host name or ``NS:IFACE``, its namespace (None: this one) and interface."""

    name: str
    netns: str | None
    iface: str


@dataclass
class _Observer:
    endpoint: Endpoint
    role: str  # receiver, non-member, anchor
    raw: Any = None
    receiver: Any = None
    frames: list[tuple[int, str]] = field(default_factory=list)  # (ts_ns, "data"|"report")
    collector: Any = None
    rounds: list[dict[str, Any]] = field(default_factory=list)
    delivered_at_leave: list[int] = field(default_factory=list)


def _parse_endpoint(text: str) -> Endpoint:
    ns, sep, iface = text.rpartition(":")  # interface names have no ':' (options.endpoint)
    if sep:
        return Endpoint(text, ns, iface)
    return Endpoint(text, None, text)


#: --hold, --leave-timeout, --max-*-delay: the one duration grammar, at most 600 s
_SECONDS = options.duration(600.0)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("group", metavar="GROUP", help="multicast group to verify")
    where = parser.add_argument_group("where (one of)")
    where.add_argument("--lab", action="store_true",
                       help="use the running lab (mdiag lab up); without one a temporary lab is built")
    where.add_argument("--sender-iface", type=options.endpoint, metavar="[NS:]IFACE",
                       help="sender interface, optionally inside network namespace NS")
    where.add_argument("--receiver-iface", type=options.endpoint, action="append", default=[], metavar="[NS:]IFACE",
                       help="receiver interface (repeatable)")
    where.add_argument("--non-member-iface", type=options.endpoint, action="append", default=[], metavar="[NS:]IFACE",
                       help="interface that must NOT get the group (repeatable)")
    lab = parser.add_argument_group("lab hosts")
    lab.add_argument("--lab-prefix", type=options.lab_prefix, default=None, metavar="P", help="lab name prefix (default mdlab)")
    lab.add_argument("--sender", type=options.lab_host, default="h1", metavar="HOST", help="sender host (default h1)")
    lab.add_argument("--receivers", type=options.lab_hosts, default=None, metavar="H2,H3",
                     help="receiver hosts (default: every other host)")
    lab.add_argument("--anchor", type=options.lab_host, default=None, metavar="HOST",
                     help="a host kept joined all along, so the group stays registered on the bridge")
    parser.add_argument("--ssm", action="store_true", help="receivers join (sender address, GROUP) with option 39")
    parser.add_argument("--port", type=int, default=5001, help="UDP port (default 5001)")
    parser.add_argument("--rate", type=options.rate, default="1000pps", help="stream rate; sets the delay resolution (default 1000pps)")
    parser.add_argument("--size", type=int, default=64, help="datagram bytes (default 64)")
    parser.add_argument("--hold", type=_SECONDS, default="1s", metavar="T", help="how long receivers stay joined (default 1s)")
    parser.add_argument("--repeat", type=int, default=1, metavar="N", help="join/leave rounds (default 1)")
    parser.add_argument("--leave-timeout", type=_SECONDS, default="5s", metavar="T",
                        help="traffic must stop within this after the leave (default 5s)")
    parser.add_argument("--max-join-delay", type=_SECONDS, default=None, metavar="T", help="fail when a join takes longer")
    parser.add_argument("--max-leave-delay", type=_SECONDS, default=None, metavar="T", help="fail when a leave takes longer")
    parser.add_argument("--json", action="store_true", help="print JSON (docs/lab.md)")
    pictures.add_options(parser)
    parser.add_argument("--force", action="store_true", help="overwrite an existing --html file")


def run(args: argparse.Namespace, env: Environment) -> ExitStatus:
    from mdiag.adapters import lab as lab_mod
    from mdiag.cli.commands.listen import parse_group_list

    groups, errors = parse_group_list([args.group], hint="")
    if errors or len(groups) != 1:
        raise InputError(errors[0] if errors else f"verify takes one group, not {args.group!r}")
    group = groups[0]
    if not 1 <= args.repeat <= MAX_REPEAT:
        raise InputError(f"--repeat {args.repeat} must be 1..{MAX_REPEAT}")
    pictures.check_outputs(args)
    if not 1 <= args.port <= 65535:
        raise InputError(f"--port {args.port} is out of range 1..65535")
    if not 32 <= args.size <= 65507:
        raise InputError(f"--size {args.size} must be 32..65507")
    rate = args.rate
    if rate.unlimited:
        raise InputError("--rate max would flood the lab; give a rate such as 1000pps")
    pps = rate.pps(args.size)
    if pps > 100_000:
        raise InputError(f"--rate {rate} is {pps:,.0f} pps; verify needs at most 100,000 pps")
    hold, leave_timeout = args.hold, args.leave_timeout
    max_join, max_leave = args.max_join_delay, args.max_leave_delay

    temp_lab = None
    flood_note = None
    if args.lab:
        if args.sender_iface or args.receiver_iface or args.non_member_iface:
            raise UsageError("give either --lab or --sender-iface/--receiver-iface, not both")
        lab_mod.require_root()
        prefix = args.lab_prefix or lab_mod.DEFAULT_PREFIX
        lab = lab_mod.Lab.existing(prefix)
        if lab is None or not lab.is_up():
            temp_lab = lab_mod.Lab(prefix=f"mdv{os.getpid()}", hosts=3, bridge=lab_mod.BridgeConfig())
            env.warn(f"no lab {prefix} is up: using a temporary 3-host lab {temp_lab.prefix} "
                     "(querier v3, default bridge timers), removed afterwards")
            temp_lab.up()
            lab = temp_lab
        sender = _lab_endpoint(lab, args.sender)
        names = (args.receivers if args.receivers is not None
                 else [h.name for h in lab.all_hosts if h.name not in (args.sender, args.anchor)])
        receivers = [_lab_endpoint(lab, n) for n in names]
        anchor = _lab_endpoint(lab, args.anchor) if args.anchor else None
        used = {sender.name, *(r.name for r in receivers), *([anchor.name] if anchor else [])}
        if len(used) != 1 + len(receivers) + (1 if anchor else 0):
            raise UsageError("sender, receivers and anchor must be different lab hosts")
        non_members = [_lab_endpoint(lab, h.name) for h in lab.all_hosts if h.name not in used]
        if not lab.bridge.snooping or lab.bridge.querier == "off":
            flood_note = ("the lab bridge has " + ("snooping off" if not lab.bridge.snooping else "no querier")
                          + ": it forwards multicast by port flags (mcast_flood), not by joins and leaves")
    else:
        if not args.sender_iface or not args.receiver_iface:
            raise UsageError("give --lab, or --sender-iface and at least one --receiver-iface")
        sender = _parse_endpoint(args.sender_iface)
        receivers = [_parse_endpoint(t) for t in args.receiver_iface]
        non_members = [_parse_endpoint(t) for t in args.non_member_iface]
        anchor = None
    if not receivers:
        raise UsageError("no receiver: the lab needs at least 2 hosts, or give --receivers")
    try:
        result = _verify(group, sender, receivers, non_members, anchor, args, pps, hold,
                         leave_timeout, max_join, max_leave, flood_note)
    finally:
        if temp_lab is not None:
            temp_lab.down()
    _render(env, args, result)

    def page() -> str:
        from mdiag.htmlreport.probes import verify_page

        return verify_page(result)
    pictures.write_probe(args, page, lambda text: print(f"mdiag: {text}", file=env.stderr))
    if result["interrupted"]:
        return ExitStatus.INTERRUPTED
    return ExitStatus.OK if result["ok"] else ExitStatus.PROBLEM_FOUND


def _lab_endpoint(lab: Any, name: str) -> Endpoint:
    h = lab.host(name)
    return Endpoint(h.name, h.netns, h.iface)


def _in(endpoint: Endpoint) -> Any:
    from mdiag.adapters.netns import entered

    return entered(endpoint.netns)


def _verify(group: str, sender_ep: Endpoint, receivers: list[Endpoint], non_members: list[Endpoint],
            anchor: Endpoint | None, args: argparse.Namespace, pps: float, hold: float,
            leave_timeout: float, max_join: float | None, max_leave: float | None,
            flood_note: str | None) -> dict[str, Any]:
    from mdiag.adapters import interfaces, rawsock, sockets
    from mdiag.core.rate import Pacing

    port = args.port
    with _in(sender_ep):
        sender_address = interfaces.first_ipv4(sender_ep.iface)
        sender = sockets.Sender(group, port, sender_ep.iface, loop=False)
    source = None
    if args.ssm:
        if not sender_address:
            raise InputError(f"--ssm needs an IPv4 address on the sender's {sender_ep.iface}")
        source = sender_address
    observers: list[_Observer] = []
    stop = threading.Event()
    threads: list[threading.Thread] = []
    packed_group = socket.inet_aton(group)
    quiet_ns = int(max(0.25, 20.0 / pps) * 1e9)
    interrupted = False
    try:
        for role, eps in (("receiver", receivers), ("non-member", non_members),
                          ("anchor", [anchor] if anchor else [])):
            for ep in eps:
                obs = _Observer(ep, role)
                observers.append(obs)
                with _in(ep):
                    obs.raw = rawsock.RawSocket(ep.iface, rawsock.igmp_or_udp_to(group, port))
                    if role != "non-member":
                        obs.receiver = sockets.Receiver([sockets.Join(group, source)], ep.iface, port)
                        obs.receiver.open()
                        obs.collector = sockets.StreamCollector()
        for obs in observers:
            threads.append(threading.Thread(target=_capture, args=(obs, packed_group, port, stop),
                                            daemon=True))
            if obs.receiver is not None:
                threads.append(threading.Thread(
                    target=obs.receiver.receive, args=(obs.collector,),
                    kwargs={"stop": stop.is_set}, daemon=True))
        budget_s = 0.5 + args.repeat * (hold + leave_timeout + 1.0) + 5.0
        send_thread = threading.Thread(
            target=lambda: sender.send_stream(size=args.size, pacing=Pacing(pps, burst=4), budget=None,
                                              duration=budget_s, stream_id=sockets.random_stream_id(),
                                              stop=stop.is_set), daemon=True)
        for t in threads:
            t.start()
        send_thread.start()
        anchor_obs = [o for o in observers if o.role == "anchor"]
        for o in anchor_obs:
            o.receiver.join()
        time.sleep(0.25)  # the stream runs before the first join: flooding would show up now
        members = [o for o in observers if o.role == "receiver"]
        windows: list[tuple[int, int]] = []
        try:
            _rounds(args, members, windows, hold, leave_timeout, quiet_ns)
        except KeyboardInterrupt:  # Ctrl-C: report the rounds that finished, if any
            done = min((len(o.rounds) for o in members), default=0)
            if not done:
                raise
            interrupted = True
            del windows[done:]
            for o in members:
                del o.rounds[done:]
                del o.delivered_at_leave[done:]
    finally:
        stop.set()
        for t in threads:
            t.join(2)
        for obs in observers:
            if obs.receiver is not None:
                obs.receiver.close()
            if obs.raw is not None:
                obs.raw.close()
        sender.close()
    result = _summarise(group, sender_ep, sender_address, source, observers, windows, args, max_join,
                        max_leave, leave_timeout, flood_note)
    result["rounds_done"] = len(windows)
    result["interrupted"] = interrupted
    return result


def _rounds(args: argparse.Namespace, members: list[_Observer], windows: list[tuple[int, int]],
            hold: float, leave_timeout: float, quiet_ns: int) -> None:
    """The join/hold/leave rounds; each finished round appends to ``windows`` and ``o.rounds``."""
    for _round in range(args.repeat):
        join_ns = time.time_ns()
        for o in members:
            o.receiver.join()
        time.sleep(hold)
        leave_ns = time.time_ns()
        for o in members:
            o.delivered_at_leave.append(o.collector.data_packets)
            o.receiver.leave()
        windows.append((join_ns, leave_ns))
        deadline = time.monotonic() + leave_timeout
        while time.monotonic() < deadline:
            time.sleep(min(0.05, quiet_ns / 4e9))
            now = time.time_ns()
            if all(_last_data(o.frames, leave_ns) < now - quiet_ns for o in members):
                break
        time.sleep(quiet_ns / 1e9)
        for o in members:
            o.rounds.append(_round_result(o.frames, join_ns, leave_ns, leave_timeout, quiet_ns))


def _capture(obs: _Observer, packed_group: bytes, port: int, stop: threading.Event) -> None:
    raw = obs.raw
    while not stop.is_set():
        got = raw.recv(0.05)
        if got is None:
            continue
        f = got.frame
        if len(f) < 34 or f[12:14] != b"\x08\x00":
            continue
        proto = f[23]
        if proto == 2 and got.outgoing:
            obs.frames.append((got.ts_ns, "report"))
        elif proto == 17 and not got.outgoing and f[30:34] == packed_group:
            ihl = (f[14] & 0x0F) * 4
            if len(f) >= 14 + ihl + 4 and int.from_bytes(f[14 + ihl + 2:14 + ihl + 4], "big") == port:
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


def _summarise(group: str, sender_ep: Endpoint, sender_address: str | None, source: str | None,
               observers: list[_Observer], windows: list[tuple[int, int]], args: argparse.Namespace,
               max_join: float | None, max_leave: float | None, leave_timeout: float,
               flood_note: str | None) -> dict[str, Any]:
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
            mine.append(f"{o.endpoint.name}: nothing delivered in {missing} of {len(rounds)} round(s)")
        not_stopped = sum(1 for r in rounds if not r["stopped"])
        if not_stopped:
            mine.append(f"{o.endpoint.name}: traffic did not stop within {leave_timeout:g} s of the leave "
                        f"in {not_stopped} of {len(rounds)} round(s)" + (f" ({flood_note})" if flood_note else ""))
        if max_join is not None and joins and max(joins) > max_join * 1e3:
            mine.append(f"{o.endpoint.name}: join delay {max(joins):.1f} ms exceeds --max-join-delay")
        if max_leave is not None and leaves and max(leaves) > max_leave * 1e3:
            mine.append(f"{o.endpoint.name}: leave delay {max(leaves):.1f} ms exceeds --max-leave-delay")
        problems += mine
        receivers_out.append({
            "host": o.endpoint.name, "netns": o.endpoint.netns, "iface": o.endpoint.iface,
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
            mine.append(f"{o.endpoint.name} (not a member) got {leaked} of the group's datagrams while "
                        "the receivers were joined: the switch floods the group")
        problems += mine
        non_out.append({"host": o.endpoint.name, "netns": o.endpoint.netns, "iface": o.endpoint.iface,
                        "datagrams_while_joined": leaked, "datagrams_total": total, "ok": not mine,
                        "problems": mine})
    return {"group": group, "port": args.port, "source": source,
            "sender": {"host": sender_ep.name, "netns": sender_ep.netns, "iface": sender_ep.iface,
                       "address": sender_address},
            "repeat": args.repeat, "rate": str(args.rate), "hold_s": args.hold,
            "receivers": receivers_out, "non_members": non_out,
            "anchor": next((o.endpoint.name for o in observers if o.role == "anchor"), None),
            "notes": [flood_note] if flood_note else [], "problems": problems, "ok": not problems}


def _fmt(stats: dict[str, Any] | None) -> str:
    if stats is None:
        return "-"
    if len(stats["samples"]) == 1:
        return f"{stats['min']:.1f}"
    return f"{stats['min']:.1f}/{stats['median']:.1f}/{stats['max']:.1f}"


def _render(env: Environment, args: argparse.Namespace, result: dict[str, Any]) -> None:
    from mdiag.cli import render

    if args.json:
        render.emit_json(result, env.stdout, "verify")
        return
    what = f"({result['source']}, {result['group']})" if result["source"] else result["group"]
    s = result["sender"]
    print(f"verify {what} port {result['port']} from {s['host']} ({s['address'] or '?'}) at "
          f"{result['rate']}, {result['repeat']} round(s) of {result['hold_s']:g} s joined", file=env.stdout)
    rows = []
    label = "min/median/max " if result["repeat"] > 1 else ""
    for r in result["receivers"]:
        rows.append([r["host"], "receiver", "yes" if r["delivered"] else "NO",
                     " / ".join(f"{c:,}" for c in r["datagrams"]), _fmt(r["join_delay_ms"]),
                     _fmt(r["leave_delay_ms"]) if r["stopped_after_leave"] else "did not stop",
                     "ok" if r["ok"] else "FAIL"])
    for n in result["non_members"]:
        rows.append([n["host"], "non-member", "no" if not n["datagrams_while_joined"] else "YES",
                     f"{n['datagrams_while_joined']:,}", "-", "-", "ok" if n["ok"] else "FAIL"])
    render.table(rows, ["host", "role", "delivered",
                        "datagrams per round" if result["repeat"] > 1 else "datagrams",
                        f"join delay ms {label}".strip(),
                        f"leave delay ms {label}".strip(), "verdict"], env.stdout)
    for note in result["notes"]:
        print(f"note: {note}", file=env.stdout)
    for p in result["problems"]:
        print(f"FAIL: {p}", file=env.stdout)
    if result["interrupted"]:
        print(f"interrupted after {result['rounds_done']} of {result['repeat']} round(s): "
              "the figures above cover those", file=env.stdout)
    print("verdict: " + ("every expectation holds" if result["ok"] else
                         f"{len(result['problems'])} expectation(s) failed"), file=env.stdout)
