"""Spreading joins over sockets (mcjoin style) and the byte layouts handed to the kernel."""

from __future__ import annotations

import socket
import struct

import pytest
from hypothesis import given
from hypothesis import strategies as st

from mdiag.adapters.sockets import Join, group_source_req, mreq_source, mreqn, plan_sockets
from mdiag.errors import InputError


def test_one_socket_per_group_and_sources_within_igmp_max_msf():
    joins = [Join("239.1.1.1"), Join("239.1.1.2")] + [Join("232.1.1.1", f"10.0.0.{i}") for i in range(1, 24)]
    plan = plan_sockets(joins, max_msf=10)
    assert plan[:2] == [("239.1.1.1", ()), ("239.1.1.2", ())]
    assert [len(sources) for group, sources in plan[2:]] == [10, 10, 3]


def test_duplicates_dropped_and_asm_plus_ssm_kept_apart():
    plan = plan_sockets([Join("239.1.1.1"), Join("239.1.1.1"), Join("239.1.1.1", "10.0.0.1")])
    assert plan == [("239.1.1.1", ()), ("239.1.1.1", ("10.0.0.1",))]


@given(st.lists(st.tuples(st.integers(0, 20), st.one_of(st.none(), st.integers(1, 40))), max_size=200),
       st.integers(1, 12))
def test_every_join_lands_once_and_no_socket_exceeds_the_limit(items, msf):
    joins = [Join(f"239.0.0.{g}", None if s is None else f"10.0.0.{s}") for g, s in items]
    plan = plan_sockets(joins, max_msf=msf)
    placed = [Join(g, None) for g, srcs in plan if not srcs] + [Join(g, s) for g, srcs in plan for s in srcs]
    assert sorted(placed, key=str) == sorted(set(joins), key=str)
    assert all(len(srcs) <= msf for _, srcs in plan)


def test_kernel_structures():
    assert mreqn("239.1.2.3", 7) == socket.inet_aton("239.1.2.3") + bytes(4) + struct.pack("@i", 7)
    # Linux order: group, interface, source (BSD puts the source second)
    assert mreq_source("232.1.1.1", "198.18.0.12", "10.0.0.1") == bytes.fromhex("e8010101c612000c0a000001")
    req = group_source_req(3, "232.1.1.1", "10.0.0.1")
    assert len(req) == 264 and struct.unpack_from("@I", req)[0] == 3
    assert req[8 + 4:8 + 8] == bytes.fromhex("e8010101") and req[136 + 4:136 + 8] == bytes.fromhex("0a000001")


@pytest.mark.parametrize("group, source, text", [
    ("10.1.1.1", None, "not a multicast group"),
    ("239.1.1.1", "239.2.2.2", "unicast address"),
    ("239.1.1", None, "not an IPv4 address"),
])
def test_bad_joins(group, source, text):
    with pytest.raises(InputError, match=text):
        Join(group, source)
