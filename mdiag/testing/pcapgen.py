"""Deterministic generator of the reference captures in pcaps/.

``python -m mdiag.testing.pcapgen pcaps`` (``make pcaps``) writes one capture per
IGMP message kind, realistic membership scenarios (timing as RFC 2236 / 3376 and
Linux defaults: QI 125 s, MRT 10 s, LMQI 1 s, robustness 2) and a capture of
deliberately bad frames, plus pcaps/README.md describing each. Regenerating gives
byte-identical files: fixed timestamps, fixed addresses (198.18.0.0/15, locally
administered MACs), seeded randomness, and the pure-core frame builder.

``python -m mdiag.testing.pcapgen --bulk N FILE`` writes an N-frame mixed capture
for benchmarks (v2 reports and leaves, v3 reports with 0-2 sources, queries).
"""

from __future__ import annotations

import argparse
import os
import random
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field

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
)

#: 2026-01-01T00:00:00Z, the capture clock's zero.
BASE_NS = 1_767_225_600 * 1_000_000_000

QUERIER = "198.18.0.1"
ROUTER2 = "198.18.0.2"
HOST1, HOST2, HOST3 = "198.18.0.10", "198.18.0.11", "198.18.0.12"
SOURCE1, SOURCE2 = "198.18.1.100", "198.18.1.101"
ASM_GROUP, ASM_GROUP2 = "239.1.1.1", "239.1.1.2"
SSM_GROUP = "232.1.1.1"

QI, MRT, LMQI = 125.0, 10.0, 1.0

Frame = tuple[int, bytes]  # (time in ns, Ethernet frame)


@dataclass
class Capture:
    """One capture: name (file stem), one-line description, frames in time order."""

    name: str
    description: str
    frames: list[Frame] = field(default_factory=list)

    def add(self, t: float, message: IgmpMessage, src: str, **kwargs: object) -> None:
        ip = kwargs.pop("ip", None)
        if ip is None:
            ip = IPv4Header(src=src, dst=default_destination(message))
        frame = build_frame(message, ip, **kwargs)  # type: ignore[arg-type]
        self.frames.append((BASE_NS + round(t * 1000) * 1_000_000, frame))

    def raw(self, t: float, frame: bytes) -> None:
        self.frames.append((BASE_NS + round(t * 1000) * 1_000_000, frame))


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


def all_captures() -> list[Capture]:
    return [*kinds(), v2_join(), v2_report_on_query(), v2_leave(), v3_asm(), v3_ssm(), election(), compat(),
            malformed()]


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
        name = capture.name + ".pcap"
        with PcapWriter(os.path.join(directory, name), force=True) as writer:
            for time_ns, frame in capture.frames:
                writer.write(frame, time_ns)
        names.append(name)
        lines.append(f"| {name} | {len(capture.frames)} | {capture.description} |")
    lines += ["", "In malformed.pcap frames 1-2 have deliberately bad IGMP / IP checksums and frames 8-9",
              "cannot be decoded at all (a 10-byte query, a v3 report cut short); every other frame",
              "decodes with exactly one finding (frame 15 is a valid report with Ethernet padding).", ""]
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

