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
import signal
import sys
import threading
from collections.abc import Callable, Iterator, Sequence
from types import ModuleType

from mdiag import __version__
from mdiag.cli.environment import Environment, guarded
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
    from mdiag.cli.options import bound_numbers

    bound_numbers(parser)  # every int/float option: bounded, finite, ports 0..65535
    return parser


def main(argv: Sequence[str] | None = None, env: Environment | None = None) -> int:
    """Run mdiag; returns the exit status (never raises for user errors).

    The one place where the process-wide rules live (docs/exit-status.md): standard
    streams guarded (a gone reader keeps the verdict; a write error is one line and 74;
    a closed stdin is bad input), SIGTERM handled like Ctrl-C (143 instead of 130), and
    every :class:`MdiagError` mapped to its status.
    """
    if env is None:
        _occupy_closed_stdio()
        env = Environment()
    env = guarded(env)
    argv = list(sys.argv[1:] if argv is None else argv)
    with _terminate_like_interrupt() as terminated:
        status = _dispatch(argv, env)
        try:
            env.stdout.flush()
        except MdiagError as exc:
            env.error(exc.message)
            status = int(exc.exit_status)
        if status == ExitStatus.INTERRUPTED and terminated():
            status = ExitStatus.TERMINATED
    return status


def _dispatch(argv: list[str], env: Environment) -> int:
    only = argv[0] if argv and argv[0] in COMMANDS else None
    try:
        parser = build_parser(only)
        try:
            with contextlib.redirect_stdout(env.stdout):  # type: ignore[type-var]  # --help / --version
                args = parser.parse_args(argv)
        except _ArgparseError as exc:
            env.error(str(exc))
            return ExitStatus.BAD_INPUT
        except SystemExit as exc:  # --help / --version
            return int(exc.code or 0)
        run = getattr(args, "_run", None)
        if run is None:
            parser.print_help(env.stdout)  # type: ignore[arg-type]
            env.error(f"a command is missing: give one of {', '.join(COMMANDS)} (see 'mdiag --help')")
            return ExitStatus.BAD_INPUT
        for note in getattr(args, "_deprecations", ()):  # old spellings (mdiag.cli.options.deprecated)
            env.warn(note)
        return int(run(args, env))
    except MdiagError as exc:
        env.error(exc.message)
        return int(exc.exit_status)
    except KeyboardInterrupt as exc:
        env.error("terminated" if isinstance(exc, Terminated) else "interrupted")
        return ExitStatus.INTERRUPTED
    except BrokenPipeError:  # a pipe other than stdout (stdout's own is handled by its guard)
        return ExitStatus.OK


class Terminated(KeyboardInterrupt):
    """SIGTERM, raised where Ctrl-C would be, so every summary promised on Ctrl-C is printed."""


@contextlib.contextmanager
def _terminate_like_interrupt() -> Iterator[Callable[[], bool]]:
    """While a command runs, SIGTERM raises :class:`Terminated` (a KeyboardInterrupt); yields
    a function telling whether it came. Only the main thread can own signal handlers (tests
    run the CLI in threads too: there nothing changes)."""
    received: list[int] = []
    if threading.current_thread() is not threading.main_thread():
        yield lambda: False
        return

    def handler(signum: int, _frame: object) -> None:
        received.append(signum)
        raise Terminated

    previous = signal.signal(signal.SIGTERM, handler)
    try:
        yield lambda: bool(received)
    finally:
        signal.signal(signal.SIGTERM, previous)


def _occupy_closed_stdio() -> None:
    """Started with a standard descriptor closed (``<&-``, ``>&-``)? Put /dev/null there, so
    files and sockets mdiag opens never land on 0, 1 or 2 (where child processes such as
    ``ip`` would read or write them); the closed stream itself still reads as closed."""
    for fd, flags in ((0, os.O_RDONLY), (1, os.O_WRONLY), (2, os.O_WRONLY)):
        try:
            os.fstat(fd)
        except OSError:
            try:
                opened = os.open(os.devnull, flags)
                if opened != fd:
                    os.dup2(opened, fd)
                    os.close(opened)
            except OSError:
                pass


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
