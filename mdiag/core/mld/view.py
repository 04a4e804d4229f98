"""Plain views of MLD messages, with the names and layout of :mod:`mdiag.core.igmp.view`.

Times in seconds (codes on request: the 16-bit Maximum Response Code in ms,
RFC 3810 5.1.3; QQIC, 5.1.9), record types by their short names. ``decode``,
``craft`` and ``analyze`` show MLD through these functions and IGMP through
IGMP's; :func:`for_message` picks the module.
"""

from __future__ import annotations

from types import ModuleType
from typing import Any

from mdiag.core.igmp.view import record_dicts, record_text, seconds, with_checks
from mdiag.core.mld.messages import Mld1Query, Mld2Query, Mld2Report, MldMessage, UnknownMld
from mdiag.core.mld.wire import Decoded

__all__ = ["decoded_dict", "details", "for_message", "group_text", "max_resp", "message_dict",
           "query_params", "record_text", "seconds"]


def for_message(message: Any) -> ModuleType:
    """This module for an MLD message, :mod:`mdiag.core.igmp.view` for anything else."""
    if getattr(message, "family", 4) == 6:
        import mdiag.core.mld.view as mld_view

        return mld_view
    import mdiag.core.igmp.view as igmp_view

    return igmp_view


def max_resp(message: MldMessage, codes: bool = False) -> str:
    """Maximum response delay in seconds ("" for messages without one)."""
    if isinstance(message, Mld1Query):
        text = seconds(message.max_resp_time)
        return f"{text} ({message.max_resp_delay} ms)" if codes else text
    if isinstance(message, Mld2Query):
        text = seconds(message.max_resp_time)
        return f"{text} (code 0x{message.max_resp_code:04x})" if codes else text
    return ""


def query_params(message: MldMessage, codes: bool = False) -> str:
    """``QRV 2, QQI 125 s, S`` for an MLDv2 query ("" otherwise)."""
    if not isinstance(message, Mld2Query):
        return ""
    qqi = f"QQI {message.qqi} s" if message.qqic else "QQI default"
    if codes:
        qqi += f" (code 0x{message.qqic:02x})"
    parts = [f"QRV {message.qrv}", qqi]
    if message.s_flag:
        parts.append("S")
    return ", ".join(parts)


def details(message: MldMessage) -> str:
    """Records of a v2 report, sources of a v2 query, raw bytes of an unknown type."""
    if isinstance(message, Mld2Report):
        return "; ".join(record_text(r) for r in message.records) or "(no records)"  # type: ignore[arg-type]
    if isinstance(message, Mld2Query) and message.sources:
        return "sources {" + ", ".join(str(s) for s in message.sources) + "}"
    if isinstance(message, UnknownMld):
        raw = message.raw.hex()
        return f"{message.type_name}: {raw[:48]}{'...' if len(raw) > 48 else ''}"
    return ""


def group_text(message: MldMessage) -> str:
    if isinstance(message, (Mld2Report, UnknownMld)):
        return ""
    return str(message.group)


def message_dict(message: MldMessage) -> dict[str, Any]:
    """JSON-ready fields of a message (documented in docs/decode.md)."""
    body: dict[str, Any] = {"family": 6, "version": message.version, "kind": message.kind, "type": message.type}
    if isinstance(message, UnknownMld):
        body["type_name"] = message.type_name
        body["raw"] = message.raw.hex()
        return body
    if isinstance(message, Mld2Report):
        body["records"] = record_dicts(message.records)
        if message.reserved or message.reserved2:
            body["reserved"] = [message.reserved, message.reserved2]
        return body
    body["group"] = str(message.group)
    if isinstance(message, Mld2Query):
        body.update(max_resp_time=message.max_resp_time, max_resp_code=message.max_resp_code,
                    max_resp_ms=message.max_resp_delay, s_flag=message.s_flag, qrv=message.qrv,
                    qqic=message.qqic, qqi=message.qqi, sources=[str(s) for s in message.sources])
        if message.flags:
            body["flags"] = message.flags
    elif isinstance(message, Mld1Query):
        body.update(max_resp_time=message.max_resp_time, max_resp_ms=message.max_resp_delay)
    elif message.max_resp_delay:
        body["max_resp_ms"] = message.max_resp_delay
    if message.reserved:
        body["reserved"] = message.reserved
    if message.code:
        body["code"] = message.code
    return body


def decoded_dict(decoded: Decoded) -> dict[str, Any]:
    """JSON-ready view of a :class:`Decoded`: IPv6 facts, message fields, checksum, findings."""
    body: dict[str, Any] = {}
    ip = decoded.ip
    if ip is not None:
        body["ip"] = {"src": str(ip.src), "dst": str(ip.dst), "hop_limit": ip.hop_limit,
                      "traffic_class": ip.traffic_class, "flow_label": ip.flow_label,
                      "router_alert": ip.router_alert, "extension_headers": list(ip.chain),
                      "payload_length": ip.payload_length}
    body.update(message_dict(decoded.message))
    return with_checks(body, decoded)
