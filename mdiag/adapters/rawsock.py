"""Raw link-layer send and capture on one named interface (AF_PACKET).

The only module that opens AF_PACKET sockets. Every socket is bound to an interface
the caller names: nothing here ever picks an interface on its own.

* Capture filters run in the kernel when libpcap is installed: the pcap expression
  is compiled with ``pcap_compile`` (through ctypes, libpcap0.8) and attached with
  ``SO_ATTACH_FILTER`` *before* the socket is bound, so no unfiltered frame is ever
  queued. Without libpcap the same filter runs in Python on every frame.
* Each captured frame carries the kernel's receive timestamp (``SO_TIMESTAMPNS``,
  nanoseconds, CLOCK_REALTIME), so timings do not depend on when Python got round
  to reading the socket: sub-millisecond resolution at thousands of frames/s.
* Waits are always bounded: :meth:`RawSocket.recv` takes a timeout and
  :meth:`RawSocket.capture` a deadline.
* Root or CAP_NET_RAW is checked first and explained (:class:`PermissionProblem`).

Namespaces are entered with :func:`mdiag.adapters.netns.entered`; sockets opened inside
stay in that namespace after the block ends.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import errno
import os
import select
import socket
import struct
import time
from collections.abc import Callable, Iterator, Sequence
from typing import Any
from dataclasses import dataclass, field

from mdiag.adapters.interfaces import interface_index
from mdiag.core import linklayer
from mdiag.errors import InputError, MissingSystemPiece, PermissionProblem

ETH_P_ALL = 0x0003
ETH_P_IP = 0x0800
SO_ATTACH_FILTER = 26
SO_TIMESTAMPNS = 35
SO_RCVBUFFORCE = 33
SCM_TIMESTAMPNS = SO_TIMESTAMPNS
PACKET_OUTGOING = 4
SOL_PACKET = 263
PACKET_ADD_MEMBERSHIP = 1
PACKET_MR_PROMISC = 1
PACKET_RX_RING = 5
PACKET_STATISTICS = 6
PACKET_VERSION = 10
TPACKET_V3 = 2
TP_STATUS_KERNEL = 0
TP_STATUS_USER = 1
TP_STATUS_VLAN_VALID = 1 << 4
TP_STATUS_VLAN_TPID_VALID = 1 << 6
#: struct tpacket3_hdr up to the VLAN TPID (linux/if_packet.h)
_TPACKET3_HDR = struct.Struct("@IIIIIIHHIIH")
#: block_status, num_pkts, offset_to_first_pkt of struct tpacket_block_desc (after version, priv)
_BLOCK_HDR = struct.Struct("@III")
_RING_BLOCK = 1 << 18
_RING_FRAME = 1 << 11
CAP_NET_RAW = 13
DLT_EN10MB = 1
PCAP_NETMASK_UNKNOWN = 0xFFFFFFFF
_SNAPLEN = 65535
_TIMESPEC = struct.Struct("@qq")


# -- privileges -------------------------------------------------------------------


def _effective_caps() -> int:
    try:
        with open("/proc/self/status", encoding="ascii") as status:
            for line in status:
                if line.startswith("CapEff:"):
                    return int(line.split()[1], 16)
    except OSError:
        pass
    return -1 if os.geteuid() == 0 else 0


def has_cap_net_raw() -> bool:
    """True when this process may open raw and packet sockets."""
    return os.geteuid() == 0 or bool(_effective_caps() & (1 << CAP_NET_RAW))


def require_cap_net_raw(what: str = "raw IGMP send and capture") -> None:
    """Raise :class:`PermissionProblem` (exit 4) with the fix when CAP_NET_RAW is missing."""
    if not has_cap_net_raw():
        raise PermissionProblem(
            f"{what} needs root or CAP_NET_RAW: run with sudo, or grant it once with "
            f"'sudo setcap cap_net_raw,cap_net_admin+ep $(readlink -f $(which python3))'")


# -- capture filters --------------------------------------------------------------


def _ip_offset(frame: bytes) -> int | None:
    """Offset of the IPv4 header in an Ethernet frame (the one link-layer walker, core.linklayer)."""
    located = linklayer.locate_ipv4(linklayer.LINKTYPE_ETHERNET, frame, 0, len(frame))
    if located.status != linklayer.OK or len(frame) < located.ip + 20:
        return None
    return located.ip


@dataclass(frozen=True, slots=True)
class CaptureFilter:
    """A capture filter in two equivalent forms: a pcap expression for the kernel
    and a Python predicate on the Ethernet frame for when libpcap is missing."""

    name: str
    expression: str
    match: Callable[[bytes], bool] = field(compare=False)


def _is_igmp(frame: bytes) -> bool:
    ip = _ip_offset(frame)
    return ip is not None and frame[ip + 9] == 2


IGMP = CaptureFilter("igmp", "igmp", _is_igmp)


def _is_group_traffic(frame: bytes) -> bool:
    ip = _ip_offset(frame)
    if ip is not None:
        return frame[ip + 9] == 2 or (frame[ip + 9] == 17 and 224 <= frame[ip + 16] <= 239)
    offset = 12
    while len(frame) >= offset + 2 and frame[offset:offset + 2] in (b"\x81\x00", b"\x88\xa8", b"\x91\x00"):
        offset += 4
    # IPv6 to a multicast destination (MLD and IPv6 multicast data)
    return frame[offset:offset + 2] == b"\x86\xdd" and len(frame) > offset + 26 and frame[offset + 26] == 0xFF


#: What a passive monitor needs: IGMP, IPv4 multicast UDP, and IPv6 to multicast
#: addresses (MLD, IPv6 multicast data), untagged or inside one VLAN tag.
GROUP_TRAFFIC = CaptureFilter(
    "group-traffic",
    "(igmp or (udp and dst net 224.0.0.0/4) or (ip6 and dst net ff00::/8)) or "
    "(vlan and (igmp or (udp and dst net 224.0.0.0/4) or (ip6 and dst net ff00::/8)))",
    _is_group_traffic)
ANY = CaptureFilter("any", "", lambda frame: True)


def _ip6_offset(frame: bytes) -> int | None:
    """Offset of the IPv6 header in an Ethernet frame (the one link-layer walker, core.linklayer)."""
    located = linklayer.locate_ipv6(linklayer.LINKTYPE_ETHERNET, frame, 0, len(frame))
    if located.status != linklayer.OK or len(frame) < located.ip + 40:
        return None
    return located.ip


def _is_mld(frame: bytes) -> bool:
    """IPv6 to a multicast address whose first header is Hop-by-Hop (MLD's Router Alert) or
    ICMPv6; the decoder walks the chain and tells MLD from the rest."""
    ip = _ip6_offset(frame)
    return ip is not None and frame[ip + 24] == 0xFF and frame[ip + 6] in (0, 58)


#: MLD (RFC 3810 5: ICMPv6 behind a Hop-by-Hop header; ``icmp6`` alone misses it).
MLD = CaptureFilter("mld", "ip6 and ip6[24] == 0xff and (ip6[6] == 0 or ip6[6] == 58)", _is_mld)


def mld_or_udp_to(group: str | Sequence[str], port: int | None = None) -> CaptureFilter:
    """MLD, plus UDP datagrams to the IPv6 ``group`` (one or several) and ``port``: the capture
    of a join/leave delay or channel-change probe."""
    groups = [g.partition("%")[0] for g in ([group] if isinstance(group, str) else group)]
    packed = {socket.inet_pton(socket.AF_INET6, g) for g in groups}

    def match(frame: bytes) -> bool:
        ip = _ip6_offset(frame)
        if ip is None or frame[ip + 24] != 0xFF:
            return False
        if frame[ip + 6] in (0, 58):
            return True
        if frame[ip + 6] != 17 or frame[ip + 24:ip + 40] not in packed:
            return False
        return port is None or (len(frame) >= ip + 44
                                and int.from_bytes(frame[ip + 42:ip + 44], "big") == port)

    hosts = " or ".join(f"dst host {g}" for g in groups)
    expr = (f"(ip6 and ip6[24] == 0xff and (ip6[6] == 0 or ip6[6] == 58)) or "
            f"(ip6 and udp and ({hosts})" + (f" and dst port {port})" if port else ")"))
    return CaptureFilter(f"mld+udp:{','.join(groups)}", expr, match)


def membership_or_udp_to(group: str | Sequence[str], port: int | None = None) -> CaptureFilter:
    """IGMP or MLD (by the groups' family), plus the groups' UDP datagrams."""
    first = group if isinstance(group, str) else next(iter(group), "")
    return mld_or_udp_to(group, port) if ":" in first else igmp_or_udp_to(group, port)


def igmp_or_udp_to(group: str | Sequence[str], port: int | None = None) -> CaptureFilter:
    """IGMP, plus UDP datagrams to ``group`` (one or several) and ``port``: the capture of a
    join/leave delay or channel-change probe."""
    groups = [group] if isinstance(group, str) else list(group)
    packed = {socket.inet_aton(g) for g in groups}

    def match(frame: bytes) -> bool:
        ip = _ip_offset(frame)
        if ip is None:
            return False
        proto = frame[ip + 9]
        if proto == 2:
            return True
        if proto != 17 or frame[ip + 16:ip + 20] not in packed:
            return False
        if port is None:
            return True
        ihl = (frame[ip] & 0x0F) * 4
        return len(frame) >= ip + ihl + 4 and int.from_bytes(frame[ip + ihl + 2:ip + ihl + 4], "big") == port

    hosts = " or ".join(f"dst host {g}" for g in groups)
    expr = f"igmp or (udp and ({hosts})" + (f" and dst port {port})" if port else ")")
    return CaptureFilter(f"igmp+udp:{','.join(groups)}", expr, match)


class _BpfInsn(ctypes.Structure):
    _fields_ = [("code", ctypes.c_ushort), ("jt", ctypes.c_ubyte), ("jf", ctypes.c_ubyte),
                ("k", ctypes.c_uint32)]


class _BpfProgram(ctypes.Structure):
    _fields_ = [("bf_len", ctypes.c_uint), ("bf_insns", ctypes.POINTER(_BpfInsn))]


_libpcap: ctypes.CDLL | None | bool = None


def _load_libpcap() -> ctypes.CDLL | None:
    global _libpcap
    if _libpcap is None:
        _libpcap = False
        for candidate in ("libpcap.so.0.8", "libpcap.so.1", ctypes.util.find_library("pcap")):
            if not candidate:
                continue
            try:
                lib = ctypes.CDLL(candidate)
            except OSError:
                continue
            lib.pcap_open_dead.restype = ctypes.c_void_p
            lib.pcap_open_dead.argtypes = [ctypes.c_int, ctypes.c_int]
            lib.pcap_compile.argtypes = [ctypes.c_void_p, ctypes.POINTER(_BpfProgram),
                                         ctypes.c_char_p, ctypes.c_int, ctypes.c_uint32]
            lib.pcap_geterr.restype = ctypes.c_char_p
            lib.pcap_geterr.argtypes = [ctypes.c_void_p]
            lib.pcap_freecode.argtypes = [ctypes.POINTER(_BpfProgram)]
            lib.pcap_close.argtypes = [ctypes.c_void_p]
            _libpcap = lib
            break
    return _libpcap if isinstance(_libpcap, ctypes.CDLL) else None


def libpcap_available() -> bool:
    return _load_libpcap() is not None


def compile_bpf(expression: str) -> list[tuple[int, int, int, int]]:
    """Compile a pcap filter expression for Ethernet into classic BPF instructions
    ``(code, jt, jf, k)`` with libpcap's ``pcap_compile``.

    Raises :class:`MissingSystemPiece` without libpcap and :class:`InputError` for an
    expression libpcap rejects (its message included).
    """
    lib = _load_libpcap()
    if lib is None:
        raise MissingSystemPiece("libpcap is not installed (Debian package libpcap0.8)")
    handle = lib.pcap_open_dead(DLT_EN10MB, _SNAPLEN)
    if not handle:
        raise MissingSystemPiece("libpcap could not open a dead handle")
    program = _BpfProgram()
    try:
        if lib.pcap_compile(handle, ctypes.byref(program), expression.encode(), 1,
                            PCAP_NETMASK_UNKNOWN) != 0:
            reason = (lib.pcap_geterr(handle) or b"unknown error").decode(errors="replace")
            raise InputError(f"capture filter {expression!r} is not valid: {reason}")
        try:
            return [(program.bf_insns[i].code, program.bf_insns[i].jt, program.bf_insns[i].jf,
                     program.bf_insns[i].k) for i in range(program.bf_len)]
        finally:
            lib.pcap_freecode(ctypes.byref(program))
    finally:
        lib.pcap_close(handle)


def _attach_bpf(sock: socket.socket, instructions: list[tuple[int, int, int, int]]) -> None:
    array = (_BpfInsn * len(instructions))(*(_BpfInsn(*insn) for insn in instructions))
    fprog = struct.pack("@HxxxxxxP" if struct.calcsize("P") == 8 else "@HxxP",
                        len(instructions), ctypes.addressof(array))
    sock.setsockopt(socket.SOL_SOCKET, SO_ATTACH_FILTER, fprog)


# -- the socket -------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Captured:
    """One frame as captured: kernel timestamp (ns since the epoch), bytes, direction."""

    ts_ns: int
    frame: bytes
    outgoing: bool
    ifname: str

    @property
    def time(self) -> float:
        return self.ts_ns / 1e9


class RawSocket:
    """An AF_PACKET socket bound to one named interface, for sending and/or capturing.

    ``capture_filter`` None opens a send-only socket (protocol 0: the kernel queues
    nothing to it). With a filter, the kernel BPF program is used when libpcap is
    present (``kernel_filter`` tells which path is active) and the Python predicate
    otherwise. ``promiscuous`` puts the interface in promiscuous mode for as long as
    the socket is open (the kernel counts users and undoes it at close). Use as a
    context manager; always close it.
    """

    def __init__(self, iface: str, capture_filter: CaptureFilter | None = IGMP, *,
                 use_kernel_filter: bool = True, rcvbuf: int = 4 << 20, promiscuous: bool = False,
                 ring_mb: int = 0) -> None:
        require_cap_net_raw()
        self.iface = iface
        self.ifindex = interface_index(iface)
        self.filter = capture_filter
        self.kernel_filter = False
        self.dropped_by_python = 0
        self._ring: Any = None
        self._ring_blocks = 0
        self._ring_next = 0
        self._link_down = False   # ENETDOWN seen: check that the device is still there
        try:
            self._sock = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, 0)
        except PermissionError:
            raise PermissionProblem("opening a packet socket needs root or CAP_NET_RAW") from None
        try:
            if capture_filter is None:
                self._sock.bind((iface, 0))
                return
            try:   # past net.core.rmem_max when allowed (CAP_NET_ADMIN), as tcpdump -B does
                self._sock.setsockopt(socket.SOL_SOCKET, SO_RCVBUFFORCE, rcvbuf)
            except OSError:
                self._sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
            self._sock.setsockopt(socket.SOL_SOCKET, SO_TIMESTAMPNS, 1)
            if capture_filter.expression and use_kernel_filter and libpcap_available():
                _attach_bpf(self._sock, compile_bpf(capture_filter.expression))
                self.kernel_filter = True
            if promiscuous:
                # Like tcpdump: frames to other hosts' MACs (a span port) and, on a Linux
                # bridge device, every frame the bridge forwards. Undone when the socket closes.
                self._sock.setsockopt(SOL_PACKET, PACKET_ADD_MEMBERSHIP,
                                      struct.pack("@iHH8s", self.ifindex, PACKET_MR_PROMISC, 0, b""))
            if ring_mb > 0:
                self._map_ring(ring_mb)
            # Bind last: frames are queued only from here on, already filtered.
            self._sock.bind((iface, ETH_P_ALL))
        except OSError as exc:
            self._sock.close()
            if exc.errno == errno.ENODEV:
                raise InputError(f"interface {iface!r} disappeared") from None
            if exc.errno == errno.ENETDOWN:
                raise InputError(f"interface {iface!r} is down (ip link set {iface} up)") from None
            raise
        except BaseException:
            self._sock.close()
            raise

    # context manager
    def __enter__(self) -> RawSocket:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        if self._ring is not None:
            self._ring.close()
            self._ring = None
        self._sock.close()

    def _map_ring(self, megabytes: int) -> None:
        """A TPACKET_V3 receive ring of ``megabytes`` (256 KB blocks) shared with the kernel:
        frames arrive without a system call each, with their kernel time and the VLAN tag
        the kernel took off (put back by :meth:`read_batch`). Without ring support the
        socket stays a plain one (``ring`` is False)."""
        import mmap

        blocks = max(4, megabytes * (1 << 20) // _RING_BLOCK)
        try:
            self._sock.setsockopt(SOL_PACKET, PACKET_VERSION, TPACKET_V3)
            # A block goes to the reader when full or 50 ms after its first frame: on a quiet
            # link the ring holds blocks x 50 ms (6.4 s for 32 MB), on a busy one 32 MB.
            self._sock.setsockopt(SOL_PACKET, PACKET_RX_RING, struct.pack(
                "@IIIIIII", _RING_BLOCK, blocks, _RING_FRAME, _RING_BLOCK * blocks // _RING_FRAME,
                50, 0, 0))
            self._ring = mmap.mmap(self._sock.fileno(), _RING_BLOCK * blocks, mmap.MAP_SHARED,
                                   mmap.PROT_READ | mmap.PROT_WRITE)
        except OSError:
            return
        self._ring_blocks = blocks

    @property
    def ring(self) -> bool:
        """True when frames come through the memory-mapped ring."""
        return self._ring is not None

    def fileno(self) -> int:
        return self._sock.fileno()

    def send(self, frame: bytes) -> None:
        """Send one complete Ethernet frame on the interface."""
        try:
            self._sock.send(frame)
        except OSError as exc:
            if exc.errno == errno.ENETDOWN:
                raise InputError(f"interface {self.iface!r} is down (ip link set {self.iface} up)") from None
            if exc.errno == errno.EMSGSIZE:
                raise InputError(f"frame of {len(frame)} bytes is larger than the MTU of {self.iface!r}") from None
            raise

    def recv(self, timeout: float) -> Captured | None:
        """The next matching frame, or None after ``timeout`` seconds (bounded)."""
        deadline = time.monotonic() + max(0.0, timeout)
        poller = select.poll()
        poller.register(self._sock, select.POLLIN)
        while True:
            remaining = deadline - time.monotonic()
            if not poller.poll(max(0, int(remaining * 1000)) if remaining > 0 else 0):
                return None
            got = self._read()
            if got is not None:
                return got
            if time.monotonic() >= deadline:
                return None

    def _read(self) -> Captured | None:
        data, ancdata, _flags, address = self._sock.recvmsg(_SNAPLEN, socket.CMSG_SPACE(_TIMESPEC.size))
        if self.filter is not None and not self.kernel_filter and not self.filter.match(data):
            self.dropped_by_python += 1
            return None
        ts_ns = 0
        for level, kind, payload in ancdata:
            if level == socket.SOL_SOCKET and kind == SCM_TIMESTAMPNS and len(payload) >= _TIMESPEC.size:
                sec, nsec = _TIMESPEC.unpack_from(payload)
                ts_ns = sec * 1_000_000_000 + nsec
        if not ts_ns:
            ts_ns = time.time_ns()
        return Captured(ts_ns, data, address[2] == PACKET_OUTGOING, address[0])

    def read_batch(self, timeout: float, limit: int = 1024) -> list[tuple[int, bytes]]:
        """Up to ``limit`` frames as ``(kernel time ns, frame)``, waiting at most
        ``timeout`` seconds for the first: one poll, then every frame already queued
        (the read loop of a long-running capture; no object per frame)."""
        sock = self._sock
        if self._ring is not None:
            return self._read_ring(timeout)
        self._check_still_there()
        if not select.select((sock,), (), (), max(0.0, timeout))[0]:
            return []
        out: list[tuple[int, bytes]] = []
        recvmsg = sock.recvmsg
        space = socket.CMSG_SPACE(_TIMESPEC.size)
        match = None if self.filter is None or self.kernel_filter else self.filter.match
        unpack = _TIMESPEC.unpack_from
        for _ in range(limit):
            try:
                data, ancdata, _flags, _address = recvmsg(_SNAPLEN, space, socket.MSG_DONTWAIT)
            except BlockingIOError:
                break
            except OSError as exc:
                if exc.errno != errno.ENETDOWN:
                    raise
                self._link_went_down()
                break
            if match is not None and not match(data):
                self.dropped_by_python += 1
                continue
            ts_ns = 0
            for level, kind, payload in ancdata:
                if level == socket.SOL_SOCKET and kind == SCM_TIMESTAMPNS and len(payload) >= 16:
                    sec, nsec = unpack(payload)
                    ts_ns = sec * 1_000_000_000 + nsec
            out.append((ts_ns or time.time_ns(), data))
        if out:
            self._link_down = False
        return out

    def _link_went_down(self) -> None:
        """Readable without a frame: the kernel set an error on the socket (ENETDOWN when
        the link went down or the interface was deleted). Reading SO_ERROR clears it, or
        every later poll would return at once and spin a CPU; an interface that is gone
        (the socket is bound to no device any more) ends the capture."""
        if self._sock.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR):
            self._link_down = True    # the device may be unregistered just after: look again
        self._check_still_there()

    def _check_still_there(self) -> None:
        if self._link_down and not self._sock.getsockname()[0]:
            raise InputError(f"interface {self.iface!r} disappeared while capturing (deleted or "
                             "renamed); start again once it is back")

    def _read_ring(self, timeout: float) -> list[tuple[int, bytes]]:
        """Every frame of the blocks the kernel has handed over (waiting at most ``timeout``
        for the first), each block given back to the kernel once read."""
        ring = self._ring
        self._check_still_there()
        offset = self._ring_next * _RING_BLOCK
        if not _BLOCK_HDR.unpack_from(ring, offset + 8)[0] & TP_STATUS_USER:
            woken = select.select((self._sock,), (), (), max(0.0, timeout))[0]
            if woken and not _BLOCK_HDR.unpack_from(ring, offset + 8)[0] & TP_STATUS_USER:
                self._link_went_down()
        out: list[tuple[int, bytes]] = []
        header = _TPACKET3_HDR.unpack_from
        match = None if self.filter is None or self.kernel_filter else self.filter.match
        for _ in range(self._ring_blocks):
            status, count, first = _BLOCK_HDR.unpack_from(ring, offset + 8)
            if not status & TP_STATUS_USER:
                break
            position = offset + first
            for _ in range(count):
                (next_offset, sec, nsec, snaplen, _length, pstatus, mac, _net, _hash, tci,
                 tpid) = header(ring, position)
                start = position + mac
                frame = ring[start:start + snaplen]
                if pstatus & TP_STATUS_VLAN_VALID and snaplen >= 12:
                    # the kernel took the 802.1Q tag off: put it back where it was
                    tag = (tpid if pstatus & TP_STATUS_VLAN_TPID_VALID and tpid else 0x8100)
                    frame = frame[:12] + struct.pack("!HH", tag, tci & 0xFFFF) + frame[12:]
                if match is None or match(frame):
                    out.append((sec * 1_000_000_000 + nsec, frame))
                else:
                    self.dropped_by_python += 1
                position += next_offset
            struct.pack_into("@I", ring, offset + 8, TP_STATUS_KERNEL)
            self._ring_next = (self._ring_next + 1) % self._ring_blocks
            offset = self._ring_next * _RING_BLOCK
        if out:
            self._link_down = False
        return out

    def statistics(self) -> tuple[int, int]:
        """``(frames received, frames dropped)`` by the kernel since the last call
        (PACKET_STATISTICS; reading resets them): drops mean the reader fell behind."""
        raw = self._sock.getsockopt(SOL_PACKET, PACKET_STATISTICS, 8)
        received, dropped = struct.unpack("@II", raw)
        return received, dropped

    def capture(self, until: float) -> Iterator[Captured]:
        """Frames until ``until`` (a ``time.monotonic()`` deadline)."""
        while True:
            remaining = until - time.monotonic()
            if remaining <= 0:
                return
            got = self.recv(remaining)
            if got is not None:
                yield got

    def drain(self) -> list[Captured]:
        """Everything already queued, without waiting."""
        out: list[Captured] = []
        while True:
            got = self.recv(0)
            if got is None:
                return out
            out.append(got)
