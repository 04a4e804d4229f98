"""/proc/net parsers: fixed kernel text (both byte orders), odd lines as findings."""

from __future__ import annotations

import socket
import struct

import pytest
from hypothesis import given
from hypothesis import strategies as st

from mdiag.core import procnet

# Captured from a little-endian host (x86_64) with one any-source and one SSM join on lab0.
IGMP_LE = (
    "Idx\tDevice    : Count Querier\tGroup    Users Timer\tReporter\n"
    "1\tlo        :     1      V3\n"
    "\t\t\t\t010000E0     1 0:00000000\t\t0\n"
    "2\tlab0      :     3      V2\n"
    "\t\t\t\t030201EF     1 0:00000000\t\t0\n"
    "\t\t\t\t010101E8     1 1:000001F4\t\t1\n"
    "\t\t\t\t010000E0     1 0:00000000\t\t0\n"
)
MCFILTER = (
    "Idx Device        MCA        SRC    INC    EXC\n"
    "  2   lab0 0xe8010101 0xc612000b      1      0\n"
    "  2   lab0 0xe8010101 0x0a000001      1      0\n"
)


def test_igmp_little_endian_groups_are_byte_reversed():
    parsed = procnet.parse_igmp(IGMP_LE, "little")
    assert parsed.findings == ()
    lo, lab0 = parsed.items
    assert (lo.index, lo.name, lo.count, lo.version) == (1, "lo", 1, "V3")
    assert [m.group for m in lo.memberships] == ["224.0.0.1"]
    assert (lab0.name, lab0.version) == ("lab0", "V2")
    assert [m.group for m in lab0.memberships] == ["239.1.2.3", "232.1.1.1", "224.0.0.1"]
    ssm = lab0.memberships[1]
    assert ssm.timer_running and ssm.reporter and ssm.users == 1


def test_igmp_big_endian_reads_words_as_printed():
    text = IGMP_LE.replace("030201EF", "EF010203").replace("010000E0", "E0000001")
    parsed = procnet.parse_igmp(text, "big")
    assert [m.group for m in parsed.items[1].memberships][0] == "239.1.2.3"
    assert parsed.items[0].memberships[0].group == "224.0.0.1"


def test_mcfilter_is_in_readable_order_and_merges_by_index():
    mcf = procnet.parse_mcfilter(MCFILTER)
    assert [(e.index, e.device, e.group, e.source, e.include, e.exclude) for e in mcf.items] == [
        (2, "lab0", "232.1.1.1", "198.18.0.11", 1, 0), (2, "lab0", "232.1.1.1", "10.0.0.1", 1, 0)]
    merged = procnet.merge(procnet.parse_igmp(IGMP_LE, "little"), mcf)
    ssm = merged[1].memberships[1]
    assert ssm.included_sources == ("10.0.0.1", "198.18.0.11")  # sorted numerically
    assert ssm.mode == "include"
    assert merged[1].memberships[0].mode == "exclude"  # any-source join: no source rows
    assert merged[1].memberships[0].to_json()["sources"] == []


def test_exclude_mode_with_blocked_source():
    text = "Idx Device        MCA        SRC    INC    EXC\n  2   lab0 0xef010203 0x0a000001      0      1\n"
    merged = procnet.merge(procnet.parse_igmp(IGMP_LE, "little"), procnet.parse_mcfilter(text))
    group = merged[1].memberships[0]
    assert group.mode == "exclude" and group.excluded_sources == ("10.0.0.1",)


def test_unreadable_lines_become_findings_not_errors():
    parsed = procnet.parse_igmp(IGMP_LE + "garbage here\n", "little")
    assert len(parsed.items) == 2
    (finding,) = parsed.findings
    assert finding.code == "procnet-unreadable-line" and "garbage" in finding.message
    assert procnet.parse_mcfilter("  x y z\n").findings[0].context == {"line": 1}


def test_bad_byteorder_is_refused():
    with pytest.raises(ValueError, match="byteorder"):
        procnet.parse_igmp(IGMP_LE, "middle")


ROUTE_LE = (
    "Iface\tDestination\tGateway \tFlags\tRefCnt\tUse\tMetric\tMask\t\tMTU\tWindow\tIRTT\n"
    "eth0\t00000000\t010200C0\t0003\t0\t0\t0\t00000000\t0\t0\t0\n"
    "eth0\t000200C0\t00000000\t0001\t0\t0\t0\t00FFFFFF\t0\t0\t0\n"
    "lab0\t000000E0\t00000000\t0001\t0\t0\t0\t000000F0\t0\t0\t0\n"
)


def test_route_lookup_is_longest_prefix():
    routes = procnet.parse_route(ROUTE_LE, "little").items
    assert routes[2].destination == "224.0.0.0" and routes[2].prefixlen == 4
    assert procnet.lookup_route(routes, "239.1.2.3").iface == "lab0"
    assert procnet.lookup_route(routes, "192.0.2.9").prefixlen == 24
    assert procnet.lookup_route(routes, "8.8.8.8").gateway == "192.0.2.1"
    assert procnet.lookup_route(routes[1:2], "8.8.8.8") is None


UDP_LE = (
    "   sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode ref pointer drops\n"
    "  123: 00000000:1389 00000000:0000 07 00000000:00000000 00:00000000 00000000     0        0 4242 2 0000000000000000 0\n"
    "  124: 030201EF:1389 00000000:0000 07 00000000:00000000 00:00000000 00000000  1000        0 4243 2 0000000000000000 0\n"
)


def test_udp_sockets():
    socks = procnet.parse_udp(UDP_LE, "little").items
    assert [(s.local_address, s.port, s.uid, s.inode) for s in socks] == [
        ("0.0.0.0", 5001, 0, 4242), ("239.1.2.3", 5001, 1000, 4243)]


@given(st.integers(min_value=0, max_value=0xFFFFFFFF))
def test_raw_word_round_trip_matches_kernel_printing(value):
    packed = struct.pack("!I", value)  # the address in network order, as in memory
    for order, fmt in (("little", "<I"), ("big", ">I")):
        word = f"{struct.unpack(fmt, packed)[0]:08X}"  # what %08X prints on that host
        assert procnet.raw_word_to_ipv4(word, order) == socket.inet_ntoa(packed)


def test_interfaces_mcfilter_skipped_have_unknown_sources():
    # The kernel starts the listing at the first device whose newest group has sources:
    # here lab0's newest group (239.1.2.3) has none, so nothing is listed for lab0 at all.
    merged = procnet.merge(procnet.parse_igmp(IGMP_LE, "little"), procnet.parse_mcfilter(""))
    lab0 = merged[1]
    assert [m.sources_known for m in lab0.memberships] == [False, False, True]  # 224.0.0.1 known
    assert lab0.memberships[0].mode == "unknown"
    listed_from_lo = "Idx Device        MCA        SRC    INC    EXC\n  1     lo 0xe8fffffe 0x7f0000fe      1      0\n"
    merged = procnet.merge(procnet.parse_igmp(IGMP_LE, "little"), procnet.parse_mcfilter(listed_from_lo))
    assert all(m.sources_known for i in merged for m in i.memberships)
