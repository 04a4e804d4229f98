"""tshark as the independent decoder: every crafted kind and every frame of pcaps/.

All frames go into one capture and one tshark call per test module (fast). tshark must
see good checksums (except the deliberately bad frames) and the same field values as
mdiag: type, version, max response time in seconds, group, S, QRV, QQIC, number of
sources, record types and sources.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from mdiag.adapters.capture import open_capture
from mdiag.adapters.pcap_writer import PcapWriter
from mdiag.core.igmp import (
    GroupRecord,
    IPv4Header,
    MalformedPacket,
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
    decode_ipv4,
    floatcode,
)
from mdiag.testing import pcapgen
from mdiag.testing.requirements import need_tool

pytestmark = pytest.mark.tshark

PCAPS = Path(__file__).resolve().parents[2] / "pcaps"
FIELDS = ["frame.number", "ip.checksum.status", "igmp.checksum.status", "igmp.type", "igmp.version",
          "igmp.max_resp", "igmp.maddr", "igmp.s", "igmp.qrv", "igmp.qqic", "igmp.num_src",
          "igmp.num_grp_recs", "igmp.record_type", "igmp.saddr", "igmp.aux_data_len"]

S1, S2, S3 = "198.18.1.100", "198.18.1.101", "198.18.1.102"


def crafted() -> list:
    messages: list = [V1Query(), V1Report("239.1.1.1"), V2Query(100), V2Query(255), V2Query(1, "239.1.1.1"),
                      V2Report("239.255.255.250"), V2Leave("239.1.1.1")]
    for code in (0x00, 0x0A, 0x64, 0x7F, 0x80, 0x89, 0xAF, 0xC9, 0xFE, 0xFF):
        messages.append(V3Query(code, "0.0.0.0", False, 2, code))
    for qrv in range(8):
        messages.append(V3Query(10, "239.1.1.1", bool(qrv & 1), qrv, 125))
    messages.append(V3Query(10, "232.1.1.1", True, 2, 125, (S1, S2, S3)))
    for rtype in RecordType:
        for sources in ((), (S1,), (S1, S2)):
            messages.append(V3Report((GroupRecord(rtype, "232.1.1.1" if rtype > 4 else "239.1.1.1", sources),)))
    messages.append(V3Report(tuple(GroupRecord(t, f"239.1.1.{int(t)}", (S1,) * (int(t) % 3)) for t in RecordType)))
    messages.append(V3Report((GroupRecord(1, "239.1.1.1", (S2,), b"\0\0\0\1\0\0\0\2"), GroupRecord(2, "239.1.1.2"))))
    messages.append(V3Report(()))
    return messages


def run_tshark(path: Path) -> dict[int, dict[str, list[str]]]:
    tshark = need_tool("tshark")
    cmd = [tshark, "-n", "-r", str(path), "-o", "ip.check_checksum:TRUE", "-T", "fields",
           "-E", "separator=\t", "-E", "occurrence=a", "-E", "aggregator=|"]
    for name in FIELDS:
        cmd += ["-e", name]
    out = subprocess.run(cmd, capture_output=True, text=True, timeout=120, check=True).stdout
    rows = {}
    for line in out.splitlines():
        cells = line.split("\t")
        row = {name: (cell.split("|") if cell else []) for name, cell in zip(FIELDS, cells)}
        rows[int(row["frame.number"][0])] = row
    return rows


def expected(decoded) -> dict[str, list[str]]:
    """What tshark should print for a message mdiag decoded."""
    m = decoded.message
    if isinstance(m, UnknownMessage):
        return {}  # DVMRP, mtrace, MRD: tshark hands them to other dissectors
    out: dict[str, list[str]] = {"igmp.type": [f"0x{m.type:02x}"]}
    out["igmp.version"] = [str(m.version)]
    if isinstance(m, V3Report):
        out["igmp.num_grp_recs"] = [str(len(m.records))]
        out["igmp.maddr"] = [str(r.group) for r in m.records]
        out["igmp.record_type"] = [str(int(r.record_type)) for r in m.records]
        out["igmp.num_src"] = [str(len(r.sources)) for r in m.records]
        out["igmp.saddr"] = [str(s) for r in m.records for s in r.sources]
        out["igmp.aux_data_len"] = [str(len(r.aux_data) // 4) for r in m.records]
        return out
    out["igmp.maddr"] = [str(m.group)]
    if isinstance(m, V2Query):
        out["max_resp_seconds"] = [f"{m.max_resp_time:.1f}"]
    if isinstance(m, V3Query):
        out["max_resp_seconds"] = [f"{m.max_resp_time:.1f}"]
        out["igmp.s"] = ["1" if m.s_flag else "0"]
        out["igmp.qrv"] = [str(m.qrv)]
        out["igmp.qqic"] = [str(m.qqic)]
        out["igmp.num_src"] = [str(len(m.sources))]
        out["igmp.saddr"] = [str(s) for s in m.sources]
    return out


def seen(row: dict[str, list[str]], keys) -> dict[str, list[str]]:
    got = {}
    for key in keys:
        if key == "max_resp_seconds":
            # tshark prints the v2 code, or the v3 value in tenths of a second (20.0 s for code 0x89).
            got[key] = [f"{int(v) / 10:.1f}" for v in row["igmp.max_resp"]]
        elif key == "igmp.s":
            got[key] = ["1" if v in ("1", "True") else "0" for v in row[key]]
        else:
            got[key] = row[key]
    return got


def compare(frames: list[bytes], rows, bad: set[int] = frozenset(), undecodable: set[int] = frozenset()) -> int:
    checked = 0
    for number, frame in enumerate(frames, 1):
        row = rows[number]
        if number in undecodable:
            with pytest.raises(MalformedPacket):
                decode_ipv4(frame[14:])
            continue
        decoded = decode_ipv4(frame[14:])
        if number not in bad:
            if not isinstance(decoded.message, UnknownMessage):  # tshark hands DVMRP, mtrace... to others
                assert row["igmp.checksum.status"] == ["1"], f"frame {number}: tshark says IGMP checksum bad"
            assert row["ip.checksum.status"] == ["1"], f"frame {number}: tshark says IP checksum bad"
            assert decoded.checksum_ok and decoded.ip_checksum_ok
        else:
            assert "0" in row["igmp.checksum.status"] + row["ip.checksum.status"]
            assert not (decoded.checksum_ok and decoded.ip_checksum_ok)
        want = expected(decoded)
        assert seen(row, want) == want, f"frame {number}: {decoded.message}"
        checked += 1
    return checked


def _crafted_frames() -> list[bytes]:
    frames = [build_frame(m, src="198.18.0.10") for m in crafted()]
    frames.append(build_frame(V2Report("239.1.1.1"), src="198.18.0.10", pad_to=60))
    frames.append(build_frame(V2Report("239.1.1.1"), IPv4Header(src="198.18.0.10", dst="239.1.1.1",
                                                               router_alert=False, ttl=64)))
    frames.append(build_frame(V3Report((GroupRecord(4, "239.1.1.1"),)), src="198.18.0.10", vlan=7))
    return frames


def _random_frames(count: int) -> list[bytes]:
    """Seeded random messages of every modelled kind: codes, flags, groups, sources, records."""
    import random

    rng = random.Random(3376)

    def addr() -> str:
        return ".".join(str(rng.randrange(256)) for _ in range(4))

    def group() -> str:
        return f"{rng.randrange(224, 240)}.{rng.randrange(256)}.{rng.randrange(256)}.{rng.randrange(256)}"

    frames = []
    for _ in range(count):
        roll = rng.randrange(6)
        if roll == 0:
            message: object = V3Query(rng.randrange(256), rng.choice(("0.0.0.0", group())), rng.random() < 0.5,
                                      rng.randrange(8), rng.randrange(256),
                                      tuple(addr() for _ in range(rng.randrange(4))))
        elif roll == 1:
            message = V3Report(tuple(
                GroupRecord(rng.randrange(1, 7), group(), tuple(addr() for _ in range(rng.randrange(4))),
                            bytes(4 * rng.randrange(2)))
                for _ in range(rng.randrange(1, 5))))
        elif roll == 2:
            message = V2Query(rng.randrange(1, 256), rng.choice(("0.0.0.0", group())))
        else:
            message = rng.choice((V1Report, V2Report, V2Leave))(group())
        frames.append(build_frame(message, src=addr()))  # type: ignore[arg-type]
    return frames


@pytest.fixture(scope="module")
def oracle(tmp_path_factory):
    """One capture holding every frame the tests look at, and one tshark run over it.

    Returns ``{section: (first frame number, frames, extra)}`` and the tshark rows.
    """
    path = tmp_path_factory.mktemp("tshark") / "oracle.pcap"
    sections: dict[str, tuple[int, list[bytes], dict[str, set[int]]]] = {}
    number = 0
    with PcapWriter(path) as writer:
        def add(name: str, frames: list[bytes], extra: dict[str, set[int]] | None = None) -> None:
            nonlocal number
            sections[name] = (number + 1, frames, extra or {})
            for frame in frames:
                number += 1
                writer.write(frame, pcapgen.BASE_NS + number * 1_000_000)

        add("crafted", _crafted_frames())
        add("random", _random_frames(300))
        add("codes", [build_frame(V3Query(code, qqic=code), src="198.18.0.1") for code in range(256)])
        frames: list[bytes] = []
        bad: set[int] = set()
        undecodable: set[int] = set()
        for capture_path in sorted(PCAPS.glob("*.pcap")):
            with open_capture(capture_path) as capture:
                for frame in capture:
                    frames.append(frame.data)
                    if capture_path.name == "malformed.pcap":
                        if frame.number in pcapgen.BAD_CHECKSUM_FRAMES:
                            bad.add(len(frames))
                        if frame.number in pcapgen.UNDECODABLE_FRAMES:
                            undecodable.add(len(frames))
        add("pcaps", frames, {"bad": bad, "undecodable": undecodable})
    rows = run_tshark(path)
    assert len(rows) == number
    return sections, rows


def _rows_of(oracle, name):
    sections, rows = oracle
    first, frames, extra = sections[name]
    return frames, {i + 1: rows[first + i] for i in range(len(frames))}, extra


def test_every_crafted_kind_matches_tshark(oracle):
    frames, rows, _ = _rows_of(oracle, "crafted")
    frames = list(frames)
    frames[-1] = frames[-1][:12] + frames[-1][16:]  # compare() strips 14 bytes of Ethernet: drop the tag
    assert compare(frames, rows) == len(frames)
    assert rows[len(frames)]["igmp.record_type"] == ["4"]


def test_every_frame_of_pcaps_matches_tshark(oracle):
    frames, rows, extra = _rows_of(oracle, "pcaps")
    checked = compare(frames, rows, extra["bad"], extra["undecodable"])
    assert checked == len(frames) - len(extra["undecodable"])


def test_float_codes_match_tshark_for_all_256(oracle):
    _, rows, _ = _rows_of(oracle, "codes")
    for code in range(256):
        assert int(rows[code + 1]["igmp.max_resp"][0]) == floatcode.decode(code)
        assert int(rows[code + 1]["igmp.qqic"][0]) == code


def test_random_messages_match_tshark(oracle):
    frames, rows, _ = _rows_of(oracle, "random")
    assert compare(frames, rows) == len(frames)
