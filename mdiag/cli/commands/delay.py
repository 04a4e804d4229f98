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
from typing import Any

from mdiag.cli import options, pictures
from mdiag.cli.environment import Environment
from mdiag.errors import ExitStatus, UsageError

HELP = "measure join and leave delay through a snooping switch (RFC 3918), e.g. in the lab"

MAX_RATE = 100_000   # as mdiag.probes.delay
MAX_REPEAT = 1000


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
    parser.add_argument("--rate", action=options.RateWithBareNumber, default=None, metavar="RATE",
                        help="stream rate, e.g. 1000pps or 2mbit (default 1000pps: 1 ms resolution)")
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


def _pps(args: argparse.Namespace) -> float:
    """Packets/s of ``--rate`` (default 1000pps) for the delay stream's datagrams."""
    from mdiag.probes.delay import SIZE

    if args.rate is None:
        return 1000.0
    if args.rate.unlimited:
        raise UsageError("--rate max would flood the link; give a rate such as 1000pps")
    return float(args.rate.pps(SIZE))


def _resolve(args: argparse.Namespace) -> tuple[Any, Any]:
    """(probe options, the lab or None) from the command line."""
    from mdiag.probes.delay import DelayOptions
    from mdiag.probes.network import Endpoint

    explicit = args.sender_iface or args.receiver_iface
    if args.lab and explicit:
        raise UsageError("give either --lab or --sender-iface/--receiver-iface, not both")
    group = args.group or ("232.1.2.3" if args.ssm else "239.1.2.3")
    common = dict(group=group, port=args.port, ssm=args.ssm, rate=_pps(args), repeat=args.repeat,
                  hold=args.hold, max_join=args.max_join, max_leave=args.max_leave)
    if not args.lab:
        if not (args.sender_iface and args.receiver_iface):
            raise UsageError("delay needs --lab, or both --sender-iface and --receiver-iface "
                             "(mdiag never picks an interface on its own)")
        if (args.sender_iface, args.sender_netns) == (args.receiver_iface, args.receiver_netns):
            raise UsageError("sender and receiver must be different interfaces")
        return DelayOptions(Endpoint(args.sender_iface, args.sender_netns),
                            Endpoint(args.receiver_iface, args.receiver_netns),
                            settle=args.settle if args.settle is not None else 3.0, **common), None
    lab = options.running_lab(args.lab_prefix)
    sender, receiver = lab.host(args.sender), lab.host(args.receiver)
    if sender.name == receiver.name:
        raise UsageError("--sender and --receiver must be different lab hosts")
    anchor = None
    if args.anchor is None:
        spare = [h for h in lab.all_hosts if h.name not in (sender.name, receiver.name)]
        anchor = spare[0] if spare else None
    elif args.anchor != "none":
        anchor = lab.host(args.anchor)
        if anchor.name in (sender.name, receiver.name):
            raise UsageError("--anchor must be a third lab host")
    settle = args.settle
    if settle is None:
        b = lab.bridge
        settle = (b.last_member_interval or 1.0) * (b.last_member_count or 2) + 0.5
    quiet = max(2.0, (lab.bridge.query_response_interval or 10.0) + 0.5)

    def at(h: Any) -> Endpoint:
        return Endpoint(h.iface, h.netns, h.name)

    return DelayOptions(at(sender), at(receiver), settle=settle, quiet_timeout=quiet,
                        anchor=at(anchor) if anchor else None, **common), lab


def run(args: argparse.Namespace, env: Environment) -> ExitStatus:
    if not 1 <= args.repeat <= MAX_REPEAT:
        raise UsageError(f"--repeat must be 1..{MAX_REPEAT}")
    pictures.check_outputs(args)
    if not 1 <= _pps(args) <= MAX_RATE:
        raise UsageError(f"--rate must be 1..{MAX_RATE} packets/s")
    if not 1 <= args.port <= 65535:
        raise UsageError("--port must be 1..65535")
    group = args.group or ("232.1.2.3" if args.ssm else "239.1.2.3")
    try:
        g = ipaddress.ip_address(group)
    except ValueError:
        raise UsageError(f"--group {group!r} is not an IPv4 or IPv6 address") from None
    group = str(g)
    link_local = (g in ipaddress.IPv4Network("224.0.0.0/24") if g.version == 4
                  else (int(g) >> 112) & 0xF in (1, 2))
    if not g.is_multicast or link_local:
        raise UsageError(f"--group {group} must be a multicast group outside "
                         f"{'ff01::/16 and ff02::/16' if g.version == 6 else '224.0.0.0/24'} "
                         "(link-local groups are always flooded, RFC 4541 2.1.2, 3)")
    args.group = group
    probe_options, lab = _resolve(args)

    from mdiag.adapters.network import LiveNetwork
    from mdiag.probes import delay

    registered = None
    if lab is not None and probe_options.anchor is not None:
        anchor_name = probe_options.anchor.name

        def registered(group: str) -> bool:
            return anchor_name in lab.members(group)

    return _render(delay.run(probe_options, LiveNetwork(), registered=registered), args, env)


def _ms(value: float | None) -> str:
    return "-" if value is None else f"{value * 1000:.3f}"


def _render(result: Any, args: argparse.Namespace, env: Environment) -> ExitStatus:
    o, report = result.options, result.report
    body = result.to_json()
    if args.json:
        from mdiag.cli.render import emit_json

        emit_json(body, env.stdout, "delay")
    else:
        from mdiag.cli.render import table

        out = env.stdout
        target = f"({result.source}, {o.group})" if result.source else f"(*, {o.group})"
        receiver = f"{o.receiver.netns + ':' if o.receiver.netns else ''}{o.receiver.iface}"
        print(f"{target} port {o.port}, {o.rate:g} packets/s (resolution "
              f"{report.resolution * 1000:g} ms), {len(report.trials)} cycle(s), receiver {receiver}",
              file=out)
        table([[i, _ms(t.join_delay), _ms(t.leave_delay), t.received, t.before_join]
               for i, t in enumerate(report.trials, 1)],
              ["cycle", "join delay (ms)", "leave delay (ms)", "received", "before join"], out)
        print(file=out)
        table([[name, s.count, _ms(s.minimum), _ms(s.median), _ms(s.p95), _ms(s.maximum)]
               for name, s in (("join", report.join), ("leave", report.leave))],
              ["delay", "n", "min (ms)", "median (ms)", "p95 (ms)", "max (ms)"], out)
        for f in result.findings:
            print(f"{f.severity}: {f.code}: {f.message}", file=out)

    def page() -> str:
        from mdiag.htmlreport.probes import delay_page

        return delay_page(body)
    pictures.write_probe(args, page, lambda text: print(f"mdiag: {text}", file=env.stderr))
    return ExitStatus.OK if result.ok else ExitStatus.PROBLEM_FOUND
