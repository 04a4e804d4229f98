"""``mdiag doctor``: pre-flight checks for joins and streams on one interface, a verdict each."""

from __future__ import annotations

import argparse

from mdiag.cli import options
from mdiag.cli.environment import Environment
from mdiag.errors import ExitStatus, InputError

HELP = ("pre-flight checks before joining/sending on an interface: flags, route, limits, rp_filter, "
        "IGMP or MLD version (IPv6 group: the MLD checks)")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--iface", type=options.iface, required=True, metavar="IFACE", help="interface to check (required)")
    options.add_netns(parser)
    parser.add_argument("--groups", type=int, default=1, metavar="N", help="how many groups you plan to join")
    parser.add_argument("--group", type=options.group, default=None, metavar="G", help="the group you plan to use (route, SSM checks)")
    parser.add_argument("--source", type=options.address_list, action="append", default=[], metavar="S",
                        help="planned SSM source (repeatable): rp_filter and igmp_max_msf checks")
    parser.add_argument("--port", type=int, default=None, help="planned UDP port: other wildcard listeners")
    options.add_fail_on(parser, default="error", seen="a check's verdict (fail = error, warn = warning, info = info)",
                        why="a warn verdict is a setting that may bite (rp_filter, a low limit), "
                            "not one that stops the join", strict_synonym=True)
    parser.add_argument("--json", action="store_true", help="print JSON (docs/sockets.md)")


@options.in_netns
def run(args: argparse.Namespace, env: Environment) -> ExitStatus:
    from mdiag.adapters import interfaces
    from mdiag.cli import render
    from mdiag.cli.options import parse_group_list, parse_sources
    from mdiag.core import preflight

    if args.groups < 0:
        raise InputError(f"--groups {args.groups} must be 0 or more")
    if args.port is not None and not 1 <= args.port <= 65535:
        raise InputError(f"--port {args.port} is out of range 1..65535")
    group = None
    if args.group:
        groups, errors = parse_group_list([args.group], hint="", iface=args.iface)
        if errors or len(groups) != 1:
            raise InputError(errors[0] if errors else f"--group takes one group, not {args.group!r}")
        group = groups[0]
    sources = tuple(parse_sources(args.source, env))
    facts = interfaces.host_facts(args.iface, group=group, sources=sources, port=args.port,
                                  planned_groups=max(args.groups, 1 if group else args.groups))
    if not facts.exists:
        raise InputError(f"no interface {args.iface!r} here; interfaces: {', '.join(facts.interfaces) or 'none'}")
    verdicts = preflight.evaluate(facts)
    worst = preflight.overall(verdicts)
    if args.json:
        render.emit_json({"iface": args.iface, "verdict": str(worst),
                          "checks": [v.to_json() for v in verdicts],
                          "findings": [f.to_json() for v in verdicts if (f := v.finding())]},
                         env.stdout, "doctor")
    else:
        render.table(([v.check, str(v.status).upper(), v.message, v.fix or ""] for v in verdicts),
                     ["check", "verdict", "what mdiag saw", "fix"], env.stdout)
        print(f"overall: {str(worst).upper()}", file=env.stdout)
    if options.fails(args.fail_on, (v.severity for v in verdicts if v.severity is not None)):
        return ExitStatus.PROBLEM_FOUND
    return ExitStatus.OK
