"""mdiag.probes.querier with a fake network: canned queries in, verdicts out."""

from __future__ import annotations

import time

import pytest

from mdiag.core.igmp.messages import V2Query, V3Query
from mdiag.errors import InputError, PermissionProblem
from mdiag.probes import querier
from mdiag.probes.network import Endpoint
from tests.probes.fakes import FakeFrame, FakeNetwork, igmp_frame

AT = Endpoint("lab0", "mdx-h1")


def _queries(network: FakeNetwork, source: str, message, times: list[float]) -> None:
    base = time.time()
    for t in times:
        network.deliver(AT, FakeFrame(int((base + t) * 1e9), igmp_frame(message, source)))


def _listen(network: FakeNetwork, **kw) -> querier.QuerierReport:
    """Three queries 2 s apart arrive once the probe has opened its capture socket."""
    options = querier.QuerierOptions(AT, wait=0.1, **kw)
    sock_factory = network.packet_socket

    def opened(at, **kwargs):
        sock = sock_factory(at, **kwargs)
        if not kwargs.get("send_only"):
            _queries(network, "198.18.0.1", V3Query.build(max_resp_time=1.0, qqi=2), [0.0, 2.0, 4.0])
        return sock

    network.packet_socket = opened  # type: ignore[method-assign]
    return querier.run(options, network)


def test_the_querier_and_its_interval_are_reported():
    report = _listen(FakeNetwork(), query_interval=2.0)
    assert report.heard and report.ok, [v for v in report.compliance.verdicts]
    assert report.compliance.elected.address == "198.18.0.1"
    assert report.compliance.elected.version == 3
    assert report.compliance.measured_interval == pytest.approx(2.0, abs=0.01)
    doc = report.to_json()
    assert doc["heard"] and doc["ok"] and doc["iface"] == "lab0" and doc["netns"] == "mdx-h1"


@pytest.mark.parametrize("expect, ok", [
    ({"expect_querier": "198.18.0.1"}, True),
    ({"expect_querier": "198.18.0.9"}, False),
    ({"expect_version": 3}, True),
    ({"expect_version": 2}, False),
])
def test_expectations_decide_the_verdict(expect, ok):
    assert _listen(FakeNetwork(), query_interval=2.0, **expect).ok is ok


def test_nothing_heard_is_a_report_not_an_exception():
    report = querier.run(querier.QuerierOptions(AT, wait=0.05), FakeNetwork())
    assert not report.heard and report.to_json()["heard"] is False


def test_sockets_are_closed_and_privileges_checked_first():
    network = FakeNetwork()
    querier.run(querier.QuerierOptions(AT, wait=0.01), network)
    assert network.sockets and all(s.closed for s in network.sockets)
    with pytest.raises(PermissionProblem):
        querier.run(querier.QuerierOptions(AT, wait=0.01), FakeNetwork(raw_allowed=False))


@pytest.mark.parametrize("kw", [{"queries": -1}, {"challenge": "0.0.0.0"}, {"challenge": "239.1.1.1"}])
def test_options_refuse_nonsense(kw):
    with pytest.raises(InputError):
        querier.QuerierOptions(AT, **kw)


def test_a_challenger_above_the_querier_is_refused():
    network = FakeNetwork()
    with pytest.raises(InputError, match="not lower than the querier"):
        _listen(network, challenge="198.18.0.200", challenge_for=0.01)


def test_v2_querier_is_seen_as_v2():
    network = FakeNetwork()
    base = time.time()
    sock = network.packet_socket
    def opened(at, **kwargs):
        s = sock(at, **kwargs)
        if not kwargs.get("send_only"):
            network.deliver(AT, FakeFrame(int(base * 1e9), igmp_frame(V2Query.from_seconds(10), "198.18.0.1")))
        return s
    network.packet_socket = opened  # type: ignore[method-assign]
    report = querier.run(querier.QuerierOptions(AT, wait=0.01, expect_version=2), network)
    assert report.compliance.elected.version == 2


def _listen_to(network: FakeNetwork, senders: list[tuple[str, list[float]]], **kw) -> querier.QuerierReport:
    """Queries from several routers (source, times) once the capture socket is open."""
    sock_factory = network.packet_socket

    def opened(at, **kwargs):
        sock = sock_factory(at, **kwargs)
        if not kwargs.get("send_only"):
            for source, times in senders:
                _queries(network, source, V3Query.build(max_resp_time=1.0, qqi=2), times)
        return sock

    network.packet_socket = opened  # type: ignore[method-assign]
    return querier.run(querier.QuerierOptions(AT, wait=0.1, query_interval=2.0, **kw), network)


# 198.18.0.5 queries alone first; 198.18.0.1 (lower) starts at 1 s and wins the election.
TAKEOVER = [("198.18.0.5", [0.0]), ("198.18.0.1", [1.0, 3.0, 5.0])]


@pytest.mark.parametrize("want, when, ok", [
    ("198.18.0.1", "throughout", False),   # 198.18.0.5 was querier for the first second
    ("198.18.0.1", "at-end", True),
    ("198.18.0.1", "any-time", True),
    ("198.18.0.5", "any-time", True),
    ("198.18.0.5", "at-end", False),
    ("198.18.0.9", "any-time", False),
])
def test_querier_expectation_qualifiers_follow_the_querier_over_the_watch(want, when, ok):
    """querier@end/@any/@throughout mean what they mean in analyze --expect (one rule in core)."""
    report = _listen_to(FakeNetwork(), TAKEOVER, expect_querier=want, expect_querier_when=when)
    verdict = next(v for v in report.compliance.verdicts if v.check == "expect-querier")
    assert (verdict.status.name == "PASS") is ok, verdict.detail
    assert "198.18.0.5 0.0-1.0 s" in verdict.detail
