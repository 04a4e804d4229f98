"""MLD codec, pure core: models, IPv6 and Hop-by-Hop headers, checksums, encoder, fast decoder.

MLDv1 (RFC 2710) and MLDv2 (RFC 3810, updated by RFC 9777) are IGMPv2 and IGMPv3 for
IPv6, and this package mirrors :mod:`mdiag.core.igmp` name for name. No I/O, no scapy.

Models (:mod:`.messages`)
    ``Mld1Query, Mld1Report, Mld1Done, Mld2Query, Mld2Report, MldRecord, UnknownMld``;
    unions ``MldMessage`` and ``MldQuery``; ``default_destination(msg)``; ``address(x)``;
    ``ALL_NODES, ALL_ROUTERS, MLDV2_ROUTERS, UNSPECIFIED``. Record types are
    :class:`mdiag.core.records.RecordType`, shared with IGMPv3.
IPv6 (:mod:`.ipv6`)
    ``IPv6Header`` (crafting spec: hop limit, traffic class, flow label, Router Alert,
    Hop-by-Hop option bytes, payload length and next header overrides), ``Ip6Facts``
    (a decoded header and extension chain), ``walk`` (the extension-header chain).
Encoding (:mod:`.wire`, :mod:`.frame`)
    ``encode(msg, src, dst, checksum=None, trailing=b"")`` (ICMPv6, checksum over the
    pseudo-header), ``encode_ipv6(msg, header=None)``, ``build_frame(msg, ip=None, ...)``,
    ``multicast_mac(group)`` (33:33 + low 32 bits).
Decoding (:mod:`.wire`)
    ``decode_ipv6(packet) -> Decoded``, ``decode_icmp6(payload, ip=None)``,
    ``parse_ipv6_header(packet)``; ``Decoded`` has the fields of IGMP's; ``MalformedPacket``
    (the same class as IGMP's) with ``.offset``; ``NotMld`` for other IPv6 packets.
Findings (:mod:`.validate`)
    ``FINDING_CODES``; ``message_findings``, ``ip_findings``.
Views (:mod:`.view`)
    the functions of :mod:`mdiag.core.igmp.view`, for MLD.
"""

from __future__ import annotations

from mdiag.core.mld import view
from mdiag.core.mld.frame import ETHERTYPE_IPV6, build_frame, host_mac, link_local, multicast_mac
from mdiag.core.mld.ipv6 import HBH_PAD1, HBH_PADN, Ip6Facts, IPv6Header, router_alert_value, walk
from mdiag.core.mld.messages import (
    ALL_NODES,
    ALL_ROUTERS,
    MESSAGE_CLASSES,
    MLD_TYPES,
    MLDV2_ROUTERS,
    MRD_TYPES,
    UNSPECIFIED,
    Mld1Done,
    Mld1Query,
    Mld1Report,
    Mld2Query,
    Mld2Report,
    MldMessage,
    MldQuery,
    MldRecord,
    UnknownMld,
    address,
    default_destination,
)
from mdiag.core.mld.validate import CODES as FINDING_CODES
from mdiag.core.mld.validate import ip_findings, label, message_findings
from mdiag.core.mld.wire import (
    Decoded,
    MalformedPacket,
    NotMld,
    decode_icmp6,
    decode_ipv6,
    decoded_from,
    encode,
    encode_ipv6,
    icmp6_checksum,
    parse_ipv6_header,
    pseudo_header,
)
from mdiag.core.records import RecordType

__all__ = [
    "ALL_NODES", "ALL_ROUTERS", "ETHERTYPE_IPV6", "FINDING_CODES", "HBH_PAD1", "HBH_PADN", "MESSAGE_CLASSES",
    "MLDV2_ROUTERS", "MLD_TYPES", "MRD_TYPES", "UNSPECIFIED", "Decoded", "IPv6Header", "Ip6Facts", "MalformedPacket", "Mld1Done",
    "Mld1Query", "Mld1Report", "Mld2Query", "Mld2Report", "MldMessage", "MldQuery", "MldRecord", "NotMld",
    "RecordType", "UnknownMld", "address", "build_frame", "decode_icmp6", "decode_ipv6", "decoded_from",
    "default_destination", "encode", "encode_ipv6", "host_mac", "icmp6_checksum", "ip_findings", "label",
    "link_local", "message_findings", "multicast_mac", "parse_ipv6_header", "pseudo_header",
    "router_alert_value", "view", "walk",
]
