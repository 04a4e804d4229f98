"""``mdiag zap``: IPTV channel change, BNG Blaster style: leave channel A, join channel B, repeat.

A sender streams every channel; the receiver changes channel every ``--interval``. Per change:
zap time (join of B to B's first packet) and overlap (packets of A after A's leave), then
min/median/p95/max and how many zaps took longer than 125/250/500 ms. ``--expect`` turns the
figures into a verdict (exit 1 when one fails). See docs/active.md.
"""

from __future__ import annotations

import argparse
import ipaddress
from typing import Any

from mdiag.cli import options, pictures
from mdiag.cli.environment import Environment
from mdiag.errors import ExitStatus, InputError, UsageError

HELP = "IPTV channel change: leave one group, join the next, measure zap time and overlap (lab or two interfaces)"


def _expectation(text: str) -> tuple[str, str]:
    key, sep, value = text.partition("=")
    if not sep or not key.strip() or not value.strip():
        raise argparse.ArgumentTypeError(f"{text!r} is not KEY=VALUE: e.g. max-zap=250ms, p95-zap=125ms, "
                                         "max-overlap=0")
    return key.strip().lower(), value.strip()


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("channels", nargs="+", metavar="GROUP",
                        help="the channels, in zapping order (at least two; G1,G2 or ranges work too)")
    options.add_lab(parser, hosts=("sender", "receiver"))
    where = parser.add_argument_group("without a lab")
    where.add_argument("--sender-iface", type=options.iface, metavar="IFACE", help="sender interface")
    where.add_argument("--sender-netns", type=options.netns, metavar="NS", help="namespace of the sender")
    where.add_argument("--receiver-iface", type=options.iface, metavar="IFACE", help="receiver interface")
    where.add_argument("--receiver-netns", type=options.netns, metavar="NS", help="namespace of the receiver")
    parser.add_argument("--port", type=int, default=5001, help="UDP port of every channel (default 5001)")
    parser.add_argument("--rate", type=options.rate, default="1000pps", metavar="RATE",
                        help="per channel, e.g. 1000pps or 2mbit: sets the zap-time resolution (default 1000pps)")
    parser.add_argument("--zaps", type=int, default=10, metavar="N", help="channel changes (default 10)")
    parser.add_argument("--interval", type=options.duration(600.0), default="1s", metavar="T",
                        help="time on each channel before the next change (default 1s)")
    parser.add_argument("--ssm", action="store_true", help="source-specific joins (sender address, GROUP)")
    parser.add_argument("--expect", type=_expectation, action="append", default=[], metavar="KEY=VALUE",
                        help="max-zap=T, p95-zap=T, median-zap=T, max-overlap=N (repeatable); exit 1 if one fails")
    options.add_json(parser)
    pictures.add_options(parser)
    parser.add_argument("--force", action="store_true", help="overwrite an existing --html file")


def _options(args: argparse.Namespace) -> Any:
    from mdiag.core.addresses.lists import parse_group_list
    from mdiag.core.zap import parse_limits
    from mdiag.probes.network import Endpoint
    from mdiag.probes.zap import SIZE, ZapOptions

    channels, errors = parse_group_list(args.channels)
    if errors:
        raise InputError(errors[0])
    if len(channels) < 2:
        raise InputError("zap needs at least two different channels (groups) to change between")
    from mdiag.core.addresses.lists import address_family, needs_zone

    if len({address_family(g) for g in channels}) > 1:
        raise InputError("zap channels are all IPv4 or all IPv6 groups (one stream, one receiver socket family)")
    for g in channels:
        if g.startswith("224.0.0.") or (":" in g and needs_zone(int(ipaddress.IPv6Address(g)))):
            raise InputError(f"{g}: zap channels are groups outside 224.0.0.0/24, ff01::/16 and ff02::/16 "
                             "(link-local groups are always flooded, RFC 4541 2.1.2, 3)")
    try:
        limits = parse_limits(args.expect, lambda text: options.duration(600.0)(text))
    except (ValueError, argparse.ArgumentTypeError) as exc:
        raise UsageError(f"--expect {exc}") from None
    if args.rate.unlimited:
        raise InputError("--rate max would flood the link; give a rate such as 1000pps")
    common = dict(channels=tuple(channels), port=args.port, rate=args.rate.pps(SIZE), zaps=args.zaps,
                  interval=args.interval, ssm=args.ssm, limits=limits)
    if args.lab or args.lab_prefix:
        if args.sender_iface or args.receiver_iface:
            raise UsageError("give either --lab or --sender-iface/--receiver-iface, not both")
        lab = options.running_lab(args.lab_prefix)
        sender, receiver = lab.host(args.sender), lab.host(args.receiver)
        if sender.name == receiver.name:
            raise UsageError("--sender and --receiver must be different lab hosts")
        quiet = max(2.0, (lab.bridge.query_response_interval or 10.0) + 0.5)
        return ZapOptions(Endpoint(sender.iface, sender.netns, sender.name),
                          Endpoint(receiver.iface, receiver.netns, receiver.name), quiet_timeout=quiet, **common)
    if not (args.sender_iface and args.receiver_iface):
        raise UsageError("zap needs --lab, or both --sender-iface and --receiver-iface "
                         "(mdiag never picks an interface on its own)")
    return ZapOptions(Endpoint(args.sender_iface, args.sender_netns),
                      Endpoint(args.receiver_iface, args.receiver_netns), **common)


def run(args: argparse.Namespace, env: Environment) -> ExitStatus:
    probe_options = _options(args)
    pictures.check_outputs(args)
    from mdiag.adapters.network import LiveNetwork
    from mdiag.probes import zap

    result = zap.run(probe_options, LiveNetwork())
    status = _render(result, args, env)

    def page() -> str:
        from mdiag.htmlreport.probes import zap_page

        return zap_page(result.to_json())
    pictures.write_probe(args, page, lambda text: print(f"mdiag: {text}", file=env.stderr))
    return status


def _ms(value: float | None) -> str:
    return "-" if value is None else f"{value * 1000:.1f}"


def _render(result: Any, args: argparse.Namespace, env: Environment) -> ExitStatus:
    from mdiag.cli.render import emit_json, table

    if args.json:
        emit_json(result.to_json(), env.stdout, "zap")
        return ExitStatus.OK if result.ok else ExitStatus.PROBLEM_FOUND
    o, report, out = result.options, result.report, env.stdout
    print(f"{len(report.zaps)} channel change(s) between {', '.join(o.channels)} port {o.port}, every "
          f"{o.interval:g} s, {o.rate:g} packets/s per channel (resolution {report.resolution * 1000:g} ms), "
          f"receiver {o.receiver.label}", file=out)
    table([[i, z.leave_group, z.join_group, _ms(z.zap_time), z.overlap_packets, _ms(z.overlap_time)]
           for i, z in enumerate(report.zaps, 1)],
          ["zap", "from", "to", "zap time (ms)", "overlap (packets)", "overlap (ms)"], out)
    print(file=out)
    s = report.zap_time
    above = report.above()
    table([["zap time", s.count, _ms(s.minimum), _ms(s.median), _ms(s.p95), _ms(s.maximum),
            *(above[b] for b in sorted(above))]],
          ["", "n", "min (ms)", "median (ms)", "p95 (ms)", "max (ms)", *(f"> {b} ms" for b in sorted(above))], out)
    overlap = report.overlap
    if overlap.count:
        print(f"overlap: {overlap.minimum:.0f}/{overlap.median:.0f}/{overlap.maximum:.0f} packets "
              "(min/median/max) of the old channel after its leave", file=out)
    for f in report.findings:
        print(f"{f.severity}: {f.code}: {f.message}", file=out)
    return ExitStatus.OK if result.ok else ExitStatus.PROBLEM_FOUND
