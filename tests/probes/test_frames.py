"""mdiag.probes.frames: what a captured Ethernet frame means to a probe, VLAN tags included
(the link layer is walked by core.linklayer, the one walker)."""

from __future__ import annotations

import pytest

from mdiag.core.delay import EventKind
from mdiag.core.igmp.messages import GroupRecord, V2Leave, V2Report, V3Query, V3Report
from mdiag.probes.frames import StreamMatcher, classify, datagram_group, decode_igmp, membership_change
from tests.probes.fakes import igmp_frame, udp_frame

G = "239.1.2.3"


def _tagged(frame: bytes, *tags: int) -> bytes:
    """``frame`` with 802.1Q/802.1ad tags (TPID, VLAN id) inserted after the MAC addresses."""
    inserted = b"".join(tpid.to_bytes(2, "big") + vid.to_bytes(2, "big") for tpid, vid in
                        zip(tags[::2], tags[1::2], strict=True))
    return frame[:12] + inserted + frame[12:]


@pytest.mark.parametrize("tags", [(), (0x8100, 10), (0x88A8, 100, 0x8100, 10)])
def test_igmp_and_datagrams_are_found_behind_vlan_tags(tags):
    report = _tagged(igmp_frame(V2Report(G), "198.18.0.12", mac="02:00:c6:12:00:0c"), *tags)
    decoded, mac = decode_igmp(report)
    assert isinstance(decoded.message, V2Report) and mac == "02:00:c6:12:00:0c"
    data = _tagged(udp_frame(G, 5001), *tags)
    assert datagram_group(data, 5001) == G and datagram_group(data, 5002) is None
    assert StreamMatcher(G, 5001)(data) and not StreamMatcher("239.1.2.4", 5001)(data)
    assert StreamMatcher(G, None)(data)


@pytest.mark.parametrize("frame", [b"", b"\x00" * 13, bytes(12) + b"\x86\xdd" + bytes(40),
                                   udp_frame(G, 5001)[:30]])
def test_short_or_foreign_frames_mean_nothing(frame):
    assert decode_igmp(frame) is None and datagram_group(frame, 5001) is None
    assert not StreamMatcher(G, 5001)(frame)


@pytest.mark.parametrize("message, source, kind", [
    (V2Report(G), None, EventKind.JOIN),
    (V2Leave(G), None, EventKind.LEAVE),
    (V3Report((GroupRecord("TO_EX", G),)), None, EventKind.JOIN),
    (V3Report((GroupRecord("TO_IN", G),)), None, EventKind.LEAVE),
    (V3Report((GroupRecord("ALLOW", G, ["198.18.0.11"]),)), "198.18.0.11", EventKind.JOIN),
    (V3Report((GroupRecord("BLOCK", G, ["198.18.0.11"]),)), "198.18.0.11", EventKind.LEAVE),
    (V3Report((GroupRecord("ALLOW", G, ["198.18.0.99"]),)), "198.18.0.11", None),
    (V3Report((GroupRecord("TO_EX", "239.9.9.9"),)), None, None),
    (V3Query.build(), None, None),
])
def test_membership_changes_per_record_type(message, source, kind):
    assert membership_change(message, G, source) is kind


def test_classify_reads_direction():
    data = StreamMatcher(G, 5001)
    join = igmp_frame(V3Report((GroupRecord("TO_EX", G),)), "198.18.0.12")
    assert classify(join, True, G, None, data) is EventKind.JOIN
    assert classify(join, False, G, None, data) is None       # someone else's report
    assert classify(udp_frame(G, 5001), False, G, None, data) is EventKind.DATA
    assert classify(udp_frame(G, 5001), True, G, None, data) is None  # our own datagram going out
