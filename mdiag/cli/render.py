"""Rendering helpers shared by every command: tables (tabulate) and JSON.

JSON output is stable: keys documented per command in docs/, schema version in
``"schema"`` at the top level. JSON is exact (``json`` escapes control characters);
every text a table or an error line shows goes through :func:`sanitize` first, as
packets, capture files, plans and arguments can carry terminal escape sequences.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator, Sequence
from typing import Any, TextIO

JSON_SCHEMA_VERSION = 1


def sanitize(text: str) -> str:
    """``text`` safe for a terminal: control characters (ESC, CR, newline, tab, C1, bidi
    overrides, line separators...) and undecodable bytes become visible escapes
    (``\\x1b``, ``\\u202e``), so data can neither move the cursor nor split a line."""
    if text.isascii() and text.isprintable():  # the usual case, checked in C
        return text
    return "".join(c if c.isprintable() else _escape(c) for c in text)


def _escape(char: str) -> str:
    code = ord(char)
    if 0xDC80 <= code <= 0xDCFF:  # a byte that was not UTF-8 (surrogateescape): show the byte
        return f"\\x{code - 0xDC00:02x}"
    if code < 0x100:
        return f"\\x{code:02x}"
    return f"\\u{code:04x}" if code < 0x10000 else f"\\U{code:08x}"


def _cells(rows: Iterable[Sequence[Any]]) -> Iterator[list[str]]:
    for row in rows:
        yield [sanitize(cell if isinstance(cell, str) else str(cell)) for cell in row]


def table(rows: Iterable[Sequence[Any]], headers: Sequence[str], out: TextIO) -> None:
    """Print rows as a plain tabulate table (no trailing blank line); cells are sanitised."""
    from tabulate import tabulate  # imported here: cheap, but keep start-up minimal

    print(tabulate(list(_cells(rows)), headers=list(headers), tablefmt="simple", disable_numparse=True), file=out)


def plain_table(rows: Sequence[Sequence[str]], headers: Sequence[str], out: TextIO) -> None:
    """tabulate's "simple" layout for single-line cells, written directly: for big tables,
    where tabulate spends ~0.2 ms per row."""
    cells = list(_cells(rows))
    widths = [len(h) + 2 for h in headers]  # tabulate pads headers by 2 (MIN_PADDING)
    for row in cells:
        for i, cell in enumerate(row):
            if len(cell) > widths[i]:
                widths[i] = len(cell)
    writer = StreamTable(headers, out, widths)
    writer.rows(cells, clean=True)


#: Rows above which :func:`sized_table` writes the table itself instead of building it with tabulate.
BIG_TABLE_ROWS = 2000


def sized_table(rows: Sequence[Sequence[str]], headers: Sequence[str], out: TextIO) -> None:
    """A tabulate "simple" table; past :data:`BIG_TABLE_ROWS` rows (``mdiag classify - < list``)
    the same layout is written by :func:`plain_table`, as tabulate spends ~0.2 ms per row."""
    if len(rows) > BIG_TABLE_ROWS:
        plain_table(rows, headers, out)
    else:
        table(rows, headers, out)


class StreamTable:
    """A "simple" table written row by row in bounded memory: the column widths come from
    the rows seen before the first write (``sample``) and later cells widen nothing (a longer
    cell just pushes its row's next columns right)."""

    def __init__(self, headers: Sequence[str], out: TextIO, widths: Sequence[int]) -> None:
        self.headers = list(headers)
        self.out = out
        self.widths = list(widths)
        self.started = False

    @classmethod
    def sized_by(cls, headers: Sequence[str], out: TextIO, sample: Sequence[Sequence[str]]) -> StreamTable:
        widths = [len(h) + 2 for h in headers]
        for row in sample:
            for i, cell in enumerate(row):
                widths[i] = max(widths[i], len(sanitize(cell)))
        return cls(headers, out, widths)

    def rows(self, rows: Iterable[Sequence[str]], *, clean: bool = False) -> None:
        write = self.out.write
        widths = self.widths
        if not self.started:
            self.started = True
            write("  ".join(h.ljust(w) for h, w in zip(self.headers, widths)).rstrip() + "\n")
            write("  ".join("-" * w for w in widths) + "\n")
        for row in rows:
            if not clean:
                row = [sanitize(c) for c in row]
            write("  ".join(c.ljust(w) for c, w in zip(row, widths)).rstrip() + "\n")


def emit_json(document: dict[str, Any], out: TextIO, command: str) -> None:
    """Print one JSON document with ``schema`` and ``command`` keys first."""
    body = {"schema": JSON_SCHEMA_VERSION, "command": command, **document}
    json.dump(body, out, indent=2, sort_keys=False, default=_default)
    out.write("\n")


def _default(value: Any) -> Any:
    if hasattr(value, "to_json"):
        return value.to_json()
    if isinstance(value, (set, frozenset, tuple)):
        return list(value)
    return str(value)
