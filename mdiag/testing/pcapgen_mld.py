"""Deterministic MLD captures for pcaps/mld/ (written by ``make pcaps`` with the rest).

MLD stories as Linux hosts and routers tell them (RFC 2710, RFC 3810 defaults: QI
125 s, Query Response Interval 10 s, Last Listener Query Interval 1 s, robustness
2), with the IPv6 multicast UDP they steer: MLDv1 and MLDv2 joins and dones, SSM with
an unrequested source, a querier election, an MLDv1 host forcing compatibility, a
dual-stack segment with IGMP and MLD queriers (and the neighbour discovery and
solicited-node joins every IPv6 host makes), and 802.1Q VLANs. Addresses: link-local
fe80::/64 for routers and hosts (as RFC 3810 5.1.14 / 5.2.13 want), ULA fd00::/8 for
data sources; groups in ff05:: (site scope) and ff3e:: (SSM).
"""

from __future__ import annotations

import struct

from mdiag.core.igmp import internet_checksum
from mdiag.core.igmp.frame import mac_bytes
from mdiag.core.mld import (
    IPv6Header,
    Mld1Done,
    Mld1Query,
    Mld1Report,
    Mld2Query,
    Mld2Report,
    MldMessage,
    MldRecord,
    RecordType,
    address,
    build_frame,
    default_destination,
    host_mac,
    multicast_mac,
)
from mdiag.testing.pcapgen import (
    ASM_GROUP,
    QI,
    SOURCE1,
    TPID_CTAG,
    Capture,
    _general_v3,
    _ns,
    _record,
    _to_ex,
    ethernet,
    igmp_packet,
    ts_payload,
    udp_packet,
)
from mdiag.testing.pcapgen import RecordType as V4RecordType

MLD = "mld"
QUERIER6, ROUTER6 = "fe80::1", "fe80::2"
HOST6_1, HOST6_2, HOST6_3 = "fe80::10", "fe80::11", "fe80::12"
SOURCE6_1, SOURCE6_2 = "fd00::100", "fd00::101"
GROUP6, GROUP6_2 = "ff05::1:3", "ff05::1:4"
#: Shares its 33:33 MAC with GROUP6 (same low 32 bits, RFC 2464 7).
GROUP6_TWIN = "ff15::1:3"
SSM6 = "ff3e::1:1"
MRC_MS, LLQI_MS = 10000, 1000
DATA_PORT, DATA_SPORT = 5000, 40000


def general_mld2() -> Mld2Query:
    return Mld2Query.build(max_resp_ms=MRC_MS, qrv=2, qqi=int(QI))


def general_mld1() -> Mld1Query:
    return Mld1Query(MRC_MS)


def rec(rtype: RecordType, group: str, *sources: str) -> Mld2Report:
    return Mld2Report((MldRecord(rtype, group, sources),))


def mld_frame(message: MldMessage, src: str, *tags: tuple[int, int]) -> bytes:
    """The Ethernet frame of ``message`` as Linux sends it: hop limit 1, Hop-by-Hop Router
    Alert padded with PadN, to the RFC destination; with 802.1Q tags outermost first."""
    frame = build_frame(message, IPv6Header(src=src, dst=default_destination(message)))
    return _tag(frame, tags)


def _tag(frame: bytes, tags: tuple[tuple[int, int], ...]) -> bytes:
    head = frame[:12]
    for tpid, vid in tags:
        head += struct.pack("!HH", tpid, vid)
    return head + frame[12:]


def udp6_frame(src: str, dst: str, payload: bytes, *tags: tuple[int, int], hop_limit: int = 16) -> bytes:
    """An Ethernet/IPv6/UDP datagram with its mandatory UDP checksum (RFC 8200 8.1)."""
    s, d = address(src), address(dst)
    length = 8 + len(payload)
    pseudo = s.packed + d.packed + struct.pack("!IxxxB", length, 17)
    checksum = internet_checksum(pseudo + struct.pack("!HHHH", DATA_SPORT, DATA_PORT, length, 0) + payload) or 0xFFFF
    ip = struct.pack("!IHBB", (6 << 28) | (0x80 << 20), length, 17, hop_limit) + s.packed + d.packed
    eth = mac_bytes(multicast_mac(d)) + mac_bytes(host_mac(s)) + b"\x86\xdd"
    return _tag(eth + ip + struct.pack("!HHHH", DATA_SPORT, DATA_PORT, length, checksum) + payload, tags)


def neighbour_solicitation(src: str, target: str) -> bytes:
    """An ICMPv6 Neighbour Solicitation (RFC 4861 4.3) to the target's solicited-node group:
    the ICMPv6 traffic of every IPv6 LAN that is not MLD (skipped by its type byte)."""
    t = address(target)
    group = address(b"\xff\x02" + bytes(9) + b"\x01\xff" + t.packed[13:])
    s = address(src)
    body = bytes((135, 0, 0, 0)) + bytes(4) + t.packed + bytes((1, 1)) + mac_bytes(host_mac(s))
    pseudo = s.packed + group.packed + struct.pack("!IxxxB", len(body), 58)
    csum = internet_checksum(pseudo + body)
    body = body[:2] + csum.to_bytes(2, "big") + body[4:]
    ip = struct.pack("!IHBB", 6 << 28, len(body), 58, 255) + s.packed + group.packed
    return mac_bytes(multicast_mac(group)) + mac_bytes(host_mac(s)) + b"\x86\xdd" + ip + body


def _stream6(c: Capture, start: float, stop: float, src: str, group: str, pid: int,
             *tags: tuple[int, int]) -> None:
    k = 0
    while start + k <= stop + 1e-9:
        c.put(_ns(start + k), udp6_frame(src, group, ts_payload(pid, k), *tags))
        k += 1


def mld1_join_done() -> Capture:
    c = Capture("mld1-join-done", "MLDv1 querier fe80::1 (general queries every 125 s, 10 s); host fe80::10 "
                                  "joins ff05::1:3 (two unsolicited reports 10 s apart), answers the next "
                                  "query, sends a done at 180 s; two address-specific queries 1 s apart, "
                                  "nobody answers, the address expires (Last Listener Query Time 2 s)",
                directory=MLD)
    put = lambda t, m, s: c.put(_ns(t), mld_frame(m, s))  # noqa: E731
    put(0, general_mld1(), QUERIER6)
    put(3.0, Mld1Report(GROUP6), HOST6_1)
    put(13.0, Mld1Report(GROUP6), HOST6_1)
    put(QI, general_mld1(), QUERIER6)
    put(QI + 4.2, Mld1Report(GROUP6), HOST6_1)
    put(180.0, Mld1Done(GROUP6), HOST6_1)
    put(180.002, Mld1Query(LLQI_MS, GROUP6), QUERIER6)
    put(181.002, Mld1Query(LLQI_MS, GROUP6), QUERIER6)
    put(2 * QI, general_mld1(), QUERIER6)
    c.sort()
    return c


def mld2_asm() -> Capture:
    c = Capture("mld2-asm-join-leave", "MLDv2 querier fe80::1; fe80::10 joins ff05::1:3 with TO_EX({}) twice, "
                                       "IS_EX({}) on the query, leaves with TO_IN({}) twice; two address-specific "
                                       "queries (the second with S), the address expires; a stream from fd00::100 "
                                       "flows from the join to the leave",
                directory=MLD)
    put = lambda t, m, s: c.put(_ns(t), mld_frame(m, s))  # noqa: E731
    put(0, general_mld2(), QUERIER6)
    put(5.0, rec(RecordType.CHANGE_TO_EXCLUDE_MODE, GROUP6), HOST6_1)
    put(5.61, rec(RecordType.CHANGE_TO_EXCLUDE_MODE, GROUP6), HOST6_1)
    put(QI, general_mld2(), QUERIER6)
    put(QI + 6.318, rec(RecordType.MODE_IS_EXCLUDE, GROUP6), HOST6_1)
    put(180.0, rec(RecordType.CHANGE_TO_INCLUDE_MODE, GROUP6), HOST6_1)
    put(180.002, Mld2Query.build(group=GROUP6, max_resp_ms=LLQI_MS), QUERIER6)
    put(180.45, rec(RecordType.CHANGE_TO_INCLUDE_MODE, GROUP6), HOST6_1)
    put(181.002, Mld2Query.build(group=GROUP6, max_resp_ms=LLQI_MS, s_flag=True), QUERIER6)
    put(2 * QI, general_mld2(), QUERIER6)
    _stream6(c, 5.2, 182.2, SOURCE6_1, GROUP6, 0x100)
    c.sort()
    return c


def mld2_ssm() -> Capture:
    c = Capture("mld2-ssm-join-leave", "MLDv2 source-specific joins of ff3e::1:1 from fd00::100: fe80::10 with "
                                       "ALLOW twice and IS_IN on each query, fe80::11 joins at 60 s and leaves with "
                                       "BLOCK twice at 170 s; the address-and-source query is answered by fe80::10, "
                                       "so the source stays; data from fd00::100 and from fd00::101, which nobody "
                                       "requested",
                directory=MLD)
    put = lambda t, m, s: c.put(_ns(t), mld_frame(m, s))  # noqa: E731
    put(0, general_mld2(), QUERIER6)
    put(4.0, rec(RecordType.ALLOW_NEW_SOURCES, SSM6, SOURCE6_1), HOST6_1)
    put(4.77, rec(RecordType.ALLOW_NEW_SOURCES, SSM6, SOURCE6_1), HOST6_1)
    put(60.0, rec(RecordType.ALLOW_NEW_SOURCES, SSM6, SOURCE6_1), HOST6_2)
    put(60.9, rec(RecordType.ALLOW_NEW_SOURCES, SSM6, SOURCE6_1), HOST6_2)
    put(QI, general_mld2(), QUERIER6)
    put(QI + 2.204, rec(RecordType.MODE_IS_INCLUDE, SSM6, SOURCE6_1), HOST6_1)
    put(QI + 7.5, rec(RecordType.MODE_IS_INCLUDE, SSM6, SOURCE6_1), HOST6_2)
    put(170.0, rec(RecordType.BLOCK_OLD_SOURCES, SSM6, SOURCE6_1), HOST6_2)
    put(170.002, Mld2Query.build(group=SSM6, sources=(SOURCE6_1,), max_resp_ms=LLQI_MS), QUERIER6)
    put(170.38, rec(RecordType.BLOCK_OLD_SOURCES, SSM6, SOURCE6_1), HOST6_2)
    put(170.61, rec(RecordType.MODE_IS_INCLUDE, SSM6, SOURCE6_1), HOST6_1)
    put(171.002, Mld2Query.build(group=SSM6, sources=(SOURCE6_1,), max_resp_ms=LLQI_MS, s_flag=True), QUERIER6)
    put(2 * QI, general_mld2(), QUERIER6)
    put(2 * QI + 3.9, rec(RecordType.MODE_IS_INCLUDE, SSM6, SOURCE6_1), HOST6_1)
    _stream6(c, 4.3, 254.3, SOURCE6_1, SSM6, 0x100)
    _stream6(c, 60.5, 120.5, SOURCE6_2, SSM6, 0x101)
    c.sort()
    return c


def mld_election() -> Capture:
    c = Capture("mld-querier-election", "Two MLDv2 routers start: fe80::2 queries first, fe80::1 (lower "
                                        "address) starts 5 s later and wins (RFC 3810 7.6.2); fe80::2 falls silent",
                directory=MLD)
    put = lambda t, m, s: c.put(_ns(t), mld_frame(m, s))  # noqa: E731
    sqi = QI / 4
    put(0, general_mld2(), ROUTER6)
    put(3.1, rec(RecordType.MODE_IS_EXCLUDE, GROUP6), HOST6_1)
    put(5.0, general_mld2(), QUERIER6)
    put(9.4, rec(RecordType.MODE_IS_EXCLUDE, GROUP6), HOST6_1)
    put(5.0 + sqi, general_mld2(), QUERIER6)
    put(5.0 + sqi + 7.05, rec(RecordType.MODE_IS_EXCLUDE, GROUP6), HOST6_1)
    put(5.0 + sqi + QI, general_mld2(), QUERIER6)
    put(5.0 + sqi + QI + 1.9, rec(RecordType.MODE_IS_EXCLUDE, GROUP6), HOST6_1)
    c.sort()
    return c


def mld2_querier_v1_host() -> Capture:
    c = Capture("mld2-querier-v1-host", "MLDv2 querier with an MLDv1 host (force_mld_version=1) on ff05::1:4 "
                                        "beside an MLDv2 host on ff05::1:3: ff05::1:4 runs in MLDv1 "
                                        "compatibility (RFC 3810 8.3.2); the v1 host's done, two address-specific "
                                        "queries, expiry",
                directory=MLD)
    put = lambda t, m, s: c.put(_ns(t), mld_frame(m, s))  # noqa: E731
    put(0, general_mld2(), QUERIER6)
    put(1.2, rec(RecordType.MODE_IS_EXCLUDE, GROUP6), HOST6_1)
    put(3.4, Mld1Report(GROUP6_2), HOST6_2)
    put(QI, general_mld2(), QUERIER6)
    put(QI + 2.6, rec(RecordType.MODE_IS_EXCLUDE, GROUP6), HOST6_1)
    put(QI + 5.5, Mld1Report(GROUP6_2), HOST6_2)
    put(150.0, Mld1Done(GROUP6_2), HOST6_2)
    put(150.002, Mld2Query.build(group=GROUP6_2, max_resp_ms=LLQI_MS), QUERIER6)
    put(151.002, Mld2Query.build(group=GROUP6_2, max_resp_ms=LLQI_MS), QUERIER6)
    c.sort()
    return c


def dual_stack() -> Capture:
    c = Capture("dual-stack", "One segment, two families: IGMPv3 querier 198.18.0.1 and MLDv2 querier fe80::1; "
                              "a host joins 239.1.1.1 and ff05::1:3 with their streams, another ff15::1:3, which "
                              "shares ff05::1:3's MAC 33:33:00:01:00:03; hosts join their solicited-node groups "
                              "and send neighbour solicitations (ICMPv6 that is not MLD)",
                directory=MLD)
    for k in range(2):
        c.put(_ns(k * QI), ethernet(igmp_packet(_general_v3(), "198.18.0.1")))
        c.put(_ns(0.5 + k * QI), mld_frame(general_mld2(), QUERIER6))
    for t, host in ((1.0, HOST6_1), (1.3, HOST6_2)):
        # RFC 4861 7.2.1: every address joins its solicited-node group (ff02::1:ff + low 24 bits)
        solicited = str(address(b"\xff\x02" + bytes(9) + b"\x01\xff" + address(host).packed[13:]))
        c.put(_ns(t), mld_frame(rec(RecordType.CHANGE_TO_EXCLUDE_MODE, solicited), host))
        c.put(_ns(t + 0.2), neighbour_solicitation(host, ROUTER6))
    c.put(_ns(2.0), ethernet(igmp_packet(_to_ex(ASM_GROUP), "198.18.0.10")))
    c.put(_ns(2.1), mld_frame(rec(RecordType.CHANGE_TO_EXCLUDE_MODE, GROUP6), HOST6_1))
    c.put(_ns(2.6), mld_frame(rec(RecordType.CHANGE_TO_EXCLUDE_MODE, GROUP6), HOST6_1))
    c.put(_ns(8.0), mld_frame(rec(RecordType.CHANGE_TO_EXCLUDE_MODE, GROUP6_TWIN), HOST6_2))
    c.put(_ns(QI + 3.3), ethernet(igmp_packet(_record(V4RecordType.MODE_IS_EXCLUDE, ASM_GROUP), "198.18.0.10")))
    c.put(_ns(QI + 4.1), mld_frame(Mld2Report((MldRecord(RecordType.MODE_IS_EXCLUDE, GROUP6),)), HOST6_1))
    c.put(_ns(QI + 6.7), mld_frame(Mld2Report((MldRecord(RecordType.MODE_IS_EXCLUDE, GROUP6_TWIN),)), HOST6_2))
    for k in range(60):
        c.put(_ns(2.3 + k * 2), udp6_frame(SOURCE6_1, GROUP6, ts_payload(0x100, k)))
        c.put(_ns(2.2 + k * 2), ethernet(udp_packet(SOURCE1, ASM_GROUP, ts_payload(0x200, k), ident=k)))
    c.sort()
    return c


def mld_vlans() -> Capture:
    c = Capture("mld-vlans", "Trunk capture, an MLD querier per 802.1Q VLAN: VLAN 10 MLDv2 (fe80::1) with a "
                             "stream to ff05::1:3, VLAN 20 MLDv1 (fe80::1 too: link-local addresses repeat "
                             "across links) with an MLDv1 listener of ff05::1:3",
                directory=MLD)
    v10, v20 = (TPID_CTAG, 10), (TPID_CTAG, 20)
    for k in range(2):
        c.put(_ns(k * QI), mld_frame(general_mld2(), QUERIER6, v10))
        c.put(_ns(7.0 + k * QI), mld_frame(general_mld1(), QUERIER6, v20))
    c.put(_ns(2.0), mld_frame(rec(RecordType.CHANGE_TO_EXCLUDE_MODE, GROUP6), HOST6_1, v10))
    c.put(_ns(2.7), mld_frame(rec(RecordType.CHANGE_TO_EXCLUDE_MODE, GROUP6), HOST6_1, v10))
    c.put(_ns(QI + 3.1), mld_frame(rec(RecordType.MODE_IS_EXCLUDE, GROUP6), HOST6_1, v10))
    c.put(_ns(12.4), mld_frame(Mld1Report(GROUP6), HOST6_2, v20))
    c.put(_ns(7.0 + QI + 8.2), mld_frame(Mld1Report(GROUP6), HOST6_2, v20))
    _stream6(c, 2.05, 140.05, SOURCE6_1, GROUP6, 0x100, v10)
    c.sort()
    return c


def captures() -> list[Capture]:
    return [mld1_join_done(), mld2_asm(), mld2_ssm(), mld_election(), mld2_querier_v1_host(), dual_stack(),
            mld_vlans()]


def bulk_frames(count: int, seed: int = 1) -> list[tuple[int, bytes]]:
    """``count`` MLD frames 1 ms apart, the mix of :func:`mdiag.testing.pcapgen.bulk_frames`
    for IPv6: 40 % MLDv1 reports, 10 % dones, 40 % MLDv2 reports with 0-2 sources, 10 %
    queries (MLDv1/v2, general and address-specific); 400 hosts, 200 groups."""
    import random

    from mdiag.testing.pcapgen import BASE_NS

    rng = random.Random(seed)
    groups = [f"ff05::{a:x}:{b:x}" for a in range(1, 5) for b in range(1, 51)]
    hosts = [f"fe80::{a:x}:{b:x}" for a in range(2, 4) for b in range(1, 201)]
    sources = [SOURCE6_1, SOURCE6_2, "fd00::102"]
    cache: dict[tuple[object, ...], bytes] = {}
    out = []
    for i in range(count):
        roll = rng.random()
        host = rng.choice(hosts)
        group = rng.choice(groups)
        message: MldMessage
        if roll < 0.4:
            message = Mld1Report(group)
        elif roll < 0.5:
            message = Mld1Done(group)
        elif roll < 0.9:
            message = Mld2Report((MldRecord(RecordType(rng.randrange(1, 7)), group,
                                            tuple(sources[:rng.randrange(3)])),))
        else:
            host = QUERIER6
            message = rng.choice((general_mld1(), general_mld2(), Mld2Query.build(group=group, max_resp_ms=1000),
                                  Mld1Query(1000, group)))
        key = (message, host)
        frame = cache.get(key)
        if frame is None:
            frame = cache[key] = mld_frame(message, host)
        out.append((BASE_NS + i * 1_000_000, frame))
    return out
