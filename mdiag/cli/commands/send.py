"""``mdiag send``: a paced test stream (or stdin lines) to a multicast group on one interface."""

from __future__ import annotations

import argparse
from typing import Any

from mdiag.cli import options
from mdiag.cli.environment import Environment
from mdiag.errors import ExitStatus, InputError

HELP = "send a paced, sequenced test stream (or stdin lines) to a group on one interface"


def _tos(text: str) -> int:
    """``--tos``: a byte in decimal, hex (0xb8) or octal (0o270)."""
    try:
        value = int(text, 0)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a TOS byte; give e.g. 0xb8 or 184") from None
    if not 0 <= value <= 255:
        raise argparse.ArgumentTypeError(f"{text} is out of range 0..255")
    return value


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("destination", metavar="GROUP",
                        help="multicast group, list or range (239.1.0.1-239.1.3.232: one stream per group, "
                             "round-robin), or an address with --unicast/--broadcast")
    parser.add_argument("--iface", type=options.iface, required=True, metavar="IFACE",
                        help="interface to send on (required)")
    options.add_netns(parser)
    parser.add_argument("--port", type=int, default=5001, help="UDP destination port (default 5001)")
    parser.add_argument("--ttl", type=int, default=1, help="multicast TTL (default 1: stays on the link)")
    parser.add_argument("--rate", type=options.rate, default=None, metavar="RATE",
                        help="1000pps, 2kpps, 10mbit (UDP payload bits, like iperf2 -b) or max "
                             "(default 1000pps; --stdin: max)")
    parser.add_argument("--size", type=int, default=1200, help="datagram payload bytes (default 1200, min 32)")
    stop = parser.add_argument_group("when to stop (whichever comes first)")
    stop.add_argument("--duration", type=options.duration(7 * 86400.0), default=None, metavar="T", help="how long: 10s, 500ms, 2m (default 10s)")
    stop.add_argument("--count", type=int, default=None, metavar="N", help="send N datagrams")
    parser.add_argument("--stdin", action="store_true", help="send each input line as one datagram")
    kind = parser.add_mutually_exclusive_group()
    kind.add_argument("--unicast", action="store_true", help="allow a unicast destination (baseline)")
    kind.add_argument("--broadcast", action="store_true", help="allow a broadcast destination (SO_BROADCAST)")
    parser.add_argument("--no-loop", action="store_true", help="do not loop the stream back to this host")
    parser.add_argument("--tos", type=_tos, default=0, help="IP TOS byte (e.g. 0xb8 or 184)")
    parser.add_argument("--source-port", type=int, default=0, help="UDP source port (default: any)")
    parser.add_argument("--json", action="store_true", help="print a JSON summary (docs/sockets.md)")
    parser.add_argument("--quiet", action="store_true", help="no live line")


@options.in_netns
def run(args: argparse.Namespace, env: Environment) -> ExitStatus:
    from mdiag.adapters import sockets
    from mdiag.adapters.network import LiveStreams
    from mdiag.core.rate import parse_rate
    from mdiag.probes import streams

    if not 1 <= args.port <= 65535:
        raise InputError(f"--port {args.port} is out of range 1..65535")
    if not 0 <= args.ttl <= 255:
        raise InputError(f"--ttl {args.ttl} is out of range 0..255")
    if args.stdin and args.count is not None:
        raise InputError("--count does not apply to --stdin (every input line is sent once)")
    if not args.stdin and not 32 <= args.size <= 65507:
        raise InputError(f"--size {args.size} must be 32..65507 bytes (the test-stream header is 32)")
    kind = "unicast" if args.unicast else "broadcast" if args.broadcast else "multicast"
    destinations = [args.destination]
    if kind == "multicast" and any(c in args.destination for c in ",-:"):  # lists, ranges, IPv6
        destinations, errors = options.parse_group_list([args.destination], iface=args.iface,
                                                        hint="; --unicast or --broadcast send to one other address")
        if errors:  # every bad item gets its line; nothing is sent until all are good
            for line in errors:
                env.error(line)
            return ExitStatus.BAD_INPUT
    rate = args.rate if args.rate is not None else parse_rate("max" if args.stdin else "1000pps")
    plan = streams.SendOptions(destinations, args.port, args.iface, rate, size=args.size, duration=args.duration,
                               count=args.count, ttl=args.ttl, loop=not args.no_loop, kind=kind,
                               source_port=args.source_port, tos=args.tos,
                               lines=sockets.iter_lines(env.stdin_binary) if args.stdin else None)
    live = not args.stdin and env.stderr_isatty and not args.quiet and not args.json

    def progress(sent: int, elapsed: float) -> None:
        env.stderr.write(f"\r{elapsed:6.1f}s  sent {sent:,} datagrams  {sent / elapsed if elapsed else 0:,.0f} pps ")
        env.stderr.flush()

    report = streams.send(plan, LiveStreams(), progress=progress if live else None)
    if live:
        env.stderr.write("\r\033[K")
    _summary(args, env, report, str(rate))
    if report.short_of_rate:
        env.warn(f"this host sent {report.result.pps:,.0f} pps, below the {report.pps:,.0f} pps asked: "
                 f"{report.result.sent:,} of {report.budget:,} datagrams went out in the {report.duration:g} s of "
                 "--duration (lower --rate, or --count N to send them all whatever it takes)")
    return ExitStatus.INTERRUPTED if report.interrupted else ExitStatus.OK


def _summary(args: argparse.Namespace, env: Environment, report: Any, rate: str) -> None:
    from mdiag.adapters import sockets

    result, pps, several = report.result, report.pps, len(report.destinations) > 1
    if args.json:
        from mdiag.cli import render

        render.emit_json({"destination": args.destination, "port": args.port, "iface": args.iface,
                          "source": sockets.endpoint(report.local), "mode": "stdin" if args.stdin else "stream",
                          "rate": rate, "size": None if args.stdin else args.size, "ttl": args.ttl,
                          **result.to_json()}, env.stdout, "send")
        return
    mbit = result.bytes * 8 / result.elapsed / 1e6 if result.elapsed else 0.0
    what = "lines" if args.stdin else f"datagrams of {args.size} bytes"
    if several:
        what += f" over {len(report.destinations)} groups"
    stream = f", stream id {result.stream_id}" if result.stream_id is not None else ""
    target = sockets.endpoint((args.destination, args.port))
    print(f"sent {result.sent:,} {what} from {sockets.endpoint(report.local)} to {target} "
          f"on {args.iface} in {result.elapsed:.3f} s ({result.pps:,.0f} pps, {mbit:,.2f} Mbit/s"
          f"{', target ' + rate + (' per group' if several else '') if pps else ''})"
          f"{stream}", file=env.stdout)
    if result.retries:
        print(f"the kernel queue was full {result.retries:,} times (ENOBUFS): retried, nothing skipped",
              file=env.stdout)
