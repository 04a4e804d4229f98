"""Property tests: round trips, no exception but MalformedPacket for any bytes, model validation."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mdiag.core.igmp import (
    GroupRecord,
    IPv4Header,
    MalformedPacket,
    RecordType,
    UnknownMessage,
    V1Query,
    V2Query,
    V2Report,
    V3Query,
    V3Report,
    decode_igmp,
    decode_ipv4,
    encode,
    encode_ipv4,
)

from tests.core.igmp.strategies import headers, messages

FAST = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@FAST
@given(messages)
def test_model_bytes_model_is_identity(message):
    decoded = decode_igmp(encode(message))
    assert decoded.message == message
    assert decoded.checksum_ok is True or type(message) is UnknownMessage  # kept as received
    assert decoded.trailing == b""


@FAST
@given(messages, headers, st.binary(max_size=6))
def test_ip_round_trip(message, header, trailing):
    if type(message) in (V1Query, V2Query, UnknownMessage):
        trailing = b""  # bytes after an 8-byte query change its version (RFC 3376 7.1); unknowns keep all
    packet = encode_ipv4(message, header, trailing=trailing)
    decoded = decode_ipv4(packet + b"\0" * 5)  # link-layer padding is cut at the IP total length
    assert decoded.message == message
    assert decoded.ip_checksum_ok and (decoded.checksum_ok or type(message) is UnknownMessage)
    assert (decoded.ip.src, decoded.ip.dst, decoded.ttl, decoded.tos, decoded.df, decoded.router_alert) == (
        header.src, header.dst, header.ttl, header.tos, header.df, header.router_alert)
    assert decoded.trailing == trailing


def _only_malformed(fn, data):
    try:
        fn(data)
    except MalformedPacket as exc:
        assert 0 <= exc.offset <= max(len(data), 60)
        assert exc.expected


@FAST
@given(st.binary(max_size=80))
def test_random_bytes_never_raise_anything_else(data):
    _only_malformed(decode_igmp, data)
    _only_malformed(decode_ipv4, data)
    _only_malformed(decode_ipv4, bytes.fromhex("46c0") + data)


@FAST
@given(messages, headers, st.data())
def test_mutated_packets_never_raise_anything_else(message, header, data):
    packet = bytearray(encode_ipv4(message, header))
    for _ in range(data.draw(st.integers(1, 4))):
        index = data.draw(st.integers(0, len(packet) - 1))
        packet[index] = data.draw(st.integers(0, 255))
    cut = data.draw(st.integers(0, len(packet)))
    _only_malformed(decode_ipv4, bytes(packet[:cut]))
    _only_malformed(decode_ipv4, bytes(packet))
    _only_malformed(decode_igmp, bytes(packet[24:]))


@settings(max_examples=60, deadline=None)
@given(messages)
def test_every_prefix_is_decoded_or_malformed(message):
    wire = encode(message)
    for cut in range(len(wire)):
        _only_malformed(decode_igmp, wire[:cut])


@pytest.mark.parametrize(("build", "error"), [
    (lambda: V2Query(0), ValueError),
    (lambda: V2Query(256), ValueError),
    (lambda: V3Query(qrv=8), ValueError),
    (lambda: V3Query(reserved=16), ValueError),
    (lambda: V3Query(sources="10.0.0.1"), TypeError),
    (lambda: V2Report("239.1.1"), ValueError),
    (lambda: GroupRecord(RecordType.ALLOW_NEW_SOURCES, "232.1.1.1", (), b"abc"), ValueError),
    (lambda: GroupRecord("sideways", "232.1.1.1"), ValueError),
    (lambda: V3Report(("not a record",)), TypeError),
    (lambda: UnknownMessage(b""), ValueError),
    (lambda: IPv4Header(ttl=300), ValueError),
    (lambda: IPv4Header(options=b"\x94\x04\x00"), ValueError),
])
def test_models_validate(build, error):
    with pytest.raises(error):
        build()


def test_models_are_frozen_and_hashable():
    report = V2Report("239.1.1.1")
    with pytest.raises(AttributeError):
        report.group = "239.1.1.2"  # type: ignore[misc]
    assert len({report, V2Report("239.1.1.1")}) == 1
    assert RecordType.parse("to-ex") is RecordType.CHANGE_TO_EXCLUDE_MODE
    assert V3Query.build(group="232.1.1.1", max_resp_time=100).max_resp_time == 99.2
    assert V3Query.build(qqi=1000).qqi == 992


@pytest.mark.parametrize(("hexdata", "kind", "version"), [
    ("1100eeff00000000", "v1-query", 1),
    ("1164ee9b00000000", "v2-query", 2),
    ("1164ec1e00000000027d0000", "v3-query", 3),
    ("1164ec1e00000000027d0000deadbeef", "v3-query", 3),
])
def test_query_version_by_length_and_code(hexdata, kind, version):
    decoded = decode_igmp(bytes.fromhex(hexdata))
    assert (decoded.kind, decoded.version) == (kind, version)


@pytest.mark.parametrize("length", [9, 10, 11])
def test_query_of_9_to_11_bytes_is_malformed(length):
    with pytest.raises(MalformedPacket) as exc:
        decode_igmp(bytes.fromhex("1164ee9b00000000027d00")[:length])
    assert exc.value.offset == 8


def test_v1_checksum_covers_8_bytes_v2_whole_payload():
    v1 = bytes.fromhex("1200fcfaef010203") + b"\x01\x02"
    assert decode_igmp(v1).checksum_ok  # RFC 1112: 8 bytes
    v2 = bytes.fromhex("1600f8faef010203") + b"\x01\x02"
    assert decode_igmp(v2).checksum_ok is False  # RFC 2236: whole payload
    assert decode_igmp(encode(V2Report("239.1.2.3"), trailing=b"\x01\x02")).checksum_ok


def test_truncated_ip_packet_reports_unverifiable_checksum():
    packet = encode_ipv4(V3Report((GroupRecord(5, "232.1.1.1", ("10.0.0.1", "10.0.0.2")),)))
    header = bytearray(packet[:24])
    header[2:4] = (len(packet) + 8).to_bytes(2, "big")  # claims more than was captured
    decoded = decode_ipv4(bytes(header) + packet[24:])
    assert decoded.checksum_ok is None
    assert "ip-truncated" in [f.code for f in decoded.findings]


def test_not_igmp_and_fragments():
    from mdiag.core.igmp import NotIgmp

    udp = bytearray(encode_ipv4(V2Report("239.1.1.1")))
    udp[9] = 17
    with pytest.raises(NotIgmp):
        decode_ipv4(bytes(udp))
    frag = bytearray(encode_ipv4(V2Report("239.1.1.1")))
    frag[6] |= 0x20
    with pytest.raises(NotIgmp):
        decode_ipv4(bytes(frag))
