"""``mdiag classify``: IANA block, scope, well-known name and forwarding consequence of groups."""

from __future__ import annotations

import argparse
from typing import Any

from mdiag.cli.environment import Environment
from mdiag.errors import ExitStatus

HELP = "IANA block, scope, well-known name and forwarding consequence of multicast groups (IPv4 and IPv6)"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("inputs", nargs="+", metavar="ADDR",
                        help="IPv4 or IPv6 multicast groups; '-' reads more from stdin, one or more per line, "
                             "'#' comments")
    layout = parser.add_mutually_exclusive_group()
    layout.add_argument("--json", action="store_true", help="print JSON (schema in docs/addresses.md)")
    layout.add_argument("--vertical", "-V", action="store_true",
                        help="one block of 'field  value' lines per group instead of the wide table "
                             "(fits an 80-column terminal)")


def run(args: argparse.Namespace, env: Environment) -> ExitStatus:
    from mdiag.cli import render
    from mdiag.cli.address_inputs import error_line, expand_stdin
    from mdiag.core.addresses import AddressError, classify

    results: list[dict[str, Any]] = []
    errors: list[dict[str, str]] = []
    for text in expand_stdin(args.inputs, env):
        try:
            results.append({"input": text, **classify(text).to_json()})
        except AddressError as exc:
            errors.append({"input": text, "error": exc.message})
    if args.json:
        render.emit_json({"results": results, "errors": errors}, env.stdout, "classify")
    elif results and args.vertical:
        _print_vertical(results, env)
    elif results:
        render.sized_table([_row(r) for r in results], list(HEADERS), env.stdout)
    for error in errors:
        env.error(error_line(error))
    return ExitStatus.BAD_INPUT if errors else ExitStatus.OK


#: Line width of --vertical: an 80-column terminal.
VERTICAL_WIDTH = 80

HEADERS = ("group", "IANA block", "scope", "name", "MAC", "forwarding", "details")


def _print_vertical(results: list[dict[str, Any]], env: Environment) -> None:
    """The table's columns as lines, one blank-line-separated block per group (like psql's \\x)."""
    import textwrap

    width = max(map(len, HEADERS))
    indent = " " * (width + 2)
    blocks = []
    for r in results:
        lines = []
        for header, value in zip(HEADERS, _row(r), strict=True):
            lines.append(textwrap.fill(value, VERTICAL_WIDTH, initial_indent=f"{header:<{width}}  ",
                                       subsequent_indent=indent, break_long_words=False,
                                       break_on_hyphens=False) if value else header)
        blocks.append("\n".join(lines))
    print("\n\n".join(blocks), file=env.stdout)


def _row(r: dict[str, Any]) -> list[str]:
    block = f"{r['block']} {r['block_range']}"
    scope = r["scope"]
    details = r["details"]
    if "sub_scope_name" in details:
        scope += f": {details['sub_scope_name']}"
    elif "scope_nibble" in details:
        scope = f"{details['scope_name']} ({details['scope_nibble']:x})"
    return [r["group"], block, scope, r["name"] or "", r["mac"], r["consequence"], "; ".join(r["facts"])]
