"""Bounded reading of every text file mdiag takes as input.

Plans (``collisions/mac --file``), address lists (``mac -``, ``classify -``), files of hex
lines (``decode``), expectations (``analyze --expect-file``) and bridge MDB dumps
(``replay --expect-mdb``) are all read here, one line at a time, with a bound on the
length of a line and (for files read whole) on their size. ``/dev/zero``, ``/dev/urandom``,
a capture or a binary given by mistake end in one clear :class:`TextInputError` naming
the file, the line and what was expected, never in memory growing without end.
"""

from __future__ import annotations

import codecs
import os
from collections.abc import Iterator
from dataclasses import dataclass
from typing import IO, Any

from mdiag.errors import InputError

KIB = 1024
MIB = 1024 * KIB


class TextInputError(InputError):
    """A text input cannot be read as the text it should be."""


@dataclass(frozen=True, slots=True)
class TextLimits:
    """What one kind of text input is and how much of it mdiag reads."""

    #: what the file should be, for messages: "a plan file", "a file of expectations"
    what: str
    #: longest line, in bytes (a line over it is an error)
    max_line: int = 64 * KIB
    #: most bytes read in all (None: a stream of any length, read line by line)
    max_bytes: int | None = None


def _name(path: str) -> str:
    return "standard input" if path == "-" else path


def read_lines(path: str, limits: TextLimits, *, stdin: Any = None, start: int = 1) -> Iterator[str]:
    """The lines of ``path`` (``-``: ``stdin``) as text without their line ends, each checked
    against ``limits``; raises :class:`TextInputError` on the first line that breaks one."""
    if path == "-":
        if stdin is None:
            raise TextInputError("standard input is not available here; give a file")
        yield from lines_of(stdin, "standard input", limits, start=start)
        return
    try:
        if os.path.isdir(path):
            raise TextInputError(f"{path}: is a directory; give {limits.what}")
        handle = open(path, "rb")  # noqa: SIM115 - closed below, also when the caller stops early
    except FileNotFoundError:
        raise TextInputError(f"{path}: no such file; give {limits.what}") from None
    except PermissionError:
        raise TextInputError(f"{path}: permission denied; give a readable file") from None
    except OSError as exc:
        raise TextInputError(f"{path}: cannot read ({exc.strerror or exc})") from None
    with handle:
        yield from lines_of(handle, path, limits, start=start)


def lines_of(handle: IO[Any], name: str, limits: TextLimits, *, start: int = 1) -> Iterator[str]:
    """Lines of an open handle (binary, or text for injected streams), bounded by ``limits``."""
    decoder = codecs.getincrementaldecoder("utf-8")()
    total = 0
    number = start - 1
    while True:
        try:
            line = handle.readline(limits.max_line + 1)
        except UnicodeDecodeError as exc:  # a text stream (sys.stdin) fed binary data
            raise TextInputError(f"{_name(name)} line {number + 1} is not UTF-8 text ({exc.reason}): "
                                 f"is this {limits.what}?") from None
        except OSError as exc:
            raise TextInputError(f"{_name(name)}: cannot read ({exc.strerror or exc})") from None
        if not line:
            return
        number += 1
        total += len(line)
        if len(line) > limits.max_line:
            raise TextInputError(f"{_name(name)} line {number} is longer than {_size(limits.max_line)}: "
                                 f"is this {limits.what}?")
        if limits.max_bytes is not None and total > limits.max_bytes:
            raise TextInputError(f"{_name(name)} is larger than {_size(limits.max_bytes)}: "
                                 f"is this {limits.what}?")
        if isinstance(line, bytes):
            if b"\0" in line:
                raise TextInputError(f"{_name(name)} line {number} holds binary data (a NUL byte): "
                                     f"is this {limits.what}?")
            try:
                text = decoder.decode(line, final=True)
            except UnicodeDecodeError as exc:
                raise TextInputError(f"{_name(name)} line {number} is not UTF-8 text ({exc.reason} at "
                                     f"byte {exc.start}): is this {limits.what}?") from None
        else:
            if "\0" in line:
                raise TextInputError(f"{_name(name)} line {number} holds binary data (a NUL byte): "
                                     f"is this {limits.what}?")
            text = line
        yield text.rstrip("\r\n")


def _size(count: int) -> str:
    return f"{count // MIB} MiB" if count >= MIB and count % MIB == 0 else f"{count // KIB} KiB"
