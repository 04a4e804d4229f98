"""Plain views of messages for people and machines: short text and JSON-ready dicts.

Times are shown in seconds (codes on request, RFC 3376 4.1.1 / 4.1.7); record
types by their RFC 3376 short names. Shared by ``mdiag decode``, ``mdiag craft``
and capture analysis so every command shows a message the same way.
"""

from __future__ import annotations

from typing import Any

from mdiag.core.igmp.messages import (
    GroupRecord,
    IgmpMessage,
    UnknownMessage,
    V1Query,
    V2Query,
    V3Query,
    V3Report,
)
from mdiag.core.igmp.wire import Decoded


def seconds(value: float) -> str:
    """``10 s``, ``2.5 s``, ``0.1 s``: shortest exact text for a time."""
    text = f"{value:.1f}".rstrip("0").rstrip(".") if value != int(value) else str(int(value))
    return f"{text} s"


def max_resp(message: IgmpMessage, codes: bool = False) -> str:
    """Max response time in seconds ("" for messages without one)."""
    if isinstance(message, V1Query):
        text = "10 s (v1)"
        return text + " (code 0x00)" if codes else text
    if isinstance(message, (V2Query, V3Query)):
        text = seconds(message.max_resp_time)
        return f"{text} (code 0x{message.max_resp_code:02x})" if codes else text
    return ""


def query_params(message: IgmpMessage, codes: bool = False) -> str:
    """``QRV 2, QQI 125 s, S`` for an IGMPv3 query ("" otherwise)."""
    if not isinstance(message, V3Query):
        return ""
    qqi = f"QQI {message.qqi} s" if message.qqic else "QQI default"
    if codes:
        qqi += f" (code 0x{message.qqic:02x})"
    parts = [f"QRV {message.qrv}", qqi]
    if message.s_flag:
        parts.append("S")
    return ", ".join(parts)


def record_text(record: GroupRecord) -> str:
    """``TO_EX 239.1.1.1 {}`` / ``ALLOW 232.1.1.1 {198.18.0.5, 198.18.0.6}``."""
    text = f"{record.type_name} {record.group} {{{', '.join(str(s) for s in record.sources)}}}"
    if record.aux_data:
        text += f" +{len(record.aux_data)}B aux"
    return text


def details(message: IgmpMessage) -> str:
    """Records of a v3 report, sources of a v3 query, raw bytes of an unknown type."""
    if isinstance(message, V3Report):
        return "; ".join(record_text(r) for r in message.records) or "(no records)"
    if isinstance(message, V3Query) and message.sources:
        return "sources {" + ", ".join(str(s) for s in message.sources) + "}"
    if isinstance(message, UnknownMessage):
        raw = message.raw.hex()
        return f"{message.type_name}: {raw[:48]}{'...' if len(raw) > 48 else ''}"
    return ""


def group_text(message: IgmpMessage) -> str:
    if isinstance(message, (V3Report, UnknownMessage)):
        return ""
    return str(message.group)


def message_dict(message: IgmpMessage) -> dict[str, Any]:
    """JSON-ready fields of a message (documented in docs/decode.md)."""
    body: dict[str, Any] = {"family": 4, "version": message.version, "kind": message.kind, "type": message.type}
    if isinstance(message, UnknownMessage):
        body["type_name"] = message.type_name
        body["raw"] = message.raw.hex()
        return body
    if isinstance(message, V3Report):
        body["records"] = record_dicts(message.records)
        if message.reserved or message.reserved2:
            body["reserved"] = [message.reserved, message.reserved2]
        return body
    body["group"] = str(message.group)
    if isinstance(message, V1Query):
        body["max_resp_time"] = 10.0
        body["max_resp_code"] = 0
    elif isinstance(message, V2Query):
        body["max_resp_time"] = message.max_resp_time
        body["max_resp_code"] = message.max_resp_code
    elif isinstance(message, V3Query):
        body.update(max_resp_time=message.max_resp_time, max_resp_code=message.max_resp_code,
                    s_flag=message.s_flag, qrv=message.qrv, qqic=message.qqic, qqi=message.qqi,
                    sources=[str(s) for s in message.sources])
        if message.reserved:
            body["reserved"] = message.reserved
    else:
        unused = getattr(message, "unused", 0)
        if unused:
            body["unused"] = unused
    return body


def decoded_dict(decoded: Decoded) -> dict[str, Any]:
    """JSON-ready view of a :class:`Decoded`: IP facts, message fields, checksum, findings."""
    body: dict[str, Any] = {}
    ip = decoded.ip
    if ip is not None:
        body["ip"] = {"src": str(ip.src), "dst": str(ip.dst), "ttl": ip.ttl, "tos": ip.tos, "df": ip.df,
                      "router_alert": ip.router_alert, "checksum_ok": decoded.ip_checksum_ok,
                      "total_length": ip.total_length}
    body.update(message_dict(decoded.message))
    return with_checks(body, decoded)


def record_dicts(records: Any) -> list[dict[str, Any]]:
    """JSON-ready group records of an IGMPv3 or MLDv2 report (shared by both views)."""
    return [{"type": r.type_name, "type_code": int(r.record_type), "group": str(r.group),
             "sources": [str(s) for s in r.sources], **({"aux_data": r.aux_data.hex()} if r.aux_data else {})}
            for r in records]


def with_checks(body: dict[str, Any], decoded: Any) -> dict[str, Any]:
    """``body`` with the checksum, its status, trailing bytes and the findings of a decoded
    IGMP or MLD message (shared by both views)."""
    body["checksum"] = decoded.checksum
    body["checksum_ok"] = decoded.checksum_ok
    if decoded.trailing:
        body["trailing"] = decoded.trailing.hex()
    body["findings"] = [f.to_json() for f in decoded.findings]
    return body
