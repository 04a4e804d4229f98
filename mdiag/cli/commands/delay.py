"""``mdiag delay``: join and leave delay through a snooping switch, RFC 3918 style.

A sender streams to the group at a steady rate; the receiver joins with a real socket
(the kernel sends the report), stays joined for ``--hold``, leaves, and mdiag times, on
the receiver's interface with kernel capture timestamps, the report and the first
forwarded packet (join delay), the leave and the last forwarded packet (leave delay).
``--repeat N`` gives min/median/p95/max. See docs/active.md.
"""

from __future__ import annotations

import argparse
import ipaddress
import socket
import struct
import threading
import time
from dataclasses import dataclass
from typing import Any

from mdiag.cli import options, pictures
from mdiag.cli.environment import Environment
from mdiag.errors import ExitStatus, InputError, UsageError

HELP = "measure join and leave delay through a snooping switch (RFC 3918), e.g. in the lab"

MAX_RATE = 100_000
MAX_REPEAT = 1000
#: Pause with the stream running before each join, so data that is flooded shows up.
PRE_ROLL = 0.15


#: durations: 2, 2s, 500ms, 1m (mdiag.cli.options, as in querier/discover/replay)
duration = options.duration(600.0, allow_zero=True)


def _anchor(text: str) -> str:
    """``--anchor``: a lab host, or ``none`` for no anchor."""
    return "none" if text.lower() == "none" else options.lab_host(text)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--lab", action="store_true",
                        help="use the running mdiag lab (mdiag lab up): sender and receiver are lab hosts")
    parser.add_argument("--lab-prefix", type=options.lab_prefix, default=None, metavar="P", help="lab name prefix (default mdlab)")
    parser.add_argument("--sender", type=options.lab_host, default="h1", metavar="HOST", help="lab sender host (default h1)")
    parser.add_argument("--receiver", type=options.lab_host, default="h2", metavar="HOST", help="lab receiver host (default h2)")
    parser.add_argument("--anchor", type=_anchor, default=None, metavar="HOST",
                        help="lab host kept joined all along, so the group stays registered and the "
                             "switch does not flood it (default h3 when the lab has one; 'none' for none)")
    parser.add_argument("--sender-iface", type=options.iface, metavar="IFACE", help="sender interface (without --lab)")
    parser.add_argument("--sender-netns", type=options.netns, metavar="NS", help="namespace of the sender interface")
    parser.add_argument("--receiver-iface", type=options.iface, metavar="IFACE", help="receiver interface (without --lab)")
    parser.add_argument("--receiver-netns", type=options.netns, metavar="NS", help="namespace of the receiver interface")
    parser.add_argument("--group", type=options.group, default=None, metavar="G",
                        help="group (default 239.1.2.3, or 232.1.2.3 with --ssm)")
    parser.add_argument("--ssm", action="store_true",
                        help="source-specific join (S,G) with S the sender's address (IGMPv3)")
    parser.add_argument("--port", type=int, default=5001, help="UDP port (default 5001)")
    parser.add_argument("--rate", type=float, default=1000.0, metavar="PPS",
                        help="sender packets per second (default 1000: 1 ms resolution)")
    parser.add_argument("--repeat", type=int, default=5, metavar="N", help="join/leave cycles (default 5)")
    parser.add_argument("--hold", type=duration, default=0.5, metavar="T",
                        help="time joined in each cycle (default 500ms)")
    parser.add_argument("--settle", type=duration, default=None, metavar="T",
                        help="time watched after each leave (default: the lab bridge's last member "
                             "query time + 0.5 s, else 3 s)")
    parser.add_argument("--max-join", type=duration, metavar="T", help="exit 1 if a join delay exceeds T")
    pictures.add_options(parser)
    parser.add_argument("--force", action="store_true", help="overwrite an existing --html file")
    parser.add_argument("--max-leave", type=duration, metavar="T", help="exit 1 if a leave delay exceeds T")
    parser.add_argument("--json", action="store_true", help="JSON output (schema in docs/active.md)")


@dataclass
class _Ends:
    sender_iface: str
    sender_netns: str | None
    receiver_iface: str
    receiver_netns: str | None
    anchor_netns: str | None = None
    anchor_iface: str | None = None
    settle: float = 3.0
    lab: Any = None
    anchor_name: str | None = None
    #: bound of the wait for the stream to stop being flooded before the first cycle
    quiet_timeout: float = 2.0


def _resolve(args: argparse.Namespace) -> _Ends:
    explicit = args.sender_iface or args.receiver_iface
    if args.lab and explicit:
        raise UsageError("give either --lab or --sender-iface/--receiver-iface, not both")
    if not args.lab:
        if not (args.sender_iface and args.receiver_iface):
            raise UsageError("delay needs --lab, or both --sender-iface and --receiver-iface "
                             "(mdiag never picks an interface on its own)")
        if (args.sender_iface, args.sender_netns) == (args.receiver_iface, args.receiver_netns):
            raise UsageError("sender and receiver must be different interfaces")
        return _Ends(args.sender_iface, args.sender_netns, args.receiver_iface, args.receiver_netns,
                     settle=args.settle if args.settle is not None else 3.0)
    from mdiag.adapters.lab import DEFAULT_PREFIX, Lab

    prefix = args.lab_prefix or DEFAULT_PREFIX
    lab = Lab.existing(prefix)
    if lab is None:
        raise InputError(f"no lab {prefix!r} is up: start one with 'mdiag lab up' (or give --lab-prefix)")
    sender, receiver = lab.host(args.sender), lab.host(args.receiver)
    if sender.name == receiver.name:
        raise UsageError("--sender and --receiver must be different lab hosts")
    anchor = None
    if args.anchor is None:
        spare = [h for h in lab.all_hosts if h.name not in (sender.name, receiver.name)]
        anchor = spare[0] if spare else None
    elif args.anchor.lower() != "none":
        anchor = lab.host(args.anchor)
        if anchor.name in (sender.name, receiver.name):
            raise UsageError("--anchor must be a third lab host")
    settle = args.settle
    if settle is None:
        b = lab.bridge
        lmqt = (b.last_member_interval or 1.0) * (b.last_member_count or 2)
        settle = lmqt + 0.5
    quiet = max(2.0, (lab.bridge.query_response_interval or 10.0) + 0.5)
    return _Ends(sender.iface, sender.netns, receiver.iface, receiver.netns,
                 anchor.netns if anchor else None, anchor.iface if anchor else None, settle,
                 lab, anchor.name if anchor else None, quiet)


def _wait_registered(ends: _Ends, group: str, timeout: float = 2.0) -> bool:
    """In the lab, wait (bounded) until the bridge lists the anchor as a member of ``group``."""
    if ends.lab is None or ends.anchor_name is None:
        return True
    end = time.monotonic() + timeout
    while True:
        if ends.anchor_name in ends.lab.members(group):
            return True
        if time.monotonic() >= end:
            return False
        time.sleep(0.05)


def _wait_not_flooded(capture: Any, group: str, source: str | None, rate: float, timeout: float) -> bool:
    """With the stream running and the receiver not joined, wait (bounded) until no
    datagram reaches the receiver for a window of several packet gaps.

    A switch floods a group while it has no querier (the Linux bridge for one query
    response interval after its querier is switched on or another querier appears,
    br_multicast_querier_exists) or while the group is unregistered (RFC 4541 2.1.2);
    a join measured then would be meaningless. Returns False if still flooded at the
    end (each cycle then reports ``delay-flooded-before-join``).
    """
    from mdiag.core.delay import EventKind

    window = min(max(0.1, 5.0 / rate), timeout)
    end = time.monotonic() + timeout
    while True:
        now = time.monotonic()
        if now >= end:
            return False
        flooded = False
        for c in capture.capture(min(now + window, end)):
            if _classify(c, group, source) is EventKind.DATA:
                flooded = True
                break
        if not flooded:  # a whole window without a datagram
            return True
        capture.drain()


def _mreqn(group: str, ifindex: int) -> bytes:
    return struct.pack("4s4si", socket.inet_aton(group), b"\0" * 4, ifindex)


def _member(iface: str, group: str, source: str | None, port: int) -> Any:
    """A receiving socket that joins and leaves ``group`` (from source ``source``) on ``iface``:
    the socket layer's :class:`~mdiag.adapters.sockets.Receiver` (ip_mreqn by ifindex, or
    IP_ADD_SOURCE_MEMBERSHIP), with its kernel-error explanations."""
    from mdiag.adapters.sockets import Join, Receiver

    return Receiver([Join(group, source)], iface, port)


class _Stream(threading.Thread):
    """Paced UDP sender (absolute schedule, so the rate does not drift)."""

    def __init__(self, sock: socket.socket, rate: float, limit_s: float) -> None:
        super().__init__(daemon=True, name="mdiag-delay-sender")
        self.sock, self.rate, self.limit = sock, rate, limit_s
        self.stop_event = threading.Event()
        self.sent = 0
        self.error: OSError | None = None

    def run(self) -> None:
        gap = 1.0 / self.rate
        start = time.perf_counter()
        end = start + self.limit
        payload = bytearray(64)
        while not self.stop_event.is_set():
            due = start + self.sent * gap
            now = time.perf_counter()
            if now > end:
                return
            if due > now:
                time.sleep(min(due - now, 0.05))
                continue
            struct.pack_into("!4sQQ", payload, 0, b"MDLY", self.sent, time.time_ns())
            try:
                self.sock.send(payload)
            except OSError as exc:
                self.error = exc
                return
            self.sent += 1


def _classify(captured: Any, group: str, source: str | None) -> Any:
    """JOIN / LEAVE for the receiver's outgoing reports about ``group``, DATA for
    incoming datagrams to it, None otherwise."""
    from mdiag.probes.frames import decode_igmp
    from mdiag.core.delay import EventKind
    from mdiag.core.igmp.messages import V1Report, V2Leave, V2Report, V3Report

    frame = captured.frame
    if not captured.outgoing:
        # IPv4/UDP to the group (the capture filter already matched group and port)
        ip = 14
        if len(frame) > ip + 20 and frame[12:14] == b"\x08\x00" and frame[ip + 9] == 17:
            return EventKind.DATA
        return None
    got = decode_igmp(frame)
    if got is None:
        return None
    message = got[0].message
    if isinstance(message, (V1Report, V2Report)) and str(message.group) == group:
        return EventKind.JOIN
    if isinstance(message, V2Leave) and str(message.group) == group:
        return EventKind.LEAVE
    if isinstance(message, V3Report):
        for r in message.records:
            if str(r.group) != group:
                continue
            kind = int(r.record_type)
            srcs = {str(s) for s in r.sources}
            if kind in (2, 4) or (kind in (1, 5) and (source is None or source in srcs)):
                return EventKind.JOIN  # IS_EX / TO_EX / IS_IN(S) / ALLOW(S)
            if (kind == 3 and not srcs) or (kind == 6 and (source is None or source in srcs)):
                return EventKind.LEAVE  # TO_IN({}) / BLOCK(S)
    return None


def run(args: argparse.Namespace, env: Environment) -> ExitStatus:
    if not 1 <= args.repeat <= MAX_REPEAT:
        raise UsageError(f"--repeat must be 1..{MAX_REPEAT}")
    pictures.check_outputs(args)
    if not 1 <= args.rate <= MAX_RATE:
        raise UsageError(f"--rate must be 1..{MAX_RATE} packets/s")
    if not 1 <= args.port <= 65535:
        raise UsageError("--port must be 1..65535")
    group = args.group or ("232.1.2.3" if args.ssm else "239.1.2.3")
    try:
        g = ipaddress.IPv4Address(group)
    except ValueError:
        raise UsageError(f"--group {group!r} is not an IPv4 address") from None
    if not g.is_multicast or g in ipaddress.IPv4Network("224.0.0.0/24"):
        raise UsageError(f"--group {group} must be a multicast group outside 224.0.0.0/24 "
                         "(link-local groups are always flooded, RFC 4541 2.1.2)")
    ends = _resolve(args)

    from mdiag.adapters import interfaces, rawsock
    from mdiag.adapters.netns import entered
    from mdiag.core.delay import DelayReport, Event, analyse_trial

    with entered(ends.sender_netns):
        rawsock.require_cap_net_raw("measuring join/leave delay")
        sender_ifindex = interfaces.interface_index(ends.sender_iface)
        sender_addr = interfaces.first_ipv4(ends.sender_iface)
        tx = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    source = None
    if args.ssm:
        if sender_addr is None:
            tx.close()
            raise InputError(f"{ends.sender_iface} has no IPv4 address: an SSM join needs the sender's address")
        source = sender_addr
    opened: list[Any] = [tx]
    setup_findings: list[Any] = []
    try:
        tx.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_IF, _mreqn("0.0.0.0", sender_ifindex))
        tx.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_TTL, 1)
        tx.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_LOOP, 0)
        tx.connect((group, args.port))
        with entered(ends.receiver_netns):
            capture = rawsock.RawSocket(ends.receiver_iface, rawsock.igmp_or_udp_to(group, args.port))
            opened.append(capture)
            member = _member(ends.receiver_iface, group, source, args.port)
            opened.append(member)
        anchor = None
        if ends.anchor_netns and ends.anchor_iface:
            with entered(ends.anchor_netns):
                anchor = _member(ends.anchor_iface, group, source, args.port)
                opened.append(anchor)
            anchor.join()
            if not _wait_registered(ends, group):
                from mdiag.core.findings import Finding, Severity

                setup_findings.append(Finding(
                    "delay-anchor-not-registered", Severity.WARNING,
                    f"the bridge did not list the anchor {ends.anchor_name} as a member of {group} "
                    "within 2 s: the group may be flooded as unregistered", "RFC 4541 2.1.2"))
        per_trial = PRE_ROLL + args.hold + ends.settle
        stream = _Stream(tx, args.rate, per_trial * args.repeat + 5.0)
        stream.start()
        trials = []
        try:
            _wait_not_flooded(capture, group, source, args.rate, ends.quiet_timeout)
            for _ in range(args.repeat):
                capture.drain()
                events: list[Any] = []
                end_ns = 0

                def watch(seconds: float) -> None:
                    nonlocal end_ns
                    for c in capture.capture(time.monotonic() + seconds):
                        kind = _classify(c, group, source)
                        if kind is not None:
                            events.append(Event(c.ts_ns, kind))
                    end_ns = time.time_ns()

                watch(PRE_ROLL)
                member.join()
                watch(args.hold)
                member.leave()
                watch(ends.settle)
                trials.append(analyse_trial(events, end_ns=end_ns, group=group))
                if stream.error is not None:
                    raise InputError(f"sending to {group}: {stream.error.strerror}")
        finally:
            stream.stop_event.set()
            stream.join(2.0)
        report = DelayReport(tuple(trials), rate_pps=args.rate)
    finally:
        for thing in reversed(opened):
            thing.close()
    return _render(report, args, env, group, source, ends, stream.sent, setup_findings)


def _ms(value: float | None) -> str:
    return "-" if value is None else f"{value * 1000:.3f}"


def _render(report: Any, args: argparse.Namespace, env: Environment, group: str, source: str | None,
            ends: _Ends, sent: int, setup: list[Any]) -> ExitStatus:
    from mdiag.core.findings import Severity

    limits = report.check(max_join=args.max_join, max_leave=args.max_leave)
    findings = setup + report.findings + limits
    failed = any(f.severity >= Severity.ERROR for f in findings)
    target = f"({source}, {group})" if source else f"(*, {group})"
    body = {"group": group, "source": source, "port": args.port, "rate_pps": args.rate,
            "resolution": report.resolution, "sent": sent,
            "sender": {"iface": ends.sender_iface, "netns": ends.sender_netns},
            "receiver": {"iface": ends.receiver_iface, "netns": ends.receiver_netns},
            "anchor": ends.anchor_netns, "trials": [t.to_json() for t in report.trials],
            "join": report.join.to_json(), "leave": report.leave.to_json(),
            "ok": not failed, "findings": [f.to_json() for f in findings]}
    if args.json:
        from mdiag.cli.render import emit_json

        emit_json(body, env.stdout, "delay")
    else:
        from mdiag.cli.render import table

        out = env.stdout
        print(f"{target} port {args.port}, {args.rate:g} packets/s (resolution "
              f"{report.resolution * 1000:g} ms), {len(report.trials)} cycle(s), "
              f"receiver {ends.receiver_netns + ':' if ends.receiver_netns else ''}{ends.receiver_iface}",
              file=out)
        table([[i, _ms(t.join_delay), _ms(t.leave_delay), t.received, t.before_join]
               for i, t in enumerate(report.trials, 1)],
              ["cycle", "join delay (ms)", "leave delay (ms)", "received", "before join"], out)
        print(file=out)
        table([[name, s.count, _ms(s.minimum), _ms(s.median), _ms(s.p95), _ms(s.maximum)]
               for name, s in (("join", report.join), ("leave", report.leave))],
              ["delay", "n", "min (ms)", "median (ms)", "p95 (ms)", "max (ms)"], out)
        for f in findings:
            print(f"{f.severity}: {f.code}: {f.message}", file=out)

    def page() -> str:
        from mdiag.htmlreport.probes import delay_page

        return delay_page(body)
    pictures.write_probe(args, page, lambda text: print(f"mdiag: {text}", file=env.stderr))
    return ExitStatus.PROBLEM_FOUND if failed else ExitStatus.OK
