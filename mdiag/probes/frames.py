"""What a captured Ethernet frame means to a probe: an IGMP or MLD message, a membership change
for a group, or a datagram of the test stream (IPv4 or IPv6). Pure; the link layer is walked by
:func:`mdiag.core.linklayer.locate_ipv4` / ``locate_ipv6`` (802.1Q/QinQ tags included), never by hand.
"""

from __future__ import annotations

import socket
from typing import Any

from mdiag.core import linklayer
from mdiag.core.delay import EventKind
from mdiag.core.igmp.messages import V1Report, V2Leave, V2Report, V3Report
from mdiag.core.igmp.wire import Decoded, MalformedPacket, decode_ipv4

IPPROTO_IGMP = 2
IPPROTO_UDP = 17


def ipv4_offset(frame: bytes) -> int | None:
    """Offset of the IPv4 header in an Ethernet frame, None when it carries no (whole) IPv4 header."""
    located = linklayer.locate_ipv4(linklayer.LINKTYPE_ETHERNET, frame, 0, len(frame))
    if located.status != linklayer.OK or len(frame) < located.ip + 20:
        return None
    return located.ip


def decode_igmp(frame: bytes) -> tuple[Decoded, str] | None:
    """(decoded IGMP packet, sender MAC) for an Ethernet frame carrying IGMP; None for anything
    else or a frame that cannot be decoded."""
    located = linklayer.locate_ipv4(linklayer.LINKTYPE_ETHERNET, frame, 0, len(frame))
    if located.status != linklayer.OK or len(frame) <= located.ip + 9 \
            or frame[located.ip + 9] != IPPROTO_IGMP:
        return None
    try:
        decoded = decode_ipv4(frame[located.ip:])
    except MalformedPacket:
        return None
    mac = located.src_mac or b"\0" * 6
    return decoded, ":".join(f"{b:02x}" for b in mac)


def decode_mld(frame: bytes) -> tuple[Any, str] | None:
    """(decoded MLD packet, sender MAC) for an Ethernet frame carrying MLD (the IPv6 extension
    chain walked by :func:`mdiag.core.mld.decode_ipv6`); None for anything else."""
    from mdiag.core.mld import MalformedPacket as MldMalformed
    from mdiag.core.mld import decode_ipv6

    located = linklayer.locate_ipv6(linklayer.LINKTYPE_ETHERNET, frame, 0, len(frame))
    if located.status != linklayer.OK or len(frame) < located.ip + 40:
        return None
    try:
        decoded = decode_ipv6(frame[located.ip:])
    except MldMalformed:  # NotMld included: other ICMPv6 and IPv6
        return None
    mac = located.src_mac or b"\0" * 6
    return decoded, ":".join(f"{b:02x}" for b in mac)


def decode_membership(frame: bytes, family: int) -> tuple[Any, str] | None:
    """:func:`decode_igmp` for family 4, :func:`decode_mld` for family 6."""
    return decode_mld(frame) if family == 6 else decode_igmp(frame)


class StreamMatcher:
    """Recognises datagrams of one test stream: UDP to ``group`` (and ``port``), IPv4 or IPv6
    (the stream's UDP header follows the fixed IPv6 header: mdiag's sender adds no extension)."""

    __slots__ = ("family", "group", "packed", "port")

    def __init__(self, group: str, port: int | None) -> None:
        self.group, self.port = group, port
        self.family = 6 if ":" in group else 4
        self.packed = (socket.inet_pton(socket.AF_INET6, group.partition("%")[0]) if self.family == 6
                       else socket.inet_aton(group))

    def __call__(self, frame: bytes) -> bool:
        if self.family == 6:
            ip = ipv6_offset(frame)
            if ip is None or frame[ip + 6] != IPPROTO_UDP or frame[ip + 24:ip + 40] != self.packed:
                return False
            udp = ip + 40
        else:
            ip = ipv4_offset(frame)
            if ip is None or frame[ip + 9] != IPPROTO_UDP or frame[ip + 16:ip + 20] != self.packed:
                return False
            udp = ip + (frame[ip] & 0x0F) * 4
        if self.port is None:
            return True
        return len(frame) >= udp + 4 and int.from_bytes(frame[udp + 2:udp + 4], "big") == self.port


def ipv6_offset(frame: bytes) -> int | None:
    """Offset of the IPv6 header in an Ethernet frame, None when it carries no (whole) IPv6 header."""
    located = linklayer.locate_ipv6(linklayer.LINKTYPE_ETHERNET, frame, 0, len(frame))
    if located.status != linklayer.OK or len(frame) < located.ip + 40:
        return None
    return located.ip


def datagram_group(frame: bytes, port: int) -> str | None:
    """The destination (group) of a UDP datagram to ``port`` in an Ethernet frame, else None."""
    ip = ipv4_offset(frame)
    if ip is not None:
        if frame[ip + 9] != IPPROTO_UDP:
            return None
        udp = ip + (frame[ip] & 0x0F) * 4
        if len(frame) < udp + 4 or int.from_bytes(frame[udp + 2:udp + 4], "big") != port:
            return None
        return socket.inet_ntoa(frame[ip + 16:ip + 20])
    ip6 = ipv6_offset(frame)
    if ip6 is None or frame[ip6 + 6] != IPPROTO_UDP or len(frame) < ip6 + 44 \
            or int.from_bytes(frame[ip6 + 42:ip6 + 44], "big") != port:
        return None
    return socket.inet_ntop(socket.AF_INET6, frame[ip6 + 24:ip6 + 40])


def membership_change(message: Any, group: str, source: str | None) -> EventKind | None:
    """JOIN or LEAVE when an IGMP or MLD report/leave changes this host's membership of
    ``group`` (from ``source``, for SSM), None otherwise (RFC 3376 4.2.12 record types, the same
    in MLDv2, RFC 3810 5.2.12; MLDv1 Report/Done, RFC 2710 3)."""
    from mdiag.core.mld.messages import Mld1Done, Mld1Report, Mld2Report

    if isinstance(message, (V1Report, V2Report, Mld1Report)) and str(message.group) == group:
        return EventKind.JOIN
    if isinstance(message, (V2Leave, Mld1Done)) and str(message.group) == group:
        return EventKind.LEAVE
    if isinstance(message, (V3Report, Mld2Report)):
        for record in message.records:
            if str(record.group) != group:
                continue
            kind = int(record.record_type)
            sources = {str(s) for s in record.sources}
            if kind in (2, 4) or (kind in (1, 5) and (source is None or source in sources)):
                return EventKind.JOIN  # IS_EX / TO_EX / IS_IN(S) / ALLOW(S)
            if (kind == 3 and not sources) or (kind == 6 and (source is None or source in sources)):
                return EventKind.LEAVE  # TO_IN({}) / BLOCK(S)
    return None


def classify(frame: bytes, outgoing: bool, group: str, source: str | None,
             data: StreamMatcher) -> EventKind | None:
    """JOIN/LEAVE for a host's own outgoing reports about ``group``, DATA for an incoming
    datagram of the stream, None for anything else."""
    if not outgoing:
        return EventKind.DATA if data(frame) else None
    got = decode_membership(frame, 6 if ":" in group else 4)
    if got is None:
        return None
    return membership_change(got[0].message, group, source)
