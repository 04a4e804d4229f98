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
import os
import socket
import time
from typing import Any

from mdiag.cli import options, pictures
from mdiag.cli.environment import Environment
from mdiag.errors import ExitStatus, InputError, UsageError

HELP = "verify delivery of a group to receivers with join and leave delay (RFC 3918), e.g. in the lab"

MAX_REPEAT = 100  # as mdiag.probes.verify.MAX_REPEAT


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
    lab.add_argument("--receiver", dest="receivers", type=options.lab_hosts, action="append", default=None,
                     metavar="H2[,H3]", help="receiver host(s), repeatable (default: every other host)")
    options.deprecated(lab, "--receivers", "--receiver", dest="receivers", type=options.lab_hosts)
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
    parser.add_argument("--max-join", dest="max_join_delay", type=_SECONDS, default=None, metavar="T",
                        help="fail when a join takes longer")
    parser.add_argument("--max-leave", dest="max_leave_delay", type=_SECONDS, default=None, metavar="T",
                        help="fail when a leave takes longer")
    options.deprecated(parser, "--max-join-delay", "--max-join", dest="max_join_delay", type=_SECONDS)
    options.deprecated(parser, "--max-leave-delay", "--max-leave", dest="max_leave_delay", type=_SECONDS)
    parser.add_argument("--json", action="store_true", help="print JSON (docs/lab.md)")
    pictures.add_options(parser)
    parser.add_argument("--force", action="store_true", help="overwrite an existing --html file")


def _endpoint(text: str) -> Any:
    """``[NS:]IFACE`` (already checked by options.endpoint) as a probe endpoint."""
    from mdiag.probes.network import Endpoint

    ns, sep, iface = text.rpartition(":")  # interface names have no ':'
    return Endpoint(iface, ns if sep else None, text)


def run(args: argparse.Namespace, env: Environment) -> ExitStatus:
    from mdiag.cli.options import parse_group_list
    from mdiag.probes.verify import VerifyOptions

    groups, errors = parse_group_list([args.group], hint="")
    if errors or len(groups) != 1:
        raise InputError(errors[0] if errors else f"verify takes one group, not {args.group!r}")
    if not 1 <= args.repeat <= MAX_REPEAT:
        raise InputError(f"--repeat {args.repeat} must be 1..{MAX_REPEAT}")
    pictures.check_outputs(args)
    if args.rate.unlimited:
        raise InputError("--rate max would flood the lab; give a rate such as 1000pps")
    if not 32 <= args.size <= 65507:
        raise InputError(f"--size {args.size} must be 32..65507")
    common = dict(group=groups[0], port=args.port, ssm=args.ssm, pps=args.rate.pps(args.size),
                  rate_text=str(args.rate), size=args.size, hold=args.hold, repeat=args.repeat,
                  leave_timeout=args.leave_timeout, max_join=args.max_join_delay, max_leave=args.max_leave_delay)
    lab_wanted = args.lab or args.lab_prefix is not None
    if lab_wanted and (args.sender_iface or args.receiver_iface or args.non_member_iface):
        raise UsageError("give either --lab or --sender-iface/--receiver-iface, not both")
    if not lab_wanted:
        if not args.sender_iface or not args.receiver_iface:
            raise UsageError("give --lab, or --sender-iface and at least one --receiver-iface")
        return _run(VerifyOptions(sender=_endpoint(args.sender_iface),
                                  receivers=tuple(_endpoint(t) for t in args.receiver_iface),
                                  non_members=tuple(_endpoint(t) for t in args.non_member_iface), **common),
                    args, env)
    from mdiag.adapters import lab as lab_mod

    lab_mod.require_root()
    ipv6 = ":" in groups[0]
    if args.lab_prefix is not None or lab_mod.Lab.existing(lab_mod.DEFAULT_PREFIX) is not None:
        lab = options.running_lab(args.lab_prefix)  # a named lab that is not up is an error
        if ipv6 and not lab.ipv6:
            raise UsageError(f"lab {lab.prefix} is IPv4-only: an IPv6 group needs a dual-stack lab "
                             f"(mdiag lab down --prefix {lab.prefix}; mdiag lab up --prefix {lab.prefix})")
        return _run(_lab_options(lab, args, common), args, env)
    # plain --lab and no lab up: a temporary one, checked first, removed whatever happens
    temp_lab = lab_mod.Lab(prefix=f"mdv{os.getpid()}", hosts=3, bridge=lab_mod.BridgeConfig(), ipv6=ipv6)
    probe_options = _lab_options(temp_lab, args, common)
    env.warn(f"no lab {lab_mod.DEFAULT_PREFIX} is up: using a temporary 3-host lab {temp_lab.prefix} "
             f"(querier v3{' + MLDv2' if ipv6 else ''}, default bridge timers), removed afterwards")
    try:
        temp_lab.up()
        return _run(probe_options, args, env)
    finally:
        temp_lab.down()


def _lab_options(lab: Any, args: argparse.Namespace, common: dict[str, Any]) -> Any:
    from mdiag.probes.network import Endpoint
    from mdiag.probes.verify import VerifyOptions

    def at(name: str) -> Endpoint:
        h = lab.host(name)
        return Endpoint(h.iface, h.netns, h.name)

    sender = at(args.sender)
    names = ([n for group in args.receivers for n in (group if isinstance(group, list) else [group])]
             if args.receivers is not None else [h.name for h in lab.all_hosts if h.name not in (args.sender, args.anchor)])
    receivers = [at(n) for n in names]
    anchor = at(args.anchor) if args.anchor else None
    used = {sender.name, *(r.name for r in receivers), *([anchor.name] if anchor else [])}
    if len(used) != 1 + len(receivers) + (1 if anchor else 0):
        raise UsageError("sender, receivers and anchor must be different lab hosts")
    non_members = tuple(at(h.name) for h in lab.all_hosts if h.name not in used)
    flood_note = None
    if not lab.bridge.snooping or lab.bridge.querier == "off":
        flood_note = ("the lab bridge has " + ("snooping off" if not lab.bridge.snooping else "no querier")
                      + ": it forwards multicast by port flags (mcast_flood), not by joins and leaves")
    return VerifyOptions(sender=sender, receivers=tuple(receivers), non_members=non_members, anchor=anchor,
                         flood_note=flood_note, **common)


def _run(probe_options: Any, args: argparse.Namespace, env: Environment) -> ExitStatus:
    from mdiag.adapters.network import LiveNetwork
    from mdiag.probes import verify

    if not probe_options.non_members:
        env.warn("no non-member host: nothing checks that the switch keeps the group away from other "
                 "ports (snooping); add --non-member-iface, or leave a lab host out of --receiver")
    result = verify.run(probe_options, LiveNetwork())
    _render(env, args, result)

    def page() -> str:
        from mdiag.htmlreport.probes import verify_page

        return verify_page(result)
    pictures.write_probe(args, page, lambda text: print(f"mdiag: {text}", file=env.stderr))
    if result["interrupted"]:
        return ExitStatus.INTERRUPTED
    return ExitStatus.OK if result["ok"] else ExitStatus.PROBLEM_FOUND


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
