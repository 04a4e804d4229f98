"""``mdiag discover``: send a query, list every host that answered and what it reported.

General, group-specific (``--group``) or group-and-source-specific (``--group`` and
``--source``) queries, IGMPv1/v2/v3; each answer is timed with kernel capture
timestamps; ``--repeat N`` gives response-time statistics (docs/active.md).
"""

from __future__ import annotations

import argparse
from typing import Any

from mdiag.cli import options
from mdiag.cli.environment import Environment
from mdiag.errors import ExitStatus, UsageError

HELP = ("send an IGMP (--mld: MLD) query and list the hosts that answer, their groups, sources and "
        "response times")

MAX_REPEAT = 100  # as mdiag.probes.discover.MAX_REPEAT


#: durations: 2, 2s, 500ms, 1m (mdiag.cli.options)
_SECONDS = options.duration(600.0, allow_zero=True)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    options.add_iface(parser, help="interface to query and listen on (required: never guessed)")
    options.add_json(parser)
    parser.add_argument("--mld", action="store_true",
                        help="an MLD query (IPv6) instead of IGMP; implied by an IPv6 --group or --src")
    parser.add_argument("--version", type=int, choices=(1, 2, 3), default=None,
                        help="IGMP version of the query (default 3) or MLD's (default 2); older versions "
                             "put hosts into compatibility mode for minutes")
    parser.add_argument("--group", type=options.group, metavar="G", help="group-specific query for G")
    parser.add_argument("--source", action="append", default=[], metavar="S",
                        help="group-and-source-specific query (IGMPv3, with --group; repeatable)")
    parser.add_argument("--max-resp", type=_SECONDS, default=5.0, metavar="T",
                        help="Max Response Time advertised and waited for (default 5 s)")
    parser.add_argument("--margin", type=_SECONDS, default=0.5, metavar="T",
                        help="extra listening after the Max Response Time (default 0.5 s)")
    parser.add_argument("--repeat", type=int, default=1, metavar="N",
                        help=f"query N times for response-time statistics (1..{MAX_REPEAT})")
    parser.add_argument("--src", type=options.address("198.18.0.2"), metavar="ADDR",
                        help="query source address (default: the interface's address; a source lower "
                             "than the current querier wins the election for a while)")


def run(args: argparse.Namespace, env: Environment) -> ExitStatus:
    from mdiag.probes.discover import DiscoverOptions
    from mdiag.probes.network import Endpoint

    family = 6 if args.mld or any(":" in (t or "") for t in (args.group, args.src)) else 4
    version = args.version if args.version is not None else (2 if family == 6 else 3)
    if family == 6 and version == 3:
        raise UsageError("--version 3 is IGMP's: MLD has versions 1 and 2 (RFC 2710, RFC 3810)")
    probe_options = DiscoverOptions(Endpoint(args.iface, args.netns), version=version, group=args.group,
                                    sources=tuple(args.source), max_resp=args.max_resp, margin=args.margin,
                                    repeat=args.repeat, src=args.src, family=family)
    probe_options.query()  # contradictions are usage errors before any socket exists

    from mdiag.adapters.network import LiveNetwork
    from mdiag.probes import discover

    return _render(discover.run(probe_options, LiveNetwork()), env, args.json)


def _render(report: Any, env: Environment, as_json: bool) -> ExitStatus:
    result, rounds = report.result, report.rounds
    if as_json:
        from mdiag.cli.render import emit_json

        emit_json(report.to_json(), env.stdout, "discover")
    else:
        from mdiag.cli.render import table

        print(f"{report.description}, {len(rounds)} round(s) of {report.window:g} s on "
              f"{report.options.at.iface}", file=env.stdout)
        rows = []
        for host in result.hosts:
            s = host.stats
            ms = [f"{v * 1000:.1f}" for v in (s.minimum, s.median, s.maximum) if v is not None]
            times = "-" if not ms else (f"{ms[0]} ms" if s.count == 1 else "/".join(ms) + " ms")
            rows.append([host.address, host.mac, "/".join(f"v{v}" for v in host.versions),
                         "; ".join(r.describe() for r in host.records), f"{host.rounds_answered}/{len(rounds)}",
                         times])
        table(rows, ["host", "mac", report.options.protocol.lower(), "groups (mode{sources})", "answered",
                     "response min/median/max" if len(rounds) > 1 else "response"], env.stdout)
        for f in report.findings:
            print(f"{f.severity}: {f.code}: {f.message}", file=env.stdout)
    if not report.ok:
        hint = ""
        version, protocol = report.query.version, report.options.protocol
        if version < (2 if protocol == "MLD" else 3):
            hint = (f" ({protocol}v{version} reports go to the group address, and a snooping switch "
                    "forwards them only to router ports: this port is one once a general query from "
                    "here wins the election, --src below the current querier's address; a "
                    "group-specific query alone does not make it one)")
        env.error(f"no host answered on {report.options.at.iface} within {report.window:g} s{hint}")
        return ExitStatus.PROBLEM_FOUND
    return ExitStatus.OK
