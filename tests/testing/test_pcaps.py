"""pcaps/: regeneration is byte-identical; scapy and the fast decoder agree on every frame.

The per-message captures (pcaps/*.pcap) hold only IGMP on untagged Ethernet; the scenario
captures (pcaps/scenarios/) add multicast UDP streams, VLAN tags, Linux cooked SLL/SLL2
and pcapng. tshark checks every frame of the scenarios here (one run per capture); the
per-message captures are checked frame by frame in tests/tshark/.
"""

from __future__ import annotations

import filecmp
import os
import subprocess
from pathlib import Path

import pytest

from mdiag.adapters import scapy_igmp
from mdiag.adapters.capture import open_capture
from mdiag.analysis.pipeline import ROUTING_TYPES
from mdiag.core import linklayer
from mdiag.core.igmp import MalformedPacket, V2Query, V3Query, V3Report, decode_ipv4
from mdiag.testing import pcapgen
from mdiag.testing.requirements import need_tool

PCAPS = Path(__file__).resolve().parents[2] / "pcaps"
CAPTURES = sorted(p.name for p in PCAPS.glob("*.pcap*") if not p.name.endswith(".json"))
SCENARIOS = sorted(str(p.relative_to(PCAPS)) for p in PCAPS.glob("scenarios/*.pcap*")
                   if not p.name.endswith(".json"))
MLD = sorted(str(p.relative_to(PCAPS)) for p in PCAPS.glob("mld/*.pcap*") if not p.name.endswith(".json"))
PROTO_IGMP, PROTO_UDP, PROTO_PIM = 2, 17, 103


def frames(name: str):
    with open_capture(PCAPS / name) as capture:
        for frame in capture:
            yield frame.number, frame.linktype, frame.data


def test_regeneration_is_byte_identical(tmp_path):
    names = pcapgen.write_all(str(tmp_path))
    assert sorted(names) == sorted(CAPTURES + SCENARIOS + MLD), "pcaps/ is out of date: run make pcaps"
    for name in [*names, "README.md"]:
        assert filecmp.cmp(tmp_path / name, PCAPS / name, shallow=False), f"{name} differs: run make pcaps"


def test_every_capture_is_described():
    readme = (PCAPS / "README.md").read_text()
    for name in CAPTURES + SCENARIOS + MLD:
        assert f"| {name} |" in readme


@pytest.mark.parametrize("name", CAPTURES)
def test_scapy_and_fast_decoder_agree(name):
    seen = 0
    for number, linktype, data in frames(name):
        located = linklayer.locate_ipv4(linktype, data, 0, len(data))
        assert located.status == linklayer.OK
        try:
            fast = decode_ipv4(data[located.ip:])
        except MalformedPacket as exc:
            with pytest.raises(MalformedPacket) as slow:
                scapy_igmp.parse_frame(data)
            assert name == "malformed.pcap" and number in pcapgen.UNDECODABLE_FRAMES
            assert exc.offset >= 0 and slow.value.offset >= 0
            continue
        slow = scapy_igmp.parse_frame(data)
        assert slow == fast, f"{name} frame {number}"
        seen += 1
        if name != "malformed.pcap":
            assert fast.checksum_ok and fast.ip_checksum_ok
            assert not [f for f in fast.findings if f.code != "ssm-old-version-report"
                        and f.code not in _EXPECTED.get(name, ())], f"{name} frame {number}: {fast.findings}"
    assert seen


_EXPECTED = {
    # The mtrace query is unicast with TTL 64 and has its own rules (no IGMP findings).
    "unknown-types.pcap": (),
    # Queries sent without Router Alert on purpose (counted per kind of query).
    "router-alert-mixed.pcap": ("router-alert-missing",),
}


@pytest.mark.parametrize("name", SCENARIOS)
def test_scenario_igmp_decodes_cleanly_and_both_decoders_agree(name):
    """Every IGMP frame of a scenario, whatever its link type and tags: scapy (given the IP
    packet) and the fast decoder agree, checksums are good, no finding; the rest is UDP."""
    igmp = udp = 0
    for number, linktype, data in frames(name):
        located = linklayer.locate_ipv4(linktype, data, 0, len(data))
        assert located.status == linklayer.OK, f"{name} frame {number}"
        protocol = data[located.ip + 9]
        if protocol == PROTO_PIM:       # routing-noise.pcap: PIMv2 hellos
            continue
        if protocol == PROTO_UDP:
            assert 224 <= data[located.ip + 16] <= 239, f"{name} frame {number}: UDP but not multicast"
            udp += 1
            continue
        assert protocol == PROTO_IGMP, f"{name} frame {number}: IP protocol {protocol}"
        fast = decode_ipv4(data[located.ip:])
        assert scapy_igmp.parse_ip(data[located.ip:]) == fast, f"{name} frame {number}"
        assert fast.checksum_ok and fast.ip_checksum_ok and not fast.findings, f"{name} frame {number}"
        igmp += 1
    assert igmp >= 4
    assert udp or name.endswith("querier-stubborn.pcap")


_TSHARK_FIELDS = ["frame.number", "ip.proto", "ip.checksum.status", "igmp.checksum.status",
                  "udp.checksum.status", "igmp.type", "igmp.maddr", "igmp.record_type", "ieee8021ad.id", "vlan.id",
                  "mp2t.sync_byte", "igmp.max_resp", "igmp.s", "igmp.qrv", "igmp.qqic", "igmp.num_src", "igmp.saddr"]


def _igmp_fields(message) -> dict[str, str]:
    """What tshark prints for an IGMP message mdiag decoded (lists joined with |)."""
    if isinstance(message, V3Report):
        return {"igmp.maddr": "|".join(str(r.group) for r in message.records),
                "igmp.record_type": "|".join(str(int(r.record_type)) for r in message.records),
                "igmp.num_src": "|".join(str(len(r.sources)) for r in message.records),
                "igmp.saddr": "|".join(str(s) for r in message.records for s in r.sources)}
    out = {"igmp.maddr": str(message.group)}
    if isinstance(message, V2Query):
        out["igmp.max_resp"] = str(round(message.max_resp_time * 10))  # tshark: the code, in tenths
    if isinstance(message, V3Query):
        out.update({"igmp.max_resp": str(round(message.max_resp_time * 10)), "igmp.qrv": str(message.qrv),
                    "igmp.s": str(int(message.s_flag)), "igmp.qqic": str(message.qqic),
                    "igmp.num_src": str(len(message.sources)),
                    "igmp.saddr": "|".join(str(s) for s in message.sources)})
    return out


@pytest.mark.tshark
@pytest.mark.parametrize("name", SCENARIOS)
def test_scenario_frames_decode_cleanly_in_tshark(name):
    """tshark, the independent decoder, reads every frame of a scenario through its link
    layer (SLL, SLL2, 802.1Q/802.1ad, raw IP in pcapng) with good IP, IGMP and UDP checksums
    and the same IGMP type and groups as mdiag; the data is MPEG-TS."""
    tshark = need_tool("tshark")
    cmd = [tshark, "-n", "-r", str(PCAPS / name), "-o", "ip.check_checksum:TRUE", "-o", "udp.check_checksum:TRUE",
           "-T", "fields", "-E", "separator=\t", "-E", "occurrence=a", "-E", "aggregator=|"]
    for field_name in _TSHARK_FIELDS:
        cmd += ["-e", field_name]
    out = subprocess.run(cmd, capture_output=True, text=True, timeout=60, check=True).stdout
    rows = [dict(zip(_TSHARK_FIELDS, line.split("\t"))) for line in out.splitlines()]
    ours = list(frames(name))
    assert len(rows) == len(ours)
    checked = 0
    for row, (number, linktype, data) in zip(rows, ours):
        assert row["ip.checksum.status"] == "1", f"{name} frame {number}: {row}"
        located = linklayer.locate_ipv4(linktype, data, 0, len(data))
        if row["ip.proto"] == str(PROTO_PIM):
            checked += 1
            continue
        if row["ip.proto"] == str(PROTO_UDP):
            assert row["udp.checksum.status"] == "1", f"{name} frame {number}"
            if data[located.ip + 16:located.ip + 19] != bytes([224, 0, 0]):   # link-local control: no TS
                assert int(row["mp2t.sync_byte"], 16) == 0x47, f"{name} frame {number}"
            continue
        if data[located.ip + ((data[located.ip] & 0x0F) << 2)] in ROUTING_TYPES:
            checked += 1  # DVMRP, PIMv1, MRD: tshark dissects them with their own protocols
            continue
        assert row["igmp.checksum.status"] == "1", f"{name} frame {number}: {row}"
        message = decode_ipv4(data[located.ip:]).message
        assert int(row["igmp.type"], 16) == message.type, f"{name} frame {number}"
        want = _igmp_fields(message)
        got = {key: row[key] for key in want}
        if "igmp.s" in got:
            got["igmp.s"] = "1" if got["igmp.s"] in ("1", "True") else "0"
        assert got == want, f"{name} frame {number}"
        checked += 1
        if located.key and located.key[0] >= 0:
            tags = [t for t in (row["ieee8021ad.id"], row["vlan.id"]) if t]  # tshark names the S-tag apart
            assert tags == [str(v) for v in located.key], f"{name} frame {number}"
    assert checked >= 4


@pytest.mark.parametrize("name", MLD)
def test_mld_frames_decode_cleanly_and_both_decoders_agree(name):
    """Every MLD frame of pcaps/mld/, tagged or not: the scapy MLD adapter and the fast
    decoder agree, checksums are good, no finding; the rest is IPv6 multicast UDP,
    neighbour discovery, or IGMP and IPv4 UDP in the dual-stack capture."""
    from mdiag.adapters import scapy_mld
    from mdiag.core import mld

    seen = 0
    for number, linktype, data in frames(name):
        located = linklayer.locate_ipv6(linktype, data, 0, len(data))
        if located.status != linklayer.OK:
            assert linklayer.locate_ipv4(linktype, data, 0, len(data)).status == linklayer.OK
            assert name == "mld/dual-stack.pcap", f"{name} frame {number}"
            continue
        packet = data[located.ip:]
        if packet[6] == PROTO_UDP:
            assert packet[24] == 0xFF, f"{name} frame {number}: UDP but not multicast"
            continue
        try:
            fast = mld.decode_ipv6(packet)
        except mld.NotMld:
            assert packet[40] == 135, f"{name} frame {number}: only neighbour solicitations are not MLD"
            continue
        assert scapy_mld.parse_ip(packet) == fast, f"{name} frame {number}"
        assert fast.checksum_ok and not fast.findings, f"{name} frame {number}: {fast.findings}"
        seen += 1
    assert seen >= 4


def test_malformed_frames_have_one_finding_each():
    expected = {1: "igmp-checksum-bad", 2: "ip-checksum-bad", 3: "ip-ttl-not-1", 4: "router-alert-missing",
                5: "wrong-destination", 6: "general-query-with-sources", 7: "report-for-all-systems",
                10: "trailing-bytes", 11: "record-aux-data", 12: "ssm-exclude-mode", 13: "reserved-nonzero",
                14: "query-from-zero-source", 15: None, 16: "record-type-unknown"}
    for number, _, data in frames("malformed.pcap"):
        if number in pcapgen.UNDECODABLE_FRAMES:
            with pytest.raises(MalformedPacket):
                decode_ipv4(data[14:])
            continue
        codes = [f.code for f in decode_ipv4(data[14:]).findings]
        assert codes == ([expected[number]] if expected[number] else []), f"frame {number}: {codes}"


def test_generator_writes_bulk_capture(tmp_path):
    path = tmp_path / "bulk.pcap"
    pcapgen.main([str(path), "--bulk", "500"])
    kinds = set()
    with open_capture(path) as capture:
        for frame in capture:
            kinds.add(decode_ipv4(frame.data[14:]).kind)
    assert {"v2-report", "v2-leave", "v3-report"} <= kinds
    assert os.path.getsize(path) > 500 * 46
