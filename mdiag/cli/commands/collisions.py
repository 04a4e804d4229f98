"""``mdiag collisions``: audit a channel plan for shared MACs and flooded 224.0.0.x aliases.

A CI gate: exit 1 when the plan has a MAC collision, a flooded alias, a 224.0.0.x
group or one group carrying two different labels; 0 when clean; 2 when an input
could not be read (the readable ones are still audited and reported).
"""

from __future__ import annotations

import argparse
from typing import Any

from mdiag.cli import options
from mdiag.cli.environment import Environment
from mdiag.errors import ExitStatus, InputError

HELP = "audit groups, ranges, CIDRs or a channel-plan file for shared MACs and flooded 224.0.0.x aliases"


def _limit(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"--limit wants a whole number of rows, not {text!r}") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"--limit must be 0 or more, not {value}")
    return value


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.epilog = ("Exit status: 0 clean; 1 a MAC collision, flooded 224.0.0.x alias, 224.0.0.0/24 group or "
                     "a group with two labels (with --fail-on warning also any warning); 2 an input could not be read "
                     "(the rest is still audited).")
    parser.add_argument("entries", nargs="*", metavar="ENTRY",
                        help="239.1.1.1, 239.1.1.1-239.1.1.50 (or -50), 239.1.0.0/16, ff3e::8000:1, ff3e::/96; "
                             "ADDR=label adds a label")
    parser.add_argument("-f", "--file", action="append", default=[], metavar="PLAN",
                        help="plan file: one entry per line, '#' comments, optional label after the address "
                             "('-' reads stdin); may be repeated")
    parser.add_argument("--limit", type=_limit, default=20, metavar="N",
                        help="rows to show per section (default 20; counts are always exact)")
    options.add_fail_on(parser, default="error", seen="a finding of the audit",
                        why="warnings (a group in an IANA reserved block, an entry listed twice) "
                            "are legal plans; 'warning' makes them fail too", strict_synonym=True)
    parser.add_argument("--json", action="store_true", help="print JSON (schema in docs/addresses.md)")
    # Entries may come before or after options ("239.1.1.1 --file plan.txt 239.2.2.2"):
    # argparse only fills a '*' positional once, so move the entries to the front first.
    original = parser.parse_known_args

    def parse_known_args(args: Any = None, namespace: Any = None) -> Any:
        return original(_entries_first(list(args) if args is not None else None), namespace)

    parser.parse_known_args = parse_known_args  # type: ignore[method-assign]


_VALUED = {"-f", "--file", "--limit", "--fail-on"}


def _entries_first(args: list[str] | None) -> list[str] | None:
    if args is None:
        return None
    entries: list[str] = []
    flags: list[str] = []
    index = 0
    while index < len(args):
        arg = args[index]
        if arg == "--":
            entries.extend(args[index + 1:])
            break
        if arg in _VALUED:
            flags.extend(args[index:index + 2])
            index += 2
            continue
        (flags if arg.startswith("-") and len(arg) > 1 else entries).append(arg)
        index += 1
    return [*entries, *flags]


def run(args: argparse.Namespace, env: Environment) -> ExitStatus:
    from mdiag.cli.address_inputs import read_plan
    from mdiag.core.addresses.audit import audit
    from mdiag.core.addresses.plan import Entry, EntryProblem, parse_arguments

    if not args.entries and not args.file:
        raise InputError("nothing to audit: give groups, ranges or CIDRs, or --file PLAN")

    entries: list[Entry] = []
    problems: list[EntryProblem] = []

    def take(items: Any) -> None:
        for item in items:
            (entries if isinstance(item, Entry) else problems).append(item)

    take(parse_arguments(args.entries))
    for path in args.file:
        read_plan(path, env, take, problems)

    # Up to STREAM_ROWS rows per section are held in the report; a bigger --limit streams its
    # rows from fresh sweeps while printing, so memory never grows with --limit.
    streaming = args.limit > STREAM_ROWS
    report = audit(entries, args.limit, row_limit=STREAM_ROWS)

    def rows(kind: str) -> Any:
        if not streaming:
            return getattr(report, kind)
        from mdiag.core.addresses.audit import audit_rows

        return audit_rows(entries, kind, args.limit)

    # The verdict is decided before anything is printed, so a reader that goes away
    # (`mdiag collisions --file plan.txt | head` under `set -o pipefail`) cannot turn
    # a failing gate into a pass: the status survives a broken pipe.
    if problems:
        status = ExitStatus.BAD_INPUT
    elif options.fails(args.fail_on, (f.severity for f in report.findings)):
        status = ExitStatus.PROBLEM_FOUND
    else:
        status = ExitStatus.OK
    if args.json:
        document = report.to_json()
        document["errors"] = [p.to_json() for p in problems]
        _emit_json(document, rows, env)
    else:
        _print_report(report, env, len(problems), rows, args.limit)
    for problem in problems:
        env.error(problem.message)
    return status


def _n(count: int, noun: str, one: str = "", many: str = "") -> str:
    text = f"{count} {noun} {one}" if count == 1 else f"{count:,} {noun}s {many}"
    return text.rstrip()


#: Rows per section held in memory; a bigger --limit streams (see run).
STREAM_ROWS = 2000


def _emit_json(document: dict[str, Any], rows: Any, env: Environment) -> None:
    """The document of docs/addresses.md, its row lists written one row at a time."""
    import json

    from mdiag.cli.render import JSON_SCHEMA_VERSION
    from mdiag.core.addresses.audit import ROW_KINDS

    out = env.stdout
    body = {"schema": JSON_SCHEMA_VERSION, "command": "collisions", **document}
    keys = list(body)
    out.write("{")
    for index, key in enumerate(keys):
        out.write(("," if index else "") + "\n  " + json.dumps(key) + ": ")
        if key in ROW_KINDS:
            out.write("[")
            count = 0
            for row in rows(key):
                out.write(("," if count else "") + "\n    " + json.dumps(row.to_json(), indent=2).replace("\n", "\n    "))
                count += 1
            out.write("\n  ]" if count else "]")
        else:
            out.write(json.dumps(body[key], indent=2).replace("\n", "\n  "))
    out.write("\n}\n")


def _table(rows: Any, headers: list[str], out: Any) -> None:
    """A table of any number of rows: tabulate's up to STREAM_ROWS, then streamed with the
    column widths of those rows."""
    import itertools

    from mdiag.cli import render

    iterator = iter(rows)
    sample = [list(map(str, row)) for row in itertools.islice(iterator, STREAM_ROWS + 1)]
    if len(sample) <= STREAM_ROWS:
        render.table(sample, headers, out)
        return
    writer = render.StreamTable.sized_by(headers, out, sample)
    writer.rows(sample)
    writer.rows([str(cell) for cell in row] for row in iterator)


def _shown(total: int, rows: int) -> str:
    return "all shown" if rows >= total else f"showing {rows}; raise --limit for more"


def _print_report(report: Any, env: Environment, unreadable: int = 0, rows: Any = None,
                  limit: int | None = None) -> None:
    from mdiag.cli import render

    if rows is None:
        def rows(kind: str) -> Any:
            return getattr(report, kind)
    if limit is None:
        limit = report.limit

    out = env.stdout
    sections = 0

    def gap() -> None:
        nonlocal sections
        if sections:
            print(file=out)
        sections += 1

    if report.colliding_macs:
        gap()
        print(f"MAC collisions: {_n(report.colliding_macs, 'MAC', 'carries', 'carry')} {report.colliding_groups:,} groups "
              f"({_shown(report.colliding_macs, min(report.colliding_macs, limit))})", file=out)
        if limit:
            _table(([str(r.mac), "  ".join(g.text() for g in r.groups)] for r in rows("collisions")),
                   ["MAC", "groups sharing it"], out)
    if report.pair_count:
        gap()
        print(f"Colliding entries: {'' if report.pairs_complete else 'at least '}"
              f"{_n(report.pair_count, 'pair')} of plan entries share MACs "
              f"({_shown(report.pair_count, len(report.entry_pairs))})", file=out)
        if report.entry_pairs:
            render.table(([p.a.text, p.a.label or "", "(itself)" if p.a is p.b else p.b.text,
                           "" if p.a is p.b else p.b.label or "", f"{p.macs:,}"] for p in report.entry_pairs),
                         ["entry", "label", "shares MACs with", "label", "MACs"], out)
    if report.flooded_groups:
        gap()
        print(f"Flooded aliases: {_n(report.flooded_groups, 'group', 'shares', 'share')} the MAC of a "
              f"link-local group, so snooping switches flood {'it' if report.flooded_groups == 1 else 'them'} "
              f"to every port ({_shown(report.flooded_groups, min(report.flooded_groups, limit))})", file=out)
        if limit:
            _table(([r.group.group, ", ".join(r.group.labels), str(r.mac),
                     f"{r.shares_with}" + (f" ({r.shares_with_name})" if r.shares_with_name else "")]
                    for r in rows("flooded")), ["group", "label", "MAC", "same MAC as"], out)
    if report.link_local_groups:
        gap()
        print(f"Link-local groups (224.0.0.0/24, IPv6 scope 1-2; never routed): {report.link_local_groups:,} "
              f"({_shown(report.link_local_groups, min(report.link_local_groups, limit))})", file=out)
        if limit:
            _table(([g.group, ", ".join(g.labels)] for g in rows("link_local")), ["group", "label"], out)
    if report.duplicate_groups:
        gap()
        print(f"Groups named more than once: {report.duplicate_groups:,} "
              f"({_shown(report.duplicate_groups, min(report.duplicate_groups, limit))})", file=out)
        if limit:
            _table(([r.group.group, " | ".join(r.group.labels), ", ".join(r.group.origins),
                     "yes" if r.conflicting else "no"] for r in rows("duplicates")),
                   ["group", "labels", "named by", "conflict"], out)
    gap()
    blocks = ", ".join(f"{b.name} {b.range_text}: {b.groups:,}" for b in report.blocks) or "none"
    entries = "1 entry" if report.entries == 1 else f"{report.entries:,} entries"
    print(f"Audited {entries}, "
          f"{_n(report.groups, 'group')} ({blocks}).", file=out)
    if report.findings:
        render.table(([str(f.severity), f.code, f.message] for f in report.findings),
                     ["severity", "finding", "what it means"], out)
    if unreadable:
        print(f"Incomplete: {unreadable} input{'s' if unreadable > 1 else ''} could not be read (errors below); "
              "the audit covers the rest.", file=out)
    elif not report.problem_found:
        print("Clean: no MAC collisions, no flooded aliases.", file=out)
