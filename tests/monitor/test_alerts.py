"""The shipped alert rules load in Prometheus's own checker and fire on scripted series."""

from __future__ import annotations

import subprocess
from pathlib import Path

from mdiag.testing.requirements import need_prometheus

ROOT = Path(__file__).resolve().parents[2]
RULES = ROOT / "docs" / "monitor" / "alerts.yml"


def test_promtool_check_rules_accepts_the_shipped_rules() -> None:
    _, promtool = need_prometheus()
    result = subprocess.run([promtool, "check", "rules", str(RULES)], capture_output=True, text=True,
                            timeout=60)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "SUCCESS: 6 rules found" in result.stdout


def test_promtool_unit_tests_of_the_rules_pass() -> None:
    """querier lost, membership expired while data flows, stream loss, version mismatch:
    each fires on the series that should fire it and stays quiet on its look-alike."""
    _, promtool = need_prometheus()
    result = subprocess.run([promtool, "test", "rules", "alerts_test.yml"], capture_output=True, text=True,
                            timeout=60, cwd=Path(__file__).parent)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "SUCCESS" in result.stdout
