"""``mdiag monitor``: watch a live interface continuously (docs/monitor.md)."""

from __future__ import annotations

import argparse
import os
import select
import signal
import threading
import time
from typing import Any, TextIO

from mdiag.cli import options
from mdiag.cli.environment import Environment
from mdiag.errors import ExitStatus, InputError

HELP = ("watch a live interface: querier, memberships, data, findings as they happen; "
        "live table, JSON lines, Prometheus endpoint, incident pcaps")

#: Rows of the group table on the live screen.
LIVE_GROUPS = 15


def add_arguments(parser: argparse.ArgumentParser) -> None:
    options.add_iface(parser, help="interface to watch (required; passive: nothing is sent unless --group)")
    parser.add_argument("--no-promisc", action="store_true",
                        help="do not put the interface in promiscuous mode (tcpdump -p): a span port "
                             "or a bridge device then shows only what is addressed to this host")
    out = parser.add_argument_group("outputs")
    out.add_argument("--jsonl", metavar="FILE|-",
                     help="events as JSON lines, appended to FILE or written to stdout (-)")
    out.add_argument("--metrics", metavar="ADDR:PORT",
                     help="serve Prometheus metrics on ADDR:PORT/metrics (PORT alone: 127.0.0.1)")
    out.add_argument("--quiet", action="store_true", help="no live table or event lines, only the summary")
    ring = parser.add_argument_group("incident captures")
    ring.add_argument("--ring", metavar="DIR", help="keep recent frames; write DIR/incident-*.pcap around each error")
    ring.add_argument("--ring-size", type=float, default=16.0, metavar="MB",
                      help="frames kept in memory, in MB (default 16)")
    ring.add_argument("--ring-after", type=options.duration(3600), default=10.0, metavar="T",
                      help="how long an incident file goes on after its finding (default 10s)")
    ring.add_argument("--ring-on", choices=("error", "warning"), default="error",
                      help="finding severity that writes an incident (default error)")
    ring.add_argument("--ring-max-files", type=int, default=100, metavar="N",
                      help="incident files per run at most (default 100; later ones are counted)")
    streams = parser.add_argument_group("test streams (joins like mdiag listen)")
    streams.add_argument("--group", action="append", default=[], metavar="G",
                         help="join G and measure mdiag send test streams (loss, jitter); repeat, "
                              "comma-separate or give ranges")
    streams.add_argument("--source", action="append", default=[], metavar="S",
                         help="source-specific joins for --group (SSM)")
    streams.add_argument("--port", type=int, default=5001, help="UDP port of the test streams (default 5001)")
    caps = parser.add_argument_group("bounded memory")
    caps.add_argument("--max-groups", type=int, default=2000, metavar="N",
                      help="groups tracked (and exported) at most (default 2000)")
    caps.add_argument("--max-segments", type=int, default=64, metavar="N",
                      help="VLAN/family segments at most (default 64)")
    caps.add_argument("--max-flows", type=int, default=10000, metavar="N",
                      help="(sender, group) data flows at most (default 10000)")
    caps.add_argument("--max-streams", type=int, default=64, metavar="N",
                      help="test streams at most (default 64)")
    caps.add_argument("--forget-after", type=options.duration(7 * 86400), default=3600.0, metavar="T",
                      help="forget groups, flows, routers and streams quiet this long (default 1h)")
    parser.add_argument("--duration", type=options.duration(7 * 86400), metavar="T",
                        help="stop after T (default: until SIGTERM or Ctrl-C)")
    parser.add_argument("--json", action="store_true", help="print the final summary as JSON")


def run(args: argparse.Namespace, env: Environment) -> ExitStatus:
    from mdiag.core.findings import Severity
    from mdiag.monitor.state import Limits

    for name in ("max_groups", "max_segments", "max_flows", "max_streams", "ring_max_files"):
        if getattr(args, name) < 1:
            raise InputError(f"--{name.replace('_', '-')} must be at least 1, not {getattr(args, name)}")
    if not 0 < args.ring_size <= 4096:
        raise InputError(f"--ring-size {args.ring_size:g} must be more than 0 and at most 4096 (MB)")
    if not 1 <= args.port <= 65535:
        raise InputError(f"--port {args.port} is out of range 1..65535")
    duration = args.duration
    limits = Limits(max_segments=args.max_segments, max_groups=args.max_groups, max_flows=args.max_flows,
                    forget_after=args.forget_after)
    joins = _joins(args, env)
    listen = None
    if args.metrics:
        from mdiag.adapters.prometheus import parse_listen

        listen = parse_listen(args.metrics)
    if args.ring:
        _ring_directory(args.ring)
    from mdiag.monitor.runner import MonitorOptions

    options = MonitorOptions(
        iface=args.iface, netns=args.netns, limits=limits, ring_dir=args.ring,
        ring_bytes=int(args.ring_size * (1 << 20)), ring_after=args.ring_after,
        ring_max_files=args.ring_max_files,
        ring_severity=Severity.WARNING if args.ring_on == "warning" else Severity.ERROR,
        max_streams=args.max_streams, promiscuous=not args.no_promisc)
    jsonl_file: TextIO | None = None
    try:
        if args.jsonl and args.jsonl != "-":
            jsonl_file = _open_jsonl(args.jsonl)
        return _monitor(args, env, options, joins, listen, duration, jsonl_file)
    finally:
        if jsonl_file is not None:
            try:
                jsonl_file.close()
            except OSError:
                pass   # already told: the write that failed said why


def _joins(args: argparse.Namespace, env: Environment) -> list[Any]:
    if not args.group:
        if args.source:
            raise InputError("--source needs --group (the groups to join from those sources)")
        return []
    from mdiag.adapters import sockets
    from mdiag.cli.options import parse_group_list, parse_sources

    groups, errors = parse_group_list(args.group, hint="; --group takes multicast groups",
                                      iface=args.iface)
    for line in errors[:-1]:
        env.error(line)
    if errors:
        raise InputError(errors[-1])
    if len(groups) > 1024:
        raise InputError(f"--group gives {len(groups)} groups; a monitor joins at most 1024")
    sources = parse_sources(args.source, env)
    per_group: list[str | None] = list(sources) or [None]    # None: any-source join
    return [sockets.Join(g, s) for g in groups for s in per_group]


def _ring_directory(path: str) -> None:
    if os.path.exists(path) and not os.path.isdir(path):
        raise InputError(f"--ring {path}: exists and is not a directory; give a directory for the "
                         "incident captures")
    try:
        os.makedirs(path, exist_ok=True)
    except OSError as exc:
        raise InputError(f"--ring {path}: cannot create the directory: {exc.strerror or exc}") from None
    if not os.access(path, os.W_OK | os.X_OK):
        raise InputError(f"--ring {path}: the directory is not writable")


def _open_jsonl(path: str) -> TextIO:
    if os.path.isdir(path):
        raise InputError(f"--jsonl {path} is a directory; give a file (events are appended) or -")
    try:
        return open(path, "a", encoding="utf-8")  # noqa: SIM115 - closed by run()
    except OSError as exc:
        raise InputError(f"--jsonl {path}: cannot append: {exc.strerror or exc}") from None


def _monitor(args: argparse.Namespace, env: Environment, options: Any, joins: list[Any],
             listen: tuple[str, int] | None, duration: float | None, jsonl_file: TextIO | None) -> ExitStatus:
    from mdiag.monitor.events import JsonLines, text_line
    from mdiag.monitor.runner import Monitor, run_capture

    sinks: list[Any] = []
    to_stdout_json = args.jsonl == "-"
    failures: list[str] = []

    def failed(reason: str) -> None:
        failures.append(reason)
        env.error(reason)

    if jsonl_file is not None:
        sinks.append(JsonLines(jsonl_file, args.jsonl, failed))
    if to_stdout_json:
        sinks.append(JsonLines(env.stdout, "-", failed))
    live = not args.quiet and not to_stdout_json and env.stdout_isatty
    if not args.quiet and not to_stdout_json and not live and not args.json:
        sinks.append(lambda event: print(text_line(event), file=env.stdout, flush=True))

    def emit(event: dict[str, Any]) -> None:
        for sink in sinks:
            sink(event)

    monitor = Monitor(options, emit=emit)
    server = None
    stop = threading.Event()
    caught: list[int] = []
    reader_gone: list[bool] = []

    def on_signal(signum: int, _frame: Any) -> None:
        caught.append(signum)
        stop.set()

    previous = {}
    if threading.current_thread() is threading.main_thread():
        for signum in (signal.SIGTERM, signal.SIGINT):
            previous[signum] = signal.signal(signum, on_signal)
    try:
        if listen is not None:
            from mdiag.adapters.prometheus import MetricsServer

            server = MetricsServer(listen[0], listen[1], monitor.families)

        def ready() -> None:
            emit({"event": "start", "time": time.time(), "iface": options.iface, "netns": options.netns,
                  "metrics": server.url if server is not None else None, "ring": options.ring_dir,
                  "groups": sorted({j.group for j in joins})})
            if not live and not args.quiet and not to_stdout_json and server is not None:
                env.stderr.write(f"mdiag: monitoring {options.iface}; metrics on {server.url}\n")
                env.stderr.flush()

        screen = _LiveScreen(env.stdout, monitor, server.url if server else None) if live else None
        # stdout is the only output and its reader went away (`| head`): nothing is left to
        # watch for, so stop as tcpdump does; with an endpoint, a file or a ring it goes on
        stdout_only = server is None and jsonl_file is None and options.ring_dir is None

        def on_tick(now_ns: int) -> None:
            if screen is not None:
                screen.draw(now_ns)
            if stdout_only and _reader_gone(env.stdout):
                reader_gone.append(True)
                stop.set()

        until = time.monotonic_ns() + int(duration * 1e9) if duration is not None else None
        run_capture(monitor, stop, until_ns=until, groups=joins, port=args.port, ready=ready,
                    on_tick=on_tick)
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)
        if server is not None:
            server.close()
    summary = monitor.summary()
    names = {int(signal.SIGTERM): "SIGTERM", int(signal.SIGINT): "SIGINT"}
    summary["stopped_by"] = (names.get(caught[0], "signal") if caught
                             else "stdout-closed" if reader_gone else "duration")
    emit({"event": "summary", "time": time.time(), **summary})
    if args.json:
        from mdiag.cli import render

        render.emit_json(summary, env.stdout if not to_stdout_json else env.stderr, "monitor")
    elif not to_stdout_json:
        if live:
            env.stdout.write("\033[H\033[2J")
        _print_summary(env.stdout, summary)
    if not caught:
        # an output that failed on the way (disk full) is the run's verdict: 74
        return ExitStatus.OUTPUT_FAILED if failures else ExitStatus.OK
    # as every command (docs/exit-status.md): 130 after Ctrl-C, 143 after SIGTERM
    return ExitStatus.INTERRUPTED if caught[0] == signal.SIGINT else ExitStatus.TERMINATED


def _reader_gone(out: TextIO) -> bool:
    """The reader of ``out`` went away: a write met EPIPE, or (a quiet link writes nothing)
    the pipe reports POLLERR, as a pipe whose read end is closed does."""
    if getattr(out, "reader_gone", False):
        return True
    try:
        poller = select.poll()
        poller.register(out.fileno(), 0)
        return any(events & select.POLLERR for _fd, events in poller.poll(0))
    except (OSError, ValueError, AttributeError):   # no descriptor (a test's StringIO)
        return False


def _print_summary(out: TextIO, summary: dict[str, Any]) -> None:
    from mdiag.cli import render

    print(f"monitored {summary['iface']} for {summary['duration_s']:.1f} s: {summary['frames']:,} frames, "
          f"{summary['kernel_drops']:,} dropped by the kernel, {summary['events']:,} events "
          f"(stopped by {summary['stopped_by']})", file=out)
    if summary["segments"]:
        render.table([[s["segment"], s["querier"] or "-", s["querier_version"] or "-",
                       "-" if s["query_interval_s"] is None else f"{s['query_interval_s']:.1f}",
                       s["elections"], s["groups"], s["members"], s["joins"], s["leaves"], s["expiries"],
                       f"{s['data_packets']:,}"] for s in summary["segments"]],
                     ["segment", "querier", "ver", "interval s", "elections", "groups", "members",
                      "joins", "leaves", "expiries", "data pkts"], out)
    if summary["streams"]:
        render.table([[s["group"], s["source"], f"{s['received']:,}", f"{s['lost']:,}",
                       f"{s['loss_ratio'] * 100:.2f}%", f"{s['jitter_ms']:.3f}"] for s in summary["streams"]],
                     ["group", "source", "received", "lost", "loss", "jitter ms"], out)
    if summary["findings"]:
        print("findings: " + ", ".join(f"{f['code']} ({f['severity']}) x{f['count']}"
                                       for f in summary["findings"]), file=out)
    if summary["incidents"]:
        print(f"incident captures written: {summary['incidents']}", file=out)
    dropped = {k: v for k, v in summary["dropped"].items() if v}
    if dropped:
        print("dropped by the memory caps: " + ", ".join(f"{k} {v:,}" for k, v in dropped.items()), file=out)


class _LiveScreen:
    """The live table on a terminal, redrawn every tick."""

    def __init__(self, out: TextIO, monitor: Any, url: str | None) -> None:
        self.out = out
        self.monitor = monitor
        self.url = url
        self.started = time.monotonic()
        self._packets: dict[tuple[str, str], tuple[int, float]] = {}

    def draw(self, now_ns: int) -> None:
        from mdiag.cli import render

        monitor = self.monitor
        with monitor.lock:
            state = monitor.state
            segments = list(state.segments.values())
            head = (f"mdiag monitor {monitor.options.iface}"
                    + (f" (netns {monitor.options.netns})" if monitor.options.netns else "")
                    + f"  up {time.monotonic() - self.started:,.0f} s  frames {state.frames:,}"
                    + f"  kernel drops {state.kernel_drops:,}" + (f"  {self.url}" if self.url else ""))
            seg_rows = [[v.name, v.querier or "NONE", v.querier_version or "-",
                         "-" if v.query_interval is None else f"{v.query_interval:.1f}",
                         v.elections, v.present_groups(), v.members(), v.hosts(), v.joins, v.leaves,
                         v.expiries] for v in segments]
            groups = []
            now = time.monotonic()
            for v in segments:
                for g in v.groups.values():
                    key = (v.name, g.group)
                    before = self._packets.get(key)
                    rate = (g.data_packets - before[0]) / max(now - before[1], 1e-3) if before else 0.0
                    self._packets[key] = (g.data_packets, now)
                    groups.append([g.group, v.name, len(g.members), g.joins, g.leaves, g.expiries,
                                   f"{g.data_packets:,}", f"{rate:,.0f}"])
            streams = [[g, s, f"{t.received:,}", f"{t.lost:,}",
                        f"{(t.lost / t.expected * 100 if t.expected else 0):.2f}%", f"{t.jitter_ns / 1e6:.3f}"]
                       for (g, s), t in sorted(monitor.streams.items())]
            findings = list(monitor.last_findings[-5:])
        if len(self._packets) > 4 * LIVE_GROUPS + 1000:
            self._packets.clear()
        groups.sort(key=lambda r: (-r[2], r[0]))
        out = self.out
        out.write("\033[H\033[2J" + head + "\n\n")
        if seg_rows:
            render.table(seg_rows, ["segment", "querier", "ver", "interval s", "elections", "groups",
                                    "members", "hosts", "joins", "leaves", "expiries"], out)
        else:
            out.write("no IGMP/MLD or multicast data seen yet\n")
        if groups:
            out.write("\n")
            render.table(groups[:LIVE_GROUPS], ["group", "segment", "members", "joins", "leaves",
                                                "expiries", "data pkts", "pkt/s"], out)
            if len(groups) > LIVE_GROUPS:
                out.write(f"... {len(groups) - LIVE_GROUPS} more groups (see --metrics or --jsonl)\n")
        if streams:
            out.write("\n")
            render.table(streams, ["stream group", "source", "received", "lost", "loss", "jitter ms"], out)
        if findings:
            out.write("\nrecent findings:\n")
            for f in findings:
                out.write(f"  {f['severity']:7} {f['code']}: {f['message'][:150]}\n")
        out.flush()
