"""Shared fixtures: drive the CLI in-process."""

from __future__ import annotations

import io
import json
from dataclasses import dataclass
from typing import Any

import pytest

from mdiag.cli.environment import Environment
from mdiag.cli.main import main


@dataclass
class CliResult:
    status: int
    stdout: str
    stderr: str

    def json(self) -> Any:
        return json.loads(self.stdout)


@pytest.fixture
def cli():
    """``cli("mac", "239.1.1.1")`` -> CliResult, run in-process with captured streams."""

    def run(*argv: str, stdin: str = "") -> CliResult:
        out, err = io.StringIO(), io.StringIO()
        env = Environment(stdout=out, stderr=err, stdin=io.StringIO(stdin))
        status = main(list(argv), env)
        return CliResult(int(status), out.getvalue(), err.getvalue())

    return run
