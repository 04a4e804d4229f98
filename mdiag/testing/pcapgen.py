"""Deterministic generator of the reference captures in pcaps/.

``python -m mdiag.testing.pcapgen pcaps`` (``make pcaps``) writes one capture per
IGMP message kind, realistic membership scenarios (timing as RFC 2236 / 3376 and
Linux defaults: QI 125 s, MRT 10 s, LMQI 1 s, robustness 2) and a capture of
deliberately bad frames, plus pcaps/README.md describing each; and in
pcaps/scenarios/ the stories capture analysis is for, with the multicast UDP streams
IGMP steers, on 802.1Q/QinQ, Linux cooked SLL/SLL2 and pcapng (written here: SHB, IDB
with if_name and if_tsresol, EPB); and in pcaps/mld/ the MLD stories of
:mod:`mdiag.testing.pcapgen_mld`. Regenerating gives byte-identical files: fixed
timestamps, fixed addresses (198.18.0.0/15, locally administered MACs), seeded
randomness, and the pure-core frame builder.

``python -m mdiag.testing.pcapgen --bulk N FILE`` writes an N-frame mixed capture
for benchmarks (v2 reports and leaves, v3 reports with 0-2 sources, queries).
"""

from __future__ import annotations

import argparse
import os
import random
import struct
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from mdiag.adapters.pcap_writer import PcapWriter
from mdiag.core.igmp import (
    GroupRecord,
    IgmpMessage,
    IPv4Header,
    RecordType,
    UnknownMessage,
    V1Query,
    V1Report,
    V2Leave,
    V2Query,
    V2Report,
    V3Query,
    V3Report,
    build_frame,
    default_destination,
    internet_checksum,
)
from mdiag.core.igmp.frame import ethernet_header, host_mac, mac_bytes, multicast_mac

#: 2026-01-01T00:00:00Z, the capture clock's zero.
BASE_NS = 1_767_225_600 * 1_000_000_000

QUERIER = "198.18.0.1"
ROUTER2 = "198.18.0.2"
HOST1, HOST2, HOST3 = "198.18.0.10", "198.18.0.11", "198.18.0.12"
SOURCE1, SOURCE2 = "198.18.1.100", "198.18.1.101"
ASM_GROUP, ASM_GROUP2 = "239.1.1.1", "239.1.1.2"
SSM_GROUP = "232.1.1.1"

QI, MRT, LMQI = 125.0, 10.0, 1.0

LINKTYPE_ETHERNET, LINKTYPE_RAW, LINKTYPE_LINUX_SLL, LINKTYPE_LINUX_SLL2 = 1, 101, 113, 276

Frame = tuple[int, bytes]  # (time in ns, Ethernet frame)


@dataclass
class Capture:
    """One capture: name (file stem), one-line description, frames in time order."""

    name: str
    description: str
    frames: list[Frame] = field(default_factory=list)
    #: Link type of every frame (classic pcap), or of interface 0 (pcapng).
    linktype: int = LINKTYPE_ETHERNET
    #: pcapng only: the interfaces (link type, if_tsresol exponent, if_name); ``ifaces``
    #: holds the interface of each frame. Empty: a classic pcap.
    interfaces: tuple[tuple[Any, ...], ...] = ()
    ifaces: list[int] = field(default_factory=list)
    #: Sub-directory of pcaps/ ("" for the per-kind captures).
    directory: str = ""

    @property
    def file_name(self) -> str:
        name = self.name + (".pcapng" if self.interfaces else ".pcap")
        return f"{self.directory}/{name}" if self.directory else name

    def add(self, t: float, message: IgmpMessage, src: str, **kwargs: object) -> None:
        ip = kwargs.pop("ip", None)
        if ip is None:
            ip = IPv4Header(src=src, dst=default_destination(message))
        frame = build_frame(message, ip, **kwargs)  # type: ignore[arg-type]
        self.frames.append((BASE_NS + round(t * 1000) * 1_000_000, frame))

    def raw(self, t: float, frame: bytes) -> None:
        self.frames.append((BASE_NS + round(t * 1000) * 1_000_000, frame))

    def put(self, time_ns: int, frame: bytes, iface: int = 0) -> None:
        """A finished frame at ``time_ns`` after the capture clock's zero, on ``iface``."""
        self.frames.append((BASE_NS + time_ns, frame))
        self.ifaces.append(iface)

    def put_igmp(self, t: float, message: IgmpMessage, src: str) -> None:
        """An IGMP message from ``src`` as hosts and routers send it, ``t`` seconds in, on Ethernet."""
        self.put(_ns(t), ethernet(igmp_packet(message, src)))

    def sort(self) -> None:
        """Time order (stable: frames at the same instant keep the order they were added)."""
        order = sorted(range(len(self.frames)), key=lambda i: self.frames[i][0])
        self.frames = [self.frames[i] for i in order]
        if self.ifaces:
            self.ifaces = [self.ifaces[i] for i in order]


def _general_v2() -> V2Query:
    return V2Query(int(MRT * 10))


def _general_v3() -> V3Query:
    return V3Query.build(max_resp_time=MRT, qrv=2, qqi=int(QI))


def _to_ex(group: str, *sources: str) -> V3Report:
    return V3Report((GroupRecord(RecordType.CHANGE_TO_EXCLUDE_MODE, group, sources),))


def _record(rtype: RecordType, group: str, *sources: str) -> V3Report:
    return V3Report((GroupRecord(rtype, group, sources),))


# --------------------------------------------------------------------------- one per kind


def kinds() -> Iterator[Capture]:
    c = Capture("v1-query", "IGMPv1 general query (8 bytes, code 0) from the querier")
    c.add(0, V1Query(), QUERIER)
    yield c
    c = Capture("v1-report", "IGMPv1 membership report for 239.1.1.1")
    c.add(0, V1Report(ASM_GROUP), HOST1)
    yield c
    c = Capture("v2-query", "IGMPv2 general query, max response time 10 s")
    c.add(0, _general_v2(), QUERIER)
    yield c
    c = Capture("v2-group-query", "IGMPv2 group-specific query for 239.1.1.1, max response time 1 s")
    c.add(0, V2Query(10, ASM_GROUP), QUERIER)
    yield c
    c = Capture("v2-report", "IGMPv2 membership report for 239.1.1.1")
    c.add(0, V2Report(ASM_GROUP), HOST1)
    yield c
    c = Capture("v2-leave", "IGMPv2 leave for 239.1.1.1, sent to 224.0.0.2")
    c.add(0, V2Leave(ASM_GROUP), HOST1)
    yield c
    c = Capture("v3-query", "IGMPv3 general query: MRT 10 s, QRV 2, QQIC 125")
    c.add(0, _general_v3(), QUERIER)
    yield c
    c = Capture("v3-group-query", "IGMPv3 group-specific query for 239.1.1.1, MRT 1 s, S flag set")
    c.add(0, V3Query.build(group=ASM_GROUP, max_resp_time=LMQI, s_flag=True), QUERIER)
    yield c
    c = Capture("v3-group-source-query",
                "IGMPv3 group-and-source-specific query for (198.18.1.100, 198.18.1.101; 232.1.1.1)")
    c.add(0, V3Query.build(group=SSM_GROUP, sources=(SOURCE1, SOURCE2), max_resp_time=LMQI), QUERIER)
    yield c
    c = Capture("v3-report", "IGMPv3 report with one record of each of the six record types")
    c.add(0, V3Report((
        GroupRecord(RecordType.MODE_IS_INCLUDE, SSM_GROUP, (SOURCE1,)),
        GroupRecord(RecordType.MODE_IS_EXCLUDE, ASM_GROUP, ()),
        GroupRecord(RecordType.CHANGE_TO_INCLUDE_MODE, ASM_GROUP2, (SOURCE1,)),
        GroupRecord(RecordType.CHANGE_TO_EXCLUDE_MODE, "239.1.1.3", (SOURCE2,)),
        GroupRecord(RecordType.ALLOW_NEW_SOURCES, "232.1.1.2", (SOURCE1, SOURCE2)),
        GroupRecord(RecordType.BLOCK_OLD_SOURCES, "232.1.1.3", (SOURCE2,)),
    )), HOST1)
    yield c
    c = Capture("unknown-types", "Other IGMP types kept raw: DVMRP probe, mtrace query, MRD advertisement")
    # DVMRP probe (RFC 1075 draft v3: type 0x13 code 1), generation id, neighbor list empty.
    c.add(0, _with_checksum(bytes.fromhex("13010000000000ff00000001")), ROUTER2,
          ip=IPv4Header(src=ROUTER2, dst="224.0.0.4", router_alert=False, tos=0xC0))
    # mtrace query (0x1f, hops 32): group, source, destination, response address, ttl/query id.
    c.add(1, _with_checksum(bytes.fromhex("1f200000ef010101c6120164c612000ac612000a40000001")), HOST1,
          ip=IPv4Header(src=HOST1, dst=QUERIER, ttl=64, router_alert=True, tos=0))
    # Multicast Router Advertisement (RFC 4286): interval 20 s, query interval 125, robustness 2.
    c.add(2, _with_checksum(bytes.fromhex("30140000007d0002")), QUERIER)
    yield c


def _with_checksum(raw: bytes) -> UnknownMessage:
    from mdiag.core.igmp import internet_checksum

    body = raw[:2] + b"\0\0" + raw[4:]
    return UnknownMessage(body[:2] + internet_checksum(body).to_bytes(2, "big") + body[4:])


# --------------------------------------------------------------------------- scenarios


def v2_join() -> Capture:
    c = Capture("v2-join", "IGMPv2 host joins 239.1.1.1: unsolicited report repeated 10 s later, "
                           "then answers the next general query")
    c.add(0, _general_v2(), QUERIER)
    c.add(3.2, V2Report(ASM_GROUP), HOST1)
    c.add(13.2, V2Report(ASM_GROUP), HOST1)  # Linux: igmp_qrv reports, 10 s apart
    c.add(QI, _general_v2(), QUERIER)
    c.add(QI + 4.73, V2Report(ASM_GROUP), HOST1)
    return c


def v2_report_on_query() -> Capture:
    c = Capture("v2-report-on-query", "IGMPv2 general queries every 125 s; of two members of 239.1.1.1 "
                                      "one reports and the other suppresses; a third host reports 239.1.1.2")
    rng = random.Random("v2-report-on-query")
    for cycle in range(3):
        t = cycle * QI
        c.add(t, _general_v2(), QUERIER)
        delays = sorted((rng.uniform(0.1, MRT), host) for host in (HOST1, HOST2))
        c.add(t + round(delays[0][0], 3), V2Report(ASM_GROUP), delays[0][1])  # the other suppresses
        c.add(t + round(rng.uniform(0.1, MRT), 3), V2Report(ASM_GROUP2), HOST3)
    return c


def v2_leave() -> Capture:
    c = Capture("v2-leave-lmq", "IGMPv2 last member leaves 239.1.1.1; the querier sends 2 group-specific "
                                "queries 1 s apart (MRT 1 s), nobody answers, the group expires")
    c.add(0, _general_v2(), QUERIER)
    c.add(2.5, V2Report(ASM_GROUP), HOST1)
    c.add(60, V2Leave(ASM_GROUP), HOST1)
    c.add(60.002, V2Query(int(LMQI * 10), ASM_GROUP), QUERIER)
    c.add(61.002, V2Query(int(LMQI * 10), ASM_GROUP), QUERIER)
    c.add(QI, _general_v2(), QUERIER)
    return c


def v3_asm() -> Capture:
    c = Capture("v3-asm-join-leave", "IGMPv3 any-source join TO_EX({}) of 239.1.1.1 (sent twice), IS_EX({}) "
                                     "on query, leave TO_IN({}) twice, two group-specific queries, expiry")
    c.add(0, _general_v3(), QUERIER)
    c.add(5.0, _to_ex(ASM_GROUP), HOST1)
    c.add(5.61, _to_ex(ASM_GROUP), HOST1)  # robustness: RV-1 more within 1 s
    c.add(QI, _general_v3(), QUERIER)
    c.add(QI + 6.318, _record(RecordType.MODE_IS_EXCLUDE, ASM_GROUP), HOST1)
    c.add(180, _record(RecordType.CHANGE_TO_INCLUDE_MODE, ASM_GROUP), HOST1)
    c.add(180.002, V3Query.build(group=ASM_GROUP, max_resp_time=LMQI), QUERIER)
    c.add(180.45, _record(RecordType.CHANGE_TO_INCLUDE_MODE, ASM_GROUP), HOST1)
    c.add(181.002, V3Query.build(group=ASM_GROUP, max_resp_time=LMQI, s_flag=True), QUERIER)
    c.add(2 * QI, _general_v3(), QUERIER)
    return c


def v3_ssm() -> Capture:
    c = Capture("v3-ssm-join-leave", "IGMPv3 source-specific join ALLOW({198.18.1.100}) of 232.1.1.1, "
                                     "IS_IN on query, BLOCK twice, two group-and-source queries, expiry")
    c.add(0, _general_v3(), QUERIER)
    c.add(4.0, _record(RecordType.ALLOW_NEW_SOURCES, SSM_GROUP, SOURCE1), HOST1)
    c.add(4.77, _record(RecordType.ALLOW_NEW_SOURCES, SSM_GROUP, SOURCE1), HOST1)
    c.add(QI, _general_v3(), QUERIER)
    c.add(QI + 2.204, _record(RecordType.MODE_IS_INCLUDE, SSM_GROUP, SOURCE1), HOST1)
    c.add(170, _record(RecordType.BLOCK_OLD_SOURCES, SSM_GROUP, SOURCE1), HOST1)
    c.add(170.002, V3Query.build(group=SSM_GROUP, sources=(SOURCE1,), max_resp_time=LMQI), QUERIER)
    c.add(170.38, _record(RecordType.BLOCK_OLD_SOURCES, SSM_GROUP, SOURCE1), HOST1)
    c.add(171.002, V3Query.build(group=SSM_GROUP, sources=(SOURCE1,), max_resp_time=LMQI, s_flag=True),
          QUERIER)
    c.add(2 * QI, _general_v3(), QUERIER)
    return c


def election() -> Capture:
    c = Capture("querier-election", "Two IGMPv3 routers start: 198.18.0.2 queries first, 198.18.0.1 "
                                    "(lower address) starts 5 s later and wins; .2 falls silent")
    sqi = QI / 4
    c.add(0, _general_v3(), ROUTER2)  # startup query 1 of .2
    c.add(3.1, _record(RecordType.MODE_IS_EXCLUDE, ASM_GROUP), HOST1)
    c.add(5.0, _general_v3(), QUERIER)  # .1 starts; .2 hears a lower address and stops
    c.add(9.4, _record(RecordType.MODE_IS_EXCLUDE, ASM_GROUP), HOST1)
    c.add(5.0 + sqi, _general_v3(), QUERIER)  # startup query 2 of .1
    c.add(5.0 + sqi + 7.05, _record(RecordType.MODE_IS_EXCLUDE, ASM_GROUP), HOST1)
    c.add(5.0 + sqi + QI, _general_v3(), QUERIER)
    c.add(5.0 + sqi + QI + 1.9, _record(RecordType.MODE_IS_EXCLUDE, ASM_GROUP), HOST1)
    c.frames.sort(key=lambda f: f[0])
    return c


def compat() -> Capture:
    c = Capture("v3-querier-old-hosts", "IGMPv3 querier with an IGMPv2 host on 239.1.1.2 and an IGMPv1 host "
                                        "on 239.1.1.3 beside a v3 host (compatibility mode, RFC 3376 7)")
    c.add(0, _general_v3(), QUERIER)
    c.add(1.2, _record(RecordType.MODE_IS_EXCLUDE, ASM_GROUP), HOST1)
    c.add(3.4, V2Report(ASM_GROUP2), HOST2)
    c.add(7.9, V1Report("239.1.1.3"), HOST3)
    c.add(QI, _general_v3(), QUERIER)
    c.add(QI + 0.8, V1Report("239.1.1.3"), HOST3)
    c.add(QI + 2.6, _record(RecordType.MODE_IS_EXCLUDE, ASM_GROUP), HOST1)
    c.add(QI + 5.5, V2Report(ASM_GROUP2), HOST2)
    c.add(150, V2Leave(ASM_GROUP2), HOST2)
    c.add(150.002, V3Query.build(group=ASM_GROUP2, max_resp_time=LMQI), QUERIER)
    c.add(151.002, V3Query.build(group=ASM_GROUP2, max_resp_time=LMQI), QUERIER)
    return c


# --------------------------------------------------------------------------- scenarios with data traffic
#
# Written to pcaps/scenarios/: IGMP plus the multicast UDP streams it steers, on
# Ethernet, 802.1Q/QinQ, Linux cooked SLL/SLL2 and pcapng. The streams carry one
# 188-byte MPEG-TS packet a second (real IPTV sends hundreds of 1316-byte datagrams a
# second; the rate is cut to keep the files small, the timing story is the same).

SCENARIOS = "scenarios"
SOURCE3 = "198.18.1.102"
DATA_PORT, DATA_SPORT = 5000, 40000
TS_PACKET = 188
PACKET_MULTICAST, PACKET_OUTGOING = 2, 4  # Linux sll_pkttype
ARPHRD_ETHER = 1
TPID_CTAG, TPID_STAG = 0x8100, 0x88A8


def _ns(t: float) -> int:
    """Seconds after the capture clock's zero, to nanoseconds (microsecond grid)."""
    return round(t * 1_000_000) * 1000


def ts_payload(pid: int, counter: int) -> bytes:
    """One MPEG-TS packet (ISO/IEC 13818-1 2.4.3.2): sync byte, PID, payload-only with the
    continuity counter, stuffing bytes."""
    return struct.pack("!BHB", 0x47, pid & 0x1FFF, 0x10 | (counter & 0x0F)) + b"\xff" * (TS_PACKET - 4)


def udp_packet(src: str, dst: str, payload: bytes, *, ident: int = 0, ttl: int = 16,
               sport: int = DATA_SPORT, dport: int = DATA_PORT) -> bytes:
    """An IPv4/UDP datagram with correct IP and UDP checksums (RFC 768 pseudo header);
    TOS 0x80 (CS4, real-time video), DF, no Router Alert."""
    ip = IPv4Header(src=src, dst=dst, ttl=ttl, tos=0x80, df=True, router_alert=False,
                    identification=ident & 0xFFFF, protocol=17)
    length = 8 + len(payload)
    pseudo = ip.src.packed + ip.dst.packed + struct.pack("!BBH", 0, 17, length)
    checksum = internet_checksum(pseudo + struct.pack("!HHHH", sport, dport, length, 0) + payload) or 0xFFFF
    return ip.encode(length) + struct.pack("!HHHH", sport, dport, length, checksum) + payload


def igmp_packet(message: IgmpMessage, src: str) -> bytes:
    """The IPv4 packet of ``message`` as hosts and routers send it (TTL 1, Router Alert)."""
    return build_frame(message, src=src)[14:]


def ethernet(packet: bytes, *tags: tuple[int, int], src_mac: str | None = None) -> bytes:
    """Ethernet frame for an IPv4 packet: mapped multicast MAC, the source's MAC, then the
    VLAN tags outermost first as (TPID, VLAN id)."""
    dst = int.from_bytes(packet[16:20], "big")
    head = mac_bytes(multicast_mac(dst)) + mac_bytes(src_mac or host_mac(int.from_bytes(packet[12:16], "big")))
    for tpid, vid in tags:
        head += struct.pack("!HH", tpid, vid)
    return head + b"\x08\x00" + packet


def sll(packet: bytes, pkttype: int, mac: str) -> bytes:
    """Linux cooked SLL (LINKTYPE_LINUX_SLL 113): packet type, ARPHRD, address length,
    the sender's (received) or own (outgoing) MAC, protocol."""
    return struct.pack("!HHH8sH", pkttype, ARPHRD_ETHER, 6, mac_bytes(mac) + b"\0\0", 0x0800) + packet


def sll2(packet: bytes, ifindex: int, pkttype: int, mac: str) -> bytes:
    """Linux cooked SLL2 (LINKTYPE_LINUX_SLL2 276, ``tcpdump -i any`` since libpcap 1.10):
    protocol, reserved, interface index, ARPHRD, packet type, address length, address."""
    return struct.pack("!HHIHBB8s", 0x0800, 0, ifindex, ARPHRD_ETHER, pkttype, 6, mac_bytes(mac) + b"\0\0") + packet


def _stream(c: Capture, start: float, stop: float, src: str, group: str, pid: int,
            wrap: Callable[[bytes], bytes] = ethernet, iface: int = 0, spacing: float = 1.0) -> None:
    """A 1 packet/s MPEG-TS stream from ``start`` up to ``stop`` (inclusive)."""
    k = 0
    while start + k * spacing <= stop + 1e-9:
        c.put(_ns(start + k * spacing), wrap(udp_packet(src, group, ts_payload(pid, k), ident=k)), iface)
        k += 1


def iptv_no_querier() -> Capture:
    c = Capture("iptv-no-querier", "Snooping LAN with no querier at all: an IGMPv2 set-top box joins 239.1.1.1 "
                                   "and a v3 host 239.1.1.2, each stream starts at the join and stops when the "
                                   "membership ages out GMI (260 s) after the last unsolicited report, as nobody "
                                   "queries; 239.1.1.3, joined by nobody, is flooded throughout",
                directory=SCENARIOS)

    igmp = c.put_igmp

    igmp(3.0, V2Report(ASM_GROUP), HOST1)
    igmp(13.0, V2Report(ASM_GROUP), HOST1)  # Linux: igmp_qrv unsolicited reports, 10 s apart (v2)
    igmp(40.0, _to_ex(ASM_GROUP2), HOST2)
    igmp(40.8, _to_ex(ASM_GROUP2), HOST2)   # v3: within the 1 s unsolicited report interval
    _stream(c, 3.12, 13.0 + 260, SOURCE1, ASM_GROUP, 0x100)
    _stream(c, 40.25, 40.8 + 260, SOURCE2, ASM_GROUP2, 0x101)
    _stream(c, 0.0, 340.0, SOURCE3, "239.1.1.3", 0x102)
    c.sort()
    return c


def iptv_freeze() -> Capture:
    c = Capture("iptv-freeze", "IGMPv3 querier 198.18.0.1 stops querying after its query at 125 s: the viewer of "
                               "239.1.1.1 (last report 129.7 s) loses the stream when the membership expires at "
                               "389.7 s (+ GMI 260 s); a viewer who tuned 239.1.1.2 at 200 s still plays at the end",
                directory=SCENARIOS)

    igmp = c.put_igmp

    igmp(0.0, _general_v3(), QUERIER)
    igmp(4.0, _to_ex(ASM_GROUP), HOST1)
    igmp(4.6, _to_ex(ASM_GROUP), HOST1)
    igmp(QI, _general_v3(), QUERIER)  # the last query: the querier process dies after it
    igmp(QI + 4.7, _record(RecordType.MODE_IS_EXCLUDE, ASM_GROUP), HOST1)
    igmp(200.0, _to_ex(ASM_GROUP2), HOST2)
    igmp(200.9, _to_ex(ASM_GROUP2), HOST2)
    _stream(c, 4.08, QI + 4.7 + 260, SOURCE1, ASM_GROUP, 0x100)
    _stream(c, 200.11, 430.11, SOURCE2, ASM_GROUP2, 0x101)
    c.sort()
    return c


def iptv_reports_stop() -> Capture:
    c = Capture("iptv-reports-stop", "IGMPv2 querier keeps querying every 125 s but the set-top box stops "
                                     "answering after its report at 253.1 s (a host firewall now drops the "
                                     "queries at 375, 500 and 625 s): 239.1.1.1 expires at 513.1 s (+ GMI 260 s) and its stream stops "
                                     "there; no leave, no querier problem",
                directory=SCENARIOS)

    igmp = c.put_igmp

    for k in range(6):
        igmp(k * QI, _general_v2(), QUERIER)
    igmp(2.0, V2Report(ASM_GROUP), HOST1)
    igmp(12.0, V2Report(ASM_GROUP), HOST1)
    igmp(QI + 6.4, V2Report(ASM_GROUP), HOST1)
    igmp(2 * QI + 3.1, V2Report(ASM_GROUP), HOST1)  # the last report: queries at 375 and 500 go unanswered
    _stream(c, 2.15, 2 * QI + 3.1 + 260, SOURCE1, ASM_GROUP, 0x100)
    c.sort()
    return c


def ssm_unrequested_source() -> Capture:
    c = Capture("ssm-unrequested-source", "IGMPv3 host joins only (198.18.1.100, 232.1.1.1) and its stream "
                                          "arrives; from 60 s a second source 198.18.1.101 sends to 232.1.1.1 "
                                          "too and reaches the host port (a snooping switch that ignores v3 "
                                          "source lists): data from a source nobody asked for",
                directory=SCENARIOS)

    igmp = c.put_igmp

    igmp(0.0, _general_v3(), QUERIER)
    igmp(3.0, _record(RecordType.ALLOW_NEW_SOURCES, SSM_GROUP, SOURCE1), HOST1)
    igmp(3.7, _record(RecordType.ALLOW_NEW_SOURCES, SSM_GROUP, SOURCE1), HOST1)
    igmp(QI, _general_v3(), QUERIER)
    igmp(QI + 5.2, _record(RecordType.MODE_IS_INCLUDE, SSM_GROUP, SOURCE1), HOST1)
    _stream(c, 3.2, 150.2, SOURCE1, SSM_GROUP, 0x100)
    _stream(c, 60.5, 150.5, SOURCE2, SSM_GROUP, 0x200)
    c.sort()
    return c


def querier_stubborn() -> Capture:
    c = Capture("querier-stubborn", "IGMPv2 router 198.18.0.2 is querier; 198.18.0.1 starts at 60 s (2 startup "
                                    "queries QI/4 apart) and wins the election, but .2 keeps querying every 125 s: "
                                    "two active queriers, hosts answer both",
                directory=SCENARIOS)
    rng = random.Random("querier-stubborn")

    igmp = c.put_igmp

    igmp(1.5, V2Report(ASM_GROUP), HOST1)
    igmp(2.3, V2Report(ASM_GROUP2), HOST2)
    queries = [(k * QI, ROUTER2) for k in range(4)] + [(60.0, QUERIER), (60.0 + QI / 4, QUERIER)]
    queries += [(60.0 + QI / 4 + k * QI, QUERIER) for k in (1, 2)]
    for t, router in sorted(queries):
        igmp(t, _general_v2(), router)
        igmp(t + round(rng.uniform(0.2, MRT), 3), V2Report(ASM_GROUP), HOST1)
        igmp(t + round(rng.uniform(0.2, MRT), 3), V2Report(ASM_GROUP2), HOST2)
    c.sort()
    return c


def leave_no_group_query() -> Capture:
    c = Capture("leave-no-group-query", "IGMPv2 host leaves 239.1.1.1 at 60 s but the querier sends no "
                                        "group-specific query: the stream keeps flowing until the membership "
                                        "times out at 275 s (last report 15 s + GMI), a 215 s leave latency",
                directory=SCENARIOS)

    igmp = c.put_igmp

    for k in range(4):
        igmp(k * QI, _general_v2(), QUERIER)
    igmp(5.0, V2Report(ASM_GROUP), HOST1)
    igmp(15.0, V2Report(ASM_GROUP), HOST1)
    igmp(60.0, V2Leave(ASM_GROUP), HOST1)
    _stream(c, 5.2, 15.0 + 260, SOURCE1, ASM_GROUP, 0x100)
    c.sort()
    return c


def vlan_segments() -> Capture:
    c = Capture("vlan-segments", "Trunk capture, one querier per VLAN: VLAN 10 IGMPv3 (198.18.10.1) with a stream "
                                 "to 239.1.1.1, VLAN 20 IGMPv2 (198.18.20.1) with another member of 239.1.1.1, "
                                 "QinQ S-VLAN 100 / C-VLAN 30 IGMPv3 (198.18.30.1) with an SSM join of 232.1.1.1",
                directory=SCENARIOS)
    vlan10, vlan20, qinq = ((TPID_CTAG, 10),), ((TPID_CTAG, 20),), ((TPID_STAG, 100), (TPID_CTAG, 30))

    def igmp(t: float, message: IgmpMessage, src: str, tags: tuple[tuple[int, int], ...]) -> None:
        c.put(_ns(t), ethernet(igmp_packet(message, src), *tags))

    for k in range(2):
        igmp(k * QI, _general_v3(), "198.18.10.1", vlan10)
        igmp(7.0 + k * QI, _general_v2(), "198.18.20.1", vlan20)
        igmp(11.0 + k * QI, _general_v3(), "198.18.30.1", qinq)
    igmp(2.0, _to_ex(ASM_GROUP), "198.18.10.10", vlan10)
    igmp(2.7, _to_ex(ASM_GROUP), "198.18.10.10", vlan10)
    igmp(QI + 3.1, _record(RecordType.MODE_IS_EXCLUDE, ASM_GROUP), "198.18.10.10", vlan10)
    igmp(7.0 + 5.4, V2Report(ASM_GROUP), "198.18.20.10", vlan20)
    igmp(7.0 + QI + 8.2, V2Report(ASM_GROUP), "198.18.20.10", vlan20)
    igmp(20.0, _record(RecordType.ALLOW_NEW_SOURCES, SSM_GROUP, "198.18.30.100"), "198.18.30.10", qinq)
    igmp(20.9, _record(RecordType.ALLOW_NEW_SOURCES, SSM_GROUP, "198.18.30.100"), "198.18.30.10", qinq)
    igmp(11.0 + QI + 1.6, _record(RecordType.MODE_IS_INCLUDE, SSM_GROUP, "198.18.30.100"), "198.18.30.10", qinq)
    _stream(c, 2.05, 140.05, "198.18.10.100", ASM_GROUP, 0x100, lambda p: ethernet(p, *vlan10))
    c.sort()
    return c


RECEIVER_MAC = host_mac(HOST1)


def sll2_any() -> Capture:
    c = Capture("sll2-any", "tcpdump -i any (Linux cooked SLL2) on receiver 198.18.0.10: on ifindex 2 an "
                            "IGMPv3 join of 239.1.1.1, the stream, a leave answered by 2 group-specific "
                            "queries and the stream stopping within LMQT (2 s); on ifindex 3 (198.18.2.10) "
                            "an IGMPv2 member of 239.1.1.2 under querier 198.18.2.1",
                linktype=LINKTYPE_LINUX_SLL2, directory=SCENARIOS)
    mac2, querier2, host2 = host_mac("198.18.2.10"), "198.18.2.1", "198.18.2.10"

    def igmp(t: float, message: IgmpMessage, src: str, ifindex: int) -> None:
        own = src in (HOST1, host2)
        mac = (RECEIVER_MAC if ifindex == 2 else mac2) if own else host_mac(src)
        c.put(_ns(t), sll2(igmp_packet(message, src), ifindex, PACKET_OUTGOING if own else PACKET_MULTICAST, mac))

    igmp(0.0, _general_v3(), QUERIER, 2)
    igmp(10.0, _to_ex(ASM_GROUP), HOST1, 2)
    igmp(10.7, _to_ex(ASM_GROUP), HOST1, 2)
    igmp(QI, _general_v3(), QUERIER, 2)
    igmp(QI + 2.2, _record(RecordType.MODE_IS_EXCLUDE, ASM_GROUP), HOST1, 2)
    igmp(150.0, _record(RecordType.CHANGE_TO_INCLUDE_MODE, ASM_GROUP), HOST1, 2)
    igmp(150.003, V3Query.build(group=ASM_GROUP, max_resp_time=LMQI), QUERIER, 2)
    igmp(150.6, _record(RecordType.CHANGE_TO_INCLUDE_MODE, ASM_GROUP), HOST1, 2)
    igmp(151.003, V3Query.build(group=ASM_GROUP, max_resp_time=LMQI, s_flag=True), QUERIER, 2)
    _stream(c, 10.4, 152.003, SOURCE1, ASM_GROUP, 0x100,
            lambda p: sll2(p, 2, PACKET_MULTICAST, host_mac(SOURCE1)))
    igmp(5.0, _general_v2(), querier2, 3)
    igmp(20.0, V2Report(ASM_GROUP2), host2, 3)
    igmp(30.0, V2Report(ASM_GROUP2), host2, 3)
    igmp(5.0 + QI, _general_v2(), querier2, 3)
    igmp(5.0 + QI + 6.1, V2Report(ASM_GROUP2), host2, 3)
    _stream(c, 20.3, 160.3, "198.18.3.100", ASM_GROUP2, 0x101,
            lambda p: sll2(p, 3, PACKET_MULTICAST, host_mac("198.18.3.100")))
    c.sort()
    return c


def sll_any() -> Capture:
    c = Capture("sll-any", "Linux cooked SLL (older tcpdump -i any) on receiver 198.18.0.10: IGMPv2 join of "
                           "239.1.1.1, the stream, a leave answered by 2 group-specific queries 1 s apart, the "
                           "stream stops within LMQT (2 s)",
                linktype=LINKTYPE_LINUX_SLL, directory=SCENARIOS)

    def igmp(t: float, message: IgmpMessage, src: str) -> None:
        own = src == HOST1
        c.put(_ns(t), sll(igmp_packet(message, src), PACKET_OUTGOING if own else PACKET_MULTICAST,
                          RECEIVER_MAC if own else host_mac(src)))

    igmp(0.0, _general_v2(), QUERIER)
    igmp(4.0, V2Report(ASM_GROUP), HOST1)
    igmp(14.0, V2Report(ASM_GROUP), HOST1)
    igmp(QI, _general_v2(), QUERIER)
    igmp(QI + 3.3, V2Report(ASM_GROUP), HOST1)
    igmp(140.0, V2Leave(ASM_GROUP), HOST1)
    igmp(140.002, V2Query(int(LMQI * 10), ASM_GROUP), QUERIER)
    igmp(141.002, V2Query(int(LMQI * 10), ASM_GROUP), QUERIER)
    igmp(2 * QI, _general_v2(), QUERIER)
    _stream(c, 4.3, 142.002, SOURCE1, ASM_GROUP, 0x100, lambda p: sll(p, PACKET_MULTICAST, host_mac(SOURCE1)))
    c.sort()
    return c


def pcapng_two_interfaces() -> Capture:
    c = Capture("pcapng-two-interfaces", "pcapng from a router's two interfaces: if0 eth1 (Ethernet, microsecond "
                                         "timestamps) IGMPv3 querier 198.18.0.1, SSM join of (198.18.1.100, "
                                         "232.1.1.1) and its stream; if1 tun0 (raw IPv4, nanosecond timestamps) "
                                         "IGMPv2 querier 198.18.4.1, a member of 239.1.1.2 and its stream",
                interfaces=((LINKTYPE_ETHERNET, 6, "eth1"), (LINKTYPE_RAW, 9, "tun0")), directory=SCENARIOS)

    def eth1(t: float, message: IgmpMessage, src: str) -> None:
        c.put(_ns(t), ethernet(igmp_packet(message, src)), 0)

    def tun0(t_ns: int, message: IgmpMessage, src: str) -> None:
        c.put(t_ns, igmp_packet(message, src), 1)

    eth1(0.0, _general_v3(), QUERIER)
    eth1(3.0, _record(RecordType.ALLOW_NEW_SOURCES, SSM_GROUP, SOURCE1), HOST1)
    eth1(3.8, _record(RecordType.ALLOW_NEW_SOURCES, SSM_GROUP, SOURCE1), HOST1)
    eth1(QI, _general_v3(), QUERIER)
    eth1(QI + 4.4, _record(RecordType.MODE_IS_INCLUDE, SSM_GROUP, SOURCE1), HOST1)
    _stream(c, 3.5, 140.5, SOURCE1, SSM_GROUP, 0x100)
    tun0(1_000_000_123, _general_v2(), "198.18.4.1")
    tun0(7_512_345_678, V2Report(ASM_GROUP2), "198.18.4.10")
    tun0(17_512_345_901, V2Report(ASM_GROUP2), "198.18.4.10")
    tun0(126_000_000_087, _general_v2(), "198.18.4.1")
    tun0(131_250_004_321, V2Report(ASM_GROUP2), "198.18.4.10")
    for k in range(130):
        c.put(8_000_000_250 + k * 1_000_000_000 + 37 * (k % 7),
              udp_packet("198.18.5.100", ASM_GROUP2, ts_payload(0x101, k), ident=k), 1)
    c.sort()
    return c


def pim_hello(src: str, holdtime: int = 105) -> bytes:
    """A PIMv2 Hello to ALL-PIM-ROUTERS (RFC 7761 4.9.2): Holdtime and DR Priority options."""
    body = bytearray(struct.pack("!BBH", 0x20, 0, 0) + struct.pack("!HHH", 1, 2, holdtime)
                     + struct.pack("!HHI", 19, 4, 1))
    body[2:4] = internet_checksum(bytes(body)).to_bytes(2, "big")
    ip = IPv4Header(src=src, dst="224.0.0.13", ttl=1, tos=0xC0, router_alert=False, protocol=103)
    return ip.encode(len(body)) + bytes(body)


#: A RIPv2 response (RFC 2453 4): one route, 198.18.1.0/24 metric 1.
RIP_RESPONSE = bytes.fromhex("02020000" "00020000" "c6120100" "ffffff00" "00000000" "00000001")


def routing_noise() -> Capture:
    c = Capture("routing-noise", "A router segment with no IGMP at all: PIMv2 hellos from 198.18.0.1 and "
                                 "198.18.0.2, HSRPv2 (224.0.0.102 UDP 1985) and RIPv2 (224.0.0.9 UDP 520), "
                                 "a DVMRP probe, a PIMv1 router query and RFC 4286 router advertisements "
                                 "carried over IP protocol 2; routers by protocol, link-local traffic, no "
                                 "querier-none, no groups",
                directory=SCENARIOS)
    for k in range(4):
        t = 30.0 * k
        c.put(_ns(t + 0.5), ethernet(pim_hello(QUERIER)))
        c.put(_ns(t + 1.5), ethernet(pim_hello(ROUTER2)))
        c.put(_ns(t + 3.0), ethernet(udp_packet(ROUTER2, "224.0.0.102", bytes(40), sport=1985, dport=1985,
                                                ttl=1, ident=k)))
        c.put(_ns(t + 5.0), ethernet(udp_packet(QUERIER, "224.0.0.9", RIP_RESPONSE, sport=520, dport=520,
                                                ttl=1, ident=k)))
    igmp = c.put_igmp
    igmp(2.0, _with_checksum(bytes.fromhex("13010000000000ff00000001")), ROUTER2)      # DVMRP probe
    igmp(4.0, _with_checksum(bytes.fromhex("14000000000000000069" + "0000")), QUERIER)  # PIMv1 router query
    igmp(10.0, _with_checksum(bytes.fromhex("30140000007d0002")), QUERIER)              # MRD advertisement
    igmp(30.0, _with_checksum(bytes.fromhex("30140000007d0002")), QUERIER)
    c.sort()
    return c


def scenarios() -> list[Capture]:
    return [iptv_no_querier(), iptv_freeze(), iptv_reports_stop(), ssm_unrequested_source(), querier_stubborn(), leave_no_group_query(), vlan_segments(),
            sll2_any(), sll_any(), pcapng_two_interfaces(), routing_noise()]


# --------------------------------------------------------------------------- pcapng (written here)

_PCAPNG_BOM = 0x1A2B3C4D


def _block(block_type: int, body: bytes) -> bytes:
    body += bytes(-len(body) % 4)
    length = 12 + len(body)
    return struct.pack("<II", block_type, length) + body + struct.pack("<I", length)


def _option(code: int, value: bytes) -> bytes:
    return struct.pack("<HH", code, len(value)) + value + bytes(-len(value) % 4)


def pcapng_bytes(capture: Capture) -> bytes:
    """A little-endian pcapng file: Section Header Block (shb_userappl), an Interface
    Description Block per interface (if_name, if_tsresol), an Enhanced Packet Block per
    frame with its timestamp in the interface's resolution (pcapng spec 4.1, 4.2, 4.3)."""
    if len(capture.ifaces) != len(capture.frames):
        raise ValueError(f"{capture.name}: every pcapng frame needs its interface (add frames with put())")
    out = [_block(0x0A0D0D0A, struct.pack("<IHHq", _PCAPNG_BOM, 1, 0, -1)
                  + _option(4, b"mdiag pcapgen") + _option(0, b""))]
    for linktype, tsresol, name, *more in capture.interfaces:
        # an optional fourth item: the interface's address as "198.18.0.5/24" (if_IPv4addr)
        ipv4 = b""
        if more:
            import ipaddress

            iface = ipaddress.IPv4Interface(more[0])
            ipv4 = _option(4, iface.ip.packed + iface.network.netmask.packed)
        out.append(_block(1, struct.pack("<HHI", linktype, 0, 262144) + _option(2, name.encode())
                          + ipv4 + _option(9, bytes([tsresol])) + _option(0, b"")))
    for (time_ns, frame), iface in zip(capture.frames, capture.ifaces):
        units = time_ns // 10 ** (9 - capture.interfaces[iface][1])
        out.append(_block(6, struct.pack("<IIIII", iface, units >> 32, units & 0xFFFFFFFF, len(frame), len(frame))
                          + frame))
    return b"".join(out)


#: Frame numbers (1-based) of malformed.pcap whose IGMP or IP checksum is deliberately wrong.
BAD_CHECKSUM_FRAMES = (1, 2)
#: Frames of malformed.pcap that cannot be decoded at all (MalformedPacket).
UNDECODABLE_FRAMES = (8, 9)


def malformed() -> Capture:
    c = Capture("malformed", "Deliberately bad frames, one per finding: bad checksums, TTL 64, no Router Alert, "
                             "wrong destination, undecodable lengths, sources without group, ...")
    report = V2Report(ASM_GROUP)
    c.add(0, report, HOST1, checksum=0x1234)                                         # 1 igmp-checksum-bad
    c.add(1, report, HOST1, ip=IPv4Header(src=HOST1, dst=ASM_GROUP, checksum=0xBEEF))  # 2 ip-checksum-bad
    c.add(2, report, HOST1, ip=IPv4Header(src=HOST1, dst=ASM_GROUP, ttl=64))          # 3 ip-ttl-not-1
    c.add(3, report, HOST1, ip=IPv4Header(src=HOST1, dst=ASM_GROUP, router_alert=False))  # 4 router-alert-missing
    c.add(4, V2Leave(ASM_GROUP), HOST1, ip=IPv4Header(src=HOST1, dst=ASM_GROUP))      # 5 wrong-destination
    c.add(5, V3Query(100, "0.0.0.0", False, 2, 125, (SOURCE1,)), QUERIER)             # 6 general-query-with-sources
    c.add(6, V2Report("224.0.0.1"), HOST1)                                           # 7 report-for-all-systems
    # 8: a 10-byte query (RFC 3376 7.1: ignore), 9: a v3 report whose record is cut short.
    c.add(7, V2Query(100), QUERIER, trailing=b"\x02\x7d")
    cut = build_frame(_record(RecordType.ALLOW_NEW_SOURCES, SSM_GROUP, SOURCE1, SOURCE2),
                      IPv4Header(src=HOST1, dst="224.0.0.22", total_length=24 + 16 + 4))
    c.raw(8, cut[:14 + 24 + 16 + 4])
    c.add(9, report, HOST1, trailing=b"\x00\x00\x00\x00")                           # 10 trailing-bytes
    c.add(10, V3Report((GroupRecord(RecordType.MODE_IS_INCLUDE, ASM_GROUP, (SOURCE1,), b"\x00\x00\x00\x01"),)),
          HOST1)                                                                    # 11 record-aux-data
    c.add(11, _to_ex(SSM_GROUP), HOST1)                                              # 12 ssm-exclude-mode
    c.add(12, V3Query(100, "0.0.0.0", False, 2, 125, (), reserved=0x5), QUERIER)     # 13 reserved-nonzero
    c.add(13, _general_v3(), "0.0.0.0")                                               # 14 query-from-zero-source
    c.add(14, report, HOST1, pad_to=60)                                               # 15 valid, Ethernet padding
    c.add(15, V3Report((GroupRecord(9, ASM_GROUP, ()),)), HOST1)                     # 16 record-type-unknown
    return c


# --------------------------------------------------------------------------- verdicts (issue 10)
#
# Small captures behind the analysis' verdicts on real queriers: each shows one thing
# mdiag used to tell wrong.


def querier_startup() -> Capture:
    c = Capture("querier-startup", "IGMPv2 querier starting up (RFC 2236 8.6/8.7): 2 startup general queries "
                                   "31.25 s apart (QI/4), then every 125 s; the host answers each query")
    times = [0.0, QI / 4, QI / 4 + QI, QI / 4 + 2 * QI, QI / 4 + 3 * QI]
    for k, t in enumerate(times):
        c.add(t, _general_v2(), QUERIER)
        c.add(t + 2.0 + k / 10, V2Report(ASM_GROUP), HOST1)
    return c


def querier_mrt_too_long() -> Capture:
    c = Capture("querier-mrt-too-long", "IGMPv3 querier asking for answers within 3072 s (Max Response Time) "
                                        "against its QQIC of 125 s (RFC 3376 8.3), as tcpdump's "
                                        "igmpv3-queries.pcap; its MRT then drops to 10 s")
    c.add(0, V3Query.build(max_resp_time=3072, qrv=2, qqi=int(QI)), QUERIER)
    c.add(QI, V3Query.build(max_resp_time=3072, qrv=2, qqi=int(QI)), QUERIER)
    c.add(2 * QI, _general_v3(), QUERIER)
    return c


def router_alert_mixed() -> Capture:
    c = Capture("router-alert-mixed", "IGMPv2 querier without Router Alert: 2 general queries and 2 "
                                      "group-specific queries, counted apart")
    no_ra = {"router_alert": False}
    c.add(0, _general_v2(), QUERIER, ip=IPv4Header(src=QUERIER, dst="224.0.0.1", **no_ra))
    c.add(1.5, V2Report(ASM_GROUP), HOST1)
    c.add(40, V2Query(10, ASM_GROUP), QUERIER, ip=IPv4Header(src=QUERIER, dst=ASM_GROUP, **no_ra))
    c.add(41, V2Query(10, ASM_GROUP), QUERIER, ip=IPv4Header(src=QUERIER, dst=ASM_GROUP, **no_ra))
    c.add(QI, _general_v2(), QUERIER, ip=IPv4Header(src=QUERIER, dst="224.0.0.1", **no_ra))
    return c


def igmpv1_querier() -> Capture:
    c = Capture("igmpv1-querier", "IGMPv1 querier 198.18.0.1 (no election in IGMPv1) on eth0, 198.18.0.5/24 "
                                  "in the pcapng if_IPv4addr; v1 host 198.18.0.10 answers; 10.9.9.9 reports "
                                  "from outside the subnet; 198.18.0.11 floods 150 reports in one second",
                interfaces=((LINKTYPE_ETHERNET, 6, "eth0", "198.18.0.5/24"),))
    for k in range(3):
        c.put_igmp(k * QI, V1Query(), QUERIER)
        c.put_igmp(k * QI + 3.0, V1Report(ASM_GROUP), HOST1)
    c.put_igmp(10.0, V1Report(ASM_GROUP2), "10.9.9.9")
    for k in range(150):
        c.put_igmp(20.0 + k * 0.005, V1Report("239.1.1.3"), HOST2)
    c.sort()
    return c


def igmpv1_two_queriers() -> Capture:
    c = Capture("igmpv1-two-queriers", "IGMPv1 routers 198.18.0.2 and 198.18.0.1 both query every 125 s "
                                       "(IGMPv1 has no election, RFC 1112 App. I: nobody yields); "
                                       "v1 host 198.18.0.10 answers")
    for k in range(3):
        c.add(k * QI, V1Query(), ROUTER2)
        c.add(k * QI + 2.0, V1Query(), QUERIER)
        c.add(k * QI + 5.0, V1Report(ASM_GROUP), HOST1)
    return c


def verdicts() -> list[Capture]:
    return [querier_startup(), querier_mrt_too_long(), router_alert_mixed(), igmpv1_querier(),
            igmpv1_two_queriers()]


def all_captures() -> list[Capture]:
    from mdiag.testing import pcapgen_mld

    return [*kinds(), v2_join(), v2_report_on_query(), v2_leave(), v3_asm(), v3_ssm(), election(), compat(),
            malformed(), *verdicts(), *scenarios(), *pcapgen_mld.captures()]


_MALFORMED_NOTE = ["", "In malformed.pcap frames 1-2 have deliberately bad IGMP / IP checksums and frames 8-9",
                   "cannot be decoded at all (a 10-byte query, a v3 report cut short); every other frame",
                   "decodes with exactly one finding (frame 15 is a valid report with Ethernet padding).", ""]


def write_all(directory: str) -> list[str]:
    """Write every capture and README.md into ``directory``; returns the file names."""
    os.makedirs(directory, exist_ok=True)
    names = []
    lines = ["# Reference captures", "",
             "Written by `make pcaps` (`python -m mdiag.testing.pcapgen pcaps`); regenerating gives",
             "byte-identical files. Ethernet, classic pcap, 198.18.0.0/15 addresses, locally",
             "administered MACs; querier 198.18.0.1, second router 198.18.0.2, hosts 198.18.0.10-12,",
             "sources 198.18.1.100-101. Do not edit by hand: change mdiag/testing/pcapgen.py.", "",
             "| File | Frames | What it holds |", "|---|---|---|"]
    for capture in all_captures():
        name = capture.file_name
        path = os.path.join(directory, name)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        if capture.interfaces:
            with open(path, "wb") as stream:
                stream.write(pcapng_bytes(capture))
        else:
            with PcapWriter(path, linktype=capture.linktype, force=True) as writer:
                for time_ns, frame in capture.frames:
                    writer.write(frame, time_ns)
        names.append(name)
        if capture.directory == SCENARIOS and f"| {SCENARIOS}/" not in "\n".join(lines):
            lines += _MALFORMED_NOTE
            lines += ["## Scenarios with data traffic (pcaps/scenarios/)", "",
                      "IGMP together with the multicast UDP streams it steers (one 188-byte MPEG-TS packet",
                      "a second to UDP port 5000, from sources in 198.18.0.0/15), on several link types; each",
                      "has its reviewed expected analysis beside it (<name>.expected.json). Kept apart from",
                      "the per-message captures above, whose frames are all IGMP on untagged Ethernet. Times",
                      "below are seconds from the first frame.", "",
                      "| File | Frames | What it holds |", "|---|---|---|"]
        if capture.directory == "mld" and "| mld/" not in "\n".join(lines):
            lines += ["", "## MLD (IPv6) captures (pcaps/mld/)", "",
                      "MLDv1/MLDv2 stories (mdiag/testing/pcapgen_mld.py) with the IPv6 multicast UDP they",
                      "steer: link-local routers and hosts (querier fe80::1, second router fe80::2, hosts",
                      "fe80::10-12), ULA sources fd00::100-101, groups ff05::1:3-4 and SSM ff3e::1:1; each",
                      "with its reviewed expected analysis beside it.", "",
                      "| File | Frames | What it holds |", "|---|---|---|"]
        lines.append(f"| {name} | {len(capture.frames)} | {capture.description} |")
    if f"| {SCENARIOS}/" not in "\n".join(lines):
        lines += _MALFORMED_NOTE
    if lines[-1]:
        lines.append("")
    with open(os.path.join(directory, "README.md"), "w", encoding="utf-8") as readme:
        readme.write("\n".join(lines))
    return names


# --------------------------------------------------------------------------- bulk (benchmarks)


def bulk_frames(count: int, seed: int = 1) -> Iterator[Frame]:
    """``count`` mixed frames, 1 ms apart: 40 % v2 reports, 10 % leaves, 40 % v3 reports with
    0-2 sources, 10 % queries (v2/v3, general and group-specific)."""
    rng = random.Random(seed)
    groups = [f"239.{a}.{b}.1" for a in range(1, 5) for b in range(1, 51)]
    hosts = [f"198.18.{a}.{b}" for a in range(2, 4) for b in range(1, 201)]
    sources = [SOURCE1, SOURCE2, "198.18.1.102"]
    cache: dict[tuple[object, ...], bytes] = {}
    for i in range(count):
        roll = rng.random()
        host = rng.choice(hosts)
        group = rng.choice(groups)
        message: IgmpMessage
        if roll < 0.4:
            message = V2Report(group)
        elif roll < 0.5:
            message = V2Leave(group)
        elif roll < 0.9:
            nsrc = rng.randrange(3)
            rtype = RecordType(rng.randrange(1, 7))
            message = V3Report((GroupRecord(rtype, group, tuple(sources[:nsrc])),))
        else:
            host = QUERIER
            message = rng.choice((_general_v2(), _general_v3(), V3Query.build(group=group, max_resp_time=1),
                                  V2Query(10, group)))
        key = (message, host)
        frame = cache.get(key)
        if frame is None:
            frame = cache[key] = build_frame(message, src=host)
        yield BASE_NS + i * 1_000_000, frame


def write_bulk(path: str, count: int, *, force: bool = False) -> None:
    with PcapWriter(path, force=force) as writer:
        for time_ns, frame in bulk_frames(count):
            writer.write(frame, time_ns)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m mdiag.testing.pcapgen", description=__doc__.splitlines()[0])
    parser.add_argument("directory", help="where to write the captures (pcaps)")
    parser.add_argument("--bulk", type=int, metavar="N",
                        help="write one N-frame benchmark capture to DIRECTORY (a file name) instead")
    parser.add_argument("--force", action="store_true", help="overwrite the --bulk file")
    args = parser.parse_args(argv)
    if args.bulk:
        write_bulk(args.directory, args.bulk, force=args.force)
        print(f"wrote {args.bulk} frames to {args.directory}")
        return 0
    names = write_all(args.directory)
    print(f"wrote {len(names)} captures and README.md to {args.directory}")
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())

