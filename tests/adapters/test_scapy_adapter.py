"""Differential tests: scapy adapter vs the pure core, on every kind and on generated messages."""

from __future__ import annotations

import subprocess
import sys

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mdiag.adapters import scapy_igmp
from mdiag.core.igmp import (
    GroupRecord,
    IPv4Header,
    MalformedPacket,
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
)

from tests.core.igmp.strategies import headers, messages

SLOW = settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])

KINDS = [V1Query(), V1Report("239.1.1.1"), V2Query(100), V2Query(10, "239.1.1.1"), V2Report("239.1.1.1"),
         V2Leave("239.1.1.1"), V3Query(), V3Query(10, "239.1.1.1", True), V3Query(10, "232.1.1.1", False, 2, 125,
                                                                                 ("198.18.0.5", "198.18.0.6")),
         V3Report((GroupRecord(4, "239.1.1.1"), GroupRecord(5, "232.1.1.1", ("198.18.0.5",), b"\0\0\0\1"))),
         UnknownMessage(bytes.fromhex("30140000007d0002"))]


@pytest.mark.parametrize("message", KINDS, ids=lambda m: m.kind)
def test_every_kind_builds_identically_and_parses_back(message):
    frame = build_frame(message, src="198.18.0.10")
    assert scapy_igmp.build_frame(message, src="198.18.0.10") == frame
    assert scapy_igmp.parse_frame(frame) == decode_ipv4(frame[14:])
    assert scapy_igmp.parse_frame(frame).message == message


@SLOW
@given(messages, headers, st.booleans(), st.one_of(st.none(), st.integers(0, 0xFFFF)), st.binary(max_size=4))
def test_builders_agree_and_decoders_agree(message, header, vlan, checksum, trailing):
    if type(message) in (V1Query, V2Query, UnknownMessage):
        trailing = b""
    if type(message) is UnknownMessage:
        checksum = None
    kwargs = dict(vlan=42 if vlan else None, checksum=checksum, trailing=trailing)
    frame = build_frame(message, header, **kwargs)
    assert scapy_igmp.build_frame(message, header, **kwargs) == frame
    fast = decode_ipv4(frame[18 if vlan else 14:])
    assert scapy_igmp.parse_frame(frame) == fast
    assert fast.message == message


@SLOW
@given(st.binary(min_size=0, max_size=70))
def test_scapy_parser_raises_only_malformed(data):
    ip = bytes.fromhex("46c000240000400001020000c0a8010ae000000194040000")
    for packet in (data, ip[:2] + len(ip + data).to_bytes(2, "big") + ip[4:] + data):
        try:
            scapy_igmp.parse_ip(packet)
        except MalformedPacket:
            pass


def test_router_alert_can_be_left_out():
    frame = scapy_igmp.build_frame(V2Report("239.1.1.1"), IPv4Header(src="198.18.0.10", dst="239.1.1.1",
                                                                     router_alert=False))
    decoded = decode_ipv4(frame[14:])
    assert decoded.router_alert is False and decoded.ip.ihl == 5
    assert [f.code for f in decoded.findings] == ["router-alert-missing"]


def test_import_gives_no_deprecation_warning():
    code = "import warnings; warnings.simplefilter('error'); import mdiag.adapters.scapy_igmp as s; print(s.NEW_API)"
    out = subprocess.run([sys.executable, "-W", "error::DeprecationWarning", "-c", code],
                         capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr


def test_parses_scapy_packets_and_cuts_ethernet_padding():
    from scapy.layers.l2 import Ether

    frame = build_frame(V2Report("239.1.1.1"), src="198.18.0.10", pad_to=60)
    from_packet = scapy_igmp.parse_frame(Ether(frame))
    assert from_packet == decode_ipv4(frame[14:]) == scapy_igmp.parse_frame(frame)
    assert from_packet.trailing == b"" and from_packet.findings == ()
    assert scapy_igmp.parse_ip(Ether(frame)[1]).message == V2Report("239.1.1.1")


def test_core_codec_imports_without_scapy_or_sockets():
    code = (
        "import sys\n"
        "class Block:\n"
        "    def find_spec(self, name, path=None, target=None):\n"
        "        if name.split('.')[0] in ('scapy', 'socket', 'netifaces'):\n"
        "            raise ImportError('blocked: ' + name)\n"
        "sys.meta_path.insert(0, Block())\n"
        "import mdiag.core.igmp as igmp\n"
        "frame = igmp.build_frame(igmp.V2Report('239.1.1.1'), src='198.18.0.1')\n"
        "assert igmp.decode_ipv4(frame[14:]).checksum_ok\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
