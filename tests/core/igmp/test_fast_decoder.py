"""The inline fast path of decode_ipv4 gives exactly what the general path gives.

``wire.decode_ipv4`` decodes conforming packets itself and hands everything else to
``wire._decode_ipv4_general``. These tests hold the two to the same answer (the same
Decoded, compared by repr so even the RecordType members must match, or the same
MalformedPacket) on generated packets that are conforming, nearly conforming and
damaged, with the payload memo off and on, and check that conforming packets of
every kind really take the fast path.
"""

from __future__ import annotations

from ipaddress import IPv4Address

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mdiag.core.igmp import (
    GroupRecord,
    IPv4Header,
    MalformedPacket,
    V1Query,
    V1Report,
    V2Leave,
    V2Query,
    V2Report,
    V3Query,
    V3Report,
    default_destination,
    encode_ipv4,
    wire,
)

from tests.core.igmp.strategies import headers, messages

FAST = settings(max_examples=250, deadline=None, suppress_health_check=[HealthCheck.too_slow])

# Conforming values, with a few edge cases mixed in so both paths are exercised.
groups = st.one_of(st.integers(0xEF000000, 0xEFFFFFFF), st.integers(0xE8000000, 0xE8FFFFFF),
                   st.sampled_from([0xE0000001, 0xE0000002, 0xE00000FB, 0xEFFFFFFF, 0xF0000000, 0]))
unicast = st.one_of(st.integers(0xC6120000, 0xC613FFFF), st.sampled_from([0, 0xE0000001, 0xFFFFFFFF]))
source_lists = st.lists(unicast, max_size=3).map(tuple)
records = st.builds(GroupRecord, st.sampled_from([1, 2, 3, 4, 5, 6, 6, 0, 7]), groups, source_lists,
                    st.sampled_from([b"", b"", b"", b"\x00\x00\x00\x00"]))
conforming = st.one_of(
    st.builds(V2Report, groups), st.builds(V2Leave, groups), st.builds(V1Report, groups),
    st.builds(V1Query, st.sampled_from([0, 0xEF010101])),
    st.builds(V2Query, st.integers(1, 255), st.one_of(st.just(0), groups)),
    st.builds(V3Query, st.integers(0, 255), st.one_of(st.just(0), groups), st.booleans(), st.integers(0, 7),
              st.integers(0, 255), source_lists, st.sampled_from([0, 0, 0, 1])),
    st.builds(V3Report, st.lists(records, max_size=3).map(tuple), st.sampled_from([0, 0, 0, 1]),
              st.sampled_from([0, 0, 0, 1])),
)


def _outcome(decode, packet: bytes) -> str:
    try:
        return repr(decode(packet))
    except MalformedPacket as exc:
        return f"{type(exc).__name__} {exc.offset} {exc.expected!r} {exc}"


def _same(packet: bytes) -> None:
    wire.set_payload_memo(False)
    try:
        general = _outcome(wire._decode_ipv4_general, packet)
        assert _outcome(wire.decode_ipv4, packet) == general
        wire.set_payload_memo(True)
        assert _outcome(wire.decode_ipv4, packet) == general    # fills the memo
        assert _outcome(wire.decode_ipv4, packet) == general    # answered from the memo
    finally:
        wire.set_payload_memo(True)


@st.composite
def near_conforming_packets(draw: st.DrawFn) -> bytes:
    message = draw(conforming)
    header = IPv4Header(
        src=IPv4Address(draw(st.sampled_from([0xC6120005, 0xC6120005, 0]))),
        dst=draw(st.sampled_from([default_destination(message)] * 4 + [IPv4Address("224.0.0.1")])),
        ttl=draw(st.sampled_from([1, 1, 1, 2])),
        tos=draw(st.sampled_from([0xC0, 0xC0, 0])),
        router_alert=draw(st.sampled_from([True, True, False])),
        identification=draw(st.integers(0, 3)),
    )
    trailing = draw(st.sampled_from([b""] * 6 + [b"\x00", b"\x00\x00\x00\x00"]))
    packet = bytearray(encode_ipv4(message, header, trailing=trailing))
    if draw(st.integers(0, 4)) == 0:       # damage one byte anywhere
        packet[draw(st.integers(0, len(packet) - 1))] = draw(st.integers(0, 255))
    cut = draw(st.sampled_from([len(packet)] * 6 + [len(packet) - 1, 27, 24]))
    padding = draw(st.sampled_from([b"", b"", b"\x00" * 6]))   # Ethernet padding past the total length
    return bytes(packet[:cut]) + padding


@FAST
@given(near_conforming_packets())
def test_fast_path_agrees_with_general_path(packet):
    _same(packet)


@FAST
@given(messages, headers, st.binary(max_size=4))
def test_fast_path_agrees_on_arbitrary_models_and_headers(message, header, trailing):
    _same(encode_ipv4(message, header, trailing=trailing))


@FAST
@given(st.binary(min_size=0, max_size=64))
def test_fast_path_agrees_on_random_bytes(data):
    _same(data)
    _same(bytes.fromhex("46c0") + data)
    _same(bytes.fromhex("4500") + data)


CONFORMING = [
    V2Report("239.1.1.1"), V2Leave("239.1.1.1"), V1Report("239.1.1.1"), V1Query(), V2Query(100),
    V2Query(10, "239.1.1.1"), V3Query(), V3Query(10, "232.1.1.1", True, 2, 125, ("198.18.0.5", "198.18.0.6")),
    V3Report(()), V3Report((GroupRecord(2, "239.1.1.1"),
                           GroupRecord(5, "232.1.1.1", ("198.18.0.5",)),
                           GroupRecord(1, "232.1.1.2", ("198.18.0.5", "198.18.0.6")))),
]


@pytest.mark.parametrize("message", CONFORMING, ids=lambda m: m.kind)
def test_conforming_packets_take_the_fast_path(message, monkeypatch):
    calls = []
    general = wire._decode_ipv4_general
    monkeypatch.setattr(wire, "_decode_ipv4_general", lambda p: calls.append(p) or general(p))
    header = IPv4Header(src=IPv4Address("198.18.0.1"), dst=default_destination(message),
                        router_alert=type(message) not in (V1Query, V1Report))
    packet = encode_ipv4(message, header)
    wire.set_payload_memo(False)
    try:
        decoded = wire.decode_ipv4(packet)
    finally:
        wire.set_payload_memo(True)
    assert calls == []
    assert decoded.message == message and decoded.findings == ()
    assert decoded.checksum_ok and decoded.ip_checksum_ok and decoded.trailing == b""
    assert repr(decoded) == repr(general(packet))


_SRC = IPv4Address("198.18.0.5")
_G = IPv4Address("239.1.1.1")


@pytest.mark.parametrize(("packet", "code"), [
    (encode_ipv4(V2Report(_G), IPv4Header(src=_SRC, dst=_G), checksum=0x1234), "igmp-checksum-bad"),
    (encode_ipv4(V2Report(_G), IPv4Header(src=_SRC, dst=_G, ttl=2)), "ip-ttl-not-1"),
    (encode_ipv4(V2Report(_G), IPv4Header(src=_SRC, dst=_G, router_alert=False)), "router-alert-missing"),
    (encode_ipv4(V2Report(_G), IPv4Header(src=_SRC, dst=_G), trailing=b"\0\0"), "trailing-bytes"),
    (encode_ipv4(V2Leave(_G), IPv4Header(src=_SRC, dst=_G)), "wrong-destination"),
    (encode_ipv4(V2Report("232.1.1.1"), IPv4Header(src=_SRC, dst=IPv4Address("232.1.1.1"))),
     "ssm-old-version-report"),
    (encode_ipv4(V3Report((GroupRecord(2, "232.1.1.1"),)), IPv4Header(src=_SRC, dst=IPv4Address("224.0.0.22"))),
     "ssm-exclude-mode"),
    (encode_ipv4(V3Report((GroupRecord(1, _G, ("224.1.1.1",)),)),
                 IPv4Header(src=_SRC, dst=IPv4Address("224.0.0.22"))), "source-not-unicast"),
    (encode_ipv4(V3Query(), IPv4Header(src=IPv4Address(0), dst=IPv4Address("224.0.0.1"))),
     "query-from-zero-source"),
    (encode_ipv4(V3Query(), IPv4Header(src=_SRC, dst=IPv4Address("224.0.0.1"), tos=0)), "ip-tos-not-0xc0"),
    (encode_ipv4(V3Query(reserved=1), IPv4Header(src=_SRC, dst=IPv4Address("224.0.0.1"))), "reserved-nonzero"),
], ids=lambda v: v if isinstance(v, str) else "")
def test_nonconforming_packets_keep_their_findings(packet, code):
    _same(packet)
    assert code in [f.code for f in wire.decode_ipv4(packet).findings]
