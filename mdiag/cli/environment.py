"""The streams a command talks to, injected so tests can drive the CLI in-process.

:func:`guarded` wraps them once, in :func:`mdiag.cli.main.main`, so that every command
gets the same rules for its standard streams (docs/exit-status.md):

- a reader that goes away (``mdiag analyze x.pcap | head -1``) is not an error: later
  output is dropped and the command keeps the verdict it computes (status 0, 1 or 2);
- any other write error (``> /dev/full``: ENOSPC, ``>&-``: stdout closed) raises
  :class:`OutputFailed`: one line on stderr, status 74;
- a closed standard input (``<&-``) reads as an :class:`~mdiag.errors.InputError` (2).
"""

from __future__ import annotations

import errno
import os
import sys
from dataclasses import dataclass, field
from typing import Any, BinaryIO, TextIO

from mdiag.errors import InputError, OutputFailed


@dataclass
class Environment:
    stdout: TextIO = field(default_factory=lambda: sys.stdout)
    stderr: TextIO = field(default_factory=lambda: sys.stderr)
    stdin: TextIO = field(default_factory=lambda: sys.stdin)

    @property
    def stdout_isatty(self) -> bool:
        return _isatty(self.stdout)

    @property
    def stderr_isatty(self) -> bool:
        return _isatty(self.stderr)

    @property
    def stdin_binary(self) -> BinaryIO:
        return getattr(self.stdin, "buffer", self.stdin)  # type: ignore[return-value]

    @property
    def reader_gone(self) -> bool:
        """True once the reader of standard output went away (``| head``): output is dropped."""
        return bool(getattr(self.stdout, "reader_gone", False))

    def error(self, message: str) -> None:
        """One clear line on stderr: ``mdiag: error: <message>`` (control characters escaped)."""
        from mdiag.cli.render import sanitize

        print(f"mdiag: error: {sanitize(message)}", file=self.stderr)

    def warn(self, message: str) -> None:
        from mdiag.cli.render import sanitize

        print(f"mdiag: warning: {sanitize(message)}", file=self.stderr)


def _isatty(stream: object) -> bool:
    isatty = getattr(stream, "isatty", None)
    try:
        return bool(isatty()) if isatty else False
    except (ValueError, OSError):
        return False


def guarded(env: Environment) -> Environment:
    """``env`` with its streams wrapped by the rules above (idempotent)."""
    if isinstance(env.stdout, GuardedOutput):
        return env
    return Environment(stdout=GuardedOutput(env.stdout, "standard output"),  # type: ignore[arg-type]
                       stderr=GuardedOutput(env.stderr, "standard error", quiet=True),  # type: ignore[arg-type]
                       stdin=env.stdin if env.stdin is not None else ClosedInput())  # type: ignore[arg-type]


def _silence(stream: Any) -> None:
    """Point the descriptor under ``stream`` at /dev/null, so the interpreter's last flush of
    data nobody can take (a gone reader, a full disk) stays quiet."""
    try:
        fd = stream.fileno()
    except (AttributeError, ValueError, OSError):
        return
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, fd)
        os.close(devnull)
    except OSError:
        pass


class GuardedOutput:
    """A text stream that turns EPIPE into "drop the rest" and other write errors into
    :class:`OutputFailed`; ``quiet`` (stderr) drops output on any error, as there is
    nowhere left to say so."""

    def __init__(self, stream: Any, name: str, *, quiet: bool = False, binary: bool = False) -> None:
        self._stream = stream
        self.name = name
        self.quiet = quiet
        self.binary = binary
        self.reader_gone = False
        self._failed = False
        self._buffer: GuardedOutput | None = None

    def _fail(self, exc: BaseException | None) -> None:
        if isinstance(exc, BrokenPipeError) or self.quiet:
            self.reader_gone = True
            _silence(self._stream)
            return
        self._failed = True
        _silence(self._stream)
        code = getattr(exc, "errno", None)
        if exc is None or code == errno.EBADF:
            reason = "it is closed"
        elif code == errno.ENOSPC:
            reason = "no space left on the device"
        else:
            reason = getattr(exc, "strerror", None) or str(exc)
        raise OutputFailed(f"cannot write to {self.name}: {reason}; the output is incomplete")

    def write(self, data: Any) -> int:
        if self.reader_gone or self._failed:
            return len(data)
        if self._stream is None:
            self._fail(None)
        try:
            return int(self._stream.write(data))
        except UnicodeEncodeError:  # e.g. a non-UTF-8 argument echoed back: show its bytes escaped
            encoding = getattr(self._stream, "encoding", None) or "utf-8"
            return self.write(data.encode(encoding, "backslashreplace").decode(encoding))
        except (OSError, ValueError) as exc:  # ValueError: write to a closed file object
            self._fail(exc)
            return len(data)

    def writelines(self, lines: Any) -> None:
        for line in lines:
            self.write(line)

    def flush(self) -> None:
        if self.reader_gone or self._failed or self._stream is None:
            return
        try:
            self._stream.flush()
        except (OSError, ValueError) as exc:
            self._fail(exc)

    @property
    def buffer(self) -> GuardedOutput:
        """The binary stream under this one (``craft --pcap -``), with the same rules."""
        if self._buffer is None:
            raw = getattr(self._stream, "buffer", None)
            if raw is None and self._stream is not None:
                raise AttributeError("buffer")
            self._buffer = GuardedOutput(raw, self.name, quiet=self.quiet, binary=True)
            self._buffer.reader_gone = self.reader_gone
        return self._buffer

    def isatty(self) -> bool:
        return _isatty(self._stream)

    def fileno(self) -> int:
        if self._stream is None:
            raise OSError(errno.EBADF, f"{self.name} is closed")
        return int(self._stream.fileno())

    def __getattr__(self, name: str) -> Any:
        if self._stream is None:
            raise AttributeError(name)
        return getattr(self._stream, name)


class ClosedInput:
    """Standard input that was closed (``<&-``): any read is a clear input error."""

    closed = True

    def _closed(self, *_args: Any) -> Any:
        raise InputError("standard input is closed; pipe the input in or give a file")

    read = readline = readlines = peek = read1 = readinto = _closed

    def __iter__(self) -> Any:
        return self._closed()

    @property
    def buffer(self) -> ClosedInput:
        return self

    def isatty(self) -> bool:
        return False

    def readable(self) -> bool:
        return True

    def fileno(self) -> int:
        raise OSError(errno.EBADF, "standard input is closed")
