"""``mdiag analyze``: tell the story of a capture and judge it (docs/analyze.md)."""

from __future__ import annotations

import argparse
import datetime as dt
import os
import re
import sys
import time as _time
from typing import Any

from mdiag.cli import options as cli_options
from mdiag.cli import pictures
from mdiag.cli.environment import Environment
from mdiag.errors import ExitStatus, InputError

HELP = "analyse a pcap/pcapng capture: queriers, elections, memberships, data, findings; CI expectations"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("captures", nargs="+", metavar="CAPTURE",
                        help="pcap or pcapng file (gzip/bzip2/xz allowed), '-' for standard input")
    narrow = parser.add_argument_group("narrowing")
    narrow.add_argument("--vlan", type=int, metavar="N", help="only segments on VLAN N")
    narrow.add_argument("--group", action="append", default=[], metavar="G",
                        help="only this group (repeatable); with --timeline, its story")
    narrow.add_argument("--querier", metavar="IP", help="with --timeline: the story of this querier")
    narrow.add_argument("--subnet", action="append", default=[], metavar="CIDR",
                        help="the link's IPv4 subnet (repeatable; pcapng if_IPv4addr is read too): "
                             "reports from outside it are flagged")
    narrow.add_argument("--since", metavar="T",
                        help="start at T: seconds from the first frame (30, 90s, 2m) or an ISO time")
    narrow.add_argument("--until", metavar="T", help="stop at T (same forms as --since)")
    narrow.add_argument("--profile", default="rfc3376", choices=["rfc3376", "rfc9776", "rfc3810", "rfc9777"],
                        help="timer formulas (default rfc3376); rfc3810 and rfc9777 are the same formulas "
                             "under their MLD names (RFC 3810 9); results name the profile used")
    out = parser.add_argument_group("output")
    fmt = out.add_mutually_exclusive_group()
    fmt.add_argument("--json", action="store_true", help="JSON (schema in docs/analyze.md)")
    fmt.add_argument("--csv", action="store_true", help="CSV, one row per segment and group")
    out.add_argument("--timeline", action="store_true",
                     help="print the ordered story (of --group / --querier, or of everything)")
    pictures.add_options(out, pictures=True)
    ci = parser.add_argument_group("CI")
    ci.add_argument("--expect", action="append", default=[], metavar="EXPR",
                    help="assertion such as querier=198.18.0.1, igmp-version=3, max-leave-latency=3s, "
                         "no-findings>=warning, group=239.1.1.1:members>=2 (repeatable)")
    ci.add_argument("--expect-file", metavar="FILE", help="expectations, one per line, # comments")
    ci.add_argument("--junit", metavar="FILE", help="write JUnit XML (one test case per expectation)")
    ci.add_argument("--force", action="store_true",
                    help="overwrite existing output files (--junit, --html, --svg, --png)")
    cli_options.add_fail_on(ci, default="error", seen="(without expectations) a finding",
                            why="a real network's capture nearly always holds warnings, such as "
                                "a late report, and a CI gate should trip on what breaks delivery")


def _parse_time(text: str, option: str) -> tuple[float | None, int | None]:
    """(relative seconds, absolute ns): one of them is set."""
    raw = text.strip()
    match = re.fullmatch(r"\+?([0-9]*\.?[0-9]+)\s*(ms|s|m|h)?", raw)
    if match:
        value = float(match.group(1))
        unit = match.group(2) or "s"
        value *= {"ms": 0.001, "s": 1, "m": 60, "h": 3600}[unit]
        return value, None
    try:
        when = dt.datetime.fromisoformat(raw.replace("Z", "+00:00"))
    except ValueError:
        raise InputError(f"{option} {text!r}: give seconds from the first frame (30, 90s, 2m) "
                         "or an ISO time (2024-05-01T10:00:00Z)") from None
    if when.tzinfo is None:
        when = when.replace(tzinfo=dt.timezone.utc)
    return None, int(when.timestamp()) * 1_000_000_000 + when.microsecond * 1000


class _Progress:
    """A one-line progress bar on stderr (only used when stderr is a terminal)."""

    def __init__(self, stream: Any, name: str, total: int | None) -> None:
        self.stream = stream
        self.name = name
        self.total = total
        self.last = 0.0
        self.shown = False

    def __call__(self, done: int, frames: int) -> None:
        now = _time.monotonic()
        if now - self.last < 0.2:
            return
        self.last = now
        if self.total:
            share = min(done / self.total, 1.0)
            bar = "#" * int(share * 30)
            text = f"\r{self.name}: [{bar:<30}] {share * 100:5.1f}% {frames:,} frames"
        else:
            text = f"\r{self.name}: {done / 1e6:,.1f} MB, {frames:,} frames"
        self.stream.write(text)
        self.stream.flush()
        self.shown = True

    def close(self) -> None:
        if self.shown:
            self.stream.write("\r\033[K")
            self.stream.flush()


def run(args: argparse.Namespace, env: Environment) -> ExitStatus:
    from ipaddress import IPv4Network, ip_address

    from mdiag.analysis import expectations as ex
    from mdiag.core.timers import Profile

    # ---- validate everything before reading a byte ----------------------------------
    expectations = [ex.parse(text) for text in args.expect]
    if args.expect_file:
        from mdiag.adapters.textinput import MIB, TextInputError, TextLimits, read_lines

        limits = TextLimits("a file of expectations", max_line=4096, max_bytes=MIB)
        try:
            expectations += ex.parse_file(read_lines(args.expect_file, limits, stdin=env.stdin_binary),
                                          args.expect_file)
        except TextInputError as exc:
            raise InputError(f"--expect-file {exc.message}") from None
    if args.vlan is not None and not 0 <= args.vlan <= 4095:
        raise InputError(f"--vlan {args.vlan}: a VLAN ID is 0..4095")
    groups = []
    for text in args.group:
        try:
            group: Any = ip_address(text.strip())
        except ValueError:
            raise InputError(f"--group {text!r} is not an IP address; give a group such as 239.1.1.1 "
                             "or ff05::1:3") from None
        if not group.is_multicast:
            raise InputError(f"--group {text} is not a multicast group (224.0.0.0/4 or ff00::/8)")
        groups.append(group)
    querier: Any = None
    if args.querier:
        try:
            querier = ip_address(args.querier.strip())
        except ValueError:
            raise InputError(f"--querier {args.querier!r} is not an IPv4 or IPv6 address") from None
    subnets = []
    for text in args.subnet:
        try:
            subnets.append(IPv4Network(text.strip(), strict=False))
        except ValueError:
            raise InputError(f"--subnet {text!r} is not an IPv4 network; give one such as "
                             "198.18.0.0/24") from None
    since, since_ns = _parse_time(args.since, "--since") if args.since else (None, None)
    until, until_ns = _parse_time(args.until, "--until") if args.until else (None, None)
    if since is not None and until is not None and until < since:
        raise InputError(f"--until {args.until} is before --since {args.since}")
    if args.junit:
        from mdiag.adapters.outfile import check_output

        check_output(args.junit, force=args.force, option="--junit", make_folder=True)
    pictures.check_outputs(args)
    if args.captures.count("-") > 1:
        raise InputError("standard input ('-') can be read only once")
    if "-" in args.captures and _is_terminal(env.stdin):
        raise InputError("'-' reads a capture from standard input, which is a terminal; pipe one in "
                         "(tcpdump -w - ... | mdiag analyze -) or give a file")

    from mdiag.adapters.capture import open_capture
    from mdiag.analysis.pipeline import AnalysisOptions, analyze

    runs: list[tuple[str, Any, list[Any], str | None]] = []
    unusable = False
    for path in args.captures:
        progress = None
        if env.stderr_isatty:
            total = None
            if path != "-":
                try:
                    total = os.path.getsize(path)
                except OSError:
                    total = None
            progress = _Progress(env.stderr, os.path.basename(path) if path != "-" else "stdin", total)
        options = AnalysisOptions(
            profile=Profile.parse(args.profile), vlan=args.vlan, groups=frozenset(groups), querier=querier,
            since=since, until=until, since_ns=since_ns, until_ns=until_ns, timeline=args.timeline,
            progress=progress, history=bool(pictures.wanted(args)), subnets=tuple(subnets))
        try:
            with open_capture(path, stdin=env.stdin_binary if path == "-" else None) as capture:
                if progress is not None and capture.compression:
                    progress.total = None
                report = analyze(capture, options)
        except InputError as exc:
            if progress:
                progress.close()
            env.error(exc.message)
            runs.append((path, None, [], exc.message))
            unusable = True
            continue
        if progress:
            progress.close()
        results = ex.evaluate(report, expectations) if expectations else []
        runs.append((path, report, results, None))

    # ---- output --------------------------------------------------------------------
    good = [(p, r, res) for p, r, res, err in runs if r is not None]
    if args.json:
        from mdiag.cli import render

        analyses = []
        for path, report, results in good:
            body = report.to_json()
            if expectations:
                body["expectations"] = [r.to_json() for r in results]
                body["passed"] = all(r.passed for r in results)
            analyses.append(body)
        render.emit_json({"analyses": analyses,
                          "errors": [{"capture": p, "error": e} for p, _, _, e in runs if e]},
                         env.stdout, "analyze")
    elif args.csv:
        from mdiag.analysis.csvout import write_csv

        write_csv((r for _, r, _ in good), env.stdout)
    else:
        for index, (path, report, results) in enumerate(good):
            if index:
                print(file=env.stdout)
            _print_report(report, results, args.timeline, env)

    if args.junit:
        from mdiag.analysis.junit import junit_xml

        from mdiag.adapters.outfile import open_output

        with open_output(args.junit, force=args.force, option="--junit", make_folder=True) as handle:
            handle.write(junit_xml(runs))

    pictures.write_analysis(args, [r for _, r, _ in good], lambda text: print(f"mdiag: {text}", file=env.stderr))

    if unusable:
        return ExitStatus.BAD_INPUT
    if expectations:
        failed = [r for _, _, res in good for r in res if not r.passed]
        return ExitStatus.PROBLEM_FOUND if failed else ExitStatus.OK
    if cli_options.fails(args.fail_on, (f.severity for _, r, _ in good for f in r.findings)):
        return ExitStatus.PROBLEM_FOUND
    return ExitStatus.OK


def _is_terminal(stream: Any) -> bool:
    try:
        return bool(stream.isatty())
    except (AttributeError, ValueError, OSError):
        return False


def _t(value: float | None) -> str:
    return "" if value is None else f"{value:.3f}"


def _profile_names(report: Any) -> str:
    """The timer profile, with its MLD twin (RFC 3810 9 / RFC 9777) when MLD was analysed."""
    name = str(report.profile.value)
    if report.counters.get("mld"):
        name += f" (MLD: {report.profile.rfc(6).replace(' ', '').lower()})"
    return name


def _print_report(report: Any, results: list[Any], timeline: bool, env: Environment) -> None:
    from mdiag.cli import render
    from mdiag.cli.render import sanitize

    out = env.stdout
    c = report.counters
    comp = f", {report.compression}" if report.compression else ""
    print(f"capture {sanitize(report.name)} ({report.format}{comp}): {c['frames']:,} frames, "
          f"{report.duration:.3f} s from {report.start_iso or '-'}; timers {_profile_names(report)}", file=out)
    print(f"  IGMP {c['igmp']:,}" + (f", MLD {c['mld']:,}" if c.get("mld") else "")
          + f", multicast data {c['multicast_data_packets']:,} packets / "
          f"{c['multicast_data_bytes']:,} bytes, other IPv4 {c['other_ipv4']:,}, non-IPv4 {c['non_ipv4']:,}, "
          f"fragments {c['fragments']:,}" + (f", truncated {c['truncated']:,}" if c["truncated"] else "")
          + (f", multicast routing {c['multicast_routing']:,}" if c.get("multicast_routing") else ""),
          file=out)
    from mdiag.analysis.tables import findings_table, summary_tables

    for table in summary_tables(report):
        print(file=out)
        render.table(table.rows, table.headers, out)
    print(file=out)
    if report.findings:
        found = findings_table(report)
        render.table(found.rows, found.headers, out)
        if report.findings_dropped:
            print(f"({report.findings_dropped} more distinct findings not kept)", file=out)
    else:
        print("no findings", file=out)
    if timeline:
        print(file=out)
        if report.timeline:
            render.table(([_t(e.time), e.frame or "", e.segment, e.group or "", e.text]
                          for e in report.timeline), ["time", "frame", "segment", "group", "event"], out)
        else:
            print("timeline: nothing to tell for this selection", file=out)
        if report.timeline_dropped:
            print(f"({report.timeline_dropped} more events not kept; narrow with --group, --querier "
                  "or --since/--until)", file=out)
    if results:
        print(file=out)
        render.table((["PASS" if r.passed else "FAIL", r.expectation.text, r.actual, r.detail]
                      for r in results), ["result", "expectation", "actual", "detail"], out)
        failed = sum(1 for r in results if not r.passed)
        print(f"{len(results) - failed} of {len(results)} expectations passed", file=out)


if __name__ == "__main__":  # pragma: no cover
    sys.exit("run as: mdiag analyze ...")
