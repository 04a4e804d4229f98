"""Pure Ethernet frame builder for MLD: Ethernet (+ optional 802.1Q) / IPv6 / Hop-by-Hop / ICMPv6.

The destination MAC is the RFC 2464 7 mapping of the IPv6 destination: 33:33
followed by its low 32 bits. The default source MAC is the modified EUI-64 the
link-local source was made from (RFC 4291 2.5.1), else a locally administered one.
"""

from __future__ import annotations

from ipaddress import IPv6Address

from mdiag.core.igmp.frame import ethernet_header
from mdiag.core.mld.ipv6 import IPv6Header
from mdiag.core.mld.messages import AddressLike, MldMessage, address, default_destination
from mdiag.core.mld.wire import encode

ETHERTYPE_IPV6 = 0x86DD


def multicast_mac(group: AddressLike) -> str:
    """33:33 + low 32 bits of ``group`` (RFC 2464 7)."""
    low = address(group).packed[12:]
    return "33:33:" + ":".join(f"{b:02x}" for b in low)


def host_mac(src: AddressLike) -> str:
    """The MAC an EUI-64 interface identifier was built from (``...ff:fe...``, U/L bit
    flipped back), else 02:00 + the low 32 bits of ``src``."""
    raw = address(src).packed
    if raw[11] == 0xFF and raw[12] == 0xFE:
        mac = bytes((raw[8] ^ 0x02,)) + raw[9:11] + raw[13:16]
        return ":".join(f"{b:02x}" for b in mac)
    return "02:00:" + ":".join(f"{b:02x}" for b in raw[12:])


def build_frame(
    message: MldMessage,
    ip: IPv6Header | None = None,
    *,
    src: AddressLike | None = None,
    dst_mac: str | None = None,
    src_mac: str | None = None,
    vlan: int | None = None,
    checksum: int | None = None,
    trailing: bytes = b"",
    pad_to: int = 0,
) -> bytes:
    """A complete Ethernet frame carrying ``message``.

    ``ip`` gives every IPv6 field (default: hop limit 1, Router Alert, source ``src``
    or ::, destination as the RFCs say for the message).
    """
    if ip is None:
        ip = IPv6Header(src=address(src if src is not None else 0), dst=default_destination(message))
    elif src is not None:
        raise ValueError("give the source either in ip or as src, not both")
    payload = encode(message, ip.src, ip.dst, checksum=checksum, trailing=trailing)
    packet = ip.encode(len(payload)) + payload
    head = ethernet_header(dst_mac or multicast_mac(ip.dst), src_mac or host_mac(ip.src), vlan=vlan,
                           ethertype=ETHERTYPE_IPV6)
    frame = head + packet
    if len(frame) < pad_to:
        frame += bytes(pad_to - len(frame))
    return frame


def link_local(mac: str) -> IPv6Address:
    """The fe80:: modified-EUI-64 address of ``mac`` (RFC 4291 2.5.1, appendix A)."""
    from mdiag.core.igmp.frame import mac_bytes

    raw = mac_bytes(mac)
    iid = bytes((raw[0] ^ 0x02,)) + raw[1:3] + b"\xff\xfe" + raw[3:]
    return IPv6Address(b"\xfe\x80" + bytes(6) + iid)
