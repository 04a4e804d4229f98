"""MLD hex vectors from a real Linux bridge and kernel hosts (shared reference mld.md):
decode to the expected fields, re-encode byte for byte, and the codes and checksums."""

from __future__ import annotations

import pytest

from mdiag.core import mld
from mdiag.core.floatcode import IGMP_CODE, MLD_MRC
from mdiag.core.mld import Mld1Done, Mld1Report, Mld2Query, Mld2Report, MldRecord, RecordType

QUERY = ("3333000000013ecd75c629de86dd6000000000240001fe800000000000003ccd75fffec629deff02000000000000000000000000"
         "00013a00050200000000820096f40bb800000000000000000000000000000000000002060000")
V1_REPORT = ("3333001000028e4a54ab0ff286dd6000000000200001fe800000000000008c4a54fffeab0ff2ff3e00000000000000000000"
             "001000023a0005020000010083008fa200000000ff3e0000000000000000000000100002")
V1_DONE = ("3333000000028e4a54ab0ff286dd6000000000200001fe800000000000008c4a54fffeab0ff2ff020000000000000000000000"
           "0000023a0005020000010084008eee00000000ff3e0000000000000000000000100002")
V2_REPORT = ("33330000001682cb7777982f86dd6000000000600001fe8000000000000080cb77fffe77982fff0200000000000000000000"
             "000000163a000502000001008f0047fa0000000402000000ff3e000000000000000000000010000202000000ff3e00000000"
             "0000000000000010000102000000ff0200000000000000000001ff77982f02000000ff0200000000000000000001ff000011")

VECTORS = [
    # (hex, message, checksum, hbh options, finding codes)
    (QUERY, Mld2Query(3000, "::", False, 2, 6), 0x96F4, mld.HBH_PAD1, ()),
    (V1_REPORT, Mld1Report("ff3e::10:2"), 0x8FA2, mld.HBH_PADN, ("ssm-old-version-report",)),
    (V1_DONE, Mld1Done("ff3e::10:2"), 0x8EEE, mld.HBH_PADN, ()),
    (V2_REPORT, Mld2Report(tuple(MldRecord(RecordType.MODE_IS_EXCLUDE, g) for g in
                                 ("ff3e::10:2", "ff3e::10:1", "ff02::1:ff77:982f", "ff02::1:ff00:11"))),
     0x47FA, mld.HBH_PADN, ("ssm-exclude-mode", "ssm-exclude-mode")),
]


@pytest.mark.parametrize("text, message, checksum, hbh, codes", VECTORS)
def test_real_vector_decodes_and_re_encodes(text, message, checksum, hbh, codes):
    frame = bytes.fromhex(text)
    decoded = mld.decode_ipv6(frame[14:])
    assert decoded.message == message
    assert decoded.checksum == checksum and decoded.checksum_ok is True
    assert decoded.ip.hop_limit == 1 and decoded.ip.router_alert and decoded.ip.hbh_options == hbh
    assert decoded.ip.chain == (0,) and decoded.ip.src.is_link_local
    assert tuple(f.code for f in decoded.findings) == codes
    assert decoded == mld.wire._decode_ipv6_general(frame[14:])
    assert mld.build_frame(message, decoded.ip.header()) == frame  # MACs: 33:33 mapping and the EUI-64
    assert mld.encode(message, decoded.ip.src, decoded.ip.dst) == frame[62:]


def test_query_fields_in_seconds():
    q = mld.decode_ipv6(bytes.fromhex(QUERY)[14:]).message
    assert (q.max_resp_delay, q.max_resp_time, q.qqi, q.qrv, q.kind, q.is_general) == (3000, 3.0, 6, 2,
                                                                                        "mld2-query", True)


@pytest.mark.parametrize("code, value", [(0, 0), (1, 1), (0x7FFF, 32767), (0x8000, 32768), (0x8001, 32776),
                                         (0x8FFF, 65528), (0x9000, 65536), (0xFFFF, 8387584)])
def test_16_bit_maximum_response_code(code, value):
    assert MLD_MRC.decode(code) == value
    assert MLD_MRC.encode(value) == code


def test_float_codes_round_down_and_refuse_what_they_cannot_carry():
    assert MLD_MRC.encode(32769) == 0x8000       # 32768 is the largest representable value below
    assert MLD_MRC.encode(8387584) == 0xFFFF
    with pytest.raises(ValueError):
        MLD_MRC.encode(8387585)
    assert IGMP_CODE.max_value == 31744 and IGMP_CODE.encode(31744) == 0xFF
    assert all(MLD_MRC.decode(MLD_MRC.encode(v)) <= v for v in range(0, 9_000_000, 997) if v <= 8387584)


def test_icmp6_checksum_covers_the_pseudo_header():
    frame = bytes.fromhex(V1_DONE)
    packet = frame[14:]
    src, dst = mld.address(packet[8:24]), mld.address(packet[24:40])
    icmp = packet[48:]
    assert mld.icmp6_checksum(src, dst, icmp[:2] + b"\0\0" + icmp[4:]) == 0x8EEE
    assert mld.icmp6_checksum(mld.address("fe80::1"), dst, icmp[:2] + b"\0\0" + icmp[4:]) != 0x8EEE


def test_multicast_mac_is_33_33_and_the_low_32_bits():
    assert mld.multicast_mac("ff02::16") == "33:33:00:00:00:16"
    assert mld.multicast_mac("ff02::1:ff77:982f") == "33:33:ff:77:98:2f"
