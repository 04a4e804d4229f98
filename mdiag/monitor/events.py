"""Monitor events as JSON lines (``--jsonl FILE|-``) or as one text line each.

Every event is one JSON object on one line, flushed at once, so ``tail -f`` and
log shippers (Vector, Fluent Bit, Promtail) see it immediately::

    {"schema": 1, "command": "monitor", "event": "querier", "time": 1764410000.123, ...}

``time`` is when the monitor noticed (Unix seconds), ``at`` (when present) when it
happened on the wire. The event names and their fields are listed in
docs/monitor.md.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import datetime, timezone
from typing import Any, TextIO

from mdiag.errors import MdiagError

__all__ = ["EVENT_NAMES", "JsonLines", "text_line"]

SCHEMA = 1

#: Every event a monitor emits (docs/monitor.md describes their fields).
EVENT_NAMES = (
    "start", "querier", "member-joined", "member-gone", "leave", "expiry", "data-started",
    "data-stopped", "finding", "stream-started", "stream-loss", "incident-started", "incident",
    "summary",
)


class JsonLines:
    """Writes events to ``out`` one JSON line each. A write that fails (disk full, a reader
    gone) stops this output only: ``failed`` holds the reason, ``on_failure(reason)`` is told
    once, and the monitor goes on with its other outputs."""

    def __init__(self, out: TextIO, name: str = "-",
                 on_failure: Callable[[str], None] | None = None) -> None:
        self.out = out
        self.name = name
        self.lines = 0
        self.failed: str | None = None
        self.on_failure = on_failure

    def __call__(self, event: dict[str, Any]) -> None:
        if self.failed is not None:
            return
        body = {"schema": SCHEMA, "command": "monitor", **event}
        try:
            self.out.write(json.dumps(body, separators=(",", ":"), default=str) + "\n")
            self.out.flush()
        except (OSError, ValueError, MdiagError) as exc:
            reason = getattr(exc, "message", None) or getattr(exc, "strerror", None) or str(exc)
            self.failed = f"cannot write --jsonl {self.name}: {reason}; JSON lines stopped there"
            if self.on_failure is not None:
                self.on_failure(self.failed)
            return
        self.lines += 1


def text_line(event: dict[str, Any]) -> str:
    """One human line: ``12:00:01 querier segment=untagged ipv4 querier=198.18.0.1 ...``."""
    stamp = datetime.fromtimestamp(float(event.get("time", 0.0)), timezone.utc).strftime("%H:%M:%S")
    parts = [stamp, str(event.get("event"))]
    for key, value in event.items():
        if key in ("time", "event", "schema", "command") or value is None or isinstance(value, (dict, list)):
            continue
        if key == "at":
            value = datetime.fromtimestamp(float(value), timezone.utc).strftime("%H:%M:%S.%f")[:-3]
        text = str(value)
        parts.append(f"{key}={text!r}" if " " in text and key != "message" else f"{key}={text}")
    return " ".join(parts)
