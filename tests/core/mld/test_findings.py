"""RFC rules on MLD as findings, table-driven: one crafted packet per rule, and malformed
input with its byte offset."""

from __future__ import annotations

import pytest

from mdiag.core import mld
from mdiag.core.mld import IPv6Header, MalformedPacket, Mld1Done, Mld1Query, Mld1Report, Mld2Query, Mld2Report
from mdiag.core.mld import MldRecord

LL = "fe80::1"
GQ = Mld2Query(10000, "::", False, 2, 125)
REPORT = Mld2Report((MldRecord(4, "ff05::1"),))


def _packet(message, checksum=None, trailing=b"", **header):
    fields = {"src": LL, "dst": mld.default_destination(message), **header}
    return mld.encode_ipv6(message, IPv6Header(**fields), checksum=checksum, trailing=trailing)


CASES = [
    ("conforming general query", _packet(GQ), ()),
    ("query from a global address", _packet(GQ, src="fd00::1"), ("mld-source-not-link-local",)),
    ("query from ::", _packet(GQ, src="::"), ("mld-source-not-link-local",)),
    ("hop limit 255", _packet(REPORT, hop_limit=255), ("hop-limit-not-1",)),
    ("no Router Alert", _packet(REPORT, router_alert=False), ("router-alert-missing",)),
    ("Router Alert after Pad1", _packet(REPORT, hbh_options=b"\x00\x05\x02\x00\x00\x00"), ()),
    ("v2 report from ::", _packet(REPORT, src="::"), ("mld2-report-from-unspecified",)),
    ("v1 report from ::", _packet(Mld1Report("ff05::1"), src="::"), ("mld-source-not-link-local",)),
    ("bad checksum", _packet(REPORT, checksum=0x1234), ("icmp6-checksum-bad",)),
    ("MRC above QQI", _packet(Mld2Query.build(max_resp_ms=200_000, qqi=125)), ("mrc-above-query-interval",)),
    ("v2 report to ff02::1", _packet(REPORT, dst="ff02::1"), ("wrong-destination",)),
    ("done to the group", _packet(Mld1Done("ff05::1"), dst="ff05::1"), ("wrong-destination",)),
    ("general query with sources", _packet(Mld2Query(sources=("fd00::5",))), ("general-query-with-sources",)),
    ("report for ff02::1", _packet(Mld1Report("ff02::1")), ("report-for-all-nodes",)),
    ("group not multicast", _packet(Mld1Report("fd00::9"), dst="ff05::1"), ("group-not-multicast",
                                                                           "wrong-destination")),
    ("multicast source", _packet(Mld2Report((MldRecord(5, "ff3e::1", ("ff05::2",)),))), ("source-not-unicast",)),
    ("aux data", _packet(Mld2Report((MldRecord(4, "ff05::1", (), b"\0\0\0\1"),))), ("record-aux-data",)),
    ("record type 9", _packet(Mld2Report((MldRecord(9, "ff05::1"),))), ("record-type-unknown",)),
    ("SSM in EXCLUDE", _packet(Mld2Report((MldRecord(4, "ff3e::1"),))), ("ssm-exclude-mode",)),
    ("trailing bytes", _packet(REPORT, trailing=b"\0\0"), ("trailing-bytes",)),
    ("reserved bits", _packet(Mld2Query(flags=3)), ("reserved-nonzero",)),
    ("v1 query", _packet(Mld1Query(10000)), ()),
]


@pytest.mark.parametrize("name, packet, codes", CASES, ids=[c[0] for c in CASES])
def test_rule(name, packet, codes):
    decoded = mld.decode_ipv6(packet)
    assert tuple(f.code for f in decoded.findings) == codes
    for f in decoded.findings:
        assert f.rfc and f.code in mld.FINDING_CODES


def test_a_packet_cut_inside_a_record_says_where():
    cut = _packet(Mld2Report((MldRecord(4, "ff05::1", ("fd00::1",)),)))
    with pytest.raises(MalformedPacket) as info:
        mld.decode_ipv6(cut[:-8])
    assert info.value.offset == 48 + 28  # the source list of record 1


def test_a_packet_cut_after_its_message_is_a_finding():
    packet = _packet(REPORT, trailing=bytes(8))
    decoded = mld.decode_ipv6(packet[:-4])
    assert decoded.message == REPORT and decoded.checksum_ok is None
    assert decoded.findings[0].code == "ip-truncated"


MALFORMED = [
    ("short IPv6 header", bytes(20), 20),
    ("IPv4", bytes.fromhex("45") + bytes(39), 0),
    ("Hop-by-Hop longer than the packet", bytes.fromhex("6000000000080001") + bytes(32) + bytes((58, 4)) + bytes(6),
     40),
    ("query of 26 bytes", _packet(Mld1Query(), trailing=b"\0\0"), 48 + 24),
    ("report header cut", _packet(Mld1Report("ff05::1"))[:60], 48 + 4),
]


@pytest.mark.parametrize("name, packet, offset", MALFORMED, ids=[m[0] for m in MALFORMED])
def test_malformed_says_where(name, packet, offset):
    if name == "report header cut":  # payload length says more than was captured
        packet = packet[:4] + (12).to_bytes(2, "big") + packet[6:]
    with pytest.raises(MalformedPacket) as info:
        mld.decode_ipv6(packet)
    assert info.value.offset == offset, info.value
