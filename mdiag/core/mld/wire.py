"""Pure struct-based MLD encoder and fast decoder (RFC 2710, RFC 3810, RFC 4443 2.3).

``encode(message, src, dst)`` gives the ICMPv6 bytes with a correct checksum over the
IPv6 pseudo-header (or the one you force). ``decode_ipv6(packet)`` walks the
extension-header chain to ICMPv6 and returns a :class:`Decoded`: the message, the
IPv6 facts, the checksum status and the findings. Problems that still leave a
message are findings; only input that cannot be decoded at all raises
:class:`MalformedPacket` (from :mod:`mdiag.core.igmp.wire`: one error type for
both families) with the byte offset; :class:`NotMld` is its subclass for IPv6
packets that carry something else. Nothing else escapes for any byte string.

Like the IGMP decoder, :func:`decode_ipv6` answers the common conforming packet
(IPv6 + an 8-byte Hop-by-Hop header holding Router Alert + ICMPv6) in one function
and hands everything else to :func:`_decode_ipv6_general`; tests hold the two to
the same answers.
"""

from __future__ import annotations

import struct
from ipaddress import IPv6Address
from typing import Any, NamedTuple

from mdiag.core.findings import Finding, Severity
from mdiag.core.floatcode import IGMP_CODE, MLD_MRC
from mdiag.core.igmp.checksum import internet_checksum
from mdiag.core.igmp.wire import MalformedPacket
from mdiag.core.mld import validate
from mdiag.core.mld.ipv6 import (
    HBH_PAD1,
    HBH_PADN,
    NEXT_ICMPV6,
    Ip6Facts,
    IPv6Header,
    WalkError,
    router_alert_value,
    walk,
)
from mdiag.core.mld.messages import (
    MLD_TYPES,
    MRD_TYPES,
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
from mdiag.core.records import BY_VALUE

__all__ = ["Decoded", "MalformedPacket", "NotMld", "decode_icmp6", "decode_ipv6", "decoded_from",
           "encode", "encode_ipv6", "icmp6_checksum", "parse_ipv6_header", "pseudo_header"]


class NotMld(MalformedPacket):
    """A valid IPv6 packet that does not carry MLD (another protocol or ICMPv6 type, or a fragment)."""


# --------------------------------------------------------------------------- checksum


def pseudo_header(src: IPv6Address, dst: IPv6Address, length: int) -> bytes:
    """The IPv6 pseudo-header of RFC 8200 8.1 for ``length`` bytes of ICMPv6."""
    return src.packed + dst.packed + length.to_bytes(4, "big") + b"\x00\x00\x00\x3a"


def icmp6_checksum(src: IPv6Address, dst: IPv6Address, message: bytes) -> int:
    """RFC 4443 2.3 checksum of ``message`` (its checksum field must be zero)."""
    return internet_checksum(pseudo_header(src, dst, len(message)) + message)


_from_bytes = int.from_bytes


def _sum_ok(data: bytes) -> bool:
    if len(data) & 1:
        data = data + b"\x00"
    number = _from_bytes(data, "big")
    return number % 0xFFFF == 0 and number != 0


# --------------------------------------------------------------------------- encoder

_HDR = struct.Struct("!BBHHH16s")
_V2Q_TAIL = struct.Struct("!BBH")
_V2R = struct.Struct("!BBHHH")
_REC = struct.Struct("!BBH16s")


def _body(message: MldMessage) -> bytes:
    cls = type(message)
    m: Any = message
    if cls is Mld1Report or cls is Mld1Done or cls is Mld1Query:
        return _HDR.pack(m.type, m.code, 0, m.max_resp_delay, m.reserved, m.group.packed)
    if cls is Mld2Query:
        body = _HDR.pack(130, m.code, 0, m.max_resp_code, m.reserved, m.group.packed)
        body += _V2Q_TAIL.pack((m.flags << 4) | (8 if m.s_flag else 0) | m.qrv, m.qqic, len(m.sources))
        return body + b"".join(s.packed for s in m.sources)
    if cls is Mld2Report:
        parts = [_V2R.pack(143, m.reserved, 0, m.reserved2, len(m.records))]
        for record in m.records:
            parts.append(_REC.pack(int(record.record_type), len(record.aux_data) // 4,
                                   len(record.sources), record.group.packed))
            parts.extend(s.packed for s in record.sources)
            parts.append(record.aux_data)
        return b"".join(parts)
    if cls is UnknownMld:
        return bytes(m.raw)
    raise TypeError(f"not an MLD message: {type(message).__name__}")


def encode(message: MldMessage, src: Any = None, dst: Any = None, *, checksum: int | None = None,
           trailing: bytes = b"") -> bytes:
    """ICMPv6 bytes of ``message`` followed by ``trailing``.

    The checksum covers the IPv6 pseudo-header of ``src`` and ``dst`` (``dst``
    defaults to where the message is sent, ``src`` to ::) and the whole message,
    trailing bytes included (RFC 4443 2.3). Pass ``checksum`` to force a (wrong)
    value. An :class:`UnknownMld` keeps its checksum unless ``checksum`` is given.
    """
    body = _body(message) + bytes(trailing)
    if checksum is not None and not 0 <= checksum <= 0xFFFF:
        raise ValueError(f"checksum {checksum} does not fit in 16 bits")
    if type(message) is UnknownMld and checksum is None:
        return body
    if checksum is None:
        source = address(src) if src is not None else address(0)
        target = address(dst) if dst is not None else default_destination(message)
        checksum = icmp6_checksum(source, target, body[:2] + b"\0\0" + body[4:])
    return body[:2] + checksum.to_bytes(2, "big") + body[4:]


def encode_ipv6(message: MldMessage, header: IPv6Header | None = None, *, checksum: int | None = None,
                trailing: bytes = b"") -> bytes:
    """A complete IPv6 packet: ``header`` (default: hop limit 1, Router Alert, source ::,
    destination as RFC 2710 / 3810 say for the message) followed by :func:`encode`."""
    if header is None:
        header = IPv6Header(dst=default_destination(message))
    payload = encode(message, header.src, header.dst, checksum=checksum, trailing=trailing)
    return header.encode(len(payload)) + payload


# --------------------------------------------------------------------------- decoded value


class Decoded(NamedTuple):
    """One decoded MLD message with its IPv6 facts, checksum status and findings.

    The same fields as IGMP's ``Decoded`` so that family-blind code reads either.
    ``ip`` is None when only an ICMPv6 message was decoded (then the checksum,
    which covers the pseudo-header, cannot be verified and ``checksum_ok`` is None,
    as it is for a packet cut short). IPv6 has no header checksum:
    ``ip_checksum_ok`` is always None.
    """

    message: MldMessage
    findings: tuple[Finding, ...]
    checksum: int
    checksum_ok: bool | None
    ip: Ip6Facts | None = None
    ip_checksum_ok: bool | None = None
    trailing: bytes = b""

    @property
    def family(self) -> int:
        """6: an MLD message (IGMP's Decoded says 4)."""
        return 6

    @property
    def version(self) -> int | None:
        return self.message.version

    @property
    def kind(self) -> str:
        return self.message.kind

    @property
    def src(self) -> IPv6Address | None:
        return self.ip.src if self.ip is not None else None

    @property
    def dst(self) -> IPv6Address | None:
        return self.ip.dst if self.ip is not None else None

    @property
    def hop_limit(self) -> int | None:
        return self.ip.hop_limit if self.ip is not None else None

    @property
    def ttl(self) -> int | None:
        """The hop limit, under IPv4's name."""
        return self.ip.hop_limit if self.ip is not None else None

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
_addr_cache: dict[bytes, IPv6Address] = {}


def _addr(raw: bytes) -> IPv6Address:
    value = _addr_cache.get(raw)
    if value is None:
        if len(_addr_cache) > 65536:
            _addr_cache.clear()
        value = _addr_cache[raw] = IPv6Address(raw)
    return value


def _sources(payload: bytes, start: int, count: int) -> tuple[IPv6Address, ...]:
    cache = _addr_cache
    out = []
    for i in range(start, start + 16 * count, 16):
        raw = payload[i:i + 16]
        out.append(cache.get(raw) or _addr(raw))
    return tuple(out)


_LOOPBACK = bytes(15) + b"\x01"


def _unicast_sources(payload: bytes, start: int, count: int) -> tuple[IPv6Address, ...] | None:
    """The ``count`` sources at ``start``, or None when one is ::, ::1 or multicast (a
    finding: the general path reports it)."""
    cache = _addr_cache
    out = []
    for i in range(start, start + 16 * count, 16):
        raw = payload[i:i + 16]
        if raw[0] == 0xFF or raw <= _LOOPBACK:
            return None
        out.append(cache.get(raw) or _addr(raw))
    return tuple(out)


_H8 = struct.Struct("!BBHHH")


def _parse(payload: bytes) -> tuple[MldMessage, int]:
    """The message in ``payload`` (an ICMPv6 message) and how many bytes it used.

    Raises :class:`NotMld` for ICMPv6 types that are not MLD or MRD, and
    :class:`MalformedPacket` when the message cannot be read (RFC 3810 8.1: a
    query of neither 24 nor at least 28 bytes is ignored).
    """
    n = len(payload)
    if n < 4:
        raise MalformedPacket(n, "a 4-byte ICMPv6 header", f"only {n} bytes")
    kind = payload[0]
    msg: Any
    if kind in MRD_TYPES:
        msg = _new(UnknownMld)
        _set(msg, "raw", bytes(payload))
        return msg, n
    if kind not in MLD_TYPES:
        raise NotMld(0, "ICMPv6 type 130, 131, 132 or 143 (MLD)", f"type is {kind}")
    if kind == 143:
        if n < 8:
            raise MalformedPacket(n, "an 8-byte MLDv2 report header", f"only {n} bytes")
        _, reserved, _, reserved2, count = _H8.unpack_from(payload)
        records = []
        offset = 8
        for index in range(count):
            if offset + 20 > n:
                raise MalformedPacket(offset, f"multicast address record {index + 1} of {count} "
                                      "(20-byte header)", f"report ends at byte {n}")
            rtype, aux_words, nsrc = payload[offset], payload[offset + 1], (payload[offset + 2] << 8) | payload[offset + 3]
            end = offset + 20 + 16 * nsrc + 4 * aux_words
            if end > n:
                raise MalformedPacket(offset + 20, f"record {index + 1} of {count}: {nsrc} sources and "
                                      f"{aux_words * 4} bytes of aux data ({end - offset - 20} bytes)",
                                      f"report ends at byte {n}")
            record: Any = _new(MldRecord)
            _set(record, "record_type", BY_VALUE.get(rtype, rtype))
            _set(record, "group", _addr(payload[offset + 4:offset + 20]))
            _set(record, "sources", _sources(payload, offset + 20, nsrc) if nsrc else ())
            _set(record, "aux_data", payload[end - 4 * aux_words:end] if aux_words else b"")
            records.append(record)
            offset = end
        msg = _new(Mld2Report)
        _set(msg, "records", tuple(records))
        _set(msg, "reserved", reserved)
        _set(msg, "reserved2", reserved2)
        return msg, offset
    if n < 24:
        raise MalformedPacket(n, "a 24-byte MLD message", f"only {n} bytes")
    _, code, _, delay, reserved = _H8.unpack_from(payload)
    group = _addr(payload[8:24])
    if kind == 130:
        if n >= 28:
            flags, qqic, count = _V2Q_TAIL.unpack_from(payload, 24)
            end = 28 + 16 * count
            if end > n:
                raise MalformedPacket(28 + 16 * ((n - 28) // 16), f"{count} source addresses ({16 * count} bytes)",
                                      f"query is {n} bytes")
            msg = _new(Mld2Query)
            _set(msg, "max_resp_code", delay)
            _set(msg, "group", group)
            _set(msg, "s_flag", bool(flags & 8))
            _set(msg, "qrv", flags & 7)
            _set(msg, "qqic", qqic)
            _set(msg, "sources", _sources(payload, 28, count) if count else ())
            _set(msg, "reserved", reserved)
            _set(msg, "flags", flags >> 4)
            _set(msg, "code", code)
            return msg, end
        if n != 24:
            raise MalformedPacket(24, "a 24-byte (MLDv1) or at least 28-byte (MLDv2) query",
                                  f"{n}-byte query, ignored by RFC 3810 8.1")
        msg = _new(Mld1Query)
    else:
        msg = _new(Mld1Report if kind == 131 else Mld1Done)
    _set(msg, "max_resp_delay", delay)
    _set(msg, "group", group)
    _set(msg, "reserved", reserved)
    _set(msg, "code", code)
    return msg, 24


#: (message, trailing, message findings, packed expected destination or None): everything
#: that depends on the ICMPv6 message alone, memoised by its bytes without the checksum
#: field (hosts repeat the same reports all day; the checksum covers the pseudo-header, so it
#: differs from host to host and is verified per packet, one big-int sum). The last item
#: lets decode_ipv6 check the IPv6 header inline.
_Part = tuple[Any, bytes, "tuple[Finding, ...]", "bytes | None"]
_memo: dict[bytes, _Part] = {}
_MEMO_ENTRIES = 16384
_MEMO_MAX = 512
_memo_on = True


def set_payload_memo(enabled: bool) -> None:
    """Turn the memo on or off (benchmarks measure both); clears it."""
    global _memo_on
    _memo_on = enabled
    _memo.clear()


def _payload_part(payload: bytes, message: MldMessage, used: int) -> _Part:
    trailing = payload[used:] if used < len(payload) else b""
    findings = validate.message_findings(message, trailing, used + len(trailing))
    expected = None if type(message) is UnknownMld else default_destination(message).packed
    return (message, trailing, tuple(findings) if findings else (), expected)


def _analyse(payload: bytes) -> _Part:
    memo = _memo_on and len(payload) <= _MEMO_MAX and type(payload) is bytes
    if memo:
        key = payload[:2] + payload[4:]
        hit = _memo.get(key)
        if hit is not None:
            return hit
    message, used = _parse(payload)
    part = _payload_part(payload, message, used)
    if memo and type(message) is not UnknownMld:   # kept raw, checksum included: not memoised
        if len(_memo) >= _MEMO_ENTRIES:
            _memo.clear()
        _memo[key] = part
    return part


def _assemble(part: _Part, payload: bytes, pseudo: bytes | None, ip: Ip6Facts | None,
              truncated: bool) -> Decoded:
    """The Decoded of a memoised part: checksum over ``pseudo`` (None: not verifiable),
    then the IPv6 findings."""
    message, trailing, findings = part[:3]
    checksum = (payload[2] << 8) | payload[3]
    checksum_ok: bool | None
    if truncated or pseudo is None:
        checksum_ok = None
    else:
        checksum_ok = _sum_ok(pseudo + payload)
        if not checksum_ok:
            good = internet_checksum(pseudo + payload[:2] + b"\x00\x00" + payload[4:])
            findings = (validate.finding("icmp6-checksum-bad",
                                         f"ICMPv6 checksum 0x{checksum:04x} is wrong, should be 0x{good:04x}",
                                         offset=2, found=checksum, expected=good), *findings)
    if ip is not None:
        extra = validate.ip_findings(ip, message)
        if extra or truncated:
            front = []
            if truncated:
                front.append(validate.finding("ip-truncated", "packet cut short of its IPv6 payload length "
                                              f"{ip.payload_length}"))
            findings = (*front, *findings, *extra)
    return _tuple_new(Decoded, (message, findings, checksum, checksum_ok, ip, None, trailing))


def decode_icmp6(payload: bytes, ip: Ip6Facts | None = None, *, truncated: bool = False) -> Decoded:
    """Decode one MLD message (the ICMPv6 bytes, already cut at the IPv6 payload length).

    With ``ip`` the checksum is verified over its pseudo-header and the IPv6
    findings are added; without, ``checksum_ok`` is None. Raises
    :class:`MalformedPacket` / :class:`NotMld` only when no MLD message can be read.
    """
    if type(payload) is not bytes:
        payload = bytes(payload)
    pseudo = pseudo_header(ip.src, ip.dst, len(payload)) if ip is not None else None
    return _assemble(_analyse(payload), payload, pseudo, ip, truncated)


def decoded_from(message: MldMessage, payload: bytes, used: int, ip: Ip6Facts | None = None, *,
                 truncated: bool = False) -> Decoded:
    """The :class:`Decoded` for ``message`` parsed by another decoder (the scapy adapter)
    from ``payload``: same checksum rules and findings as :func:`decode_icmp6`."""
    payload = bytes(payload)
    pseudo = pseudo_header(ip.src, ip.dst, len(payload)) if ip is not None else None
    return _assemble(_payload_part(payload, message, used), payload, pseudo, ip, truncated)


_FIXED = struct.Struct("!IHBB16s16s")


def parse_ipv6_header(packet: bytes) -> tuple[Ip6Facts, bytes, bool]:
    """(header facts, ICMPv6 bytes cut at the payload length, truncated).

    Walks the extension-header chain. Raises :class:`NotMld` for packets that do not
    end in ICMPv6 or are fragments, :class:`MalformedPacket` for a header or chain
    that cannot be read.
    """
    ip, _, payload, truncated = _parse_header(packet)
    return ip, payload, truncated


def _parse_header(packet: bytes) -> tuple[Ip6Facts, int, bytes, bool]:
    n = len(packet)
    if n < 40:
        raise MalformedPacket(n, "a 40-byte IPv6 header", f"only {n} bytes")
    first, plen, nxt, hops, src, dst = _FIXED.unpack_from(packet)
    if first >> 28 != 6:
        raise MalformedPacket(0, "IP version 6", f"version is {first >> 28}")
    end = 40 + plen
    truncated = end > n
    try:
        walked = walk(packet, min(end, n))
    except WalkError as exc:
        raise MalformedPacket(exc.offset, exc.expected, exc.detail) from None
    if walked.fragment:
        raise NotMld(walked.offset - 8, "an unfragmented packet", "MLD is never fragmented; this is a fragment")
    if walked.next_header != NEXT_ICMPV6:
        raise NotMld(6, "next header 58 (ICMPv6) at the end of the chain",
                     f"the chain ends in protocol {walked.next_header}")
    ra = router_alert_value(walked.hbh_options) if walked.chain and walked.chain[0] == 0 else None
    ip = _tuple_new(Ip6Facts, (_addr(src), _addr(dst), hops, (first >> 20) & 0xFF, first & 0xFFFFF,
                               ra is not None, plen, nxt, walked.chain, walked.hbh_options, ra))
    return ip, walked.offset, packet[walked.offset:end], truncated


def _decode_ipv6_general(packet: bytes) -> Decoded:
    """The general path of :func:`decode_ipv6`: any header chain, any message, every finding."""
    if type(packet) is not bytes:
        packet = bytes(packet)
    ip, offset, payload, truncated = _parse_header(packet)
    pseudo = pseudo_header(ip.src, ip.dst, 40 + ip.payload_length - offset)
    try:
        part = _analyse(payload)
    except MalformedPacket as exc:
        detail = f"ICMPv6 byte {exc.offset}" + (f"; {exc.detail}" if exc.detail else "")
        raise type(exc)(offset + exc.offset, exc.expected, detail) from None
    return _assemble(part, payload, pseudo, ip, truncated)


_MRC_VALUES = MLD_MRC.decode
_QQI_VALUES = tuple(IGMP_CODE.decode(code) for code in range(256))
_ALL_ROUTERS = bytes.fromhex("ff020000000000000000000000000002")
_V2_ROUTERS = bytes.fromhex("ff020000000000000000000000000016")
_ALL_NODES = bytes.fromhex("ff020000000000000000000000000001")
_ZERO16 = bytes(16)
#: The whole 8-byte Hop-by-Hop header before ICMPv6, as Linux hosts and the bridge write it,
#: and what each adds to a one's complement sum.
_HBH_PADN8 = b"\x3a\x00" + HBH_PADN
_HBH_PAD18 = b"\x3a\x00" + HBH_PAD1
_HBH_PADN_SUM = _from_bytes(_HBH_PADN8, "big")
_HBH_PAD1_SUM = _from_bytes(_HBH_PAD18, "big")
_FAST = struct.Struct("!IHBB16s16s8sBBHHH16s")
_SSM = 0xFF30


def decode_ipv6(packet: bytes) -> Decoded:
    """Decode an IPv6 packet carrying MLD; the message is cut at the IPv6 payload length.

    The hot path of capture analysis. A conforming packet (the fixed header, an
    8-byte Hop-by-Hop header holding just Router Alert 0 and padding, ICMPv6 with a
    good checksum, hop limit 1, a link-local source, the right destination, nothing
    to report) is decoded here: one struct unpack, a memo of the pseudo-header and
    message bytes, models built through the trusted constructor. Anything else goes
    through :func:`_decode_ipv6_general`.
    """
    if type(packet) is not bytes:
        packet = bytes(packet)
    n = len(packet)
    if n < 72 or packet[6] != 0 or packet[0] >> 4 != 6:
        return _decode_ipv6_general(packet)
    (first, plen, _nxt, hops, src, dst, hbh, kind, code, csum, delay, reserved,
     group) = _FAST.unpack_from(packet)
    end = 40 + plen
    ilen = plen - 8
    if end > n or plen < 32 or ilen & 1:
        return _decode_ipv6_general(packet)
    if hbh == _HBH_PADN8:
        hbh_sum = _HBH_PADN_SUM
    elif hbh == _HBH_PAD18:
        hbh_sum = _HBH_PAD1_SUM
    else:
        return _decode_ipv6_general(packet)
    # The ICMPv6 checksum over the pseudo-header: the one's complement sum of 16-bit words is
    # the big-endian integer modulo 0xFFFF (2**16 = 1) and word order is free, so the
    # addresses, the Hop-by-Hop header (one of two known values, taken out again) and the
    # message are read as one int; the length and next header (58) are added.
    if (_from_bytes(packet[8:end], "big") - hbh_sum + ilen + 58) % 0xFFFF:
        return _decode_ipv6_general(packet)  # checksum finding
    payload = packet[48:end]
    options = hbh[2:]
    ip = _tuple_new(Ip6Facts, (_addr_cache.get(src) or _addr(src), _addr_cache.get(dst) or _addr(dst), hops,
                               (first >> 20) & 0xFF, first & 0xFFFFF, True, plen, 0, (0,), options, 0))
    link_local = src[0] == 0xFE and src[1] & 0xC0 == 0x80
    if _memo_on:
        key = payload[:2] + payload[4:]
        part = _memo.get(key)
        if part is not None:
            if hops == 1 and link_local and dst == part[3]:
                return _tuple_new(Decoded, (part[0], part[2], csum, True, ip, None, part[1]))
            return _assemble(part, payload, pseudo_header(ip.src, ip.dst, ilen), ip, False)
    if hops != 1 or not link_local:
        return _decode_ipv6_general(packet)
    msg: Any
    if kind == 131 or kind == 132:
        g0 = group[0]
        if (ilen != 24 or code or delay or reserved or g0 != 0xFF or group == _ALL_NODES
                or dst != (group if kind == 131 else _ALL_ROUTERS)
                or (kind == 131 and (group[0] << 8 | group[1]) & 0xFFF0 == _SSM and group[2:4] == b"\0\0")):
            return _decode_ipv6_general(packet)
        msg = _new(Mld1Report if kind == 131 else Mld1Done)
        _set(msg, "max_resp_delay", 0)
        _set(msg, "group", _addr_cache.get(group) or _addr(group))
        _set(msg, "reserved", 0)
        _set(msg, "code", 0)
    elif kind == 143:
        if dst != _V2_ROUTERS or code or delay:
            return _decode_ipv6_general(packet)
        count = reserved
        records = []
        offset = 8
        cache = _addr_cache
        for _ in range(count):
            end = offset + 20
            if end > ilen:
                return _decode_ipv6_general(packet)
            rtype = payload[offset]
            member = BY_VALUE.get(rtype)
            g = payload[offset + 4:end]
            if (member is None or payload[offset + 1] or g[0] != 0xFF or g == _ALL_NODES
                    or ((g[1] & 0xF0) == 0x30 and g[2:4] == b"\0\0" and (rtype == 2 or rtype == 4))):
                return _decode_ipv6_general(packet)
            nsrc = (payload[offset + 2] << 8) | payload[offset + 3]
            record = _new(MldRecord)
            _set(record, "record_type", member)
            _set(record, "group", cache.get(g) or _addr(g))
            if nsrc:
                start = end
                end = start + 16 * nsrc
                if end > ilen:
                    return _decode_ipv6_general(packet)
                sources = _unicast_sources(payload, start, nsrc)
                if sources is None:
                    return _decode_ipv6_general(packet)
                _set(record, "sources", sources)
            else:
                _set(record, "sources", ())
            _set(record, "aux_data", b"")
            records.append(record)
            offset = end
        if offset != ilen:
            return _decode_ipv6_general(packet)
        msg = _new(Mld2Report)
        _set(msg, "records", tuple(records))
        _set(msg, "reserved", 0)
        _set(msg, "reserved2", 0)
    elif kind == 130:
        # Queries: general to ff02::1, address-specific to the address, no reserved bits;
        # MLDv2: unicast sources (none on a general query), Maximum Response Delay below QQI.
        general = group == _ZERO16
        if (code or reserved or dst != (_ALL_NODES if general else group) or not (general or group[0] == 0xFF)
                or (not general and group == _ALL_NODES)):
            return _decode_ipv6_general(packet)
        if ilen == 24:
            msg = _new(Mld1Query)
            _set(msg, "max_resp_delay", delay)
            _set(msg, "group", _addr_cache.get(group) or _addr(group))
            _set(msg, "reserved", 0)
            _set(msg, "code", 0)
        else:
            if ilen < 28:
                return _decode_ipv6_general(packet)
            flags, qqic, count = _V2Q_TAIL.unpack_from(payload, 24)
            if ilen != 28 + 16 * count or flags >> 4 or (count and general):
                return _decode_ipv6_general(packet)
            if qqic and _MRC_VALUES(delay) >= 1000 * _QQI_VALUES[qqic]:
                return _decode_ipv6_general(packet)   # mrc-above-query-interval
            if count:
                sources = _unicast_sources(payload, 28, count)
                if sources is None:
                    return _decode_ipv6_general(packet)
            else:
                sources = ()
            msg = _new(Mld2Query)
            _set(msg, "max_resp_code", delay)
            _set(msg, "group", _addr_cache.get(group) or _addr(group))
            _set(msg, "s_flag", bool(flags & 8))
            _set(msg, "qrv", flags & 7)
            _set(msg, "qqic", qqic)
            _set(msg, "sources", sources)
            _set(msg, "reserved", 0)
            _set(msg, "flags", 0)
            _set(msg, "code", 0)
    else:
        return _decode_ipv6_general(packet)
    if _memo_on and ilen <= _MEMO_MAX:
        if len(_memo) >= _MEMO_ENTRIES:
            _memo.clear()
        _memo[payload[:2] + payload[4:]] = (msg, b"", (), dst)
    return _tuple_new(Decoded, (msg, (), csum, True, ip, None, b""))
