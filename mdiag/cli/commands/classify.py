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
    parser.add_argument("--json", action="store_true", help="print JSON (schema in docs/addresses.md)")


def run(args: argparse.Namespace, env: Environment) -> ExitStatus:
    from mdiag.cli import render
    from mdiag.cli.commands.mac import expand_stdin
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
    elif results:
        render.table((_row(r) for r in results),
                     ["group", "IANA block", "scope", "name", "MAC", "forwarding", "details"], env.stdout)
    for error in errors:
        env.error(error["error"] if error["input"] in error["error"] else f"{error['input']}: {error['error']}")
    return ExitStatus.BAD_INPUT if errors else ExitStatus.OK


def _row(r: dict[str, Any]) -> list[str]:
    block = f"{r['block']} {r['block_range']}"
    scope = r["scope"]
    details = r["details"]
    if "sub_scope_name" in details:
        scope += f": {details['sub_scope_name']}"
    elif "scope_nibble" in details:
        scope = f"{details['scope_name']} ({details['scope_nibble']:x})"
    return [r["group"], block, scope, r["name"] or "", r["mac"], r["consequence"], "; ".join(r["facts"])]
