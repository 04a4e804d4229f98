"""Link layers: where the IPv4 header is, which segment a frame belongs to."""

from __future__ import annotations

import struct

import pytest
from hypothesis import given
from hypothesis import strategies as st

from mdiag.core import linklayer as ll
from mdiag.core.linklayer import NOT_IPV4, OK, TRUNCATED, UNKNOWN_LINKTYPE, Segment, locate_ipv4

IP = bytes.fromhex("46c000200000400001023161c0a8010aef010203940400001600f8faef010203")  # igmp.md 7.2
MAC_DST = bytes.fromhex("01005e010203")
MAC_SRC = bytes.fromhex("020000000001")


def eth(*tags: tuple[int, int], ethertype: int = 0x0800, payload: bytes = IP) -> bytes:
    out = MAC_DST + MAC_SRC
    for tpid, vid in tags:
        out += struct.pack("!HH", tpid, vid)
    return out + struct.pack("!H", ethertype) + payload


def sll(protocol: int = 0x0800, payload: bytes = IP, halen: int = 6) -> bytes:
    return struct.pack("!HHH", 0, 1, halen) + MAC_SRC + b"\x00\x00" + struct.pack("!H", protocol) + payload


def sll2(protocol: int = 0x0800, ifindex: int = 7, payload: bytes = IP) -> bytes:
    return (struct.pack("!HHI", protocol, 0, ifindex) + struct.pack("!HBB", 1, 0, 6) + MAC_SRC
            + b"\x00\x00" + payload)


CASES = [
    # name, linktype, frame, status, ip offset, key, mac
    ("ethernet", 1, eth(), OK, 14, (), MAC_SRC),
    ("802.1Q", 1, eth((0x8100, 10)), OK, 18, (10,), MAC_SRC),
    ("802.1Q with PCP bits", 1, eth((0x8100, 0xA00A)), OK, 18, (10,), MAC_SRC),
    ("QinQ 802.1ad", 1, eth((0x88A8, 100), (0x8100, 10)), OK, 22, (100, 10), MAC_SRC),
    ("QinQ 0x9100", 1, eth((0x9100, 200), (0x8100, 20)), OK, 22, (200, 20), MAC_SRC),
    ("ARP", 1, eth(ethertype=0x0806), NOT_IPV4, 0, (), None),
    ("IPv6", 1, eth(ethertype=0x86DD), NOT_IPV4, 0, (), None),
    ("tagged IPv6", 1, eth((0x8100, 5), ethertype=0x86DD), NOT_IPV4, 0, (), None),
    ("ethertype 0x0800 but version 6", 1, eth(payload=b"\x60" + IP[1:]), NOT_IPV4, 0, (), None),
    ("ethernet cut in header", 1, eth()[:10], TRUNCATED, 0, (), None),
    ("ethernet cut in IP", 1, eth()[:30], TRUNCATED, 0, (), None),
    ("tag cut", 1, eth((0x8100, 10))[:16], TRUNCATED, 0, (), None),
    ("SLL", 113, sll(), OK, 16, (), MAC_SRC),
    ("SLL tagged", 113, sll(0x8100, struct.pack("!HH", 30, 0x0800) + IP), OK, 20, (30,), MAC_SRC),
    ("SLL no MAC", 113, sll(halen=0), OK, 16, (), None),
    ("SLL ARP", 113, sll(0x0806), NOT_IPV4, 0, (), None),
    ("SLL2", 276, sll2(), OK, 20, (-8,), MAC_SRC),
    ("SLL2 tagged", 276, sll2(0x8100, 3, struct.pack("!HH", 40, 0x0800) + IP), OK, 24, (-4, 40), MAC_SRC),
    ("raw 101", 101, IP, OK, 0, (), None),
    ("raw 228", 228, IP, OK, 0, (), None),
    ("raw DLT 12", 12, IP, OK, 0, (), None),
    ("raw IPv6", 101, b"\x60" + IP[1:], NOT_IPV4, 0, (), None),
    ("raw cut", 101, IP[:10], TRUNCATED, 0, (), None),
    ("BSD NULL little-endian", 0, b"\x02\x00\x00\x00" + IP, OK, 4, (), None),
    ("OpenBSD LOOP", 108, b"\x00\x00\x00\x02" + IP, OK, 4, (), None),
    ("NULL IPv6", 0, b"\x18\x00\x00\x00" + IP, NOT_IPV4, 0, (), None),
    ("unknown linktype", 147, IP, UNKNOWN_LINKTYPE, 0, (), None),
]


@pytest.mark.parametrize("name,linktype,frame,status,ip,key,mac", CASES, ids=[c[0] for c in CASES])
def test_locate(name, linktype, frame, status, ip, key, mac):
    # frames sit at an offset inside a larger buffer, as the capture reader gives them
    buf = b"\xee" * 5 + frame + b"\xee" * 3
    got = locate_ipv4(linktype, buf, 5, len(frame))
    assert got.status == status
    if status == OK:
        assert got.ip == ip + 5
        assert buf[got.ip:got.ip + len(IP)] == IP
        assert got.key == key
        assert got.src_mac == mac


def test_segments_from_keys():
    assert str(Segment.from_key(0, ())) == "if0"
    assert str(Segment.from_key(1, (100, 10))) == "if1 vlan 100.10"
    seg = Segment.from_key(2, (-8, 40))
    assert seg.ifindex == 7 and seg.vlans == (40,) and seg.vlan == 40
    assert str(seg) == "if2 ifindex 7 vlan 40"
    assert seg.to_json() == {"name": "if2 ifindex 7 vlan 40", "interface": 2, "vlans": [40], "ifindex": 7}
    with pytest.raises(ValueError):
        Segment(0, (4096,))
    with pytest.raises(ValueError):
        Segment(-1)


def test_fragments():
    assert not ll.is_fragment(IP, 0)
    more = bytearray(IP)
    more[6] = 0x20  # MF
    assert ll.is_fragment(bytes(more), 0)
    later = bytearray(IP)
    later[6], later[7] = 0x40, 0x10  # DF + offset
    assert ll.is_fragment(bytes(later), 0)


@given(st.integers(0, 300), st.binary(max_size=80))
def test_never_raises_on_any_bytes(linktype, data):
    got = locate_ipv4(linktype, data, 0, len(data))
    assert got.status in (OK, NOT_IPV4, TRUNCATED, UNKNOWN_LINKTYPE)
    if got.status == OK:
        assert got.ip + 20 <= len(data)


@given(st.lists(st.integers(0, 4095), max_size=4))
def test_vlan_stacks(vids):
    tags = [(0x88A8 if i == 0 and len(vids) > 1 else 0x8100, v) for i, v in enumerate(vids)]
    frame = eth(*tags)
    got = locate_ipv4(1, frame, 0, len(frame))
    assert got.status == OK and got.key == tuple(vids) and got.ip == 14 + 4 * len(vids)
