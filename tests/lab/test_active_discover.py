"""`mdiag discover` lists the lab's hosts, their groups and v3 sources, with response times."""

from __future__ import annotations

import socket
import struct

import pytest

pytestmark = pytest.mark.lab

IP_ADD_SOURCE_MEMBERSHIP = 39


@pytest.fixture(scope="module")
def members(mdiag_lab):
    """h2 joins 239.1.1.1 and 239.2.2.2; h3 joins 239.1.1.1 and (198.18.0.5, 232.1.1.1)."""
    socks = []
    try:
        for host, joins in (("h2", ["239.1.1.1", "239.2.2.2"]),
                            ("h3", ["239.1.1.1", ("232.1.1.1", "198.18.0.5")])):
            with mdiag_lab.inside(host) as h:
                s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
                socks.append(s)
                index = socket.if_nametoindex(h.iface)
                for j in joins:
                    if isinstance(j, tuple):
                        g, src = j
                        s.setsockopt(socket.IPPROTO_IP, IP_ADD_SOURCE_MEMBERSHIP, socket.inet_aton(g)
                                     + socket.inet_aton(h.address) + socket.inet_aton(src))
                    else:
                        s.setsockopt(socket.IPPROTO_IP, socket.IP_ADD_MEMBERSHIP,
                                     struct.pack("4s4si", socket.inet_aton(j), b"\0" * 4, index))
        yield mdiag_lab
    finally:
        for s in socks:
            s.close()


def _discover(cli, lab, *extra):
    h1 = lab.host("h1")
    r = cli("discover", "--iface", h1.iface, "--netns", h1.netns, "--max-resp", "0.5", "--json", *extra)
    return r, {h["address"]: h for h in r.json()["hosts"]} if r.stdout else {}


def test_general_query_lists_hosts_groups_and_sources(members, cli):
    r, hosts = _discover(cli, members, "--repeat", "2")
    assert r.status == 0, r.stderr
    h2, h3 = members.host("h2"), members.host("h3")
    groups2 = {(g["group"], g["mode"], tuple(g["sources"])) for g in hosts[h2.address]["groups"]}
    assert groups2 == {("239.1.1.1", "exclude", ()), ("239.2.2.2", "exclude", ())}
    groups3 = {(g["group"], g["mode"], tuple(g["sources"])) for g in hosts[h3.address]["groups"]}
    assert groups3 == {("239.1.1.1", "exclude", ()), ("232.1.1.1", "include", ("198.18.0.5",))}
    for h in (h2, h3):
        info = hosts[h.address]
        assert info["mac"] == h.mac and info["versions"] == [3]
        assert info["rounds_answered"] == 2 and info["response_time"]["count"] == 2
        assert 0 <= info["response_time"]["max"] <= 0.5 + 0.1
    assert members.host("h1").address not in hosts


def test_group_specific_query_hears_only_members(members, cli):
    r, hosts = _discover(cli, members, "--group", "239.2.2.2")
    assert r.status == 0
    assert set(hosts) == {members.host("h2").address}


def test_group_and_source_query_shows_the_source(members, cli):
    r, hosts = _discover(cli, members, "--group", "232.1.1.1", "--source", "198.18.0.5")
    assert r.status == 0
    (only,) = hosts.values()
    assert only["address"] == members.host("h3").address
    assert only["groups"] == [{"type": "IS_IN", "group": "232.1.1.1", "mode": "include",
                               "sources": ["198.18.0.5"]}]


def test_table_output_and_no_answer(members, cli):
    h1 = members.host("h1")
    r = cli("discover", "--iface", h1.iface, "--netns", h1.netns, "--max-resp", "0.3")
    assert r.status == 0 and "232.1.1.1 INCLUDE{198.18.0.5}" in r.stdout
    none = cli("discover", "--iface", h1.iface, "--netns", h1.netns, "--max-resp", "0.3",
               "--group", "239.77.77.77")
    assert none.status == 1 and "no host answered" in none.stderr


def test_v1_v2_reports_reach_only_a_router_port_and_the_python_filter_works(mdiag_lab_factory, cli,
                                                                            monkeypatch):
    """In a fresh lab (v1/v2 queries put hosts into compatibility mode for a while)."""
    from mdiag.adapters import rawsock
    from mdiag.adapters.lab import BridgeConfig

    # An IGMPv1 host may answer up to 10 s after the query, so two timers must outlast that
    # round: the bridge keeps h1's port a router port for its querier interval after a
    # winning query, and h2 stays in v1 mode for QRV x QI + MRT learned from the bridge's
    # queries (RFC 3376 8.12; 2 x 2 s + 1 s with the fast timers: it would answer in v3).
    lab = mdiag_lab_factory(hosts=2, bridge=BridgeConfig.fast(query_interval=6.0, querier_interval=15.0,
                                                              membership_interval=15.0))
    h1, h2 = lab.host("h1"), lab.host("h2")
    with lab.inside("h2") as h:
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        s.setsockopt(socket.IPPROTO_IP, socket.IP_ADD_MEMBERSHIP,
                     struct.pack("4s4si", socket.inet_aton("239.3.3.3"), b"\0" * 4,
                                 socket.if_nametoindex(h.iface)))
    base = ["discover", "--iface", h1.iface, "--netns", h1.netns, "--margin", "0.3"]
    try:
        # h1's query loses the election to the bridge (198.18.0.1): v2 reports, sent to the
        # group, are forwarded only to router ports, so h1 hears nobody, and is told why
        # (group-specific: the bridge's own answer for 224.0.0.106 is not counted).
        lost = cli(*base, "--version", "2", "--max-resp", "1", "--group", "239.3.3.3")
        assert lost.status == 1 and "only to router ports" in lost.stderr, lost.stdout + lost.stderr
        assert lost.stderr.count("\n") == 1
        # From below the bridge's address h1 wins: its port becomes a router port. The
        # capture filter runs in Python here (libpcap absent), end to end.
        monkeypatch.setattr(rawsock, "libpcap_available", lambda: False)
        won = cli(*base, "--version", "2", "--max-resp", "1", "--src", "198.18.0.0", "--json")
        assert won.status == 0, won.stderr
        hosts = {x["address"]: x for x in won.json()["hosts"]}
        assert hosts[h2.address]["versions"] == [2] and hosts[h2.address]["mac"] == h2.mac
        assert hosts[h2.address]["groups"] == [{"type": "REPORT", "group": "239.3.3.3",
                                                "mode": "exclude", "sources": []}]
        v1 = cli(*base, "--version", "1", "--src", "198.18.0.0", "--json")
        assert v1.status == 0, v1.stderr
        doc = v1.json()
        assert doc["max_resp"] == 10.0 and doc["query"] == "IGMPv1 general query from 198.18.0.0"
        hosts = {x["address"]: x for x in doc["hosts"]}
        assert h2.address in hosts, v1.stdout + v1.stderr
        assert hosts[h2.address]["versions"] == [1], v1.stdout
        assert {g["group"] for g in hosts[h2.address]["groups"]} == {"239.3.3.3"}
        assert 0 <= hosts[h2.address]["response_time"]["max"] <= 10.0 + 0.3
    finally:
        s.close()
