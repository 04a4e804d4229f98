"""mdiag.probes.delay: the flood wait, and whole join/leave cycles against a fake network."""

from __future__ import annotations

import pytest

from mdiag.probes.delay import wait_not_flooded
from mdiag.probes.frames import StreamMatcher


class _FakeCapture:
    """Yields one forwarded datagram per window for ``flooded`` windows, then nothing."""

    DATAGRAM = bytes(12) + b"\x08\x00" + bytes.fromhex("4500002c000040000111000000000000ef010203") + bytes(16)

    def __init__(self, flooded: int) -> None:
        self.flooded, self.windows, self.drained = flooded, 0, 0

    def capture(self, until):
        from types import SimpleNamespace

        self.windows += 1
        if self.windows <= self.flooded:
            yield SimpleNamespace(outgoing=False, frame=self.DATAGRAM)

    def drain(self):
        self.drained += 1
        return []


@pytest.mark.parametrize("flooded, expected_windows", [(0, 1), (3, 4)])
def test_delay_waits_until_the_stream_is_no_longer_flooded(flooded, expected_windows):
    cap = _FakeCapture(flooded)
    assert wait_not_flooded(cap, StreamMatcher("239.1.2.3", None), 1000.0, 5.0) is True
    assert cap.windows == expected_windows and cap.drained == flooded


def test_delay_flood_wait_is_bounded():
    cap = _FakeCapture(10**9)
    assert wait_not_flooded(cap, StreamMatcher("239.1.2.3", None), 1000.0, 0.05) is False and cap.windows > 1


def test_cycles_time_the_join_and_the_leave():
    from mdiag.probes import delay
    from mdiag.probes.network import Endpoint
    from tests.probes.fakes import FakeNetwork, udp_frame

    data = udp_frame("239.1.2.3", 5001)
    network = FakeNetwork(on_join=lambda at, g: [(4_000_000 + i * 1_000_000, data) for i in range(5)],
                          on_leave=lambda at, g: [(2_000_000, data)])
    sender, receiver, anchor = Endpoint("lab0", "x-h1", "h1"), Endpoint("lab0", "x-h2", "h2"), \
        Endpoint("lab0", "x-h3", "h3")
    options = delay.DelayOptions(sender, receiver, "239.1.2.3", repeat=3, hold=0.01, settle=0.01,
                                 anchor=anchor, quiet_timeout=0.01)
    result = delay.run(options, network, registered=lambda group: True)
    assert [t.join_delay for t in result.report.trials] == [pytest.approx(0.004)] * 3
    assert [t.leave_delay for t in result.report.trials] == [pytest.approx(0.002)] * 3
    assert result.ok and result.report.join.count == 3
    assert [e for e in network.events if e[0] == receiver] == [(receiver, "join"), (receiver, "leave")] * 3
    assert (anchor, "join") in network.events and (anchor, "leave") not in network.events
    assert network.streams[0].started and network.streams[0].stopped
    assert all(m.closed for m in network.memberships) and all(s.closed for s in network.sockets)
    doc = result.to_json()
    assert doc["join"]["count"] == 3 and doc["sender"] == {"iface": "lab0", "netns": "x-h1"}


def test_a_limit_turns_into_a_failed_check():
    from mdiag.probes import delay
    from mdiag.probes.network import Endpoint
    from tests.probes.fakes import FakeNetwork, udp_frame

    data = udp_frame("239.1.2.3", 5001)
    network = FakeNetwork(on_join=lambda at, g: [(30_000_000, data)])
    options = delay.DelayOptions(Endpoint("a"), Endpoint("b"), "239.1.2.3", repeat=1, hold=0.01,
                                 settle=0.01, quiet_timeout=0.01, max_join=0.01)
    result = delay.run(options, network)
    assert not result.ok
    assert "delay-join-over-limit" in {f.code for f in result.findings}


def test_unregistered_anchor_is_a_warning():
    from mdiag.probes import delay
    from mdiag.probes.network import Endpoint
    from tests.probes.fakes import FakeNetwork

    options = delay.DelayOptions(Endpoint("a"), Endpoint("b"), "239.1.2.3", repeat=1, hold=0.01,
                                 settle=0.01, quiet_timeout=0.01, anchor=Endpoint("c"))
    result = delay.run(options, FakeNetwork(), registered=lambda group: False)
    assert "delay-anchor-not-registered" in {f.code for f in result.findings}
