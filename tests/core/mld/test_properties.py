"""MLD properties: round trips, the fast decoder equal to the general one, and nothing but
MalformedPacket for any bytes."""

from __future__ import annotations

import struct

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mdiag.core import mld
from mdiag.core.mld import (
    IPv6Header,
    MalformedPacket,
    Mld1Done,
    Mld1Query,
    Mld1Report,
    Mld2Query,
    Mld2Report,
    MldRecord,
    UnknownMld,
    wire,
)

from tests.core.mld.strategies import headers, link_local, messages

FAST = settings(max_examples=250, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def _outcome(decode, packet: bytes) -> str:
    try:
        return repr(decode(packet))
    except MalformedPacket as exc:
        return f"{type(exc).__name__} {exc.offset} {exc.expected!r} {exc}"


def _same(packet: bytes) -> str:
    wire.set_payload_memo(False)
    try:
        general = _outcome(wire._decode_ipv6_general, packet)
        assert _outcome(wire.decode_ipv6, packet) == general
        wire.set_payload_memo(True)
        assert _outcome(wire.decode_ipv6, packet) == general    # fills the memo
        assert _outcome(wire.decode_ipv6, packet) == general    # answered from the memo
        return general
    finally:
        wire.set_payload_memo(True)


@FAST
@given(messages, headers, st.binary(max_size=5))
def test_ip_round_trip_and_fast_equals_general(message, header, trailing):
    if type(message) in (Mld1Query, UnknownMld):
        trailing = b""  # bytes after a 24-byte query change its version (RFC 3810 8.1); unknowns keep all
    packet = mld.encode_ipv6(message, header, trailing=trailing)
    decoded = mld.decode_ipv6(packet + b"\0" * 4)  # link-layer padding is cut at the payload length
    assert decoded.message == message
    assert decoded.checksum_ok is True or type(message) is UnknownMld
    assert decoded.trailing == trailing
    assert (decoded.ip.src, decoded.ip.dst, decoded.ip.hop_limit, decoded.ip.traffic_class,
            decoded.ip.flow_label, decoded.ip.router_alert) == (
        header.src, header.dst, header.hop_limit, header.traffic_class, header.flow_label, header.router_alert)
    _same(packet)


groups = st.one_of(st.integers(0xFF05 << 112, (0xFF05 << 112) + 2**32),
                   st.sampled_from([0xFF02 << 112 | 1, 0xFF3E << 112 | 7, 0xFE80 << 112 | 1]))
unicast = st.one_of(st.integers(0xFD00 << 112, (0xFD00 << 112) + 2**16), st.sampled_from([0, 1, 0xFF02 << 112]))
conforming = st.one_of(
    st.builds(Mld1Report, groups), st.builds(Mld1Done, groups), st.builds(Mld1Report, groups, st.just(1)),
    st.builds(Mld1Query, st.integers(0, 0xFFFF), st.one_of(st.just(0), groups)),
    st.builds(Mld2Query, st.integers(0, 0xFFFF), st.one_of(st.just(0), groups), st.booleans(), st.integers(0, 7),
              st.integers(0, 255), st.lists(unicast, max_size=2).map(tuple)),
    st.builds(Mld2Report, st.lists(st.builds(MldRecord, st.sampled_from([1, 2, 3, 4, 5, 6, 6, 0, 7]), groups,
                                             st.lists(unicast, max_size=3).map(tuple),
                                             st.sampled_from([b"", b"", b"", b"\0\0\0\0"])),
                                   max_size=3).map(tuple), st.sampled_from([0, 0, 1]), st.sampled_from([0, 0, 1])),
)


@st.composite
def near_conforming_packets(draw: st.DrawFn) -> bytes:
    message = draw(conforming)
    src = draw(st.one_of(link_local, st.sampled_from([0, 0xFD00 << 112 | 5])))
    dst = draw(st.one_of(st.just(None), st.sampled_from([0xFF02 << 112 | 0x16, 0xFF02 << 112 | 2])))
    header = IPv6Header(src=src, dst=mld.default_destination(message) if dst is None else dst,
                        hop_limit=draw(st.sampled_from([1, 1, 1, 255])),
                        router_alert=draw(st.sampled_from([True, True, False])),
                        hbh_options=draw(st.sampled_from([None, mld.HBH_PAD1, b"\x05\x02\x00\x01"])))
    packet = mld.encode_ipv6(message, header, checksum=draw(st.sampled_from([None, None, None, 0x1234])))
    cut = draw(st.sampled_from([None, None, None, len(packet) - 3, 60]))
    return packet if cut is None else packet[:cut]


@FAST
@given(near_conforming_packets())
def test_fast_decoder_equals_general_on_near_conforming_packets(packet):
    _same(packet)


@FAST
@given(near_conforming_packets(), st.integers(0, 200), st.integers(0, 255))
def test_fast_decoder_equals_general_on_damaged_packets(packet, where, value):
    data = bytearray(packet)
    data[where % len(data)] = value
    _same(bytes(data))


@FAST
@given(st.binary(max_size=120))
def test_any_bytes_give_a_decoded_or_malformed_packet(data):
    for packet in (data, bytes.fromhex("6000000000200001") + data):
        _same(packet)
    try:
        mld.decode_icmp6(data)
    except MalformedPacket:
        pass


def test_conforming_reports_take_the_fast_path(monkeypatch):
    packets = [mld.encode_ipv6(m, IPv6Header(src="fe80::1", dst=mld.default_destination(m)))
               for m in (Mld1Report("ff05::1"), Mld1Done("ff05::1"),
                         Mld2Report((MldRecord(4, "ff05::1"), MldRecord(5, "ff3e::1", ("fd00::1",)))))]
    wire.set_payload_memo(False)
    try:
        monkeypatch.setattr(wire, "_decode_ipv6_general", lambda p: (_ for _ in ()).throw(AssertionError("slow")))
        for packet in packets:
            assert mld.decode_ipv6(packet).findings == ()
    finally:
        wire.set_payload_memo(True)


def test_walks_an_extension_chain_to_icmpv6():
    message = Mld2Report((MldRecord(4, "ff05::1"),))
    icmp = mld.encode(message, "fe80::1", "ff02::16")
    hbh = bytes((60, 0)) + mld.HBH_PADN          # Hop-by-Hop -> Destination Options
    dest = bytes((58, 1)) + bytes((1, 12)) + bytes(12)  # 16-byte Destination Options (PadN) -> ICMPv6
    body = hbh + dest + icmp
    packet = struct.pack("!IHBB", 6 << 28, len(body), 0, 1) + mld.address("fe80::1").packed \
        + mld.address("ff02::16").packed + body
    decoded = mld.decode_ipv6(packet)
    assert decoded.message == message and decoded.checksum_ok and decoded.findings == ()
    assert decoded.ip.chain == (0, 60)


@pytest.mark.parametrize("frag_field, chain, is_mld", [
    (0x0000, (0, 44), True),     # atomic fragment (offset 0, M 0): a whole packet (RFC 6946 4)
    (0x0006, (0, 44), True),     # reserved bits set, still offset 0 and M 0
    (0x0001, None, False),       # first fragment (M 1)
    (0x0008, None, False),       # a later fragment (offset 1)
    (0x0009, None, False),       # a middle fragment
])
def test_atomic_fragments_are_whole_packets(frag_field, chain, is_mld):
    """Hop-by-Hop -> Fragment -> ICMPv6: only a real fragment is not MLD."""
    message = Mld2Report((MldRecord(4, "ff05::1"),))
    icmp = mld.encode(message, "fe80::1", "ff02::16")
    body = bytes((44, 0)) + mld.HBH_PADN + struct.pack("!BBHI", 58, 0, frag_field, 7) + icmp
    packet = struct.pack("!IHBB", 6 << 28, len(body), 0, 1) + mld.address("fe80::1").packed \
        + mld.address("ff02::16").packed + body
    if not is_mld:
        with pytest.raises(mld.NotMld):
            mld.decode_ipv6(packet)
        return
    decoded = mld.decode_ipv6(packet)
    assert decoded.message == message and decoded.checksum_ok and decoded.findings == ()
    assert decoded.ip.chain == chain and decoded.ip.router_alert


def test_fragments_and_other_icmpv6_are_not_mld():
    frag = struct.pack("!IHBB", 6 << 28, 8 + 24, 44, 1) + bytes(16) + bytes(16) + bytes((58, 0, 0, 1)) \
        + bytes(4) + bytes((131,)) + bytes(23)
    echo = struct.pack("!IHBB", 6 << 28, 8, 58, 64) + bytes(32) + bytes((128, 0, 0, 0)) + bytes(4)
    udp = struct.pack("!IHBB", 6 << 28, 8, 17, 64) + bytes(32) + bytes(8)
    for packet in (frag, echo, udp):
        try:
            mld.decode_ipv6(packet)
        except mld.NotMld:
            continue
        raise AssertionError("decoded as MLD")
