"""Scapy adapter for MLD: the only module that imports scapy's ICMPv6 MLD layers.

Builds complete frames (Ethernet, optional 802.1Q, IPv6 with hop limit 1, a Hop-by-Hop
Options header holding Router Alert, ICMPv6 MLD) with every default overridable, shows
them as scapy does, and parses frames through scapy's dissectors into the models of
:mod:`mdiag.core.mld` (the differential tests hold the two decoders and the two
builders to the same answers, byte for byte).

scapy (2.5 .. 2.8) keeps MLD in ``scapy.layers.inet6``: ``ICMPv6MLQuery``,
``ICMPv6MLReport``, ``ICMPv6MLDone``, ``ICMPv6MLQuery2``, ``ICMPv6MLReport2`` and
``ICMPv6MLDMultAddrRec``. Traps worked around:
- scapy tells MLDv1 from MLDv2 queries by length as RFC 3810 8.1 says, but only when
  dissecting: building picks the class, so the models choose it;
- its ``mrd`` fields are the raw 16-bit code (the float is not decoded), as the
  models keep it;
- ``ICMPv6MLDMultAddrRec`` reads Aux Data Len as bytes, not 32-bit words
  (RFC 3810 5.2.6), so aux data would be cut and the next record misread: records are
  built and read with a subclass that counts words;
- the Hop-by-Hop header is built from mdiag's option bytes (scapy's autopad would pick
  its own padding, and the bridge's two Pad1 differ from the hosts' PadN).
"""

from __future__ import annotations

from typing import Any

from mdiag.core.mld.frame import host_mac, multicast_mac
from mdiag.core.mld.ipv6 import NEXT_ICMPV6, IPv6Header
from mdiag.core.mld.messages import (
    MLD_TYPES,
    Mld1Done,
    Mld1Query,
    Mld1Report,
    Mld2Query,
    Mld2Report,
    MldMessage,
    MldRecord,
    UnknownMld,
    address,
    default_destination,
)
from mdiag.core.mld.wire import Decoded, MalformedPacket, NotMld, decoded_from, encode, parse_ipv6_header

from scapy.layers.inet6 import (
    ICMPv6MLDMultAddrRec,
    ICMPv6MLDone,
    ICMPv6MLQuery,
    ICMPv6MLQuery2,
    ICMPv6MLReport,
    ICMPv6MLReport2,
    IPv6,
    IPv6ExtHdrHopByHop,
)
from scapy.fields import PacketListField, StrLenField
from scapy.layers.l2 import Dot1Q, Ether
from scapy.packet import Packet, Raw

SCAPY_MLD_MODULE = ICMPv6MLQuery.__module__


class _Record(ICMPv6MLDMultAddrRec):
    """MLDv2 Multicast Address Record whose Aux Data Len counts 32-bit words (RFC 3810 5.2.6)."""

    name = "ICMPv6 MLDv2 - Multicast Address Record"
    fields_desc = [f if f.name != "auxdata" else
                   StrLenField("auxdata", b"", length_from=lambda p: 4 * (p.auxdata_len or 0))
                   for f in ICMPv6MLDMultAddrRec.fields_desc]


class _Report(ICMPv6MLReport2):
    """MLDv2 report whose records are :class:`_Record`."""

    name = "MLDv2 - Multicast Listener Report"
    fields_desc = [f if f.name != "records" else
                   PacketListField("records", [], _Record, count_from=lambda p: p.records_number)
                   for f in ICMPv6MLReport2.fields_desc]


# --------------------------------------------------------------------------- build


def mld_layer(message: MldMessage, *, checksum: int | None = None, trailing: bytes = b"") -> Packet:
    """The scapy ICMPv6 MLD layer for ``message`` (scapy computes the checksum when it is stacked)."""
    cls = type(message)
    m: Any = message
    layer: Packet
    if cls is UnknownMld:
        return Raw(encode(message, checksum=checksum, trailing=trailing))
    if cls is Mld1Query:
        layer = ICMPv6MLQuery(code=m.code, mrd=m.max_resp_delay, reserved=m.reserved, mladdr=str(m.group))
    elif cls is Mld1Report:
        layer = ICMPv6MLReport(code=m.code, mrd=m.max_resp_delay, reserved=m.reserved, mladdr=str(m.group))
    elif cls is Mld1Done:
        layer = ICMPv6MLDone(code=m.code, mrd=m.max_resp_delay, reserved=m.reserved, mladdr=str(m.group))
    elif cls is Mld2Query:
        layer = ICMPv6MLQuery2(code=m.code, mrd=m.max_resp_code, reserved=m.reserved, mladdr=str(m.group),
                               Resv=m.flags, S=int(m.s_flag), QRV=m.qrv, QQIC=m.qqic,
                               sources=[str(s) for s in m.sources])
    elif cls is Mld2Report:
        records = [_Record(rtype=int(r.record_type), auxdata_len=len(r.aux_data) // 4,
                                        dst=str(r.group), sources=[str(s) for s in r.sources], auxdata=r.aux_data)
                   for r in m.records]
        layer = _Report(res=m.reserved, reserved=m.reserved2, records=records)
    else:
        raise TypeError(f"not an MLD message: {type(message).__name__}")
    if checksum is not None:
        layer.cksum = checksum
    if trailing:
        layer = layer / Raw(bytes(trailing))
    return layer


def build_packet(message: MldMessage, ip: IPv6Header | None = None, *, src: Any = None,
                 dst_mac: str | None = None, src_mac: str | None = None, vlan: int | None = None,
                 checksum: int | None = None, trailing: bytes = b"") -> Packet:
    """A scapy Ether/[Dot1Q]/IPv6/HopByHop/ICMPv6 packet; the arguments of
    :func:`mdiag.core.mld.build_frame`."""
    if ip is None:
        ip = IPv6Header(src=src if src is not None else 0, dst=default_destination(message))
    elif src is not None:
        raise ValueError("give the source either in ip or as src, not both")
    options = ip.extension
    has_hbh = bool(options) or ip.hbh_options is not None
    ip_layer = IPv6(tc=ip.traffic_class, fl=ip.flow_label, hlim=ip.hop_limit, src=str(ip.src), dst=str(ip.dst))
    if ip.payload_length is not None:
        ip_layer.plen = ip.payload_length
    if ip.next_header is not None:
        ip_layer.nh = ip.next_header
    elif not has_hbh:
        ip_layer.nh = NEXT_ICMPV6
    upper = mld_layer(message, checksum=checksum, trailing=trailing)
    head = Ether(dst=dst_mac or multicast_mac(ip.dst), src=src_mac or host_mac(ip.src), type=0x86DD)
    if vlan is not None:
        head = Ether(dst=head.dst, src=head.src, type=0x8100) / Dot1Q(vlan=vlan, type=0x86DD)
    if has_hbh:
        hbh = IPv6ExtHdrHopByHop(bytes((NEXT_ICMPV6, (len(options) + 2) // 8 - 1)) + options)
        hbh.remove_payload()
        return head / ip_layer / hbh / upper  # type: ignore[no-any-return]
    return head / ip_layer / upper  # type: ignore[no-any-return]


def build_frame(message: MldMessage, ip: IPv6Header | None = None, **kwargs: Any) -> bytes:
    """Bytes of :func:`build_packet` (byte-identical with the core's ``build_frame``)."""
    return bytes(build_packet(message, ip, **kwargs))


def show(packet: Packet) -> str:
    """Scapy's ``show()`` text of ``packet`` as it goes on the wire (checksums and lengths filled)."""
    return str(packet.__class__(bytes(packet)).show(dump=True))


# --------------------------------------------------------------------------- parse


def parse_frame(data: bytes | Packet) -> Decoded:
    """Decode an Ethernet frame (bytes or scapy packet) through scapy's dissectors."""
    if isinstance(data, Packet):
        if IPv6 not in data:
            raise NotMld(12, "an IPv6 packet in the frame", "scapy found none")
        layer = data[IPv6]
        return parse_ip(bytes(layer.original) if layer.original else bytes(layer))
    raw = bytes(data)
    # Only the link header is dissected here: scapy's ICMPv6 classes fail on some short
    # messages (MRD) that mdiag keeps, and the IPv6 chain is walked in parse_ip.
    head = _dissect(Ether, raw[:14])
    offset = 14
    if head.type == 0x8100:
        head = _dissect(Dot1Q, raw[14:18])
        offset = 18
    if head.type != 0x86DD:
        raise NotMld(offset - 2, "an IPv6 packet in the frame", f"EtherType is 0x{head.type:04x}")
    return parse_ip(raw[offset:])


def parse_ip(data: bytes) -> Decoded:
    """Decode an IPv6 packet through scapy's dissectors (the extension chain is walked by the
    core, which scapy's classes do not check)."""
    original = bytes(data)
    ip, payload, truncated = parse_ipv6_header(original)
    packet = _dissect(IPv6, original[:40])  # the upper layers are read one by one below
    if (address(packet.src) != ip.src or address(packet.dst) != ip.dst or packet.hlim != ip.hop_limit
            or packet.tc != ip.traffic_class or packet.fl != ip.flow_label):
        raise MalformedPacket(0, "an IPv6 header scapy reads as mdiag does")
    message = _message(payload)
    used = len(payload) if type(message) is UnknownMld else len(encode(message))
    return decoded_from(message, payload, used, ip, truncated=truncated)


def _dissect(cls: type[Packet], data: bytes) -> Packet:
    try:
        return cls(data)
    except Exception as exc:  # scapy raises many kinds on hostile input
        raise MalformedPacket(0, f"a frame scapy can dissect as {cls.__name__}", str(exc)) from None


def _flatten(records: list[Any]) -> list[Any]:
    """scapy 2.8 dissects the records of a report as one record whose payload is the next one."""
    out = []
    for record in records:
        while isinstance(record, ICMPv6MLDMultAddrRec):
            out.append(record)
            record = record.payload
    return out


def _message(payload: bytes) -> MldMessage:
    """The model for one ICMPv6 message, read through scapy's MLD classes."""
    n = len(payload)
    if n < 4:
        raise MalformedPacket(n, "a 4-byte ICMPv6 header", f"only {n} bytes")
    kind = payload[0]
    if kind not in MLD_TYPES:
        if kind in (151, 152, 153):
            return UnknownMld(payload)
        raise NotMld(0, "ICMPv6 type 130, 131, 132 or 143 (MLD)", f"type is {kind}")
    layer: Any
    try:
        if kind == 143:
            layer = _Report(payload)
            records = _flatten(layer.records or [])
            if len(records) != layer.records_number:
                raise MalformedPacket(8, f"{layer.records_number} records", f"report is {n} bytes")
            out = []
            for r in records:
                sources = tuple(r.sources or ())
                aux = bytes(r.auxdata or b"")
                if len(sources) != r.sources_number or len(aux) != 4 * r.auxdata_len:
                    raise MalformedPacket(8, f"{r.sources_number} sources and {4 * r.auxdata_len} bytes of aux data",
                                          f"report is {n} bytes")
                out.append(MldRecord(int(r.rtype), r.dst, sources, aux))
            return Mld2Report(tuple(out), int(layer.res), int(layer.reserved))
        if n < 24:
            raise MalformedPacket(n, "a 24-byte MLD message", f"only {n} bytes")
        if kind == 130 and n >= 28:
            layer = ICMPv6MLQuery2(payload)
            sources = tuple(layer.sources or ())
            if len(sources) != layer.sources_number:
                raise MalformedPacket(28, f"{layer.sources_number} source addresses", f"query is {n} bytes")
            return Mld2Query(int(layer.mrd), layer.mladdr, bool(layer.S), int(layer.QRV), int(layer.QQIC),
                             sources, int(layer.reserved), int(layer.Resv), int(layer.code))
        if kind == 130 and n != 24:
            raise MalformedPacket(24, "a 24-byte (MLDv1) or at least 28-byte (MLDv2) query",
                                  f"{n}-byte query, ignored by RFC 3810 8.1")
        cls: Any = {130: ICMPv6MLQuery, 131: ICMPv6MLReport, 132: ICMPv6MLDone}[kind]
        layer = cls(payload[:24])
        model: Any = {130: Mld1Query, 131: Mld1Report, 132: Mld1Done}[kind]
        if kind == 130:
            return Mld1Query(int(layer.mrd), layer.mladdr, int(layer.reserved), int(layer.code))
        return model(layer.mladdr, int(layer.mrd), int(layer.reserved), int(layer.code))  # type: ignore[no-any-return]
    except MalformedPacket:
        raise
    except Exception as exc:  # scapy fails in many ways on truncated input
        raise MalformedPacket(0, "an MLD message scapy can dissect", f"{type(exc).__name__}: {exc}") from None
