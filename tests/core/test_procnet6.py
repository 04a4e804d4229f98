"""IPv6 host state from /proc: igmp6, mcfilter6, ipv6_route, udp6 (text vectors from a real
kernel in a dual-stack lab host with an MLDv2 querier)."""

import pytest

from mdiag.core import procnet

#: h2 with (*, ff3e::8000:1), (fd00:c612::11 and ::13, ff3e::8000:2), (*, ff02::4242) and the
#: source-specific probe on lo that makes mcfilter6 list every interface.
IGMP6 = """\
1    lo              ff31000000000000000000008000fffe     1 00000008 0
1    lo              ff020000000000000000000000000001     1 0000000C 0
1    lo              ff010000000000000000000000000001     1 00000008 0
2    lab0            ff020000000000000000000000004242     1 00000004 0
2    lab0            ff3e0000000000000000000080000002     1 00000004 0
2    lab0            ff3e0000000000000000000080000001     1 00000007 7
2    lab0            ff0200000000000000000001ff12000c     1 00000004 0
2    lab0            ff020000000000000000000000000001     1 0000000C 0
"""
MCFILTER6 = """\
Idx Device                Multicast Address                   Source Address    INC    EXC
  1     lo ff31000000000000000000008000fffe 00000000000000000000000000000001      1      0
  2   lab0 ff3e0000000000000000000080000002 fd00c612000000000000000000000013      1      0
  2   lab0 ff3e0000000000000000000080000002 fd00c612000000000000000000000011      1      0
"""
#: the same host without the probe: the kernel lists nothing (lo's and lab0's newest groups have
#: no sources), although ff3e::8000:2 has two
MCFILTER6_GAP = "Idx Device                Multicast Address                   Source Address    INC    EXC\n"
IPV6_ROUTE = """\
fd00c612000000000000000000000000 40 00000000000000000000000000000000 00 00000000000000000000000000000000 00000100 00000002 00000000 00000001     lab0
fe800000000000000000000000000000 40 00000000000000000000000000000000 00 00000000000000000000000000000000 00000100 00000001 00000000 00000001     lab0
00000000000000000000000000000000 00 00000000000000000000000000000000 00 00000000000000000000000000000000 ffffffff 00000001 00000000 00200200       lo
00000000000000000000000000000001 80 00000000000000000000000000000000 00 00000000000000000000000000000000 00000000 00000002 00000000 80200001       lo
fe800000000000000000c6fffe12000c 80 00000000000000000000000000000000 00 00000000000000000000000000000000 00000000 00000002 00000000 80200001     lab0
ff000000000000000000000000000000 08 00000000000000000000000000000000 00 00000000000000000000000000000000 00000100 00000004 00000000 00000001     lab0
"""
UDP6 = """\
  sl  local_address                         remote_address                        st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode ref pointer drops
 6425: 000002FF000000000000000042420000:1389 00000000000000000000000000000000:0000 07 00000000:00000000 00:00000000 00000000     0        0 135681 2 0000000024e4c18d 0
 6425: 00003EFF000000000000000001000080:1389 00000000000000000000000000000000:0000 07 00000000:00000000 00:00000000 00000000     0        0 135679 2 000000000a41bba9 0
 1234: 00000000000000000000000000000000:1389 00000000000000000000000000000000:0000 07 00000000:00000000 00:00000000 00000000  1000        0 135690 2 000000000a41bba9 0
"""


def test_igmp6_groups_per_interface_newest_first():
    parsed = procnet.parse_igmp6(IGMP6)
    assert not parsed.findings
    lo, lab0 = parsed.items
    assert (lo.index, lo.name, lab0.index, lab0.name) == (1, "lo", 2, "lab0")
    assert [m.group for m in lab0.memberships] == [
        "ff02::4242", "ff3e::8000:2", "ff3e::8000:1", "ff02::1:ff12:c", "ff02::1"]
    timed = lab0.memberships[2]
    assert (timed.users, timed.timer_running, timed.reporter) == (1, True, True)  # flags 0x7
    assert lab0.memberships[0].timer_running is False


def test_mcfilter6_sources_are_attached_and_sorted():
    merged = procnet.merge6(procnet.parse_igmp6(IGMP6), procnet.parse_mcfilter6(MCFILTER6))
    lab0 = merged[1]
    ssm = next(m for m in lab0.memberships if m.group == "ff3e::8000:2")
    assert [s.source for s in ssm.sources] == ["fd00:c612::11", "fd00:c612::13"]
    assert ssm.mode == "include" and ssm.included_sources == ("fd00:c612::11", "fd00:c612::13")
    asm = next(m for m in lab0.memberships if m.group == "ff3e::8000:1")
    assert asm.mode == "exclude" and asm.sources == ()


def test_the_kernel_gap_makes_sources_unknown_not_empty():
    merged = procnet.merge6(procnet.parse_igmp6(IGMP6), procnet.parse_mcfilter6(MCFILTER6_GAP))
    modes = {m.group: m.mode for i in merged for m in i.memberships}
    assert modes["ff3e::8000:2"] == "unknown"
    assert modes["ff02::1"] == "exclude"  # all-nodes never has sources


def test_ipv6_routes_find_the_multicast_route_in_the_local_table():
    routes = procnet.parse_ipv6_route(IPV6_ROUTE).items
    route = procnet.lookup_route6(routes, "ff3e::8000:1")
    assert route is not None and (route.iface, route.destination, route.prefixlen) == ("lab0", "ff00::", 8)
    assert procnet.lookup_route6(routes, "ff3e::1", iface="eth0") is None
    assert procnet.lookup_route6(routes, "2001:db8::1") is None  # lo's unreachable /0 is not a route
    assert procnet.lookup_route6(routes, "fd00:c612::99").iface == "lab0"


@pytest.mark.parametrize("byteorder", ["little"])
def test_udp6_local_addresses(byteorder):
    sockets = procnet.parse_udp6(UDP6, byteorder).items
    assert [(s.local_address, s.port, s.uid) for s in sockets] == [
        ("ff02::4242", 5001, 0), ("ff3e::8000:1", 5001, 0), ("::", 5001, 1000)]


BAD_LINES = [
    (procnet.parse_igmp6, "2 lab0 ff02 1 4 0\n", "/proc/net/igmp6 line 1"),
    (procnet.parse_mcfilter6, "  2   lab0 ff3e 00 1 0\n", "/proc/net/mcfilter6 line 1"),
    (procnet.parse_ipv6_route, "ff00 08 lab0\n", "/proc/net/ipv6_route line 1"),
    (lambda t: procnet.parse_udp6(t, "little"), " 1: nothex:zz\n", "/proc/net/udp6 line 1"),
]


@pytest.mark.parametrize(("parse", "line", "where"), BAD_LINES)
def test_unreadable_lines_are_findings_not_crashes(parse, line, where):
    parsed = parse(line)
    assert parsed.items == ()
    (finding,) = parsed.findings
    assert finding.code == "procnet-unreadable-line" and where in finding.message


def test_address_helpers():
    assert procnet.hex_to_ipv6("ff3e0000000000000000000080000001") == "ff3e::8000:1"
    assert procnet.raw_words_to_ipv6("00003EFF000000000000000001000080", "little") == "ff3e::8000:1"
    assert procnet.raw_words_to_ipv6("FF3E0000000000000000000080000001", "big") == "ff3e::8000:1"
    with pytest.raises(ValueError):
        procnet.hex_to_ipv6("ff3e")
