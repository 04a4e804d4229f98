"""The verdicts of issue 10 on the small captures made for them (pcaps/, written by
mdiag.testing.pcapgen): each capture shows one thing mdiag used to tell wrong."""

from __future__ import annotations

from pathlib import Path

from mdiag.adapters.capture import open_capture
from mdiag.analysis.pipeline import AnalysisOptions, analyze
from mdiag.core.querier import split_startup

PCAPS = Path(__file__).resolve().parents[2] / "pcaps"


def _analyze(name: str, **options):
    with open_capture(PCAPS / name) as capture:
        return analyze(capture, AnalysisOptions(**options))


def _codes(report) -> list[str]:
    return [f.code for f in report.findings]


def test_startup_queries_are_their_own_phase_not_drift():
    """Item 1: 2 startup queries QI/4 apart, then QI: no drift, the startup phase told."""
    report = _analyze("querier-startup.pcap")
    [router] = report.segments[0].routers
    assert router.startup_queries == 2 and router.startup_gaps == [31.25]
    assert router.interval_count == 3 and router.mean_interval == 125.0
    assert "querier-interval-drift" not in _codes(report)


def test_split_startup_is_one_rule():
    assert split_startup([31.25, 125, 125], 125).startup == (31.25,)
    assert split_startup([7.2, 7.2, 7.2, 7.2], 125).only_startup     # igmpproxy heard for 30 s
    assert split_startup([31.25, 60, 60], 125).steady == (60, 60)     # too fast after startup
    assert split_startup([60.0] * 12, 125).startup == ()              # too many: no startup phase
    assert split_startup([125, 31.25], 125).startup == ()             # joined in steady state


def test_a_max_response_time_above_the_query_interval_is_flagged_with_its_range():
    """Item 2: MRT 3072 s against QQIC 125 s (tcpdump's igmpv3-queries.pcap)."""
    report = _analyze("querier-mrt-too-long.pcap")
    [finding] = [f for f in report.findings if f.code == "querier-mrt-exceeds-interval"]
    assert finding.context["max_resp_time"] == 3072 and finding.context["query_interval"] == 125
    assert finding.context["count"] == 2 and finding.rfc == "RFC 3376 8.3"
    [router] = report.segments[0].routers
    assert (router.mrt_min, router.mrt_max) == (10.0, 3072.0)


def test_counted_findings_describe_every_occurrence():
    """Item 10: 2 general and 2 group-specific queries without Router Alert are two
    findings of 2, each naming its kind."""
    report = _analyze("router-alert-mixed.pcap")
    missing = [f for f in report.findings if f.code == "router-alert-missing"]
    assert [(f.context["count"], "general" in f.message) for f in missing] == [(2, True), (2, False)]
    assert "group-specific" in missing[1].message
