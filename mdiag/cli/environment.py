"""The streams a command talks to, injected so tests can drive the CLI in-process."""

from __future__ import annotations

import sys
from dataclasses import dataclass, field
from typing import BinaryIO, TextIO


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

    def error(self, message: str) -> None:
        """One clear line on stderr: ``mdiag: error: <message>``."""
        print(f"mdiag: error: {message}", file=self.stderr)

    def warn(self, message: str) -> None:
        print(f"mdiag: warning: {message}", file=self.stderr)


def _isatty(stream: object) -> bool:
    isatty = getattr(stream, "isatty", None)
    try:
        return bool(isatty()) if isatty else False
    except (ValueError, OSError):
        return False
