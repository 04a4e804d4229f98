"""mypy --strict holds on the pure core (docs/architecture.md), checked on every run, not by hand."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def test_core_is_mypy_strict_clean(tmp_path):
    pytest.importorskip("mypy", reason="mypy comes with the test extra (pip install -e '.[test]')")
    proc = subprocess.run(
        [sys.executable, "-m", "mypy", "--cache-dir", str(tmp_path / "cache"), "mdiag/core"],
        cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stdout + proc.stderr
