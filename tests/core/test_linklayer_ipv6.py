"""Link layers for IPv6 (MLD): where the IPv6 header is, on every link type, and the
untagged-Ethernet fast path equal to the general path."""

from __future__ import annotations

import struct

import pytest
from hypothesis import given
from hypothesis import strategies as st

from mdiag.core import linklayer as ll
from mdiag.core.linklayer import NOT_IPV4, OK, TRUNCATED, locate_ipv4, locate_ipv6

from tests.core.mld.test_vectors import V1_DONE
from tests.core.test_linklayer import IP, MAC_SRC, eth, sll, sll2

IP6 = bytes.fromhex(V1_DONE)[14:]

CASES = [
    ("ethernet", 1, eth(ethertype=0x86DD, payload=IP6), OK, 14, (), MAC_SRC),
    ("802.1Q", 1, eth((0x8100, 10), ethertype=0x86DD, payload=IP6), OK, 18, (10,), MAC_SRC),
    ("QinQ", 1, eth((0x88A8, 100), (0x8100, 10), ethertype=0x86DD, payload=IP6), OK, 22, (100, 10), MAC_SRC),
    ("IPv4 is not IPv6", 1, eth(), NOT_IPV4, 0, (), None),
    ("0x86dd but version 4", 1, eth(ethertype=0x86DD, payload=IP + bytes(20)), NOT_IPV4, 0, (), None),
    ("cut in the IPv6 header", 1, eth(ethertype=0x86DD, payload=IP6)[:40], TRUNCATED, 0, (), None),
    ("SLL", 113, sll(0x86DD, IP6), OK, 16, (), MAC_SRC),
    ("SLL tagged", 113, sll(0x8100, struct.pack("!HH", 30, 0x86DD) + IP6), OK, 20, (30,), MAC_SRC),
    ("SLL2", 276, sll2(0x86DD, 7, IP6), OK, 20, (-8,), MAC_SRC),
    ("raw 101", 101, IP6, OK, 0, (), None),
    ("raw 229", 229, IP6, OK, 0, (), None),
    ("raw IPv4", 101, IP, NOT_IPV4, 0, (), None),
    ("BSD NULL Linux AF_INET6", 0, b"\x0a\x00\x00\x00" + IP6, OK, 4, (), None),
    ("BSD LOOP FreeBSD", 108, b"\x00\x00\x00\x1c" + IP6, OK, 4, (), None),
    ("BSD NULL IPv4", 0, b"\x02\x00\x00\x00" + IP, NOT_IPV4, 0, (), None),
]


@pytest.mark.parametrize("name, linktype, frame, status, offset, key, mac", CASES, ids=[c[0] for c in CASES])
def test_locate_ipv6(name, linktype, frame, status, offset, key, mac):
    buf = b"\xaa" * 3 + frame + b"\xbb" * 2
    got = locate_ipv6(linktype, buf, 3, len(frame))
    assert got.status == status
    if status == OK:
        assert (got.ip - 3, got.key, got.src_mac) == (offset, key, mac)
        assert locate_ipv4(linktype, buf, 3, len(frame)).status == NOT_IPV4  # the two never both say OK


def test_raw_ipv6_linktype_has_no_ipv4():
    assert locate_ipv4(229, IP6, 0, len(IP6)).status == NOT_IPV4


@given(st.binary(min_size=0, max_size=80), st.sampled_from([b"\x86\xdd", b"\x81\x00", b"\x08\x00"]))
def test_fast_path_equals_general(tail, ethertype):
    frame = bytes(12) + ethertype + tail
    assert locate_ipv6(1, frame, 0, len(frame)) == ll._locate_general(1, frame, 0, len(frame), 6)
