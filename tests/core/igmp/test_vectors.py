"""Fixed hex vectors (shared reference igmp.md section 7): encode byte-equal, decode back."""

from __future__ import annotations

import pytest

from mdiag.core.igmp import (
    GroupRecord,
    IPv4Header,
    RecordType,
    V1Query,
    V1Report,
    V2Leave,
    V2Query,
    V2Report,
    V3Query,
    V3Report,
    decode_igmp,
    decode_ipv4,
    encode,
)

H = bytes.fromhex

VECTORS = [
    ("v1 query", V1Query(), "11 00 ee ff 00 00 00 00"),
    ("v2 general query mrt 100", V2Query(100), "11 64 ee 9b 00 00 00 00"),
    ("v2 report 239.1.2.3", V2Report("239.1.2.3"), "16 00 f8 fa ef 01 02 03"),
    ("v2 leave 239.1.2.3", V2Leave("239.1.2.3"), "17 00 f7 fa ef 01 02 03"),
    ("v1 report 239.1.2.3", V1Report("239.1.2.3"), "12 00 fc fa ef 01 02 03"),
    ("v3 general query", V3Query(100, "0.0.0.0", False, 2, 125), "11 64 ec 1e 00 00 00 00 02 7d 00 00"),
    ("v3 query mrc/qqic 0x89", V3Query(0x89, qrv=2, qqic=0x89), "11 89 eb ed 00 00 00 00 02 89 00 00"),
    ("v3 report allow 232.1.1.1",
     V3Report((GroupRecord(RecordType.ALLOW_NEW_SOURCES, "232.1.1.1", ("10.0.0.1", "10.0.0.2")),)),
     "22 00 db f6 00 00 00 01 05 00 00 02 e8 01 01 01 0a 00 00 01 0a 00 00 02"),
    ("v3 report to_ex {} 239.1.2.3",
     V3Report((GroupRecord(RecordType.CHANGE_TO_EXCLUDE_MODE, "239.1.2.3"),)),
     "22 00 e8 f9 00 00 00 01 04 00 00 00 ef 01 02 03"),
    ("v3 report to_in {} 239.1.2.3",
     V3Report((GroupRecord(RecordType.CHANGE_TO_INCLUDE_MODE, "239.1.2.3"),)),
     "22 00 e9 f9 00 00 00 01 03 00 00 00 ef 01 02 03"),
    ("v3 group-and-source query",
     V3Query(10, "232.1.1.1", True, 2, 125, ("10.0.0.1",)),
     "11 0a f1 73 e8 01 01 01 0a 7d 00 01 0a 00 00 01"),
]


@pytest.mark.parametrize(("name", "message", "wire"), VECTORS, ids=[v[0] for v in VECTORS])
def test_encode_matches_vector(name, message, wire):
    assert encode(message) == H(wire)


@pytest.mark.parametrize(("name", "message", "wire"), VECTORS, ids=[v[0] for v in VECTORS])
def test_decode_vector(name, message, wire):
    decoded = decode_igmp(H(wire))
    assert decoded.message == message
    assert decoded.checksum_ok is True
    assert decoded.findings == () or all(f.code in {"ssm-old-version-report"} for f in decoded.findings)


IP_VECTORS = [
    ("v2 report", IPv4Header(src="192.168.1.10", dst="239.1.2.3"), 8,
     "46 c0 00 20 00 00 40 00 01 02 31 61 c0 a8 01 0a ef 01 02 03 94 04 00 00"),
    ("v3 query", IPv4Header(src="192.168.1.1", dst="224.0.0.1"), 12,
     "46 c0 00 24 00 00 40 00 01 02 42 69 c0 a8 01 01 e0 00 00 01 94 04 00 00"),
    ("v3 report", IPv4Header(src="192.168.1.10", dst="224.0.0.22"), 24,
     "46 c0 00 30 00 00 40 00 01 02 42 3f c0 a8 01 0a e0 00 00 16 94 04 00 00"),
]


@pytest.mark.parametrize(("name", "header", "length", "wire"), IP_VECTORS, ids=[v[0] for v in IP_VECTORS])
def test_ip_header_vector(name, header, length, wire):
    assert header.encode(length) == H(wire)


def test_full_packet_decodes_with_ip_facts():
    packet = H("46 c0 00 20 00 00 40 00 01 02 31 61 c0 a8 01 0a ef 01 02 03 94 04 00 00"
               "16 00 f8 fa ef 01 02 03")
    decoded = decode_ipv4(packet + bytes(14))  # Ethernet-style padding is not IGMP
    assert decoded.message == V2Report("239.1.2.3")
    assert str(decoded.src) == "192.168.1.10" and str(decoded.dst) == "239.1.2.3"
    assert (decoded.ttl, decoded.tos, decoded.df, decoded.router_alert) == (1, 0xC0, True, True)
    assert decoded.ip_checksum_ok and decoded.checksum_ok
    assert decoded.findings == () and decoded.trailing == b""


def test_a_packet_over_64k_is_a_value_error_not_a_struct_error():
    """RFC 791 3.1: the total length is 16 bits; build_frame says so instead of crashing."""
    import pytest

    from mdiag.core.igmp import IPv4Header, V3Query, build_frame

    sources = [f"198.18.{i // 256}.{i % 256}" for i in range(17_000)]
    query = V3Query.build(group="232.1.1.1", sources=sources)
    with pytest.raises(ValueError, match="16-bit total length"):
        build_frame(query, IPv4Header(src="198.18.0.1", dst="232.1.1.1"))
