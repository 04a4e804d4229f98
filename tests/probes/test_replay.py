"""mdiag.probes.replay with a fake network: floods refused before sending, frames sent, MDB judged."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from mdiag.core.mdbcheck import parse_expected
from mdiag.errors import UsageError
from mdiag.probes import replay
from mdiag.probes.network import Endpoint
from tests.probes.fakes import FakeNetwork

AT, BRIDGE = Endpoint("lab0", "x-h1", "h1"), Endpoint("br0", "x-br")


class ReplayNetwork(FakeNetwork):
    def __init__(self, *, peak: int = 10, damage: tuple[str, ...] = (), mdb: list | None = None) -> None:
        super().__init__()
        self.peak, self.damage_lines, self.mdb = peak, damage, mdb or []
        self.replayed: list[dict] = []

    def plan_capture(self, path, *, speed, only_igmp, count):
        return SimpleNamespace(frames=3, skipped=0, peak_per_second=self.peak, duration=0.01,
                               damage=self.damage_lines, to_json=lambda: {"frames": 3})

    def replay_capture(self, path, send, *, speed, only_igmp, rewrite_src_mac, count, deadline):
        for _ in range(3):
            send(b"\x01" * 60)
        self.replayed.append({"rewrite": rewrite_src_mac, "only_igmp": only_igmp})
        return SimpleNamespace(frames=3, bytes=180, skipped=0, errors=[], elapsed=0.0,
                               to_json=lambda: {"frames": 3})

    def read_mdb(self, bridge):
        assert bridge == BRIDGE
        return self.mdb


MDB = [{"port": "p1", "grp": "232.1.1.1", "src": "198.18.1.100", "state": "temp"}]


def test_frames_are_sent_and_the_mdb_judged():
    network = ReplayNetwork(mdb=MDB)
    expected = parse_expected("232.1.1.1 p1 198.18.1.100\n", name="x.mdb")
    report = replay.run(replay.ReplayOptions("c.pcap", AT, bridge=BRIDGE, read_mdb=True, settle=0.0,
                                             expectation=expected, rewrite_src_mac="iface"), network)
    assert report.ok and report.comparison.ok and len(network.sent) == 3
    assert network.replayed == [{"rewrite": network.mac, "only_igmp": False}]
    assert all(s.closed for s in network.sockets)
    doc = report.to_json()
    assert doc["bridge"] == "br0" and doc["bridge_netns"] == "x-br" and doc["ok"]


def test_a_missing_entry_and_a_damaged_capture_fail():
    expected = parse_expected("239.9.9.9 p2\n", name="x.mdb")
    missing = replay.run(replay.ReplayOptions("c.pcap", AT, bridge=BRIDGE, read_mdb=True, settle=0.0,
                                              expectation=expected), ReplayNetwork(mdb=MDB))
    assert not missing.ok and missing.comparison.missing
    damaged = replay.run(replay.ReplayOptions("c.pcap", AT), ReplayNetwork(damage=("cut short at frame 3",)))
    assert not damaged.ok and damaged.to_json()["damage"] == ["cut short at frame 3"]


def test_a_flood_is_refused_before_any_socket_unless_forced():
    network = ReplayNetwork(peak=5000)
    with pytest.raises(UsageError, match="a flood: add --force"):
        replay.run(replay.ReplayOptions("c.pcap", AT, speed=None), network)
    assert not network.sockets and not network.sent
    assert replay.run(replay.ReplayOptions("c.pcap", AT, speed=None, force=True), network).ok


@pytest.mark.parametrize("kw", [{"frames": 0}, {"read_mdb": True}])
def test_options_refuse_nonsense(kw):
    with pytest.raises(UsageError):
        replay.ReplayOptions("c.pcap", AT, **kw)
