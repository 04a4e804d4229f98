"""Findings: problems reported as data, never as exceptions.

A decoder, a state machine or a check returns findings; the CLI renders them and
decides the exit status. Codes are stable, lower-case and hyphenated (documented in
docs/findings.md); never rename one, add a new one instead.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from typing import Any


class Severity(enum.IntEnum):
    """Ordered so that ``finding.severity >= Severity.WARNING`` reads naturally."""

    INFO = 10
    WARNING = 20
    ERROR = 30

    @classmethod
    def parse(cls, text: str) -> Severity:
        try:
            return cls[text.strip().upper()]
        except KeyError:
            raise ValueError(f"unknown severity {text!r} (use info, warning or error)") from None

    def __str__(self) -> str:
        return self.name.lower()


@dataclass(frozen=True, slots=True)
class Finding:
    """One observation with a stable ``code``.

    ``offset`` is a byte offset inside the message (decoder findings); ``time``
    (seconds, capture clock) and ``frame`` (1-based frame number) locate it in a
    capture; ``rfc`` cites where the rule comes from (e.g. "RFC 3376 4.1.12").
    """

    code: str
    severity: Severity
    message: str
    rfc: str | None = None
    offset: int | None = None
    time: float | None = None
    frame: int | None = None
    context: dict[str, Any] = field(default_factory=dict, compare=False, hash=False)

    def located(self, *, time: float | None = None, frame: int | None = None) -> Finding:
        """The same finding placed at a capture time and frame number."""
        return Finding(self.code, self.severity, self.message, self.rfc, self.offset,
                       time if time is not None else self.time,
                       frame if frame is not None else self.frame, self.context)

    def to_json(self) -> dict[str, Any]:
        body: dict[str, Any] = {"code": self.code, "severity": str(self.severity),
                                "message": self.message}
        for key in ("rfc", "offset", "time", "frame"):
            value = getattr(self, key)
            if value is not None:
                body[key] = value
        if self.context:
            body["context"] = self.context
        return body
