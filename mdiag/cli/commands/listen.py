"""``mdiag listen``: join groups on one interface and measure what arrives (or print it)."""

from __future__ import annotations

import argparse
from datetime import datetime, timezone
from typing import Any

from mdiag.cli import options
from mdiag.cli.environment import Environment
from mdiag.errors import ExitStatus, InputError

HELP = "join groups on an interface and measure test streams (loss, jitter, join time) or print datagrams"

#: the group-list helpers live in mdiag.cli.options (shared by send, doctor, verify, monitor)
parse_group_list, parse_sources = options.parse_group_list, options.parse_sources


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("groups", nargs="+", metavar="GROUP",
                        help="groups: 239.1.2.3, 239.1.2.3,239.1.2.4 or ranges 239.1.0.1-239.1.3.232")
    parser.add_argument("--iface", type=options.iface, required=True, metavar="IFACE",
                        help="interface to join on (required)")
    options.add_netns(parser)
    parser.add_argument("--source", type=options.address_list, action="append", default=[], metavar="S",
                        help="source-specific join (SSM, option 39); repeat or comma-separate")
    parser.add_argument("--port", type=int, default=5001, help="UDP port (default 5001)")
    kind = parser.add_mutually_exclusive_group()
    kind.add_argument("--unicast", action="store_true",
                      help="also accept this host's unicast addresses: bound, not joined (baseline)")
    kind.add_argument("--broadcast", action="store_true",
                      help="also accept broadcast addresses (e.g. 198.18.0.255): bound, not joined")
    stop = parser.add_argument_group("when to stop (whichever comes first)")
    stop.add_argument("--duration", type=options.duration(7 * 86400.0), default=None, metavar="T", help="how long: 10s, 500ms, 2m (default 10s)")
    stop.add_argument("--count", type=int, default=None, metavar="N",
                      help="stop after N datagrams (test-stream data or plain)")
    stop.add_argument("--until-end", action="store_true",
                      help="stop once every test stream seen has ended (the sender's END marker)")
    parser.add_argument("--max-loss", type=float, default=None, metavar="PCT",
                        help="exit 1 when any stream loses more than PCT percent")
    parser.add_argument("--min-packets", type=int, default=None, metavar="N",
                        help="exit 1 when any group receives fewer than N datagrams (default: exit 1 "
                             "only when nothing at all arrived; 0 accepts silence)")
    parser.add_argument("--from-zero", action="store_true",
                        help="count loss from sequence 0: datagrams before the first one seen are lost "
                             "(use when listening starts before the sender)")
    parser.add_argument("--latency", choices=("auto", "on", "off"), default="auto",
                        help="one-way latency: auto = when sender and receiver share a clock (same kernel)")
    parser.add_argument("--json", action="store_true", help="print a JSON summary (docs/sockets.md)")
    parser.add_argument("--quiet", action="store_true", help="do not print plain datagrams or the live line")


@options.in_netns
def run(args: argparse.Namespace, env: Environment) -> ExitStatus:
    from mdiag.adapters import sockets
    from mdiag.adapters.network import LiveStreams
    from mdiag.cli.render import sanitize
    from mdiag.probes import streams

    groups, errors = parse_group_list(args.groups, allow_unicast=args.unicast or args.broadcast,
                                     iface=args.iface)
    for line in errors:
        env.error(line)
    if not groups:
        return ExitStatus.BAD_INPUT
    sources = parse_sources(args.source, env)
    if not 1 <= args.port <= 65535:
        raise InputError(f"--port {args.port} is out of range 1..65535")
    if args.count is not None and args.count < 1:
        raise InputError(f"--count must be at least 1, not {args.count}")
    if args.max_loss is not None and not 0 <= args.max_loss <= 100:
        raise InputError(f"--max-loss {args.max_loss} must be a percentage 0..100")
    plan = streams.ListenOptions(groups, args.iface, args.port, sources, duration=args.duration, count=args.count,
                                 until_end=args.until_end, from_zero=args.from_zero,
                                 latency={"auto": None, "on": True, "off": False}[args.latency])
    plain: list[dict[str, Any]] = []

    def on_plain(member: Any, data: bytes, sender: tuple[str, int], now: int) -> None:
        if args.json:
            if len(plain) < 1000:
                plain.append({"time": now / 1e9, "group": member.group, "sender": sockets.endpoint(sender),
                              "length": len(data), "text": data.decode("utf-8", "backslashreplace")})
        elif not args.quiet:
            stamp = datetime.fromtimestamp(now / 1e9, timezone.utc).strftime("%H:%M:%S.%f")
            text = sanitize(data.decode("utf-8", "backslashreplace"))  # any host on the segment sent it
            print(f"{stamp} {sockets.endpoint(sender)} -> {member.group}: {text}", file=env.stdout, flush=True)

    def tick(receiving: int, got: int, lost: int, elapsed: float) -> None:
        env.stderr.write(f"\r{elapsed:6.1f}s  groups receiving {receiving}/{len(groups)}"
                         f"  datagrams {got:,}  lost {lost:,} ")
        env.stderr.flush()

    live = env.stderr_isatty and not args.quiet and not args.json
    report = streams.listen(plan, LiveStreams(), on_plain=on_plain, tick=tick if live else None)
    if report.joins_cut_short:
        env.warn(f"joined {report.joined:,} of {report.planned:,} group sockets in {report.joining:.1f} s, all of "
                 f"--duration {plan.deadline:g} s: the rest were not joined (give a longer --duration)")
    if live:
        env.stderr.write("\r\033[K")
    problems = _expectations(args, groups, report.counts, report.reports)
    if args.json:
        from mdiag.cli import render

        render.emit_json({
            "iface": args.iface, "port": args.port, "sources": sources, "duration_s": round(report.elapsed, 3),
            "groups": [{"group": g, "datagrams": report.counts[g], "join_to_first_ms": report.join_to_first_ms(g)}
                       for g in groups],
            "streams": [r.to_json() for r in report.reports], "plain": plain,
            "problems": problems, "ok": not problems}, env.stdout, "listen")
    else:
        _print_summary(env, groups, report, args)
        for line in problems:
            print(f"FAIL: {line}", file=env.stdout)
    if report.interrupted:
        return ExitStatus.INTERRUPTED
    if errors:
        return ExitStatus.BAD_INPUT
    return ExitStatus.PROBLEM_FOUND if problems else ExitStatus.OK


def _expectations(args: argparse.Namespace, groups: list[str], counts: dict[str, int],
                  reports: list[Any]) -> list[str]:
    problems: list[str] = []
    if args.min_packets is None and not any(counts.values()):
        problems.append(f"nothing received on {args.iface} port {args.port}: no datagram reached any of "
                        f"the {len(groups)} group(s) (--min-packets 0 accepts silence)")
    if args.min_packets is not None:
        for g in groups:
            if counts[g] < args.min_packets:
                problems.append(f"{g} received {counts[g]} datagrams, fewer than --min-packets {args.min_packets}")
    if args.max_loss is not None:
        for r in reports:
            if r.loss_ratio * 100 > args.max_loss:
                problems.append(f"{r.group} from {r.sender} lost {r.lost} of {r.expected} "
                                f"({r.loss_ratio * 100:.3f}%), more than --max-loss {args.max_loss}%")
    return problems


def _print_summary(env: Environment, groups: list[str], report: Any, args: argparse.Namespace) -> None:
    from mdiag.cli import render

    counts, reports, elapsed = report.counts, report.reports, report.elapsed

    silent = [g for g in groups if not counts[g]]
    receiving = len(groups) - len(silent)
    print(f"listened {elapsed:.1f} s on {args.iface} port {args.port}: {receiving} of {len(groups)} "
          f"group(s) received datagrams", file=env.stdout)
    if reports:
        rows = []
        for r in sorted(reports, key=lambda r: (r.group, r.sender)):
            latency = (f"{r.latency_min_ns / 1e6:.3f}/{r.latency_avg_ns / 1e6:.3f}/{r.latency_max_ns / 1e6:.3f}"
                       if r.latency_min_ns is not None else "-")
            rows.append([r.group, r.sender, f"{r.received:,}", f"{r.lost:,} ({r.loss_ratio * 100:.2f}%)",
                         f"{r.duplicated:,}", f"{r.reordered:,}", f"{r.jitter_ns / 1e6:.3f}", latency,
                         "-" if r.join_to_first_ns is None else f"{r.join_to_first_ns / 1e6:.1f}",
                         "yes" if r.ended else "no"])
        if len(rows) > 50 and not args.quiet:
            shown = rows[:50]
        else:
            shown = rows
        render.table(shown, ["group", "sender", "received", "lost", "dup", "reord", "jitter ms",
                             "latency ms min/avg/max", "join->first ms", "ended"], env.stdout)
        if len(shown) < len(rows):
            total_lost = sum(r.lost for r in reports)
            print(f"... {len(rows) - len(shown)} more streams (use --json for all); "
                  f"{len(reports)} streams, {total_lost:,} lost in total", file=env.stdout)
        late = [r for r in reports if r.first_sequence]
        if late and not args.from_zero:
            print(f"{len(late)} stream(s) first seen after sequence 0 (e.g. {late[0].group} from "
                  f"{late[0].sender} at {late[0].first_sequence:,}): joined mid-stream, or the head of "
                  "the stream was lost; loss counts from the first datagram seen (--from-zero counts it from 0)",
                  file=env.stdout)
    if silent:
        names = ", ".join(silent[:10]) + (f" and {len(silent) - 10} more" if len(silent) > 10 else "")
        print(f"nothing received on: {names}", file=env.stdout)
