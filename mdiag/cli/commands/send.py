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
    from mdiag.adapters import interfaces, sockets
    from mdiag.core.rate import Pacing, packet_budget, parse_rate

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
        from mdiag.cli.options import parse_group_list

        destinations, errors = parse_group_list([args.destination], iface=args.iface,
                                                hint="; --unicast or --broadcast send to one other address")
        if errors:  # every bad item gets its line; nothing is sent until all are good
            for line in errors:
                env.error(line)
            return ExitStatus.BAD_INPUT
    rate = args.rate if args.rate is not None else parse_rate("max" if args.stdin else "1000pps")
    rate_text = str(rate)
    duration = args.duration
    if not args.stdin:
        rate.pps(args.size)  # refuses absurd rates before any socket exists
    groups = len(destinations)
    sender = sockets.Sender(destinations, args.port, args.iface, ttl=args.ttl,
                            loop=not args.no_loop, kind=kind, source_port=args.source_port, tos=args.tos)
    with sender:
        if args.stdin:
            pacing = None if rate.unlimited else Pacing(rate.pps(max(1, args.size)), burst=1)
            result = sender.send_datagrams(sockets.iter_lines(env.stdin_binary), pacing=pacing)
            _summary(args, env, result, rate_text, sender, None)
            return ExitStatus.INTERRUPTED if result.interrupted else ExitStatus.OK
        pps = rate.pps(args.size) * groups  # the rate is per group
        if args.count is None and duration is None:
            duration = 10.0
        budget = packet_budget(pps, duration, None if args.count is None else args.count * groups)
        pacing = None if rate.unlimited else Pacing(pps, burst=max(1, min(64, int(pps / 1000) + 1)))
        stream_id = sockets.random_stream_id()
        clock_id = interfaces.boot_clock_id()
        live = env.stderr_isatty and not args.quiet and not args.json

        def progress(sent: int, elapsed: float) -> None:
            env.stderr.write(f"\r{elapsed:6.1f}s  sent {sent:,} datagrams  {sent / elapsed if elapsed else 0:,.0f} pps ")
            env.stderr.flush()

        result = sender.send_stream(size=args.size, pacing=pacing, budget=budget,
                                    # --duration is a promise: the budget ends a paced stream
                                    # on time; a host that cannot keep the rate stops at the
                                    # deadline (a scheduling tick of grace) and says so below
                                    duration=None if duration is None else
                                    duration if budget is None else duration + DEADLINE_GRACE,
                                    stream_id=stream_id, clock_id=clock_id,
                                    progress=progress if live else None)
        interrupted = result.interrupted
        if live:
            env.stderr.write("\r\033[K")
        sender.send_end(stream_id, result.sent, clock_id)
        _summary(args, env, result, str(rate), sender, pps)
        if budget is not None and duration is not None and not interrupted and result.sent < budget:
            env.warn(f"this host sent {result.pps:,.0f} pps, below the {pps:,.0f} pps asked: "
                     f"{result.sent:,} of {budget:,} datagrams went out in the {duration:g} s of --duration "
                     "(lower --rate, or --count N to send them all whatever it takes)")
    return ExitStatus.INTERRUPTED if interrupted else ExitStatus.OK


#: Seconds past --duration a paced stream may take to send its last datagram (a scheduler tick).
DEADLINE_GRACE = 0.05


def _summary(args: argparse.Namespace, env: Environment, result: Any, rate: str, sender: Any,
             pps: float | None) -> None:
    from mdiag.adapters import sockets

    local = sender.local_address
    if local[0] in ("0.0.0.0", "::"):  # unconnected (several groups): show the interface's address
        from mdiag.adapters import interfaces

        first = interfaces.first_ipv6 if sender.family == 6 else interfaces.first_ipv4
        local = ((first(args.iface) or local[0]), local[1])
    if args.json:
        from mdiag.cli import render

        render.emit_json({"destination": args.destination, "port": args.port, "iface": args.iface,
                          "source": sockets.endpoint(local), "mode": "stdin" if args.stdin else "stream",
                          "rate": rate, "size": None if args.stdin else args.size, "ttl": args.ttl,
                          **result.to_json()}, env.stdout, "send")
        return
    mbit = result.bytes * 8 / result.elapsed / 1e6 if result.elapsed else 0.0
    what = "lines" if args.stdin else f"datagrams of {args.size} bytes"
    if len(sender.destinations) > 1:
        what += f" over {len(sender.destinations)} groups"
    stream = f", stream id {result.stream_id}" if result.stream_id is not None else ""
    target = sockets.endpoint((args.destination, args.port))
    print(f"sent {result.sent:,} {what} from {sockets.endpoint(local)} to {target} "
          f"on {args.iface} in {result.elapsed:.3f} s ({result.pps:,.0f} pps, {mbit:,.2f} Mbit/s"
          f"{', target ' + rate + (' per group' if len(sender.destinations) > 1 else '') if pps else ''})"
          f"{stream}", file=env.stdout)
    if result.retries:
        print(f"the kernel queue was full {result.retries:,} times (ENOBUFS): retried, nothing skipped",
              file=env.stdout)
