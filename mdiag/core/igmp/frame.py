"""Pure Ethernet frame builder for IGMP: Ethernet (+ optional 802.1Q) / IPv4 / IGMP.

Byte-identical with :mod:`mdiag.adapters.scapy_igmp` for the same inputs (the tests
check it), and much faster, so the capture generator and the active sender use it.
The destination MAC is the RFC 1112 6.4 mapping of the IP destination: 01:00:5e
followed by its low 23 bits.
"""

from __future__ import annotations

import struct
from ipaddress import IPv4Address

from mdiag.core.igmp.ipv4 import IPv4Header
from mdiag.core.igmp.messages import IgmpMessage, address, default_destination
from mdiag.core.igmp.wire import encode

ETHERTYPE_IPV4 = 0x0800
ETHERTYPE_VLAN = 0x8100


def multicast_mac(group: IPv4Address | str | int) -> str:
    """01:00:5e + low 23 bits of ``group`` (RFC 1112 6.4)."""
    low = int(address(group)) & 0x7FFFFF
    return "01:00:5e:%02x:%02x:%02x" % (low >> 16, (low >> 8) & 0xFF, low & 0xFF)


def host_mac(src: IPv4Address | str | int) -> str:
    """A locally administered unicast MAC derived from an IPv4 source: 02:00:a:b:c:d."""
    return "02:00:" + ":".join(f"{b:02x}" for b in address(src).packed)


def mac_bytes(mac: str) -> bytes:
    """Six bytes from ``aa:bb:cc:dd:ee:ff`` (also ``-`` separated or bare hex)."""
    text = mac.replace(":", "").replace("-", "").replace(".", "")
    try:
        raw = bytes.fromhex(text)
    except ValueError:
        raw = b""
    if len(raw) != 6:
        raise ValueError(f"{mac!r} is not a MAC address (want aa:bb:cc:dd:ee:ff)")
    return raw


def ethernet_header(dst_mac: str, src_mac: str, *, vlan: int | None = None, priority: int = 0,
                    ethertype: int = ETHERTYPE_IPV4) -> bytes:
    """14-byte Ethernet header, or 18 bytes with an 802.1Q tag when ``vlan`` is given."""
    head = mac_bytes(dst_mac) + mac_bytes(src_mac)
    if vlan is not None:
        if not 0 <= vlan <= 4095 or not 0 <= priority <= 7:
            raise ValueError(f"VLAN {vlan} / priority {priority} out of range (0..4095 / 0..7)")
        head += struct.pack("!HH", ETHERTYPE_VLAN, (priority << 13) | vlan)
    return head + struct.pack("!H", ethertype)


def build_frame(
    message: IgmpMessage,
    ip: IPv4Header | None = None,
    *,
    src: IPv4Address | str | int | None = None,
    dst_mac: str | None = None,
    src_mac: str | None = None,
    vlan: int | None = None,
    checksum: int | None = None,
    trailing: bytes = b"",
    pad_to: int = 0,
) -> bytes:
    """A complete Ethernet frame carrying ``message``.

    ``ip`` gives every IPv4 field (default: TTL 1, TOS 0xc0, DF, Router Alert, source
    ``src`` or 0.0.0.0, destination as the RFCs say for the message). ``dst_mac``
    defaults to the mapping of the IP destination, ``src_mac`` to :func:`host_mac`
    of the source. ``pad_to`` pads the frame with zeros (60 is Ethernet's minimum
    without FCS); the IP total length does not count the padding.
    """
    if ip is None:
        ip = IPv4Header(src=address(src if src is not None else 0), dst=default_destination(message))
    elif src is not None:
        raise ValueError("give the source either in ip or as src, not both")
    payload = encode(message, checksum=checksum, trailing=trailing)
    packet = ip.encode(len(payload)) + payload
    head = ethernet_header(dst_mac or multicast_mac(ip.dst), src_mac or host_mac(ip.src), vlan=vlan)
    frame = head + packet
    if len(frame) < pad_to:
        frame += bytes(pad_to - len(frame))
    return frame
