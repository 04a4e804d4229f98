"""``mdiag discover``: send a query, list every host that answered and what it reported.

General, group-specific (``--group``) or group-and-source-specific (``--group`` and
``--source``) queries, IGMPv1/v2/v3; each answer is timed with kernel capture
timestamps; ``--repeat N`` gives response-time statistics (docs/active.md).
"""

from __future__ import annotations

import argparse
import ipaddress
import time
from typing import Any

from mdiag.cli.commands.querier import add_interface_arguments
from mdiag.cli import options
from mdiag.cli.environment import Environment
from mdiag.errors import ExitStatus, InputError, UsageError

HELP = "send an IGMP query and list the hosts that answer, their groups, sources and response times"

MAX_REPEAT = 100


#: durations: 2, 2s, 500ms, 1m (mdiag.cli.options)
_SECONDS = options.duration(600.0, allow_zero=True)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_interface_arguments(parser)
    parser.add_argument("--version", type=int, choices=(1, 2, 3), default=3,
                        help="IGMP version of the query (default 3; v1/v2 put hosts into "
                             "compatibility mode for minutes)")
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


def _address(text: str, what: str) -> ipaddress.IPv4Address:
    try:
        return ipaddress.IPv4Address(text)
    except ValueError:
        raise UsageError(f"{what} {text!r} is not an IPv4 address") from None


def _query(args: argparse.Namespace) -> Any:
    from mdiag.core.igmp.messages import V1Query, V2Query, V3Query

    group = _address(args.group, "--group") if args.group else None
    if group is not None and not group.is_multicast:
        raise UsageError(f"--group {group} is not a multicast address (224.0.0.0/4)")
    sources = [_address(s, "--source") for s in args.source]
    if sources and group is None:
        raise UsageError("--source needs --group: a source-specific query names its group (RFC 3376 4.1.9)")
    if sources and args.version != 3:
        raise UsageError("--source needs --version 3: only IGMPv3 queries carry sources")
    if args.version == 1:
        if group is not None:
            raise UsageError("IGMPv1 has no group-specific query; use --version 2 or 3")
        return V1Query()
    if args.version == 2:
        if not 0.1 <= args.max_resp <= 25.5:
            raise UsageError("IGMPv2 max response time must be 0.1..25.5 s")
        return V2Query.from_seconds(args.max_resp, group or "0.0.0.0")
    if not 0 <= args.max_resp <= 3174.4:
        raise UsageError("IGMPv3 max response time must be 0..3174.4 s")
    return V3Query.build(group=group or "0.0.0.0", sources=sources, max_resp_time=args.max_resp)


def run(args: argparse.Namespace, env: Environment) -> ExitStatus:
    if not args.iface:
        raise UsageError("discover needs --iface IFACE: mdiag never picks an interface on its own")
    if not 1 <= args.repeat <= MAX_REPEAT:
        raise UsageError(f"--repeat must be 1..{MAX_REPEAT}")
    message = _query(args)

    from mdiag.adapters import rawsock
    from mdiag.core.compliance import query_from_decoded
    from mdiag.core.discovery import Round, discover, heard_from_decoded
    from mdiag.core.findings import Finding, Severity
    from mdiag.core.igmp.frame import build_frame
    from mdiag.core.igmp.ipv4 import IPv4Header
    from mdiag.core.igmp.messages import default_destination

    with rawsock.netns(args.netns):
        capture = rawsock.RawSocket(args.iface, rawsock.IGMP)
        sender = rawsock.RawSocket(args.iface, None)
        mac = rawsock.interface_mac(args.iface)
        src = args.src or rawsock.interface_ipv4(args.iface)
    rounds: list[Any] = []
    extra: list[Finding] = []
    try:
        if src is None:
            raise InputError(f"{args.iface} has no IPv4 address: give the query source with --src")
        src_ip = _address(src, "--src")
        mac_text = ":".join(f"{b:02x}" for b in mac)
        frame = build_frame(message, IPv4Header(src=src_ip, dst=default_destination(message)),
                            src_mac=mac_text)
        max_resp = getattr(message, "max_resp_time", 10.0)
        window = max_resp + args.margin
        group = str(args.group) if args.group else None
        for _ in range(args.repeat):
            capture.drain()
            before = time.time_ns()
            sender.send(frame)
            query_ns: int | None = None
            heard = []
            for captured in capture.capture(time.monotonic() + window):
                got = rawsock.decode_igmp(captured.frame)
                if got is None:
                    continue
                decoded, sender_mac = got
                if captured.outgoing:
                    if query_ns is None and captured.frame == frame:
                        query_ns = captured.ts_ns
                    continue
                h = heard_from_decoded(captured.ts_ns, decoded, sender_mac)
                if h is not None:
                    heard.append(h)
                    continue
                q = query_from_decoded(captured.time, decoded, sender_mac)
                if q is not None and q.general and q.source not in ("0.0.0.0", str(src_ip)) \
                        and ipaddress.IPv4Address(q.source) > src_ip:
                    extra.append(Finding(
                        "discover-took-over-querier", Severity.WARNING,
                        f"the querier {q.source} has a higher address than this query's source "
                        f"{src_ip}: it stops querying for its Other Querier Present Interval; use a "
                        "--src above it to leave the election alone", "RFC 3376 6.6.2"))
            rounds.append(Round(query_ns or before, max_resp, tuple(heard), group=group,
                                sources=tuple(args.source), version=message.version))
    finally:
        capture.close()
        sender.close()
    result = discover(rounds, own_addresses={str(src_ip)})
    findings = list(result.findings) + list({f.message: f for f in extra}.values())
    label = {"v3-query": "general query", "v2-query": "general query", "v1-query": "general query",
             "v3-group-query": "group-specific query", "v2-group-query": "group-specific query",
             "v3-group-source-query": "group-and-source-specific query"}.get(message.kind, message.kind)
    query_desc = f"IGMPv{message.version} {label} from {src_ip}" + \
        (f" for {args.group}" if args.group else "") + \
        (f" sources {','.join(args.source)}" if args.source else "")
    if args.json:
        from mdiag.cli.render import emit_json

        body = result.to_json()
        body["findings"] = [f.to_json() for f in findings]
        emit_json({"iface": args.iface, "netns": args.netns, "query": query_desc,
                   "max_resp": max_resp, **body}, env.stdout, "discover")
    else:
        from mdiag.cli.render import table

        print(f"{query_desc}, {len(rounds)} round(s) of {window:g} s on {args.iface}", file=env.stdout)
        rows = []
        for host in result.hosts:
            s = host.stats
            ms = [f"{v * 1000:.1f}" for v in (s.minimum, s.median, s.maximum) if v is not None]
            times = "-" if not ms else (f"{ms[0]} ms" if s.count == 1 else "/".join(ms) + " ms")
            rows.append([host.address, host.mac, "/".join(f"v{v}" for v in host.versions),
                         "; ".join(r.describe() for r in host.records), f"{host.rounds_answered}/{len(rounds)}",
                         times])
        table(rows, ["host", "mac", "igmp", "groups (mode{sources})", "answered",
                     "response min/median/max" if len(rounds) > 1 else "response"], env.stdout)
        for f in findings:
            print(f"{f.severity}: {f.code}: {f.message}", file=env.stdout)
    if not result.hosts:
        hint = ""
        if message.version < 3:
            hint = (f" (IGMPv{message.version} reports go to the group address, and a snooping switch "
                    "forwards them only to router ports: this port is one if the query wins the "
                    "election, --src below the current querier's address)")
        env.error(f"no host answered on {args.iface} within {window:g} s{hint}")
        return ExitStatus.PROBLEM_FOUND
    return ExitStatus.OK
