"""mdiag.probes.discover with a fake network: the query goes out, scripted hosts answer."""

from __future__ import annotations

import pytest

from mdiag.core.igmp.messages import GroupRecord, V2Report, V3Query, V3Report
from mdiag.errors import InputError
from mdiag.probes import discover
from mdiag.probes.frames import decode_igmp
from mdiag.probes.network import Endpoint
from tests.probes.fakes import FakeNetwork, igmp_frame

AT = Endpoint("lab0", "mdx-h1")


def _hosts_answer(frame: bytes):
    """Two hosts answer a general query 12 ms and 30 ms later."""
    decoded, _ = decode_igmp(frame)
    assert isinstance(decoded.message, V3Query)
    yield 12_000_000, igmp_frame(V3Report((GroupRecord("IS_EX", "239.1.2.3"),)), "198.18.0.12",
                                 mac="02:00:c6:12:00:0c")
    yield 30_000_000, igmp_frame(V3Report((GroupRecord("IS_IN", "232.1.1.1", ["198.18.0.11"]),)),
                                 "198.18.0.13", mac="02:00:c6:12:00:0d")


def test_every_answering_host_is_listed_with_its_response_time():
    network = FakeNetwork(respond=_hosts_answer)
    report = discover.run(discover.DiscoverOptions(AT, max_resp=0.1, margin=0.0, repeat=2), network)
    assert report.ok
    hosts = {h.address: h for h in report.result.hosts}
    assert set(hosts) == {"198.18.0.12", "198.18.0.13"}
    assert hosts["198.18.0.12"].stats.minimum == pytest.approx(0.012, abs=1e-6)
    assert hosts["198.18.0.13"].rounds_answered == 2
    assert len(network.sent) == 2 and all(at == AT for at, _ in network.sent)
    (sent_at, frame) = network.sent[0]
    decoded, mac = decode_igmp(frame)
    assert str(decoded.ip.src) == "198.18.0.5" and mac == "02:00:00:00:aa:01"
    doc = report.to_json()
    assert doc["query"] == "IGMPv3 general query from 198.18.0.5" and doc["netns"] == "mdx-h1"


def test_silence_is_not_ok():
    report = discover.run(discover.DiscoverOptions(AT, max_resp=0.1, margin=0.0), FakeNetwork())
    assert not report.ok and not report.result.hosts


def test_an_interface_without_an_address_needs_src():
    with pytest.raises(InputError, match="--src"):
        discover.run(discover.DiscoverOptions(AT, max_resp=0.1), FakeNetwork(address=None))


def test_v2_group_specific_query_from_src():
    network = FakeNetwork(respond=lambda f: [(5_000_000, igmp_frame(V2Report("239.1.2.3"), "198.18.0.12"))])
    report = discover.run(discover.DiscoverOptions(AT, version=2, group="239.1.2.3", max_resp=0.1,
                                                   margin=0.0, src="198.18.0.2"), network)
    assert report.description == "IGMPv2 group-specific query from 198.18.0.2 for 239.1.2.3"
    assert [h.address for h in report.result.hosts] == ["198.18.0.12"]


@pytest.mark.parametrize("kw, text", [
    ({"group": "10.1.1.1"}, "not a multicast"),
    ({"sources": ("198.18.0.1",)}, "--source needs --group"),
    ({"group": "239.1.1.1", "sources": ("198.18.0.1",), "version": 2}, "--version 3"),
    ({"version": 1, "group": "239.1.1.1"}, "IGMPv1 has no group-specific"),
    ({"version": 2, "max_resp": 30.0}, "0.1..25.5"),
    ({"repeat": 0}, "--repeat"),
])
def test_contradictory_options_are_refused_before_sending(kw, text):
    network = FakeNetwork()
    with pytest.raises(InputError, match=text):
        discover.run(discover.DiscoverOptions(AT, **kw), network)
    assert not network.sent and not network.sockets
