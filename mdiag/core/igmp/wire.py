"""Pure struct-based IGMP encoder and fast decoder (RFC 1112, RFC 2236, RFC 3376).

``encode(message)`` gives the IGMP bytes with a correct checksum (or the one you
force). ``decode_igmp(payload)`` and ``decode_ipv4(packet)`` return a
:class:`Decoded`: the message, the IP facts, the checksum status and a list of
:class:`~mdiag.core.findings.Finding`. Problems that still leave a message
(bad checksum, wrong TTL, trailing bytes...) are findings; only input that cannot
be decoded at all raises :class:`MalformedPacket`, with the byte offset and what was
expected there. Nothing else escapes for any byte string.

The decoder is the hot path of capture analysis: precompiled structs, cached
addresses, models built through a trusted path that skips re-validation of
values the wire format already bounds.
"""

from __future__ import annotations

import struct
from ipaddress import IPv4Address
from typing import Any, NamedTuple

from mdiag.core.findings import Finding, Severity
from mdiag.core.igmp import validate
from mdiag.core.igmp.checksum import internet_checksum
from mdiag.core.igmp.ipv4 import (
    PROTO_IGMP,
    ROUTER_ALERT,
    IpFacts,
    IPv4Header,
    has_router_alert,
)
from mdiag.core.records import BY_VALUE as _BY_VALUE
from mdiag.core.igmp.messages import (
    ALL_ROUTERS,
    ALL_SYSTEMS,
    IGMPV3_ROUTERS,
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
    default_destination,
)
from mdiag.errors import InputError


class MalformedPacket(InputError):
    """The bytes cannot be decoded as an IGMP message at all."""

    def __init__(self, offset: int, expected: str, detail: str = "") -> None:
        self.offset = offset
        self.expected = expected
        self.detail = detail
        text = f"malformed packet at byte {offset}: expected {expected}"
        super().__init__(f"{text} ({detail})" if detail else text)


class NotIgmp(MalformedPacket):
    """A valid IPv4 packet that does not carry IGMP (protocol is not 2, or a fragment)."""


# --------------------------------------------------------------------------- encoder

_V1V2 = struct.Struct("!BBH4s")
_V3Q = struct.Struct("!BBH4sBBH")
_V3R = struct.Struct("!BBHHH")
_REC = struct.Struct("!BBH4s")


def _with_checksum(body: bytes, checksum: int | None, covered: int | None = None) -> bytes:
    if checksum is None:
        checksum = internet_checksum(body if covered is None else body[:covered])
    return body[:2] + checksum.to_bytes(2, "big") + body[4:]


def encode(message: IgmpMessage, *, checksum: int | None = None, trailing: bytes = b"") -> bytes:
    """IGMP bytes of ``message`` followed by ``trailing``.

    The checksum covers the whole payload, trailing bytes included (RFC 2236 2.3,
    RFC 3376 4.1.2), or the 8 message bytes for IGMPv1 (RFC 1112). Pass
    ``checksum`` to force a (wrong) value. An :class:`UnknownMessage` is returned
    as it was received unless ``checksum`` is given.
    """
    cls = type(message)
    if cls is V2Report or cls is V2Leave or cls is V1Report:
        body = _V1V2.pack(message.type, message.unused, 0, message.group.packed)  # type: ignore[union-attr]
    elif cls is V2Query:
        body = _V1V2.pack(0x11, message.max_resp_code, 0, message.group.packed)  # type: ignore[union-attr]
    elif cls is V1Query:
        body = _V1V2.pack(0x11, 0, 0, message.group.packed)  # type: ignore[union-attr]
    elif cls is V3Query:
        m: Any = message
        body = _V3Q.pack(0x11, m.max_resp_code, 0, m.group.packed,
                         (m.reserved << 4) | (8 if m.s_flag else 0) | m.qrv, m.qqic, len(m.sources))
        if m.sources:
            body += b"".join(s.packed for s in m.sources)
    elif cls is V3Report:
        r: Any = message
        parts = [_V3R.pack(0x22, r.reserved, 0, r.reserved2, len(r.records))]
        for record in r.records:
            parts.append(_REC.pack(int(record.record_type), len(record.aux_data) // 4,
                                   len(record.sources), record.group.packed))
            parts.extend(s.packed for s in record.sources)
            parts.append(record.aux_data)
        body = b"".join(parts)
    elif cls is UnknownMessage:
        raw = message.raw  # type: ignore[union-attr]
        if checksum is None:
            return raw + bytes(trailing)
        if len(raw) < 4:
            raise ValueError("a message shorter than 4 bytes has no checksum field")
        return raw[:2] + checksum.to_bytes(2, "big") + raw[4:] + bytes(trailing)
    else:
        raise TypeError(f"not an IGMP message: {type(message).__name__}")
    if checksum is not None and not 0 <= checksum <= 0xFFFF:
        raise ValueError(f"checksum {checksum} does not fit in 16 bits")
    body += bytes(trailing)
    covered = 8 if (cls is V1Report or cls is V1Query) else None
    return _with_checksum(body, checksum, covered)


def encode_ipv4(message: IgmpMessage, header: IPv4Header | None = None, *,
                checksum: int | None = None, trailing: bytes = b"") -> bytes:
    """A complete IPv4 packet: ``header`` (defaults: TTL 1, TOS 0xc0, DF, Router Alert,
    destination as RFC 2236/3376 say for the message) followed by :func:`encode`."""
    payload = encode(message, checksum=checksum, trailing=trailing)
    if header is None:
        header = IPv4Header(dst=default_destination(message))
    return header.encode(len(payload)) + payload


# --------------------------------------------------------------------------- decoded value


class Decoded(NamedTuple):
    """One decoded IGMP message with its IP facts, checksum status and findings.

    ``ip`` is None when only an IGMP payload was decoded. ``checksum_ok`` is None
    when the packet was cut short and the checksum cannot be verified. A NamedTuple
    (immutable, one C call to build) because capture analysis makes millions.
    """

    message: IgmpMessage
    findings: tuple[Finding, ...]
    checksum: int
    checksum_ok: bool | None
    ip: IpFacts | None = None
    ip_checksum_ok: bool | None = None
    trailing: bytes = b""

    @property
    def family(self) -> int:
        """4: an IGMP message (MLD's Decoded says 6)."""
        return 4

    @property
    def version(self) -> int | None:
        return self.message.version

    @property
    def kind(self) -> str:
        return self.message.kind

    @property
    def src(self) -> IPv4Address | None:
        return self.ip.src if self.ip is not None else None

    @property
    def dst(self) -> IPv4Address | None:
        return self.ip.dst if self.ip is not None else None

    @property
    def ttl(self) -> int | None:
        return self.ip.ttl if self.ip is not None else None

    @property
    def tos(self) -> int | None:
        return self.ip.tos if self.ip is not None else None

    @property
    def df(self) -> bool | None:
        return self.ip.df if self.ip is not None else None

    @property
    def router_alert(self) -> bool | None:
        return self.ip.router_alert if self.ip is not None else None

    @property
    def worst(self) -> Severity | None:
        """Highest severity among the findings, None when there are none."""
        return max((f.severity for f in self.findings), default=None)


# --------------------------------------------------------------------------- decoder

_new = object.__new__
_tuple_new = tuple.__new__
_set = object.__setattr__
_from_bytes = int.from_bytes
_addr_cache: dict[bytes, IPv4Address] = {}


def _addr(raw: bytes) -> IPv4Address:
    value = _addr_cache.get(raw)
    if value is None:
        if len(_addr_cache) > 65536:
            _addr_cache.clear()
        value = _addr_cache[raw] = IPv4Address(raw)
    return value


def _sum_ok(data: bytes) -> bool:
    if len(data) & 1:
        data = data + b"\x00"
    number = _from_bytes(data, "big")
    return bool(number) and number % 0xFFFF == 0


_U16 = struct.Struct("!H")
_HDR8 = struct.Struct("!BBH4s")
_V3Q_TAIL = struct.Struct("!BBH")
_REC_HDR = struct.Struct("!BBH4s")
_IP = struct.Struct("!BBHHHBBH4s4s")


def _sources(payload: bytes, start: int, count: int) -> tuple[IPv4Address, ...]:
    if count == 1:
        return (_addr(payload[start:start + 4]),)
    return tuple([_addr(payload[i:i + 4]) for i in range(start, start + 4 * count, 4)])


def _parse(payload: bytes) -> tuple[IgmpMessage, int]:
    """The message in ``payload`` and how many bytes it used (the rest is trailing)."""
    n = len(payload)
    if n < 8:
        raise MalformedPacket(n, "an 8-byte IGMP header", f"only {n} bytes")
    kind, code, _, group = _HDR8.unpack_from(payload)
    if kind == 0x16 or kind == 0x17 or kind == 0x12:
        msg: Any = _new(V2Report if kind == 0x16 else V2Leave if kind == 0x17 else V1Report)
        _set(msg, "group", _addr(group))
        _set(msg, "unused", code)
        return msg, 8
    if kind == 0x11:
        if n == 8:
            if code == 0:
                msg = _new(V1Query)
                _set(msg, "group", _addr(group))
                return msg, 8
            msg = _new(V2Query)
            _set(msg, "max_resp_code", code)
            _set(msg, "group", _addr(group))
            return msg, 8
        if n < 12:
            raise MalformedPacket(8, "an 8-byte (v1/v2) or at least 12-byte (v3) query",
                                  f"{n}-byte query, ignored by RFC 3376 7.1")
        flags, qqic, count = _V3Q_TAIL.unpack_from(payload, 8)
        end = 12 + 4 * count
        if end > n:
            raise MalformedPacket(12 + 4 * ((n - 12) // 4), f"{count} source addresses ({4 * count} bytes)",
                                  f"query is {n} bytes")
        msg = _new(V3Query)
        _set(msg, "max_resp_code", code)
        _set(msg, "group", _addr(group))
        _set(msg, "s_flag", bool(flags & 8))
        _set(msg, "qrv", flags & 7)
        _set(msg, "qqic", qqic)
        _set(msg, "sources", _sources(payload, 12, count) if count else ())
        _set(msg, "reserved", flags >> 4)
        return msg, end
    if kind == 0x22:
        reserved2 = (group[0] << 8) | group[1]
        count = (group[2] << 8) | group[3]
        records = []
        offset = 8
        for index in range(count):
            if offset + 8 > n:
                raise MalformedPacket(offset, f"group record {index + 1} of {count} (8-byte header)",
                                      f"report ends at byte {n}")
            rtype, aux_words, nsrc, rgroup = _REC_HDR.unpack_from(payload, offset)
            end = offset + 8 + 4 * nsrc + 4 * aux_words
            if end > n:
                raise MalformedPacket(offset + 8, f"record {index + 1} of {count}: {nsrc} sources and "
                                      f"{aux_words * 4} bytes of aux data ({end - offset - 8} bytes)",
                                      f"report ends at byte {n}")
            record: Any = _new(GroupRecord)
            _set(record, "record_type", _BY_VALUE.get(rtype, rtype))
            _set(record, "group", _addr(rgroup))
            _set(record, "sources", _sources(payload, offset + 8, nsrc) if nsrc else ())
            _set(record, "aux_data", payload[end - 4 * aux_words:end] if aux_words else b"")
            records.append(record)
            offset = end
        msg = _new(V3Report)
        _set(msg, "records", tuple(records))
        _set(msg, "reserved", code)
        _set(msg, "reserved2", reserved2)
        return msg, offset
    msg = _new(UnknownMessage)
    _set(msg, "raw", bytes(payload))
    return msg, n


#: Payload memo: IGMP payload bytes -> (message, checksum, checksum ok, trailing, findings).
#: Decoding is a pure function of the bytes and every result is immutable, so
#: byte-identical payloads (hosts repeat the same reports all day) are decoded once.
#: (message, checksum, checksum ok, trailing, findings, expected IP destination or None,
#:  version, is a query): the last three let decode_ipv4 check the IP header inline.
_Part = tuple[Any, int, "bool | None", bytes, "tuple[Finding, ...]", "IPv4Address | None", "int | None", bool]
_memo: dict[bytes, _Part] = {}
_MEMO_ENTRIES = 16384
_MEMO_MAX_PAYLOAD = 256
_memo_on = True


def complete_records(payload: bytes) -> tuple[V3Report | None, int, int]:
    """An IGMPv3 report cut short (by a capture's snap length): a report of the group
    records that were captured whole, how many those are and how many the header
    announced. ``(None, 0, 0)`` for anything else (RFC 3376 4.2)."""
    n = len(payload)
    if n < 8 or payload[0] != 0x22:
        return None, 0, 0
    count = (payload[6] << 8) | payload[7]
    offset = 8
    kept = 0
    while kept < count and offset + 8 <= n:
        end = offset + 8 + 4 * ((payload[offset + 2] << 8) | payload[offset + 3]) + 4 * payload[offset + 1]
        if end > n:
            break
        offset = end
        kept += 1
    message, _ = _parse(payload[:6] + kept.to_bytes(2, "big") + payload[8:offset])
    return message if isinstance(message, V3Report) else None, kept, count


def set_payload_memo(enabled: bool) -> None:
    """Turn the payload memo on or off (benchmarks measure both); clears it."""
    global _memo_on
    _memo_on = enabled
    _memo.clear()


def _payload_part(payload: bytes, message: IgmpMessage, used: int,
                  truncated: bool) -> _Part:
    """Checksum status, trailing bytes and message findings: everything that depends
    on the IGMP payload alone."""
    trailing = payload[used:] if used < len(payload) else b""
    n = len(payload)
    v1 = type(message) is V1Query or type(message) is V1Report
    checksum_ok: bool | None
    if truncated:
        checksum_ok = None
    else:
        covered = payload[:8] if v1 else payload
        if len(covered) & 1:
            covered = covered + b"\x00"
        number = _from_bytes(covered, "big")
        checksum_ok = number % 0xFFFF == 0 and number != 0
    checksum = (payload[2] << 8) | payload[3] if n >= 4 else 0
    findings = validate.message_findings(message, trailing, used + len(trailing))
    if checksum_ok is False:
        covered = payload[:8] if v1 else payload
        good = internet_checksum(covered[:2] + b"\x00\x00" + covered[4:])
        findings.insert(0, validate.finding("igmp-checksum-bad",
                                            f"IGMP checksum 0x{checksum:04x} is wrong, should be 0x{good:04x}",
                                            offset=2, found=checksum, expected=good))
    if type(message) is UnknownMessage:
        expected = None  # other protocols have their own IP rules: no IP findings
    else:
        expected = default_destination(message)
    return (message, checksum, checksum_ok, trailing, tuple(findings) if findings else (), expected,
            message.version, message.type == 0x11)


def _analyse_payload(payload: bytes, truncated: bool) -> _Part:
    if _memo_on and not truncated:
        hit = _memo.get(payload)
        if hit is not None:
            return hit
    message, used = _parse(payload)
    part = _payload_part(payload, message, used, truncated)
    if _memo_on and not truncated and len(payload) <= _MEMO_MAX_PAYLOAD:
        if len(_memo) >= _MEMO_ENTRIES:
            _memo.clear()
        _memo[payload] = part
    return part


def _assemble(part: _Part, ip: IpFacts | None,
              ip_checksum_ok: bool | None, truncated: bool) -> Decoded:
    message, checksum, checksum_ok, trailing, findings = part[:5]
    if ip is not None:
        extra = validate.ip_findings(ip, message)
        if extra or ip_checksum_ok is False or truncated:
            front = []
            if truncated:
                front.append(validate.finding("ip-truncated",
                                              f"packet cut short of its IP total length {ip.total_length}"))
            if ip_checksum_ok is False:
                front.append(validate.finding("ip-checksum-bad", f"IP header checksum 0x{ip.checksum:04x} is wrong"))
            findings = (*front, *findings, *extra)
    return _tuple_new(Decoded, (message, findings, checksum, checksum_ok, ip, ip_checksum_ok, trailing))


def decode_igmp(payload: bytes, ip: IpFacts | None = None, *, ip_checksum_ok: bool | None = None,
                truncated: bool = False) -> Decoded:
    """Decode one IGMP message (the IP payload, already cut at the IP total length).

    ``ip`` (the header that carried it) adds the IP findings. Raises
    :class:`MalformedPacket` only when no message can be read.
    """
    if type(payload) is not bytes:
        payload = bytes(payload)
    return _assemble(_analyse_payload(payload, truncated), ip, ip_checksum_ok, truncated)


def decoded_from(message: IgmpMessage, payload: bytes, used: int, ip: IpFacts | None = None, *,
                 ip_checksum_ok: bool | None = None, truncated: bool = False) -> Decoded:
    """The :class:`Decoded` for ``message`` parsed by another decoder (the scapy adapter)
    from ``payload``, of which it used the first ``used`` bytes: same checksum rules
    and findings as :func:`decode_igmp`."""
    return _assemble(_payload_part(bytes(payload), message, used, truncated), ip, ip_checksum_ok, truncated)


def parse_ipv4_header(packet: bytes) -> tuple[IpFacts, bool, bytes, bool]:
    """(header, header checksum ok, IGMP payload cut at total length, truncated).

    Raises :class:`NotIgmp` for other protocols and fragments, :class:`MalformedPacket`
    for a header that cannot be read.
    """
    n = len(packet)
    if n < 20:
        raise MalformedPacket(n, "a 20-byte IPv4 header", f"only {n} bytes")
    vihl, tos, total, ident, frag, ttl, proto, csum, src, dst = _IP.unpack_from(packet)
    if vihl >> 4 != 4:
        raise MalformedPacket(0, "IP version 4", f"version is {vihl >> 4}")
    hlen = (vihl & 0x0F) * 4
    if hlen < 20:
        raise MalformedPacket(0, "an IHL of at least 5", f"IHL is {hlen // 4}")
    if hlen > n:
        raise MalformedPacket(n, f"{hlen} bytes of IPv4 header and options", f"only {n} bytes")
    if proto != PROTO_IGMP:
        raise NotIgmp(9, "protocol 2 (IGMP)", f"protocol is {proto}")
    if frag & 0x3FFF:
        raise NotIgmp(6, "an unfragmented packet", "IGMP is never fragmented; this is a fragment")
    if total < hlen:
        raise MalformedPacket(2, f"a total length of at least the header's {hlen} bytes", f"it is {total}")
    ip_ok = _sum_ok(packet[:hlen])
    options = packet[20:hlen]
    ip = _tuple_new(IpFacts, (_addr(src), _addr(dst), ttl, tos, (frag & 0x4000) != 0,
                              options == ROUTER_ALERT or (len(options) > 0 and has_router_alert(options)),
                              ident, proto, options, csum, total, False, 0))
    return ip, ip_ok, packet[hlen:total], total > n


def _decode_ipv4_general(packet: bytes) -> Decoded:
    """The general path of :func:`decode_ipv4`: any header, any message, every finding.

    :func:`decode_ipv4` answers the common conforming packet itself and hands
    everything else here; tests hold the two to the same answers.
    """
    if type(packet) is not bytes:
        packet = bytes(packet)
    n = len(packet)
    if n < 20:
        parse_ipv4_header(packet)  # raises
    vihl, tos, total, ident, frag, ttl, proto, csum, src, dst = _IP.unpack_from(packet)
    hlen = (vihl & 0x0F) << 2
    if vihl >> 4 != 4 or hlen < 20 or hlen > n or proto != 2 or frag & 0x3FFF or total < hlen:
        parse_ipv4_header(packet)  # raises the precise MalformedPacket / NotIgmp
    number = _from_bytes(packet[:hlen], "big")
    ip_ok = number % 0xFFFF == 0 and number != 0
    options = packet[20:hlen]
    cache = _addr_cache
    ip = _tuple_new(IpFacts, (cache.get(src) or _addr(src), cache.get(dst) or _addr(dst), ttl, tos,
                              (frag & 0x4000) != 0,
                              options == ROUTER_ALERT or (hlen > 20 and has_router_alert(options)),
                              ident, proto, options, csum, total, False, 0))
    truncated = total > n
    payload = packet[hlen:total]
    part = _memo.get(payload) if not truncated else None
    if part is None:
        try:
            part = _analyse_payload(payload, truncated)
        except MalformedPacket as exc:
            detail = f"IGMP byte {exc.offset}" + (f"; {exc.detail}" if exc.detail else "")
            raise MalformedPacket(hlen + exc.offset, exc.expected, detail) from None
    # Inline form of validate.ip_findings for the common case (nothing to report).
    expected = part[5]
    version = part[6]
    if ip_ok and not truncated and (expected is None or (
            ttl == 1 and (version == 1 or ip[5]) and (version != 3 or tos == 0xC0)
            and (ip[1] is expected or ip[1] == expected) and not (part[7] and src == b"\0\0\0\0"))):
        return _tuple_new(Decoded, (part[0], part[4], part[1], part[2], ip, True, part[3]))
    return _assemble(part, ip, ip_ok, truncated)


_RA = ROUTER_ALERT
_ALL_ROUTERS_INT = int(ALL_ROUTERS)
_V3_ROUTERS_INT = int(IGMPV3_ROUTERS)
_ALL_SYSTEMS_INT = int(ALL_SYSTEMS)
_RECORD_TYPES = {value: member for value, member in _BY_VALUE.items() if 1 <= value <= 6}
#: IPv4 header (IHL 6: with its 4 option bytes) and the IGMP header, in one unpack;
#: addresses as ints.
_IP6_IGMP = struct.Struct("!BBHHHBBHII4sBBHI")
_IP5_IGMP = struct.Struct("!BBHHHBBHIIBBHI")
_REC_INT = struct.Struct("!BBHI")
#: "!nI" structs for source lists of up to 16 addresses.
_N_INTS = [struct.Struct(f"!{n}I") for n in range(17)]
_int_addr_cache: dict[int, IPv4Address] = {}


def _int_addr(value: int) -> IPv4Address:
    address = _int_addr_cache.get(value)
    if address is None:
        if len(_int_addr_cache) > 65536:
            _int_addr_cache.clear()
        address = _int_addr_cache[value] = IPv4Address(value)
    return address


def _unicast_sources(payload: bytes, start: int, count: int) -> tuple[IPv4Address, ...] | None:
    """The ``count`` source addresses at ``start``, or None when one of them is 0.0.0.0,
    multicast or broadcast (a finding: the general path reports it)."""
    if count <= 16:
        values = _N_INTS[count].unpack_from(payload, start)
    else:
        values = struct.unpack_from(f"!{count}I", payload, start)
    cache = _int_addr_cache
    out = []
    for value in values:
        if value == 0 or value >= 0xE0000000:
            return None
        out.append(cache.get(value) or _int_addr(value))
    return tuple(out)


def decode_ipv4(packet: bytes) -> Decoded:
    """Decode an IPv4 packet carrying IGMP; the message is cut at the IP total length.

    This is the bulk decoder's hot path. A conforming packet (IHL 5, or 6 holding
    just Router Alert; TTL 1; both checksums good; a v1/v2/v3 message of exactly the
    IP payload's length with nothing to report) is decoded here in one function: one
    struct unpack for the IP and IGMP headers, addresses compared as ints, models
    built through the trusted constructor. Anything else, from a bad checksum to a
    malformed header, goes through :func:`_decode_ipv4_general`, which gives the
    same value for conforming packets (tests compare the two on generated packets)
    and every finding otherwise.
    """
    if type(packet) is not bytes:
        packet = bytes(packet)
    n = len(packet)
    if n < 28:
        return _decode_ipv4_general(packet)
    first = packet[0]
    if first == 0x46:
        if n < 32:
            return _decode_ipv4_general(packet)
        _, tos, total, ident, frag, ttl, proto, csum, src, dst, options, kind, code, _c, g = \
            _IP6_IGMP.unpack_from(packet)
        if options != _RA:
            return _decode_ipv4_general(packet)
        hlen = 24
        ra = True
    elif first == 0x45:
        _, tos, total, ident, frag, ttl, proto, csum, src, dst, kind, code, _c, g = _IP5_IGMP.unpack_from(packet)
        hlen = 20
        ra = False
        options = b""
    else:
        return _decode_ipv4_general(packet)
    if proto != 2 or frag & 0x3FFF or total > n or total < hlen + 8:
        return _decode_ipv4_general(packet)
    number = _from_bytes(packet[:hlen], "big")
    if number % 0xFFFF or not number:
        return _decode_ipv4_general(packet)   # IP checksum finding
    payload = packet[hlen:total]
    cache = _int_addr_cache
    src_a = cache.get(src) or _int_addr(src)
    dst_a = cache.get(dst) or _int_addr(dst)
    ip = _tuple_new(IpFacts, (src_a, dst_a, ttl, tos, (frag & 0x4000) != 0, ra, ident, 2, options, csum,
                              total, False, 0))
    if _memo_on:
        part = _memo.get(payload)
        if part is not None:
            expected = part[5]
            version = part[6]
            if expected is None or (
                    ttl == 1 and (version == 1 or ra) and (version != 3 or tos == 0xC0)
                    and (dst_a is expected or dst_a == expected) and not (part[7] and src == 0)):
                return _tuple_new(Decoded, (part[0], part[4], part[1], part[2], ip, True, part[3]))
            return _assemble(part, ip, True, False)
    number = _from_bytes(payload, "big")
    if ttl != 1 or number % 0xFFFF or not number:
        return _decode_ipv4_general(packet)   # TTL or IGMP checksum finding
    plen = total - hlen
    msg: Any
    if kind == 0x16 or kind == 0x17 or kind == 0x12:
        # v2 report / leave, v1 report: an ordinary group (not 224.0.0.1, not SSM),
        # unused byte 0, sent to the group (reports) or 224.0.0.2 (leave).
        if (plen != 8 or code or not 0xE0000001 < g <= 0xEFFFFFFF or g >> 24 == 232
                or dst != (_ALL_ROUTERS_INT if kind == 0x17 else g) or not (ra or kind == 0x12)):
            return _decode_ipv4_general(packet)
        msg = _new(V2Report if kind == 0x16 else V2Leave if kind == 0x17 else V1Report)
        _set(msg, "group", dst_a if kind != 0x17 else cache.get(g) or _int_addr(g))
        _set(msg, "unused", 0)
        expected = ALL_ROUTERS if kind == 0x17 else dst_a
        version = 1 if kind == 0x12 else 2
        query = False
    elif kind == 0x22:
        # v3 report to 224.0.0.22 with TOS 0xc0: every record of a defined type, an
        # ordinary group (SSM only in INCLUDE mode), unicast sources, no aux data.
        if not ra or tos != 0xC0 or dst != _V3_ROUTERS_INT or code or g >> 16:
            return _decode_ipv4_general(packet)
        records = []
        offset = 8
        types = _RECORD_TYPES
        for _ in range(g & 0xFFFF):
            end = offset + 8
            if end > plen:
                return _decode_ipv4_general(packet)
            rtype, aux, nsrc, rg = _REC_INT.unpack_from(payload, offset)
            member = types.get(rtype)
            if (member is None or aux or not 0xE0000001 < rg <= 0xEFFFFFFF
                    or (rg >> 24 == 232 and (rtype == 2 or rtype == 4))):
                return _decode_ipv4_general(packet)
            record = _new(GroupRecord)
            _set(record, "record_type", member)
            _set(record, "group", cache.get(rg) or _int_addr(rg))
            if nsrc:
                start = end
                end = start + 4 * nsrc
                if end > plen:
                    return _decode_ipv4_general(packet)
                sources = _unicast_sources(payload, start, nsrc)
                if sources is None:
                    return _decode_ipv4_general(packet)
                _set(record, "sources", sources)
            else:
                _set(record, "sources", ())
            _set(record, "aux_data", b"")
            records.append(record)
            offset = end
        if offset != plen:
            return _decode_ipv4_general(packet)   # trailing bytes
        msg = _new(V3Report)
        _set(msg, "records", tuple(records))
        _set(msg, "reserved", 0)
        _set(msg, "reserved2", 0)
        expected = IGMPV3_ROUTERS
        version = 3
        query = False
    elif kind == 0x11:
        # Queries from a real source: general to 224.0.0.1, group-specific to a
        # multicast group; v3: TOS 0xc0, reserved bits 0, unicast sources, none on
        # a general query.
        if src == 0 or dst != (g if g else _ALL_SYSTEMS_INT) or (g and g >> 28 != 0xE):
            return _decode_ipv4_general(packet)
        if plen == 8:
            if code == 0:
                msg = _new(V1Query)
                version = 1
            elif ra:
                msg = _new(V2Query)
                _set(msg, "max_resp_code", code)
                version = 2
            else:
                return _decode_ipv4_general(packet)
            _set(msg, "group", dst_a if g else cache.get(g) or _int_addr(g))
        else:
            if plen < 12:
                return _decode_ipv4_general(packet)   # 9-11 bytes: malformed
            flags, qqic, count = _V3Q_TAIL.unpack_from(payload, 8)
            if (plen != 12 + 4 * count or not ra or tos != 0xC0 or flags >> 4
                    or (count and not g)):
                return _decode_ipv4_general(packet)
            if count:
                sources = _unicast_sources(payload, 12, count)
                if sources is None:
                    return _decode_ipv4_general(packet)
            else:
                sources = ()
            msg = _new(V3Query)
            _set(msg, "max_resp_code", code)
            _set(msg, "group", dst_a if g else cache.get(g) or _int_addr(g))
            _set(msg, "s_flag", bool(flags & 8))
            _set(msg, "qrv", flags & 7)
            _set(msg, "qqic", qqic)
            _set(msg, "sources", sources)
            _set(msg, "reserved", 0)
            version = 3
        expected = dst_a
        query = True
    else:
        return _decode_ipv4_general(packet)
    checksum = _c
    if _memo_on and plen <= _MEMO_MAX_PAYLOAD:
        if len(_memo) >= _MEMO_ENTRIES:
            _memo.clear()
        _memo[payload] = (msg, checksum, True, b"", (), expected, version, query)
    return _tuple_new(Decoded, (msg, (), checksum, True, ip, True, b""))
