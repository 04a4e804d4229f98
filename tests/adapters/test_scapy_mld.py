"""The scapy MLD adapter and the pure core agree: same frames byte for byte, same decoded values."""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mdiag.adapters import scapy_mld
from mdiag.core import mld
from mdiag.core.mld import MalformedPacket, UnknownMld

from tests.core.mld.strategies import headers, messages
from tests.core.mld.test_vectors import VECTORS

FAST = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def test_real_vectors_build_and_parse_the_same():
    for text, message, *_ in VECTORS:
        frame = bytes.fromhex(text)
        decoded = mld.decode_ipv6(frame[14:])
        assert scapy_mld.build_frame(message, decoded.ip.header()) == frame
        assert scapy_mld.parse_frame(frame) == decoded


@FAST
@given(messages, headers, st.one_of(st.none(), st.integers(0, 0xFFFF)), st.sampled_from([None, 7]),
       st.sampled_from([b"", b"\x01\x02"]))
def test_scapy_builds_what_the_core_builds(message, header, checksum, vlan, trailing):
    if type(message) is UnknownMld:
        trailing = b""
    kwargs = dict(checksum=checksum, vlan=vlan, trailing=trailing)
    frame = mld.build_frame(message, header, **kwargs)
    assert scapy_mld.build_frame(message, header, **kwargs) == frame
    if vlan is None:
        try:
            core = mld.decode_ipv6(frame[14:])
        except MalformedPacket as exc:
            core = type(exc)
        try:
            theirs = scapy_mld.parse_frame(frame)
        except MalformedPacket as exc:
            theirs = type(exc)
        assert theirs == core


def test_show_names_every_layer():
    text = scapy_mld.show(scapy_mld.build_packet(mld.Mld1Done("ff05::1"), src="fe80::1"))
    for layer in ("Ethernet", "IPv6", "Hop-by-Hop", "Router Alert", "MLD - Multicast Listener Done"):
        assert layer in text
