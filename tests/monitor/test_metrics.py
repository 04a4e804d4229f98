"""Metric names follow the Prometheus conventions, docs/monitor.md lists every one, and
the exposition passes ``promtool check metrics``."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest

from mdiag.adapters.prometheus import exposition
from mdiag.monitor.metrics import COUNTER, GAUGE, INFO, METRICS, Family
from mdiag.monitor.runner import Monitor, MonitorOptions
from mdiag.testing.requirements import need_prometheus

from tests.monitor.test_monitor import T0, _join, _query, _run
from tests.analysis.builders import udp

DOC = (Path(__file__).resolve().parents[2] / "docs" / "monitor.md").read_text()
UNITS = ("_seconds", "_bytes", "_packets", "_frames", "_drops")


@pytest.mark.parametrize("metric", METRICS, ids=lambda m: m.name)
def test_names_follow_the_conventions(metric) -> None:
    assert re.fullmatch(r"mdiag_[a-z][a-z0-9_]*", metric.name)
    assert not metric.name.endswith("_total"), "the client library adds _total to counters"
    assert metric.kind in (COUNTER, GAUGE, INFO)
    if metric.kind == INFO:
        assert metric.name.endswith("_info")
    if "time" in metric.name or "interval" in metric.name or "jitter" in metric.name:
        assert metric.name.endswith("_seconds")
    assert len(metric.labels) == len(set(metric.labels)) and "le" not in metric.labels
    assert metric.help and not metric.help.endswith(".")


@pytest.mark.parametrize("metric", METRICS, ids=lambda m: m.name)
def test_every_metric_is_in_the_docs_table(metric) -> None:
    row = re.search(r"^\| `" + re.escape(metric.exposed_name) + r"` \| (\w+) \| ([^|]*) \| (.*) \|$", DOC, re.M)
    assert row, f"docs/monitor.md: add a row for {metric.exposed_name}"
    assert row.group(3) == metric.help, "the table's meaning is the HELP text a scrape shows"
    assert row.group(1) == ("gauge" if metric.kind == INFO else metric.kind)
    assert [label.strip(" `") for label in row.group(2).split(",") if label.strip()] == list(metric.labels)


def _scrape_body() -> bytes:
    monitor = Monitor(MonitorOptions(iface="lab0"), start_ns=T0)
    _run(monitor, {0.0: [_query()], 0.5: [_join("198.18.0.11"), udp("198.18.0.20", "239.1.1.1")]}, 2.0)
    return exposition(monitor.families(), process=True)


def test_exposition_is_the_text_format_with_help_and_type() -> None:
    body = _scrape_body().decode()
    assert "# TYPE mdiag_joins_total counter" in body
    assert 'mdiag_querier_info{family="ipv4",interface="lab0",vlan=""} 1.0' not in body
    assert re.search(r'mdiag_querier_info\{address="198\.18\.0\.1",family="ipv4",interface="lab0",'
                     r'version="3",vlan=""\} 1\.0', body)
    assert "process_resident_memory_bytes" in body


def test_promtool_check_metrics_finds_no_problem() -> None:
    _, promtool = need_prometheus()
    result = subprocess.run([promtool, "check", "metrics"], input=_scrape_body(), capture_output=True,
                            timeout=60)
    assert result.returncode == 0 and not result.stdout.strip() and not result.stderr.strip(), \
        (result.stdout + result.stderr).decode()


def test_a_family_without_samples_is_still_well_formed() -> None:
    body = exposition([Family(METRICS[0])]).decode()
    assert body.startswith("# HELP mdiag_monitor_info ")


def test_the_dashboard_uses_only_exported_metrics() -> None:
    import json

    dashboard = json.loads((Path(__file__).resolve().parents[2] / "docs" / "monitor" / "dashboard.json")
                           .read_text())
    exported = {m.exposed_name for m in METRICS}
    exprs = [t["expr"] for p in dashboard["panels"] for t in p.get("targets", [])]
    used = {name for expr in exprs for name in re.findall(r"\b(mdiag_[a-z_]+)", expr)}
    assert exprs and used and used <= exported, used - exported
    ids = [p["id"] for p in dashboard["panels"]]
    assert len(ids) == len(set(ids))


def test_every_documented_finding_code_is_exported_at_zero_before_it_happens() -> None:
    """A counter series born at 1 shows no increase() to Prometheus: MdiagVersionMismatch
    and the dashboard's findings panel would miss the first version mismatch ever seen."""
    from mdiag.analysis.codes import CODES
    from mdiag.core.mld import FINDING_CODES as MLD_CODES

    monitor = Monitor(MonitorOptions(iface="lab0"), start_ns=T0)
    samples = {labels: value for f in monitor.families() if f.spec.name == "mdiag_findings"
               for labels, value in f.samples}
    for code in ("querier-version-mismatch", "compat-older-host"):
        assert samples[("lab0", code, "warning")] == 0
    assert {code for _, code, _ in samples} >= set(CODES) | set(MLD_CODES)
    assert len(samples) == len({code for _, code, _ in samples}), "one severity per code"


def test_an_mld_decoder_finding_keeps_its_code() -> None:
    from mdiag.core.findings import Finding, Severity

    monitor = Monitor(MonitorOptions(iface="lab0"), start_ns=T0)
    monitor._on_finding(Finding("mld-source-not-link-local", Severity.WARNING, "from 198.18.0.1"))
    samples = {labels: value for f in monitor.families() if f.spec.name == "mdiag_findings"
               for labels, value in f.samples}
    assert samples[("lab0", "mld-source-not-link-local", "warning")] == 1
    assert ("lab0", "other", "warning") not in samples
