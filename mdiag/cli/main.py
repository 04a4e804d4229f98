"""Entry point: builds the argparse tree, dispatches, maps errors to exit statuses.

Each subcommand lives in ``mdiag.cli.commands.<module>`` and provides::

    HELP: str                                   # one line for ``mdiag --help``
    def add_arguments(parser) -> None           # options; no heavy imports here
    def run(args, env: Environment) -> ExitStatus | int

Only the module of the command being run is imported, so ``mdiag mac`` never
loads scapy. Command modules import adapters lazily inside ``run``.
"""

from __future__ import annotations

import argparse
import contextlib
import importlib
import os
import sys
from collections.abc import Sequence
from types import ModuleType

from mdiag import __version__
from mdiag.cli.environment import Environment
from mdiag.errors import ExitStatus, MdiagError

#: command name -> module under mdiag.cli.commands, in the order ``--help`` lists them.
COMMANDS: dict[str, str] = {
    # addresses (issue: foundation)
    "mac": "mac",
    "collisions": "collisions",
    "classify": "classify",
    # IGMP codec
    "craft": "craft",
    "decode": "decode",
    # capture analysis
    "analyze": "analyze",
    # host view, sockets, lab
    "ifaces": "ifaces",
    "groups": "groups",
    "doctor": "doctor",
    "send": "send",
    "listen": "listen",
    "lab": "lab",
    "verify": "verify",
    # active probing
    "querier": "querier",
    "discover": "discover",
    "delay": "delay",
    "replay": "replay",
    "zap": "zap",
    # continuous
    "monitor": "monitor",
}


class _Parser(argparse.ArgumentParser):
    """argparse that raises instead of printing usage and exiting."""

    def error(self, message: str) -> None:  # type: ignore[override]
        raise _ArgparseError(f"{self.prog}: {message} (see '{self.prog} --help')")


class _ArgparseError(Exception):
    pass


def _load(name: str) -> ModuleType | None:
    try:
        return importlib.import_module(f"mdiag.cli.commands.{COMMANDS[name]}")
    except ModuleNotFoundError as exc:
        if exc.name == f"mdiag.cli.commands.{COMMANDS[name]}":
            return None  # not built yet in this checkout
        raise


def build_parser(only: str | None = None) -> argparse.ArgumentParser:
    parser = _Parser(
        prog="mdiag",
        description="Multicast and IGMP diagnostics: addresses, IGMP messages, captures, joins, probes.",
        epilog="Exit statuses: 0 ok, 1 problem found, 2 bad input, 3 missing system piece, "
        "4 needs privileges, 130 interrupted. See docs/exit-status.md.",
    )
    parser.add_argument("--version", action="version", version=f"mdiag {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    for name in COMMANDS:
        if only is not None and name != only:
            continue
        module = _load(name)
        if module is None:
            continue
        command_parser = sub.add_parser(name, help=module.HELP, description=module.HELP)
        module.add_arguments(command_parser)
        command_parser.set_defaults(_run=module.run)
    return parser


def main(argv: Sequence[str] | None = None, env: Environment | None = None) -> int:
    """Run mdiag; returns the exit status (never raises for user errors)."""
    env = env or Environment()
    argv = list(sys.argv[1:] if argv is None else argv)
    only = argv[0] if argv and argv[0] in COMMANDS else None
    try:
        parser = build_parser(only)
        try:
            with contextlib.redirect_stdout(env.stdout):  # --help / --version go to env
                args = parser.parse_args(argv)
        except _ArgparseError as exc:
            env.error(str(exc))
            return ExitStatus.BAD_INPUT
        except SystemExit as exc:  # --help / --version
            return int(exc.code or 0)
        run = getattr(args, "_run", None)
        if run is None:
            parser.print_help(env.stdout)
            return ExitStatus.BAD_INPUT
        return int(run(args, env))
    except MdiagError as exc:
        env.error(exc.message)
        return int(exc.exit_status)
    except KeyboardInterrupt:
        env.error("interrupted")
        return ExitStatus.INTERRUPTED
    except BrokenPipeError:
        # e.g. `mdiag collisions ... | head`: the reader went away; not an error. Point
        # stdout at /dev/null so the interpreter's final flush does not complain.
        try:
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, sys.stdout.fileno())
        except (OSError, ValueError, AttributeError):
            pass
        return ExitStatus.OK

if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
