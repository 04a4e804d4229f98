"""Rendering helpers shared by every command: tables (tabulate) and JSON.

JSON output is stable: keys documented per command in docs/, schema version in
``"schema"`` at the top level.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from typing import Any, TextIO

JSON_SCHEMA_VERSION = 1


def table(rows: Iterable[Sequence[Any]], headers: Sequence[str], out: TextIO) -> None:
    """Print rows as a plain tabulate table (no trailing blank line)."""
    from tabulate import tabulate  # imported here: cheap, but keep start-up minimal

    rows = list(rows)
    print(tabulate(rows, headers=list(headers), tablefmt="simple", disable_numparse=True), file=out)


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
