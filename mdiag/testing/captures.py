"""Parametrize tests over a directory of captures with their expected analyses.

::

    from mdiag.testing.captures import assert_subset, pcap_cases, run_mdiag

    @pytest.mark.parametrize("case", pcap_cases("pcaps"))
    def test_capture_analysis(case):
        status, doc = run_mdiag("analyze", str(case.path), "--json")
        assert status in (0, 1)
        assert_subset(doc, case.expected)          # every expected key must match

Expected analyses are JSON files named after the capture: ``expected/<stem>.json``
next to the captures (or ``<stem>.expected.json`` beside each). They hold only the
parts a test cares about: :func:`assert_subset` checks that every key and list item
given is present with that value and ignores the rest, so a new field in mdiag's output
does not break old expectations. A capture without an expected file yields a case
whose ``expected`` is None (or is left out with ``require_expected=True``).
"""

from __future__ import annotations

import io
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest


@dataclass(frozen=True, slots=True)
class PcapCase:
    """One capture and (when present) its expected analysis."""

    name: str
    path: Path
    expected_path: Path | None

    @property
    def expected(self) -> Any:
        if self.expected_path is None:
            return None
        return json.loads(self.expected_path.read_text(encoding="utf-8"))

    def __str__(self) -> str:
        return self.name


def _expected_for(capture: Path, expected_dir: Path | None) -> Path | None:
    stem = capture.name.split(".")[0]
    candidates = []
    if expected_dir is not None:
        candidates.append(expected_dir / f"{stem}.json")
    candidates += [capture.parent / "expected" / f"{stem}.json", capture.parent / f"{stem}.expected.json"]
    return next((c for c in candidates if c.is_file()), None)


def pcap_cases(directory: str | Path = "pcaps", pattern: str = "*.pcap*", *,
               expected_dir: str | Path | None = None, require_expected: bool = False) -> list[Any]:
    """``pytest.param(PcapCase, id=<capture name>)`` for every capture matching ``pattern``.

    A relative ``directory`` is taken from the current directory (pytest's rootdir
    when run as usual). An empty result is an error, so a mistyped path never turns
    into a silently empty test run.
    """
    base = Path(directory)
    exp_dir = Path(expected_dir) if expected_dir is not None else None
    captures = sorted(p for p in base.glob(pattern) if p.is_file() and not p.name.endswith(".json"))
    if not captures:
        raise FileNotFoundError(f"no captures matching {pattern!r} in {base.resolve()}")
    params = []
    for capture in captures:
        expected = _expected_for(capture, exp_dir)
        if require_expected and expected is None:
            continue
        params.append(pytest.param(PcapCase(capture.name, capture, expected), id=capture.name))
    return params


def differences(actual: Any, expected: Any, path: str = "$") -> list[str]:
    """Where ``actual`` does not contain ``expected`` (dict keys and list items given)."""
    if isinstance(expected, dict):
        if not isinstance(actual, dict):
            return [f"{path}: expected an object, got {type(actual).__name__}"]
        out: list[str] = []
        for key, value in expected.items():
            if key not in actual:
                out.append(f"{path}.{key}: missing")
            else:
                out += differences(actual[key], value, f"{path}.{key}")
        return out
    if isinstance(expected, list):
        if not isinstance(actual, list):
            return [f"{path}: expected a list, got {type(actual).__name__}"]
        if len(actual) != len(expected):
            return [f"{path}: expected {len(expected)} items, got {len(actual)}"]
        out = []
        for index, (a, e) in enumerate(zip(actual, expected)):
            out += differences(a, e, f"{path}[{index}]")
        return out
    if isinstance(expected, float) and isinstance(actual, (int, float)):
        return [] if abs(actual - expected) <= 1e-6 * max(1.0, abs(expected)) else \
            [f"{path}: expected {expected!r}, got {actual!r}"]
    return [] if actual == expected else [f"{path}: expected {expected!r}, got {actual!r}"]


def assert_subset(actual: Any, expected: Any) -> None:
    """Fail with every difference listed when ``actual`` does not contain ``expected``."""
    if expected is None:
        return
    found = differences(actual, expected)
    if found:
        pytest.fail("analysis differs from the expected one:\n  " + "\n  ".join(found[:50]), pytrace=False)


def run_mdiag(*argv: str) -> tuple[int, Any]:
    """Run mdiag in-process; returns (exit status, parsed JSON stdout or the raw text)."""
    from mdiag.cli.environment import Environment
    from mdiag.cli.main import main

    out, err = io.StringIO(), io.StringIO()
    status = main(list(argv), Environment(stdout=out, stderr=err, stdin=io.StringIO("")))
    text = out.getvalue()
    try:
        return int(status), json.loads(text)
    except json.JSONDecodeError:
        return int(status), text + err.getvalue()
