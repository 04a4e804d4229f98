"""Scapy adapter for IGMP: the only module that imports scapy's IGMP layers.

Builds complete frames (Ethernet, optional 802.1Q, IPv4 with TTL 1, TOS 0xc0, DF,
Router Alert, IGMP) with every default overridable, and parses frames or IPv4
packets, as bytes or scapy packets, into the models of :mod:`mdiag.core.igmp`.

Scapy versions: 2.8 keeps IGMP in ``scapy.layers.igmp`` (``IGMP``, ``IGMPv3_MQ``,
``IGMPv3_MR``, ``IGMPv3_MR_Group``); before, ``scapy.contrib.igmp`` and
``scapy.contrib.igmpv3`` (``IGMPv3`` stacked on ``IGMPv3mq``/``IGMPv3mr``). Both are
handled here (the differential tests pass with scapy 2.8.0 and 2.5.0); the 2.8 contrib
modules are deprecated shims and are never imported.

Traps worked around (shared reference igmp.md section 8):
- scapy appends a Router Alert to an IP layer with no options whenever IGMP is
  stacked on it (and on each copy made while building), so without Router Alert the
  IGMP bytes scapy built are carried as Raw;
- IGMPv3 group records have no aux data field (aux bytes would be read as the next
  record), so records are built and read with a subclass that has one;
- the v3 Max Resp Code field holds the decoded value, not the code: codes are
  converted exactly both ways;
- the IGMPv1 checksum covers 8 bytes (RFC 1112), scapy's covers all the payload;
- dissecting IGMP also adds a Router Alert to an IP layer without options, and
  unknown IGMP types dissect as queries: :func:`show` undoes both, and parsing reads
  options and types from the bytes, never from scapy's dissected fields.
"""

from __future__ import annotations

import warnings
from typing import Any

from mdiag.core.igmp import floatcode
from mdiag.core.igmp.checksum import internet_checksum
from mdiag.core.igmp.frame import host_mac, multicast_mac
from mdiag.core.igmp.ipv4 import ROUTER_ALERT, IpFacts, IPv4Header, has_router_alert
from mdiag.core.igmp.messages import (
    GroupRecord,
    IgmpMessage,
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
)
from mdiag.core.igmp.wire import Decoded, MalformedPacket, NotIgmp, decoded_from, encode
from mdiag.errors import MissingSystemPiece

try:  # scapy >= 2.8
    from scapy.layers.igmp import IGMP as _IGMP
    from scapy.layers.igmp import IGMPv3_MQ as _V3MQ
    from scapy.layers.igmp import IGMPv3_MR as _V3MR
    from scapy.layers.igmp import IGMPv3_MR_Group as _V3GR

    NEW_API = True
except ImportError:  # scapy 2.5 .. 2.7: contrib modules, v3 as a stack of two layers
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)
            from scapy.contrib.igmp import IGMP as _IGMP  # type: ignore[attr-defined]
            from scapy.contrib.igmpv3 import IGMPv3 as _V3  # type: ignore[attr-defined]
            from scapy.contrib.igmpv3 import IGMPv3gr as _V3GR
            from scapy.contrib.igmpv3 import IGMPv3mq as _V3MQ
            from scapy.contrib.igmpv3 import IGMPv3mr as _V3MR
    except ImportError as exc:  # pragma: no cover - scapy without IGMP
        raise MissingSystemPiece(f"scapy has no IGMP layers ({exc}); install scapy >= 2.5") from None
    NEW_API = False

from scapy.fields import PacketListField, StrLenField
from scapy.layers.inet import IP, IPOption, IPOption_Router_Alert
from scapy.layers.l2 import Dot1Q, Ether
from scapy.packet import Packet, Raw

SCAPY_IGMP_MODULE = _IGMP.__module__


class _Record(_V3GR):
    """IGMPv3 group record with its aux data (RFC 3376 4.2.6), which scapy leaves out."""

    name = "IGMPv3 Group Record (with aux data)"
    fields_desc = list(_V3GR.fields_desc) + [
        StrLenField("auxdata", b"", length_from=lambda p: 4 * (p.auxdlen or 0)),
    ]


class _Report(_V3MR):
    """IGMPv3 report whose records are :class:`_Record` (scapy 2.8 ``IGMPv3_MR``, older ``IGMPv3mr``)."""

    name = "IGMPv3 Membership Report"
    fields_desc = [f if f.name != "records" else
                   PacketListField("records", [], _Record, count_from=lambda p: p.numgrp)
                   for f in _V3MR.fields_desc]


# --------------------------------------------------------------------------- build


def igmp_layer(message: IgmpMessage, *, checksum: int | None = None, trailing: bytes = b"") -> Packet:
    """The scapy IGMP layer(s) for ``message``, with scapy computing the checksum."""
    cls = type(message)
    m: Any = message
    if cls is UnknownMessage:
        raw = encode(message, checksum=checksum, trailing=trailing)
        return Raw(raw)
    if cls in (V1Report, V1Query) and trailing and checksum is None:
        checksum = internet_checksum(encode(message)[:2] + b"\0\0" + encode(message)[4:])
    if cls is V1Query:
        layer = _IGMP(type=0x11, mrcode=0, gaddr=str(m.group))
    elif cls is V2Query:
        layer = _IGMP(type=0x11, mrcode=m.max_resp_code, gaddr=str(m.group))
    elif cls in (V1Report, V2Report, V2Leave):
        layer = _IGMP(type=m.type, mrcode=m.unused, gaddr=str(m.group))
    elif cls is V3Query:
        fields = dict(gaddr=str(m.group), s=int(m.s_flag), qrv=m.qrv, qqic=m.qqic,
                      srcaddrs=[str(s) for s in m.sources])
        if NEW_API:
            layer = _V3MQ(mrcode=floatcode.CODE_VALUES[m.max_resp_code], flags=m.reserved, **fields)
        else:  # pragma: no cover
            layer = _V3(type=0x11, mrcode=m.max_resp_code) / _V3MQ(resv=m.reserved, **fields)
    elif cls is V3Report:
        records = [_Record(rtype=int(r.record_type), auxdlen=len(r.aux_data) // 4, maddr=str(r.group),
                           srcaddrs=[str(s) for s in r.sources], auxdata=r.aux_data)
                   for r in m.records]
        if NEW_API:
            layer = _Report(reserved=m.reserved, flags=m.reserved2, records=records)
        else:  # pragma: no cover
            layer = _V3(type=0x22, mrcode=m.reserved) / _Report(res2=m.reserved2, records=records)
    else:
        raise TypeError(f"not an IGMP message: {type(message).__name__}")
    if checksum is not None:
        if NEW_API or cls not in (V3Query, V3Report):
            layer.chksum = checksum
        else:  # pragma: no cover
            layer[_V3].chksum = checksum
    if trailing:
        layer = layer / Raw(bytes(trailing))
    return layer


def build_packet(message: IgmpMessage, ip: IPv4Header | None = None, *, src: Any = None,
                 dst_mac: str | None = None, src_mac: str | None = None, vlan: int | None = None,
                 checksum: int | None = None, trailing: bytes = b"") -> Packet:
    """A scapy Ether/[Dot1Q]/IP/IGMP packet; same arguments as :func:`mdiag.core.igmp.build_frame`."""
    if ip is None:
        ip = IPv4Header(src=src if src is not None else 0, dst=default_destination(message))
    elif src is not None:
        raise ValueError("give the source either in ip or as src, not both")
    options_bytes = ip.option_bytes
    ip_layer = IP(version=4, ihl=None, tos=ip.tos, id=ip.identification,
                  flags=(2 if ip.df else 0) | (1 if ip.mf else 0), frag=ip.fragment_offset,
                  ttl=ip.ttl, proto=ip.protocol, src=str(ip.src), dst=str(ip.dst))
    if ip.checksum is not None:
        ip_layer.chksum = ip.checksum
    if ip.total_length is not None:
        ip_layer.len = ip.total_length
    head = Ether(dst=dst_mac or multicast_mac(ip.dst), src=src_mac or host_mac(ip.src), type=0x0800)
    if vlan is not None:
        head = Ether(dst=head.dst, src=head.src, type=0x8100) / Dot1Q(vlan=vlan, type=0x0800)
    igmp = igmp_layer(message, checksum=checksum, trailing=trailing)
    if options_bytes == ROUTER_ALERT:
        ip_layer.options = [IPOption_Router_Alert()]
    elif options_bytes:
        ip_layer.options = [IPOption(options_bytes)]
    else:
        # Stacking IGMP onto an IP layer without options adds a Router Alert, again on every
        # copy scapy makes while building: carry the IGMP bytes (built by scapy) raw instead.
        igmp = Raw(bytes(igmp))
    return head / ip_layer / igmp


def build_frame(message: IgmpMessage, ip: IPv4Header | None = None, **kwargs: Any) -> bytes:
    """Bytes of :func:`build_packet` (byte-identical with the core's ``build_frame``)."""
    return bytes(build_packet(message, ip, **kwargs))


_MODELLED_TYPES = frozenset({0x11, 0x12, 0x16, 0x17, 0x22})


def show(packet: Packet) -> str:
    """Scapy's ``show()`` text of ``packet`` as it goes on the wire (checksums and lengths filled).

    The frame is dissected again from its bytes, then two scapy habits are undone so the
    view tells the truth: dissecting IGMP adds a Router Alert to an IP layer that has no
    options, and types scapy does not know are shown as queries (they are shown raw).
    """
    wire = bytes(packet)
    dissected = packet.__class__(wire)
    if IP in dissected:
        ip = dissected[IP]
        raw_ip = bytes(ip.original) if ip.original else b""
        if len(raw_ip) >= 20 and raw_ip[0] & 0x0F == 5:
            ip.options = []
        payload = raw_ip[(raw_ip[0] & 0x0F) * 4:ip.len] if len(raw_ip) >= 20 else b""
        if payload and payload[0] not in _MODELLED_TYPES:
            ip.remove_payload()
            ip.add_payload(Raw(payload))
    text = dissected.show(dump=True)
    return str(text)


# --------------------------------------------------------------------------- parse


def parse_frame(data: bytes | Packet) -> Decoded:
    """Decode an Ethernet frame (bytes or scapy packet) through scapy's dissectors."""
    packet = data if isinstance(data, Packet) else _dissect(Ether, data)
    if IP not in packet:
        raise NotIgmp(12, "an IPv4 packet in the frame", "scapy found none")
    return parse_ip(packet[IP])


def parse_ip(data: bytes | Packet) -> Decoded:
    """Decode an IPv4 packet (bytes or scapy IP layer) through scapy's dissectors."""
    if isinstance(data, Packet):
        packet = data if isinstance(data, IP) else data[IP]
        original = bytes(packet.original) if packet.original else bytes(packet)
    else:
        original = bytes(data)
    n = len(original)
    if n < 20:
        raise MalformedPacket(n, "a 20-byte IPv4 header", f"only {n} bytes")
    if original[0] >> 4 != 4 or original[0] & 15 < 5:
        raise MalformedPacket(0, "IP version 4 and an IHL of at least 5", f"first byte is 0x{original[0]:02x}")
    if (original[0] & 15) * 4 > n:
        raise MalformedPacket(n, f"{(original[0] & 15) * 4} bytes of IPv4 header and options", f"only {n} bytes")
    if not isinstance(data, Packet):
        packet = _dissect(IP, original)
    hlen = packet.ihl * 4
    if packet.proto != 2:
        raise NotIgmp(9, "protocol 2 (IGMP)", f"protocol is {packet.proto}")
    if packet.frag or packet.flags.MF:
        raise NotIgmp(6, "an unfragmented packet", "IGMP is never fragmented; this is a fragment")
    if packet.len < hlen:
        raise MalformedPacket(2, f"a total length of at least the header's {hlen} bytes", f"it is {packet.len}")
    options = original[20:hlen]
    header = IpFacts(address(packet.src), address(packet.dst), packet.ttl, packet.tos, bool(packet.flags.DF),
                     has_router_alert(options), packet.id, packet.proto, options, packet.chksum, packet.len)
    ip_ok = internet_checksum(original[:10] + b"\0\0" + original[12:hlen]) == packet.chksum
    truncated = packet.len > len(original)
    payload = original[hlen:packet.len]
    message = _message(payload)
    used = len(encode(message)) if type(message) is not UnknownMessage else len(payload)
    return decoded_from(message, payload, used, header, ip_checksum_ok=ip_ok, truncated=truncated)


def _dissect(cls: type[Packet], data: bytes) -> Packet:
    try:
        return cls(bytes(data))
    except Exception as exc:  # scapy raises many kinds on hostile input
        raise MalformedPacket(0, f"a frame scapy can dissect as {cls.__name__}", str(exc)) from None


def _message(payload: bytes) -> IgmpMessage:
    """The model for one IGMP payload, read through scapy's IGMP classes."""
    n = len(payload)
    if n < 8:
        raise MalformedPacket(n, "an 8-byte IGMP header", f"only {n} bytes")
    kind = payload[0]
    layer: Any
    if kind == 0x11 and 8 < n < 12:
        raise MalformedPacket(8, "an 8-byte (v1/v2) or at least 12-byte (v3) query",
                              f"{n}-byte query, ignored by RFC 3376 7.1")
    try:
        if kind == 0x11 and n >= 12:
            if NEW_API:
                layer = _V3MQ(payload)
                # scapy keeps the decoded value internally (200 for code 0x89); turn it back exactly.
                code = floatcode.encode(int(layer.getfieldval("mrcode")))
                reserved = int(layer.flags)
            else:  # pragma: no cover - scapy < 2.8: a 4-byte IGMPv3 header, then the query body
                code = int(_V3(payload[:4]).mrcode)
                layer = _V3MQ(payload[4:])
                reserved = int(layer.resv)
            if len(layer.srcaddrs or []) != layer.numsrc:
                raise MalformedPacket(12, f"{layer.numsrc} source addresses", f"query is {n} bytes")
            return V3Query(code, layer.gaddr, bool(layer.s), layer.qrv, layer.qqic,
                           tuple(layer.srcaddrs or ()), reserved)
        if kind in (0x11, 0x12, 0x16, 0x17):
            layer = _IGMP(payload[:8])
            code = int(layer.mrcode)
            if kind == 0x11:
                return V1Query(layer.gaddr) if code == 0 else V2Query(code, layer.gaddr)
            cls: Any = {0x12: V1Report, 0x16: V2Report, 0x17: V2Leave}[kind]
            return cls(layer.gaddr, code)  # type: ignore[no-any-return]
        if kind == 0x22:
            if NEW_API:
                layer = _Report(payload)
                reserved, reserved2 = int(layer.reserved), int(layer.flags)
            else:  # pragma: no cover - scapy < 2.8
                header = _V3(payload[:4])
                layer = _Report(payload[4:])
                reserved, reserved2 = int(header.mrcode), int(layer.res2)
            records = layer.records or []
            if len(records) != layer.numgrp:
                raise MalformedPacket(8, f"{layer.numgrp} group records", f"report is {n} bytes")
            out = []
            for record in records:
                sources = tuple(record.srcaddrs or ())
                aux = bytes(record.auxdata or b"")
                if len(sources) != record.numsrc or len(aux) != 4 * record.auxdlen:
                    raise MalformedPacket(8, f"{record.numsrc} sources and {4 * record.auxdlen} bytes of aux data",
                                          f"report is {n} bytes")
                out.append(GroupRecord(int(record.rtype), record.maddr, sources, aux))
            return V3Report(tuple(out), reserved, reserved2)
    except MalformedPacket:
        raise
    except Exception as exc:  # scapy fails in many ways on truncated input
        raise MalformedPacket(0, "an IGMP message scapy can dissect", f"{type(exc).__name__}: {exc}") from None
    return UnknownMessage(payload)
