"""IGMP codec, pure core: models, float codes, checksums, encoder, fast decoder.

No I/O, no scapy. Public API (stable; names will only ever gain aliases):

Models (:mod:`.messages`)
    ``V1Query, V1Report, V2Query, V2Report, V2Leave, V3Query, V3Report,
    GroupRecord, RecordType, UnknownMessage``; the unions ``IgmpMessage`` and
    ``Query``; ``default_destination(msg)``; ``address(x)``; constants
    ``ALL_SYSTEMS, ALL_ROUTERS, IGMPV3_ROUTERS, ZERO_ADDRESS``.
IPv4 (:mod:`.ipv4`)
    ``IPv4Header`` (crafting spec: TTL, TOS, DF, Router Alert, options, checksum and
    length overrides), ``IpFacts`` (a decoded header, same attribute names; ``.header()``
    gives the IPv4Header), ``ROUTER_ALERT``.
Encoding (:mod:`.wire`, :mod:`.frame`)
    ``encode(msg, checksum=None, trailing=b"") -> bytes`` (IGMP payload),
    ``encode_ipv4(msg, header=None) -> bytes``,
    ``build_frame(msg, ip=None, src=..., vlan=..., pad_to=...) -> bytes`` (Ethernet),
    ``multicast_mac(group)``.
Decoding (:mod:`.wire`)
    ``decode_igmp(payload, ip=None) -> Decoded``, ``decode_ipv4(packet) -> Decoded``,
    ``parse_ipv4_header(packet)``; ``Decoded`` (an immutable NamedTuple) has ``message,
    findings, checksum, checksum_ok, ip (IpFacts), ip_checksum_ok, trailing`` and
    ``src/dst/ttl/tos/df/router_alert/version/kind``.
    ``MalformedPacket`` (``.offset``, ``.expected``) when nothing can be decoded;
    its subclass ``NotIgmp`` for IPv4 packets of another protocol or fragments.
    ``decoded_from(msg, payload, used, ip)`` (a message parsed elsewhere, same checks);
    ``wire.set_payload_memo(enabled)``: byte-identical payloads are decoded once
    (results are immutable; on by default).
Codes and checksums (:mod:`.floatcode`, :mod:`.checksum`)
    ``floatcode.decode/encode/mrc_from_seconds/CODE_VALUES``, ``internet_checksum``.
Views (:mod:`.view`)
    ``view.decoded_dict(d)``, ``view.message_dict(m)`` (JSON-ready), ``view.details(m)``,
    ``view.max_resp(m)``, ``view.query_params(m)``: how every command shows a message.
Findings (:mod:`.validate`)
    ``FINDING_CODES`` (code -> severity, RFC, meaning); ``message_findings``, ``ip_findings``.
"""

from __future__ import annotations

from mdiag.core.igmp import floatcode, view
from mdiag.core.igmp.checksum import internet_checksum, ones_complement_sum
from mdiag.core.igmp.frame import build_frame, ethernet_header, host_mac, multicast_mac
from mdiag.core.igmp.ipv4 import ROUTER_ALERT, IpFacts, IPv4Header
from mdiag.core.igmp.messages import (
    ALL_ROUTERS,
    ALL_SNOOPERS,
    ALL_SYSTEMS,
    IGMPV3_ROUTERS,
    MESSAGE_CLASSES,
    ZERO as ZERO_ADDRESS,
    GroupRecord,
    IgmpMessage,
    Query,
    RecordType,
    UnknownMessage,
    V1Query,
    V1Report,
    V2Leave,
    V2Query,
    V2Report,
    V3Query,
    V3Report,
    address,
    default_destination,
    record_type_name,
)
from mdiag.core.igmp.validate import CODES as FINDING_CODES
from mdiag.core.igmp.validate import ip_findings, message_findings
from mdiag.core.igmp.wire import (
    Decoded,
    MalformedPacket,
    NotIgmp,
    complete_records,
    decode_igmp,
    decode_ipv4,
    decoded_from,
    encode,
    encode_ipv4,
    parse_ipv4_header,
)

__all__ = [
    "ALL_ROUTERS", "ALL_SNOOPERS", "ALL_SYSTEMS", "IGMPV3_ROUTERS", "MESSAGE_CLASSES", "ROUTER_ALERT",
    "ZERO_ADDRESS", "view", "decoded_from",
    "Decoded", "FINDING_CODES", "GroupRecord", "IPv4Header", "IpFacts", "IgmpMessage", "MalformedPacket",
    "NotIgmp", "Query", "RecordType", "UnknownMessage", "V1Query", "V1Report", "V2Leave", "V2Query",
    "V2Report", "V3Query", "V3Report", "address", "build_frame", "complete_records", "decode_igmp", "decode_ipv4",
    "default_destination", "encode", "encode_ipv4", "ethernet_header", "floatcode", "host_mac",
    "internet_checksum", "ip_findings", "message_findings", "multicast_mac", "ones_complement_sum",
    "parse_ipv4_header", "record_type_name",
]
