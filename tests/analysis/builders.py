"""Test helpers: write small captures from (time, frame bytes) lists, any format."""

from __future__ import annotations

import struct
from collections.abc import Iterable
from ipaddress import IPv4Address

from mdiag.core.igmp import build_frame
from mdiag.core.igmp.ipv4 import IPv4Header

ROUTER_MAC = "02:00:00:00:00:01"


def igmp(message, src: str, *, ttl: int = 1, router_alert: bool = True, dst: str | None = None,
         vlan: int | None = None, src_mac: str | None = None, checksum: int | None = None) -> bytes:
    """An Ethernet frame carrying ``message`` from ``src``."""
    from mdiag.core.igmp import default_destination

    header = IPv4Header(src=IPv4Address(src),
                        dst=IPv4Address(dst) if dst else default_destination(message),
                        ttl=ttl, router_alert=router_alert)
    return build_frame(message, header, vlan=vlan, src_mac=src_mac, checksum=checksum)


def udp(src: str, group: str, payload: int = 1316, *, vlan: int | None = None, ttl: int = 8) -> bytes:
    """An Ethernet frame with one UDP datagram to a multicast group."""
    g = IPv4Address(group)
    dst_mac = bytes([1, 0, 0x5E]) + (int(g) & 0x7FFFFF).to_bytes(3, "big")
    src_mac = bytes.fromhex("020000000099")
    total = 20 + 8 + payload
    ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, total, 0, 0x4000, ttl, 17, 0,
                     IPv4Address(src).packed, g.packed)
    s = sum(struct.unpack("!10H", ip))
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    ip = ip[:10] + struct.pack("!H", ~s & 0xFFFF) + ip[12:]
    body = struct.pack("!HHHH", 40000, 5000, 8 + payload, 0) + bytes(payload)
    tag = b"" if vlan is None else b"\x81\x00" + struct.pack("!H", vlan)
    return dst_mac + src_mac + tag + b"\x08\x00" + ip + body


def pcap_bytes(frames: Iterable[tuple[float, bytes]], *, linktype: int = 1, nanos: bool = False,
               big_endian: bool = False, start: float = 1_700_000_000.0) -> bytes:
    """A classic pcap file (either byte order, us or ns)."""
    e = ">" if big_endian else "<"
    magic = 0xA1B23C4D if nanos else 0xA1B2C3D4
    out = [struct.pack(e + "IHHiIII", magic, 2, 4, 0, 0, 262144, linktype)]
    base_ns = round(start * 1e9)
    for t, data in frames:
        ns = base_ns + round(t * 1e9)
        sec, frac = divmod(ns, 1_000_000_000)
        if not nanos:
            frac //= 1000
        out.append(struct.pack(e + "IIII", sec, frac, len(data), len(data)))
        out.append(data)
    return b"".join(out)


def write_pcap(path, frames, **kw) -> None:
    with open(path, "wb") as f:
        f.write(pcap_bytes(frames, **kw))


def to_cooked(frame: bytes, linktype: int, ifindex: int = 3) -> bytes:
    """Re-encapsulate an untagged Ethernet frame as Linux cooked SLL (113), SLL2 (276) or raw IP (101)."""
    protocol, src_mac, payload = frame[12:14], frame[6:12], frame[14:]
    if linktype == 113:
        return struct.pack("!HHH", 0, 1, 6) + src_mac + b"\x00\x00" + protocol + payload
    if linktype == 276:
        return (protocol + b"\x00\x00" + struct.pack("!I", ifindex) + struct.pack("!HBB", 1, 0, 6)
                + src_mac + b"\x00\x00" + payload)
    if linktype == 101:
        return payload
    raise ValueError(linktype)
