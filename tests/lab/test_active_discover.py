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
