"""Findings about decoded MLD messages (RFC 2710, RFC 3810, RFC 4604).

Codes that mean the same thing for IGMP and MLD share their name (``wrong-destination``,
``router-alert-missing``, ``trailing-bytes``, ``source-not-unicast``...), so one
``--fail-on`` or alert rule covers both families; the RFC cited is MLD's. Codes only
MLD has say so. docs/findings.md lists every code.
"""

from __future__ import annotations

from ipaddress import IPv6Address
from typing import Any

from mdiag.core.findings import Finding, Severity
from mdiag.core.mld.ipv6 import Ip6Facts, IPv6Header
from mdiag.core.mld.messages import (
    ALL_NODES,
    Mld1Done,
    Mld1Query,
    Mld1Report,
    Mld2Query,
    Mld2Report,
    MldMessage,
    MldRecord,
    UnknownMld,
    default_destination,
)
from mdiag.core.records import RecordType

ERROR, WARNING, INFO = Severity.ERROR, Severity.WARNING, Severity.INFO

#: code -> (severity, RFC section, one-line meaning). docs/findings.md lists the same.
CODES: dict[str, tuple[Severity, str, str]] = {
    "icmp6-checksum-bad": (ERROR, "RFC 4443 2.3, RFC 3810 5",
                           "ICMPv6 checksum (over the IPv6 pseudo-header) does not verify; receivers drop it"),
    "hop-limit-not-1": (WARNING, "RFC 2710 3, RFC 3810 5",
                        "MLD must be sent with hop limit 1; routers and snooping switches drop other values"),
    "router-alert-missing": (WARNING, "RFC 2710 3, RFC 3810 5",
                             "MLD messages carry the Hop-by-Hop Router Alert option"),
    "mld-source-not-link-local": (WARNING, "RFC 2710 3, RFC 3810 5.1.14, 5.2.13",
                                  "MLD is sent from a link-local source; routers ignore queries and "
                                  "reports from other sources"),
    "mld2-report-from-unspecified": (INFO, "RFC 3810 5.2.13",
                                     "MLDv2 report from :: (the host's link-local address is still tentative)"),
    "mrc-above-query-interval": (WARNING, "RFC 3810 9.3, RFC 9777 9.3",
                                 "Maximum Response Delay is not below the Querier's Query Interval"),
    "ip-truncated": (ERROR, "RFC 8200 3",
                     "captured packet is shorter than the IP length; checksum not verifiable"),
    "wrong-destination": (WARNING, "RFC 2710 5, RFC 3810 5.1.15, 5.2.14",
                          "IP destination is not the one this message type is sent to"),
    "general-query-with-sources": (ERROR, "RFC 3810 5.1.10",
                                   "query lists sources but no multicast address"),
    "report-for-all-nodes": (WARNING, "RFC 2710 4, RFC 3810 6",
                             "ff02::1 (all nodes) is never reported or done"),
    "group-not-multicast": (ERROR, "RFC 3810 5.1.5, 5.2.8", "multicast address is not in ff00::/8"),
    "source-not-unicast": (WARNING, "RFC 3810 5.1.11, 5.2.11", "a source address is ::, ::1 or multicast"),
    "reserved-nonzero": (INFO, "RFC 2710 3, RFC 3810 5.1.2, 5.2.1",
                         "code or reserved bits are not zero (receivers ignore them)"),
    "trailing-bytes": (INFO, "RFC 3810 5.1.1, 5.2.1", "bytes after the message; ignored, but covered by the checksum"),
    "record-aux-data": (WARNING, "RFC 3810 5.2.10",
                        "multicast address record carries auxiliary data, which MLDv2 senders must not add"),
    "record-type-unknown": (WARNING, "RFC 3810 5.2.12",
                            "record type is not 1..6; receivers skip the record"),
    "ssm-exclude-mode": (WARNING, "RFC 4604 2.2.1, RFC 4607 1",
                         "SSM address (ff3x::/32) reported in EXCLUDE mode; SSM routers ignore it"),
    "ssm-old-version-report": (WARNING, "RFC 4604 2.2.1",
                               "MLDv1 report for an SSM address (ff3x::/32); SSM routers ignore it"),
}


def finding(code: str, message: str, *, offset: int | None = None, **context: object) -> Finding:
    """A Finding with the severity and RFC of ``code`` (must be in :data:`CODES`)."""
    severity, rfc, _ = CODES[code]
    return Finding(code, severity, message, rfc, offset, context=dict(context))


_ALL_NODES = int(ALL_NODES)
_MCAST = 0xFF << 120


def is_multicast(value: int) -> bool:
    return value >> 120 == 0xFF


def is_ssm(value: int) -> bool:
    """ff3x::/32 (RFC 4607 1, RFC 3306 7): flags P=1, T=1, prefix length 0."""
    return value >> 96 & 0xFFF0FFFF == 0xFF300000


def is_link_local(value: int) -> bool:
    """fe80::/10 (RFC 4291 2.5.6)."""
    return value >> 118 == 0x3FA


def _bad_source(value: int) -> bool:
    return value <= 1 or value >> 120 == 0xFF


def _ordinary_group(g: int) -> bool:
    """A multicast address that is neither ff02::1 nor SSM: the fast path of every check."""
    return g >> 120 == 0xFF and g != _ALL_NODES and g >> 96 & 0xFFF0FFFF != 0xFF300000


def message_findings(message: MldMessage, trailing: bytes = b"",
                     message_length: int | None = None) -> list[Finding]:
    """Findings about the MLD message itself (not its IPv6 header or checksum)."""
    out: list[Finding] = []
    cls = type(message)
    m: Any = message
    if cls is Mld1Report or cls is Mld1Done:
        g = int(m.group)
        if not _ordinary_group(g) or m.code or m.reserved or m.max_resp_delay:
            _v1_findings(m, g, out)
    elif cls is Mld2Report:
        _report_findings(m, out)
    elif cls is Mld2Query or cls is Mld1Query:
        _query_findings(m, out)
    if trailing:
        end = message_length
        out.append(finding("trailing-bytes", f"{len(trailing)} bytes after the message",
                           offset=(end - len(trailing)) if end is not None else None))
    return out


def _v1_findings(m: Any, g: int, out: list[Finding]) -> None:
    what = "done" if type(m) is Mld1Done else "report"
    if g == _ALL_NODES:
        out.append(finding("report-for-all-nodes", f"{what} for ff02::1 (all nodes)", offset=8))
    elif not is_multicast(g):
        out.append(finding("group-not-multicast", f"{what} for {m.group}, which is not multicast", offset=8))
    elif is_ssm(g) and type(m) is Mld1Report:
        out.append(finding("ssm-old-version-report", f"MLDv1 report for SSM address {m.group}", offset=8))
    if m.code:
        out.append(finding("reserved-nonzero", f"code byte is {m.code}", offset=1))
    if m.max_resp_delay:
        out.append(finding("reserved-nonzero", f"Maximum Response Delay of a {what} is {m.max_resp_delay}, "
                           "not 0", offset=4))
    if m.reserved:
        out.append(finding("reserved-nonzero", f"reserved bytes 6-7 are 0x{m.reserved:04x}", offset=6))


def _query_findings(m: Any, out: list[Finding]) -> None:
    g = int(m.group)
    sources = getattr(m, "sources", ())
    if g == 0 and sources:
        out.append(finding("general-query-with-sources",
                           f"query with address :: lists {len(sources)} source(s)", offset=24))
    elif g and not is_multicast(g):
        out.append(finding("group-not-multicast", f"queried address {m.group} is not multicast", offset=8))
    if m.code:
        out.append(finding("reserved-nonzero", f"code byte is {m.code}", offset=1))
    if m.reserved:
        out.append(finding("reserved-nonzero", f"reserved bytes 6-7 are 0x{m.reserved:04x}", offset=6))
    if type(m) is Mld2Query:
        if m.flags:
            out.append(finding("reserved-nonzero", f"reserved bits of byte 24 are 0x{m.flags:x}", offset=24))
        if m.qqic and m.max_resp_delay >= 1000 * m.qqi:
            out.append(finding("mrc-above-query-interval",
                               f"Maximum Response Delay {m.max_resp_delay / 1000:g} s is not below the "
                               f"Query Interval {m.qqi} s", offset=4,
                               max_resp_ms=m.max_resp_delay, qqi=m.qqi))
        for i, source in enumerate(sources):
            if _bad_source(int(source)):
                out.append(finding("source-not-unicast", f"source {source} is not a unicast address",
                                   offset=28 + 16 * i))


def _report_findings(message: Mld2Report, out: list[Finding]) -> None:
    if message.reserved:
        out.append(finding("reserved-nonzero", f"reserved byte 1 is 0x{message.reserved:02x}", offset=1))
    if message.reserved2:
        out.append(finding("reserved-nonzero", f"reserved bytes 4-5 are 0x{message.reserved2:04x}", offset=4))
    offset = 8
    for index, record in enumerate(message.records):
        rtype = record.record_type
        g = int(record.group)
        if (type(rtype) is not RecordType or not _ordinary_group(g) and not (
                is_ssm(g) and rtype != 2 and rtype != 4) or record.aux_data
                or any(_bad_source(int(s)) for s in record.sources)):
            _record_findings(record, index, offset, out)
        offset += record.size


def _record_findings(record: MldRecord, index: int, offset: int, out: list[Finding]) -> None:
    g = int(record.group)
    rtype = record.record_type
    where = f"record {index + 1} ({record.type_name} {record.group})"
    if type(rtype) is not RecordType:
        out.append(finding("record-type-unknown", f"{where}: record type {int(rtype)} is not defined",
                           offset=offset))
    if g == _ALL_NODES:
        out.append(finding("report-for-all-nodes", f"{where}: ff02::1 is never reported", offset=offset + 4))
    elif not is_multicast(g):
        out.append(finding("group-not-multicast", f"{where}: address is not multicast", offset=offset + 4))
    elif is_ssm(g) and rtype in (RecordType.MODE_IS_EXCLUDE, RecordType.CHANGE_TO_EXCLUDE_MODE):
        out.append(finding("ssm-exclude-mode", f"{where}: SSM address in EXCLUDE mode", offset=offset))
    if record.aux_data:
        out.append(finding("record-aux-data", f"{where}: {len(record.aux_data)} bytes of aux data",
                           offset=offset + 20 + 16 * len(record.sources)))
    for i, source in enumerate(record.sources):
        if _bad_source(int(source)):
            out.append(finding("source-not-unicast", f"{where}: source {source} is not a unicast address",
                               offset=offset + 20 + 16 * i))


def ip_findings(ip: Ip6Facts | IPv6Header, message: MldMessage) -> list[Finding]:
    """Findings about the IPv6 header that carried ``message`` (RFC 2710 3, RFC 3810 5)."""
    if type(message) is UnknownMld:
        return []  # MRD has its own rules (RFC 4286)
    expected = default_destination(message)
    src = int(ip.src)
    dst = ip.dst
    if ip.hop_limit == 1 and ip.router_alert and src >> 118 == 0x3FA and (dst is expected or dst == expected):
        return []
    out: list[Finding] = []
    if ip.hop_limit != 1:
        out.append(finding("hop-limit-not-1", f"IPv6 hop limit is {ip.hop_limit}, not 1", hop_limit=ip.hop_limit))
    if not ip.router_alert:
        out.append(finding("router-alert-missing", f"{_label(message)} without the Hop-by-Hop Router Alert"))
    if src == 0 and type(message) is Mld2Report:
        out.append(finding("mld2-report-from-unspecified",
                           "MLDv2 report from :: (sent while the link-local address is tentative)"))
    elif src >> 118 != 0x3FA:
        what = "query" if message.type == 130 else "message"
        out.append(finding("mld-source-not-link-local",
                           f"{_label(message)} from {ip.src}, not a link-local (fe80::/10) address; "
                           f"routers ignore such a {what}", src=str(ip.src)))
    if dst != expected:
        out.append(finding("wrong-destination", f"{_label(message)} sent to {dst}, expected {expected}",
                           dst=str(dst), expected=str(expected)))
    return out


_LABELS = {"mld1-query": "MLDv1 general query", "mld1-group-query": "MLDv1 address-specific query",
           "mld1-report": "MLDv1 report", "mld1-done": "MLDv1 done", "mld2-query": "MLDv2 general query",
           "mld2-group-query": "MLDv2 address-specific query",
           "mld2-group-source-query": "MLDv2 address-and-source-specific query", "mld2-report": "MLDv2 report"}


def label(message: MldMessage) -> str:
    """``MLDv2 general query``, ``MLDv1 done``...: a message kind for people."""
    return _LABELS.get(message.kind, message.kind)


_label = label


def expected_destination(message: MldMessage) -> IPv6Address:
    return default_destination(message)
