"""Findings about decoded IGMP messages: problems are data, not exceptions.

Every code here is stable and documented in docs/protocol.md with the RFC section
it comes from. The decoder (:mod:`mdiag.core.igmp.wire`) calls :func:`ip_findings`
and :func:`message_findings`; both are cheap when nothing is wrong.
"""

from __future__ import annotations

from ipaddress import IPv4Address
from typing import Any

from mdiag.core.findings import Finding, Severity
from mdiag.core.igmp.ipv4 import TOS_INTERNETWORK_CONTROL, IpFacts, IPv4Header
from mdiag.core.igmp.messages import (
    ALL_ROUTERS,
    ALL_SYSTEMS,
    IGMPV3_ROUTERS,
    GroupRecord,
    IgmpMessage,
    RecordType,
    UnknownMessage,
    V1Query,
    V1Report,
    V2Leave,
    V2Query,
    V2Report,
    V3Query,
    V3Report,
    default_destination,
)

ERROR, WARNING, INFO = Severity.ERROR, Severity.WARNING, Severity.INFO

#: code -> (severity, RFC section, one-line meaning). docs/protocol.md lists the same.
CODES: dict[str, tuple[Severity, str, str]] = {
    "igmp-checksum-bad": (ERROR, "RFC 2236 2.3, RFC 3376 4.1.2",
                          "IGMP checksum does not verify; receivers drop the message"),
    "ip-checksum-bad": (ERROR, "RFC 791 3.1", "IPv4 header checksum does not verify"),
    "ip-ttl-not-1": (WARNING, "RFC 2236 2, RFC 3376 4",
                     "IGMP must be sent with TTL 1; routers may drop other TTLs"),
    "router-alert-missing": (WARNING, "RFC 2236 2, RFC 3376 4",
                             "IGMPv2/v3 messages carry the IP Router Alert option"),
    "ip-tos-not-0xc0": (INFO, "RFC 3376 4",
                        "IGMPv3 messages are sent with Internetwork Control precedence (TOS 0xc0)"),
    "ip-truncated": (ERROR, "RFC 791 3.1",
                     "captured packet is shorter than the IP total length; checksum not verifiable"),
    "wrong-destination": (WARNING, "RFC 2236 9, RFC 3376 4.1.12, 4.2.14",
                          "IP destination is not the one this message type is sent to"),
    "general-query-with-sources": (ERROR, "RFC 3376 4.1.9",
                                   "query lists sources but no group; Linux drops it"),
    "report-for-all-systems": (WARNING, "RFC 2236 6, RFC 3376 5",
                               "224.0.0.1 is never reported or left"),
    "group-not-multicast": (ERROR, "RFC 3376 4.1.3, 4.2.8",
                            "group address is not a multicast address"),
    "source-not-unicast": (WARNING, "RFC 3376 4.1.10, 4.2.11",
                           "a source address is 0.0.0.0, multicast or broadcast"),
    "reserved-nonzero": (INFO, "RFC 2236 2, RFC 3376 4.1.8, 4.2.1",
                         "reserved or unused bits are not zero (receivers ignore them)"),
    "trailing-bytes": (INFO, "RFC 2236 2.5, RFC 3376 7.1",
                       "bytes after the message; ignored, but covered by the checksum"),
    "record-aux-data": (WARNING, "RFC 3376 4.2.6, 4.2.10",
                        "group record carries auxiliary data, which IGMPv3 senders must not add"),
    "record-type-unknown": (WARNING, "RFC 3376 4.2.12",
                            "group record type is not 1..6; receivers skip the record"),
    "ssm-exclude-mode": (WARNING, "RFC 4604 2.2.1, RFC 4607 1",
                         "SSM group (232/8) reported in EXCLUDE mode; SSM routers ignore it"),
    "ssm-old-version-report": (WARNING, "RFC 4604 2.2.1",
                               "IGMPv1/v2 report for an SSM group (232/8); SSM routers ignore it"),
    "query-from-zero-source": (INFO, "RFC 4541 2.1.1",
                               "query sent from 0.0.0.0 (snooping proxy); takes no part in election"),
}


def finding(code: str, message: str, *, offset: int | None = None, **context: object) -> Finding:
    """A Finding with the severity and RFC of ``code`` (must be in :data:`CODES`)."""
    severity, rfc, _ = CODES[code]
    return Finding(code, severity, message, rfc, offset, context=dict(context))


def _is_multicast(value: int) -> bool:
    return (value >> 28) == 0xE


def _is_ssm(value: int) -> bool:
    return (value >> 24) == 232


_ALL_SYSTEMS = 0xE0000001


def _bad_source(value: int) -> bool:
    return value == 0 or (value >> 28) >= 0xE


def message_findings(message: IgmpMessage, trailing: bytes = b"",
                     message_length: int | None = None) -> list[Finding]:
    """Findings about the IGMP message itself (not its IP header or checksum)."""
    out: list[Finding] = []
    cls = type(message)
    if cls is V2Report or cls is V1Report or cls is V2Leave:
        m: Any = message
        g = int(m.group)
        # Fast path: an ordinary multicast group that is neither 224.0.0.1 nor SSM.
        if not (_ALL_SYSTEMS < g <= 0xEFFFFFFF and g >> 24 != 232) or m.unused:
            _v1v2_findings(m, g, out)
    elif cls is V3Report:
        _v3_report_findings(message, out)  # type: ignore[arg-type]
    elif cls is V3Query:
        _v3_query_findings(message, out)  # type: ignore[arg-type]
    elif cls is V2Query or cls is V1Query:
        g = int(message.group)  # type: ignore[union-attr]
        if g and not _is_multicast(g):
            out.append(finding("group-not-multicast", f"queried group {message.group} is not multicast", offset=4))  # type: ignore[union-attr]
    if trailing:
        end = message_length if message_length is not None else None
        out.append(finding("trailing-bytes", f"{len(trailing)} bytes after the message",
                           offset=(end - len(trailing)) if end is not None else None))
    return out


def _v1v2_findings(m: Any, g: int, out: list[Finding]) -> None:
    what = "leave" if type(m) is V2Leave else "report"
    if g == _ALL_SYSTEMS:
        out.append(finding("report-for-all-systems", f"{what} for 224.0.0.1 (all systems)", offset=4))
    elif not _is_multicast(g):
        out.append(finding("group-not-multicast", f"{what} for {m.group}, which is not multicast", offset=4))
    elif _is_ssm(g) and type(m) is not V2Leave:
        out.append(finding("ssm-old-version-report", f"IGMPv{m.version} report for SSM group {m.group}", offset=4))
    if m.unused:
        out.append(finding("reserved-nonzero", f"unused byte 1 is 0x{m.unused:02x}", offset=1))


def _v3_query_findings(message: V3Query, out: list[Finding]) -> None:
    g = int(message.group)
    if g == 0 and message.sources:
        out.append(finding("general-query-with-sources",
                           f"query with group 0.0.0.0 lists {len(message.sources)} source(s)", offset=10))
    elif g and not _is_multicast(g):
        out.append(finding("group-not-multicast", f"queried group {message.group} is not multicast", offset=4))
    if message.reserved:
        out.append(finding("reserved-nonzero", f"reserved bits of byte 8 are 0x{message.reserved:x}", offset=8))
    for i, source in enumerate(message.sources):
        if _bad_source(int(source)):
            out.append(finding("source-not-unicast", f"source {source} is not a unicast address",
                               offset=12 + 4 * i))


def _v3_report_findings(message: V3Report, out: list[Finding]) -> None:
    if message.reserved:
        out.append(finding("reserved-nonzero", f"reserved byte 1 is 0x{message.reserved:02x}", offset=1))
    if message.reserved2:
        out.append(finding("reserved-nonzero", f"reserved bytes 4-5 are 0x{message.reserved2:04x}", offset=4))
    offset = 8
    for index, record in enumerate(message.records):
        rtype = record.record_type
        g = int(record.group)
        # Fast path: a defined type, an ordinary group (not 224.0.0.1, not SSM in EXCLUDE mode),
        # no aux data and unicast sources.
        if (type(rtype) is not RecordType or not _ALL_SYSTEMS < g <= 0xEFFFFFFF or record.aux_data
                or (g >> 24 == 232 and (rtype == 2 or rtype == 4))
                or any(_bad_source(int(s)) for s in record.sources)):
            _record_findings(record, index, offset, out)
        offset += 8 + 4 * len(record.sources) + len(record.aux_data)


def _record_findings(record: GroupRecord, index: int, offset: int, out: list[Finding]) -> None:
    g = int(record.group)
    rtype = record.record_type
    name = record.type_name
    where = f"record {index + 1} ({name} {record.group})"
    if type(rtype) is not RecordType:
        out.append(finding("record-type-unknown", f"{where}: record type {int(rtype)} is not defined",
                           offset=offset))
    if g == _ALL_SYSTEMS:
        out.append(finding("report-for-all-systems", f"{where}: 224.0.0.1 is never reported", offset=offset + 4))
    elif not _is_multicast(g):
        out.append(finding("group-not-multicast", f"{where}: group is not multicast", offset=offset + 4))
    elif _is_ssm(g) and (rtype == RecordType.MODE_IS_EXCLUDE or rtype == RecordType.CHANGE_TO_EXCLUDE_MODE):
        out.append(finding("ssm-exclude-mode", f"{where}: SSM group in EXCLUDE mode", offset=offset))
    if record.aux_data:
        out.append(finding("record-aux-data", f"{where}: {len(record.aux_data)} bytes of aux data",
                           offset=offset + 8 + 4 * len(record.sources)))
    for i, source in enumerate(record.sources):
        if _bad_source(int(source)):
            out.append(finding("source-not-unicast", f"{where}: source {source} is not a unicast address",
                               offset=offset + 8 + 4 * i))


def expected_destinations(message: IgmpMessage) -> tuple[IPv4Address, ...]:
    """IP destinations a conforming sender uses for ``message``."""
    return (default_destination(message),)


def ip_findings(ip: IpFacts | IPv4Header, message: IgmpMessage) -> list[Finding]:
    """Findings about the IPv4 header that carried ``message`` (RFC 2236 2, RFC 3376 4)."""
    cls = type(message)
    if cls is UnknownMessage:
        return []  # other protocols (DVMRP, mtrace, MRD) have their own rules
    version = message.version
    if cls is V3Report:
        expected = IGMPV3_ROUTERS
    elif cls is V2Report or cls is V1Report:
        expected = message.group  # type: ignore[union-attr]
    elif cls is V2Leave:
        expected = ALL_ROUTERS
    else:
        expected = message.group if int(message.group) else ALL_SYSTEMS  # type: ignore[union-attr]
    dst = ip.dst
    # Fast path: TTL 1, Router Alert (v2/v3), TOS 0xc0 (v3), conforming destination, not a 0.0.0.0 query.
    if (ip.ttl == 1 and (ip.router_alert or version == 1)
            and (version != 3 or ip.tos == TOS_INTERNETWORK_CONTROL)
            and (dst is expected or dst == expected)
            and (message.type != 0x11 or int(ip.src) != 0)):
        return []
    out: list[Finding] = []
    if ip.ttl != 1:
        out.append(finding("ip-ttl-not-1", f"IP TTL is {ip.ttl}, not 1", ttl=ip.ttl))
    if version != 1 and not ip.router_alert:
        out.append(finding("router-alert-missing", f"{_label(message)} without IP Router Alert"))
    if version == 3 and ip.tos != TOS_INTERNETWORK_CONTROL:
        out.append(finding("ip-tos-not-0xc0", f"IP TOS is 0x{ip.tos:02x}, not 0xc0", tos=ip.tos))
    if dst != expected:
        out.append(finding("wrong-destination",
                           f"{_label(message)} sent to {dst}, expected {expected}",
                           dst=str(dst), expected=str(expected)))
    if message.type == 0x11 and int(ip.src) == 0:
        out.append(finding("query-from-zero-source", "query from 0.0.0.0 (snooping switch proxy query)"))
    return out


_LABELS = {"v1-query": "IGMPv1 query", "v1-report": "IGMPv1 report", "v2-query": "IGMPv2 general query",
           "v2-group-query": "IGMPv2 group-specific query", "v2-report": "IGMPv2 report",
           "v2-leave": "IGMPv2 leave", "v3-query": "IGMPv3 general query",
           "v3-group-query": "IGMPv3 group-specific query",
           "v3-group-source-query": "IGMPv3 group-and-source-specific query", "v3-report": "IGMPv3 report"}


def _label(message: IgmpMessage) -> str:
    return _LABELS.get(message.kind, message.kind)
