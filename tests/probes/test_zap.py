"""mdiag.probes.zap and mdiag.core.zap: channel changes against a fake network, and the judge."""

from __future__ import annotations

import pytest

from mdiag.core.zap import ZapEvent, ZapEventKind, ZapLimits, ZapReport, analyse_zap, parse_limits
from mdiag.errors import InputError
from mdiag.probes import zap
from mdiag.probes.network import Endpoint
from tests.probes.fakes import FakeNetwork, udp_frame

MS = 1_000_000
A, B = "239.10.0.1", "239.10.0.2"
J, L, D = ZapEventKind.JOIN, ZapEventKind.LEAVE, ZapEventKind.DATA


@pytest.mark.parametrize("events, zap_time, overlap, codes", [
    ([(0, L, A), (0, J, B), (3 * MS, D, A), (40 * MS, D, B)], 0.040, 1, set()),
    ([(0, L, A), (1 * MS, J, B), (2 * MS, D, B), (5 * MS, D, A), (9 * MS, D, A)], 0.001, 2, set()),
    ([(0, L, A), (0, J, B), (5 * MS, D, A)], None, 1, {"zap-never-forwarded"}),
    ([(0, L, A), (5 * MS, D, B)], None, 0, {"zap-no-join"}),
    ([(0, J, B), (1 * MS, D, B)], 0.001, 0, {"zap-no-leave"}),
    ([(-5 * MS, D, B), (0, L, A), (0, J, B)], None, 0, {"zap-never-forwarded"}),  # before the change
])
def test_one_zap_is_judged(events, zap_time, overlap, codes):
    result = analyse_zap([ZapEvent(10 * MS + t, k, g) for t, k, g in events], leave_group=A, join_group=B,
                         started_ns=10 * MS, end_ns=200 * MS)
    assert result.zap_time == (pytest.approx(zap_time) if zap_time is not None else None)
    assert result.overlap_packets == overlap
    assert {f.code for f in result.findings} == codes


def test_report_statistics_bands_and_limits():
    zaps = tuple(analyse_zap([ZapEvent(0, J, B), ZapEvent(0, L, A), ZapEvent(ms * MS, D, B)],
                             leave_group=A, join_group=B, started_ns=0, end_ns=10**10)
                 for ms in (50, 100, 130, 300, 600))
    report = ZapReport(zaps, rate_pps=1000.0)
    assert report.above() == {125: 3, 250: 2, 500: 1}
    assert report.zap_time.minimum == pytest.approx(0.05) and report.zap_time.maximum == pytest.approx(0.6)
    assert report.ok
    strict = ZapReport(zaps, rate_pps=1000.0, limits=ZapLimits(p95_zap=0.25, max_overlap=0))
    assert not strict.ok and {f.code for f in strict.findings} == {"zap-p95-over-limit"}
    doc = strict.to_json()
    assert doc["above_ms"] == {"125": 3, "250": 2, "500": 1} and doc["ok"] is False


@pytest.mark.parametrize("items, expected", [
    ([("max-zap", "250ms")], ZapLimits(max_zap=0.25)),
    ([("p95-zap", "0.125"), ("max-overlap", "0")], ZapLimits(p95_zap=0.125, max_overlap=0)),
])
def test_expectations_parse(items, expected):
    from mdiag.core.rate import parse_duration

    assert parse_limits(items, parse_duration) == expected


@pytest.mark.parametrize("items", [[("color", "red")], [("max-overlap", "lots")]])
def test_bad_expectations_are_refused(items):
    from mdiag.core.rate import parse_duration

    with pytest.raises(ValueError):
        parse_limits(items, parse_duration)


def test_the_probe_changes_channels_and_measures_each_change():
    def joined(at, group):  # the switch starts forwarding 8 ms after a join, one packet per ms
        return [(8 * MS + i * MS, udp_frame(group, 5001)) for i in range(5)]

    def left(at, group):  # and keeps forwarding the old channel for 2 more packets
        return [(1 * MS, udp_frame(group, 5001)), (2 * MS, udp_frame(group, 5001))]

    network = FakeNetwork(on_join=joined, on_leave=left)
    sender, receiver = Endpoint("lab0", "x-h1", "h1"), Endpoint("lab0", "x-h2", "h2")
    options = zap.ZapOptions(sender, receiver, (A, B, "239.10.0.3"), zaps=4, interval=0.03, quiet_timeout=0.01,
                             limits=ZapLimits(max_zap=0.1))
    result = zap.run(options, network)
    report = result.report
    assert [(z.leave_group, z.join_group) for z in report.zaps] == [(A, B), (B, "239.10.0.3"), ("239.10.0.3", A),
                                                                    (A, B)]
    assert all(z.zap_time == pytest.approx(0.008, abs=1e-6) for z in report.zaps)
    assert [z.overlap_packets for z in report.zaps] == [2, 2, 2, 2]
    assert result.tune_in is not None and result.tune_in.zap_time == pytest.approx(0.008, abs=1e-6)
    assert result.ok and network.streams[0].group == [A, B, "239.10.0.3"] and network.streams[0].stopped
    assert all(m.closed for m in network.memberships)
    doc = result.to_json()
    assert doc["receiver"] == {"host": "h2", "netns": "x-h2", "iface": "lab0"} and len(doc["zaps"]) == 4


@pytest.mark.parametrize("kw", [{"channels": (A,)}, {"channels": (A, A)}, {"zaps": 0}, {"rate": 0},
                                {"interval": 0}])
def test_options_refuse_nonsense(kw):
    base = dict(sender=Endpoint("a"), receiver=Endpoint("b"), channels=(A, B))
    base.update(kw)
    with pytest.raises(InputError):
        zap.ZapOptions(**base)
