"""tshark as the independent decoder for MLD: every crafted kind, random messages, every
16-bit Maximum Response Code family and QQIC, the real frames of mld.md and every MLD
frame of pcaps/.

One capture and one tshark run for the module. For every frame tshark must see a good
ICMPv6 checksum (or a bad one where mdiag crafted one) and the same values as mdiag:
type, hop limit, addresses, Maximum Response Delay in ms, S, QRV, QQI in seconds,
sources, and per record the type, aux length, address and sources.
"""

from __future__ import annotations

import random
import subprocess
from pathlib import Path

import pytest

from mdiag.adapters.capture import open_capture
from mdiag.adapters.pcap_writer import PcapWriter
from mdiag.core import linklayer, mld
from mdiag.core.floatcode import MLD_MRC
from mdiag.core.mld import (
    IPv6Header,
    Mld1Done,
    Mld1Query,
    Mld1Report,
    Mld2Query,
    Mld2Report,
    MldRecord,
    RecordType,
    UnknownMld,
)
from mdiag.testing import pcapgen
from mdiag.testing.requirements import need_tool

from tests.core.mld.test_vectors import VECTORS

pytestmark = pytest.mark.tshark

PCAPS = Path(__file__).resolve().parents[2] / "pcaps"
FIELDS = ["frame.number", "ipv6.src", "ipv6.dst", "ipv6.hlim", "icmpv6.type", "icmpv6.checksum.status",
          "icmpv6.mld.maximum_response_delay", "icmpv6.mld.maximum_response_code", "icmpv6.mld.multicast_address",
          "icmpv6.mld.flag.s", "icmpv6.mld.flag.qrv", "icmpv6.mld.qqi", "icmpv6.mld.nb_sources",
          "icmpv6.mld.source_address", "icmpv6.mldr.nb_mcast_records", "icmpv6.mldr.mar.record_type",
          "icmpv6.mldr.mar.aux_data_len", "icmpv6.mldr.mar.nb_sources", "icmpv6.mldr.mar.multicast_address",
          "icmpv6.mldr.mar.source_address"]
LL = "fe80::1"
S1, S2 = "fd00::100", "fd00::101"


def crafted() -> list:
    messages: list = [Mld1Query(), Mld1Query(1000, "ff05::1"), Mld1Report("ff05::1:3"), Mld1Done("ff05::1:3"),
                      Mld2Query(), Mld2Query.build(group="ff3e::1", sources=(S1, S2), s_flag=True, qrv=7, qqi=300)]
    for rtype in RecordType:
        for sources in ((), (S1,), (S1, S2)):
            messages.append(Mld2Report((MldRecord(rtype, "ff3e::1" if rtype > 4 else "ff05::1", sources),)))
    messages.append(Mld2Report(tuple(MldRecord(t, f"ff05::{int(t)}", (S1,) * (int(t) % 3)) for t in RecordType)))
    messages.append(Mld2Report((MldRecord(1, "ff05::1", (S2,), b"\0\0\0\1\0\0\0\2"), MldRecord(2, "ff05::2"))))
    messages.append(Mld2Report(()))
    return messages


def _random_messages(count: int) -> list:
    rng = random.Random(3810)

    def addr() -> str:
        return str(mld.address(rng.getrandbits(128)))

    def group() -> str:
        return str(mld.address((0xFF << 120) | rng.getrandbits(120)))

    out = []
    for _ in range(count):
        roll = rng.randrange(5)
        if roll == 0:
            out.append(Mld2Query(rng.randrange(65536), rng.choice(("::", group())), rng.random() < 0.5,
                                 rng.randrange(8), rng.randrange(256), tuple(addr() for _ in range(rng.randrange(3)))))
        elif roll == 1:
            out.append(Mld2Report(tuple(MldRecord(rng.randrange(1, 7), group(),
                                                  tuple(addr() for _ in range(rng.randrange(3))),
                                                  bytes(4 * rng.randrange(2)))
                                        for _ in range(rng.randrange(1, 4)))))
        elif roll == 2:
            out.append(Mld1Query(rng.randrange(65536), rng.choice(("::", group()))))
        else:
            out.append(rng.choice((Mld1Report, Mld1Done))(group()))
    return out


def expected(decoded: mld.Decoded) -> dict[str, list[str]]:
    """What tshark should print for a message mdiag decoded."""
    m = decoded.message
    ip = decoded.ip
    out: dict[str, list[str]] = {"ipv6.src": [str(ip.src)], "ipv6.dst": [str(ip.dst)],
                                 "ipv6.hlim": [str(ip.hop_limit)], "icmpv6.type": [str(m.type)]}
    if isinstance(m, UnknownMld):
        return out
    if isinstance(m, Mld2Report):
        out["icmpv6.mldr.nb_mcast_records"] = [str(len(m.records))]
        out["icmpv6.mldr.mar.record_type"] = [str(int(r.record_type)) for r in m.records]
        out["icmpv6.mldr.mar.aux_data_len"] = [str(len(r.aux_data) // 4) for r in m.records]
        out["icmpv6.mldr.mar.nb_sources"] = [str(len(r.sources)) for r in m.records]
        out["icmpv6.mldr.mar.multicast_address"] = [str(r.group) for r in m.records]
        out["icmpv6.mldr.mar.source_address"] = [str(s) for r in m.records for s in r.sources]
        return out
    out["icmpv6.mld.multicast_address"] = [str(m.group)]
    if isinstance(m, Mld2Query):
        out["icmpv6.mld.maximum_response_code"] = [str(m.max_resp_delay)]  # tshark shows the decoded ms
        out["icmpv6.mld.flag.s"] = ["1" if m.s_flag else "0"]
        out["icmpv6.mld.flag.qrv"] = [str(m.qrv)]
        out["icmpv6.mld.qqi"] = [str(m.qqi)]                                # ... and the decoded seconds
        out["icmpv6.mld.nb_sources"] = [str(len(m.sources))]
        out["icmpv6.mld.source_address"] = [str(s) for s in m.sources]
    else:
        out["icmpv6.mld.maximum_response_delay"] = [str(m.max_resp_delay)]
    return out


def _normalise(key: str, values: list[str]) -> list[str]:
    if key == "icmpv6.mld.flag.s":
        return ["1" if v in ("1", "True") else "0" for v in values]
    if key.endswith("address") or key in ("ipv6.src", "ipv6.dst"):
        return [str(mld.address(v)) for v in values]
    return values


def compare(frames: list[bytes], rows: dict[int, dict[str, list[str]]], bad: set[int] = frozenset()) -> int:
    checked = 0
    for number, frame in enumerate(frames, 1):
        row = rows[number]
        located = linklayer.locate_ipv6(1, frame, 0, len(frame))
        assert located.status == linklayer.OK, f"frame {number}: no IPv6"
        decoded = mld.decode_ipv6(frame[located.ip:])
        if not isinstance(decoded.message, UnknownMld):
            status = ["0"] if number in bad else ["1"]
            assert row["icmpv6.checksum.status"] == status, f"frame {number}: tshark checksum status"
            assert decoded.checksum_ok is (number not in bad)
        want = expected(decoded)
        got = {key: _normalise(key, row[key]) for key in want}
        assert got == want, f"frame {number}: {decoded.message}"
        checked += 1
    return checked


def run_tshark(path: Path) -> dict[int, dict[str, list[str]]]:
    tshark = need_tool("tshark")
    cmd = [tshark, "-n", "-r", str(path), "-T", "fields", "-E", "separator=\t", "-E", "occurrence=a",
           "-E", "aggregator=|"]
    for name in FIELDS:
        cmd += ["-e", name]
    out = subprocess.run(cmd, capture_output=True, text=True, timeout=120, check=True).stdout
    rows = {}
    for line in out.splitlines():
        cells = line.split("\t")
        row = {name: (cell.split("|") if cell else []) for name, cell in zip(FIELDS, cells)}
        rows[int(row["frame.number"][0])] = row
    return rows


def _pcap_mld_frames() -> list[bytes]:
    frames = []
    for capture_path in sorted(p for p in PCAPS.rglob("*.pcap*") if not p.name.endswith(".json")):
        with open_capture(capture_path) as capture:
            for frame in capture:
                data = frame.data
                located = linklayer.locate_ipv6(frame.linktype, data, 0, len(data))
                if located.status != linklayer.OK:
                    continue
                try:
                    mld.decode_ipv6(data[located.ip:])
                except mld.MalformedPacket:
                    continue
                frames.append(data)
    return frames


@pytest.fixture(scope="module")
def oracle(tmp_path_factory):
    path = tmp_path_factory.mktemp("tshark") / "mld-oracle.pcap"
    sections: dict[str, tuple[int, list[bytes]]] = {}
    number = 0
    with PcapWriter(path) as writer:
        def add(name: str, frames: list[bytes]) -> None:
            nonlocal number
            sections[name] = (number + 1, frames)
            for frame in frames:
                number += 1
                writer.write(frame, pcapgen.BASE_NS + number * 1_000_000)

        frames = [mld.build_frame(m, src=LL) for m in crafted()]
        frames.append(mld.build_frame(Mld1Report("ff05::1"), IPv6Header(src=LL, dst="ff05::1", hop_limit=64,
                                                                       hbh_options=mld.HBH_PAD1)))
        frames.append(mld.build_frame(Mld2Report((MldRecord(4, "ff05::1"),)), src=LL, vlan=7))
        add("crafted", frames)
        add("bad-checksum", [mld.build_frame(Mld1Done("ff05::1"), src=LL, checksum=0x1234)])
        add("random", [mld.build_frame(m, src=str(mld.address(0xFE80 << 112 | i + 1)))
                       for i, m in enumerate(_random_messages(200))])
        codes = [0, 1, 0x7FFF, 0xFFFF] + list(range(0x8000, 0x10000, 0x0123))
        add("codes", [mld.build_frame(Mld2Query(code, qqic=code & 0xFF), src=LL) for code in codes])
        add("vectors", [bytes.fromhex(v[0]) for v in VECTORS])
        add("pcaps", _pcap_mld_frames())
    rows = run_tshark(path)
    assert len(rows) == number
    return sections, rows


def _rows_of(oracle, name):
    sections, rows = oracle
    first, frames = sections[name]
    return frames, {i + 1: rows[first + i] for i in range(len(frames))}


def test_every_crafted_mld_kind_matches_tshark(oracle):
    frames, rows = _rows_of(oracle, "crafted")
    assert compare(frames, rows) == len(frames)
    assert rows[len(frames)]["icmpv6.mldr.mar.record_type"] == ["4"]  # behind an 802.1Q tag


def test_bad_checksum_is_bad_for_both(oracle):
    frames, rows = _rows_of(oracle, "bad-checksum")
    assert compare(frames, rows, bad={1}) == 1


def test_random_mld_messages_match_tshark(oracle):
    frames, rows = _rows_of(oracle, "random")
    assert compare(frames, rows) == len(frames)


def test_16_bit_codes_and_qqic_match_tshark(oracle):
    frames, rows = _rows_of(oracle, "codes")
    assert compare(frames, rows) == len(frames)
    assert rows[4]["icmpv6.mld.maximum_response_code"] == [str(MLD_MRC.max_value)]


def test_real_vectors_match_tshark(oracle):
    frames, rows = _rows_of(oracle, "vectors")
    assert compare(frames, rows) == len(frames) == 4


def test_every_mld_frame_of_pcaps_matches_tshark(oracle):
    frames, rows = _rows_of(oracle, "pcaps")
    assert len(frames) >= 60, "pcaps/mld/ holds the MLD captures (make pcaps)"
    assert compare(frames, rows) == len(frames)
