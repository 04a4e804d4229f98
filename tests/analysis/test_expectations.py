"""Expectation syntax and verdicts against real scenario captures."""

from __future__ import annotations

from ipaddress import IPv4Address
from pathlib import Path

import pytest

from mdiag.adapters.capture import open_capture
from mdiag.analysis import expectations as ex
from mdiag.analysis.pipeline import analyze

PCAPS = Path(__file__).resolve().parents[2] / "pcaps"


def report(name):
    with open_capture(PCAPS / name) as c:
        return analyze(c)


@pytest.mark.parametrize("text,key,op,value,group,vlan", [
    ("querier=198.18.0.1", "querier", "=", IPv4Address("198.18.0.1"), None, None),
    ("querier=none", "querier", "=", None, None, None),
    ("igmp-version=3", "igmp-version", "=", 3, None, None),
    ("max-leave-latency=3s", "max-leave-latency", "<=", 3.0, None, None),
    ("max-leave-latency<2500ms", "max-leave-latency", "<", 2.5, None, None),
    ("no-findings>=warning", "no-findings", ">=", "warning", None, None),
    ("no-finding=querier-gap", "no-finding", "=", "querier-gap", None, None),
    ("group=239.1.1.1:members>=2", "members", ">=", 2, IPv4Address("239.1.1.1"), None),
    ("vlan=10:group=239.1.1.1:state=exclude", "state", "=", "exclude", IPv4Address("239.1.1.1"), 10),
    ("group=239.1.1.1:joined", "joined", "=", True, IPv4Address("239.1.1.1"), None),
    ("elections <= 1", "elections", "<=", 1, None, None),
])
def test_parse(text, key, op, value, group, vlan):
    e = ex.parse(text)
    assert (e.key, e.op, e.group, e.vlan) == (key, op, group, vlan)
    assert (str(e.value) if key == "no-findings" else e.value) == value


@pytest.mark.parametrize("text,fragment", [
    ("querier", "expected KEY OP VALUE"),
    ("quierer=1.2.3.4", "unknown key 'quierer'"),
    ("querier=1.2.3", "not an IPv4 address"),
    ("igmp-version>=three", "not a whole number"),
    ("members>=2", "needs a group"),
    ("group=10.0.0.1:members>=2", "not a multicast group"),
    ("group=239.1.1.1:querier=1.2.3.4", "not a per-group key"),
    ("max-leave-latency=3 parsecs", "not a duration"),
    ("no-findings>=fatal", "unknown severity"),
    ("no-findings<warning", "no-findings>=SEVERITY"),
    ("querier>=198.18.0.1", "compares with = or != only"),
    ("vlan=5000:querier=1.1.1.1", "0..4095"),
])
def test_parse_errors_are_one_line(text, fragment):
    with pytest.raises(ex.ExpectationError) as info:
        ex.parse(text)
    assert fragment in info.value.message and text in info.value.message
    assert "\n" not in info.value.message


def test_parse_file_names_the_line():
    assert [e.key for e in ex.parse_file(["# CI", "", "querier=198.18.0.1  # the router"], "f")] == ["querier"]
    with pytest.raises(ex.ExpectationError, match="^f:2: "):
        ex.parse_file(["querier=198.18.0.1", "bogus"], "f")


def verdicts(name, *texts):
    return [(r.passed, r.actual) for r in ex.evaluate(report(name), [ex.parse(t) for t in texts])]


def test_leave_scenario():
    got = verdicts("v2-leave-lmq.pcap", "querier=198.18.0.1", "igmp-version=2", "max-leave-latency=3s",
                   "max-leave-latency<=1s", "group=239.1.1.1:state=absent", "group=239.1.1.1:leaves=1",
                   "group=239.1.1.1:leave-latency<=2.5s", "group=239.2.2.2:state=never",
                   "group=239.2.2.2:members=0", "no-findings>=warning", "elections=1")
    assert [ok for ok, _ in got] == [True, True, True, False, True, True, True, True, True, True, True]
    assert got[3][1] == "2.002s"


def test_election_and_findings():
    got = verdicts("querier-election.pcap", "querier=198.18.0.2", "queriers=2", "elections=2",
                   "group=239.1.1.1:members>=1", "finding=querier-two-active", "no-finding=querier-gap")
    assert [ok for ok, _ in got] == [False, True, True, True, False, True]


def test_malformed_fails_no_findings():
    [result] = ex.evaluate(report("malformed.pcap"), [ex.parse("no-findings>=error")])
    assert not result.passed and "igmp-checksum-bad" in result.actual and "(frame 1)" in result.detail


def test_no_segment_for_vlan():
    [result] = ex.evaluate(report("v2-query.pcap"), [ex.parse("vlan=7:querier=198.18.0.1")])
    assert not result.passed and "VLAN 7" in result.detail
