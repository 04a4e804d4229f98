"""UDP multicast sockets: joins, leaves, a paced test-stream sender and an epoll receiver.

Joins (Linux, include/uapi/linux/in.h):

- any-source: ``IP_ADD_MEMBERSHIP`` with a 12-byte ``ip_mreqn`` carrying the interface *index*
  (never a route lookup on the group, which can pick the wrong NIC);
- source-specific: ``IP_ADD_SOURCE_MEMBERSHIP`` (39, no constant in Python 3.11) with
  ``ip_mreq_source`` in Linux order (group, interface address, source); when the interface
  has no IPv4 address, ``MCAST_JOIN_SOURCE_GROUP`` (46) with the interface index instead.

IPv6 (Linux, include/uapi/linux/in6.h; RFC 3493 5.2, RFC 3678 5.2):

- any-source: ``IPV6_JOIN_GROUP`` (20) with ``ipv6_mreq`` (group, interface index);
- source-specific: ``MCAST_JOIN_SOURCE_GROUP`` (46) at ``IPPROTO_IPV6`` with two ``sockaddr_in6``
  in ``group_source_req``; limits are ``net.ipv6.mld_max_msf`` sources per socket and group
  and ``net.core.optmem_max`` bytes of option memory per socket (memberships draw on it);
- link-local groups (ff02::/16) are bound and sent with the interface as scope id (RFC 4007).

Every receiving socket is bound to ``group:port`` with ``IP_MULTICAST_ALL`` = 0, so it gets
only what it joined itself (a socket bound to 0.0.0.0 would also get every other socket's
groups). Groups are spread like mcjoin does: one socket per group, each far below
``net.ipv4.igmp_max_memberships`` (default 20 per socket); sources of one group are spread
so no socket holds more than ``net.ipv4.igmp_max_msf`` (default 10). Kernel errors become one
clear line naming the cause and the fix (ENOBUFS names the sysctl and its value).

The sender keeps one payload template (:func:`mdiag.core.stream.template`) and rewrites the
sequence number and send time in place with ``struct.pack_into`` before each ``send`` on a
connected socket, following the absolute pacing schedule of :class:`mdiag.core.rate.Pacing`
in bounded bursts. The receiver drains non-blocking sockets with ``recvfrom_into`` into one
preallocated buffer, woken by epoll.
"""

from __future__ import annotations

import errno
import os
import resource
import select
import socket
import struct
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

from mdiag.adapters import interfaces
from mdiag.core import stream as st
from mdiag.core.rate import Pacing
from mdiag.errors import InputError, MdiagError, PermissionProblem

IP_MULTICAST_IF = 32
IP_MULTICAST_TTL = 33
IP_MULTICAST_LOOP = 34
IP_ADD_MEMBERSHIP = 35
IP_DROP_MEMBERSHIP = 36
IP_ADD_SOURCE_MEMBERSHIP = 39
IP_DROP_SOURCE_MEMBERSHIP = 40
MCAST_JOIN_SOURCE_GROUP = 46
MCAST_LEAVE_SOURCE_GROUP = 47
IP_MULTICAST_ALL = 49
SO_BINDTODEVICE = 25
IPV6_MULTICAST_IF = 17
IPV6_MULTICAST_HOPS = 18
IPV6_MULTICAST_LOOP = 19
IPV6_JOIN_GROUP = 20
IPV6_LEAVE_GROUP = 21
IPV6_MULTICAST_ALL = 29
IPV6_TCLASS = 67
IPV6_UNICAST_HOPS = 16

SOL_SOCKET = socket.SOL_SOCKET
SO_TIMESTAMPNS = 35
TIMESPEC = struct.Struct("@qq")
ANC_SIZE = socket.CMSG_SPACE(TIMESPEC.size)
#: Up to this many sockets the receiver drains each ready socket; above, it reads one datagram
#: per ready socket and naps COALESCE_NAP when fewer than COALESCE_EVENTS were ready.
DRAIN_MAX_SOCKETS = 8
COALESCE_EVENTS = 32
COALESCE_NAP = 0.002

DEFAULT_PORT = 5001
DEFAULT_RCVBUF = 4 << 20
DEFAULT_SNDBUF = 4 << 20


class SocketError(MdiagError):
    """A socket operation failed (the message says which, why and what to do)."""


# --------------------------------------------------------------------------- addresses


def family(address: str) -> int:
    """4 or 6 by the text's shape (a colon is IPv6)."""
    return 6 if ":" in address else 4


def _aton(address: str, what: str) -> bytes:
    try:
        parts = address.split(".")
        if len(parts) != 4 or any(not p.isdigit() or (len(p) > 1 and p[0] == "0") for p in parts):
            raise OSError
        return socket.inet_aton(address)
    except OSError:
        raise InputError(f"{what} {address!r} is not an IPv4 address") from None


def _pton6(address: str, what: str) -> bytes:
    try:
        return socket.inet_pton(socket.AF_INET6, address.partition("%")[0])
    except (OSError, ValueError):
        raise InputError(f"{what} {address!r} is not an IPv6 address") from None


def packed(address: str, what: str = "address") -> bytes:
    """4 or 16 network-order bytes of an IPv4 or IPv6 address."""
    return _pton6(address, what) if family(address) == 6 else _aton(address, what)


def is_multicast(address: str) -> bool:
    """224.0.0.0/4 or ff00::/8."""
    raw = packed(address)
    return raw[0] == 0xFF if len(raw) == 16 else 224 <= raw[0] <= 239


def needs_scope(address: str) -> bool:
    """True for IPv6 addresses that exist per link: fe80::/10 and ff01::/16, ff02::/16 (RFC 4007 6)."""
    if family(address) != 6:
        return False
    raw = _pton6(address, "address")
    return (raw[0] == 0xFE and raw[1] & 0xC0 == 0x80) or (raw[0] == 0xFF and raw[1] & 0xF in (1, 2))


def sockaddr(address: str, port: int, ifindex: int = 0) -> tuple[Any, ...]:
    """The Python socket address of ``address``: ``(a, port)`` or ``(a, port, 0, scope)`` with
    the interface as scope id where the address needs one."""
    if family(address) == 4:
        return (address, port)
    return (address.partition("%")[0], port, 0, ifindex if needs_scope(address) else 0)


def endpoint(sender: tuple[Any, ...]) -> str:
    """``198.18.0.11:5001`` or ``[fd00:c612::11]:5001`` (RFC 5952 6)."""
    host = sender[0]
    return f"[{host}]:{sender[1]}" if ":" in host else f"{host}:{sender[1]}"


def mreqn(group: str, ifindex: int, address: str = "0.0.0.0") -> bytes:
    """``struct ip_mreqn``: group, interface address, interface index (native int)."""
    return _aton(group, "group") + _aton(address, "interface address") + struct.pack("@i", ifindex)


def ipv6_mreq(group: str, ifindex: int) -> bytes:
    """``struct ipv6_mreq``: 16-byte group, interface index (native int)."""
    return _pton6(group, "group") + struct.pack("@i", ifindex)


def mreq_source(group: str, interface_address: str, source: str) -> bytes:
    """``struct ip_mreq_source`` in Linux order: group, interface, source."""
    return _aton(group, "group") + _aton(interface_address, "interface address") + _aton(source, "source")


def _sockaddr_storage(address: str, scope_id: int = 0) -> bytes:
    """``sockaddr_in`` or ``sockaddr_in6`` (family, port 0, flow info 0, address, scope id),
    padded to the 128 bytes of ``sockaddr_storage``."""
    if family(address) == 6:
        raw = (struct.pack("@H", socket.AF_INET6) + struct.pack("!HI", 0, 0) + _pton6(address, "address")
               + struct.pack("@I", scope_id))
    else:
        raw = struct.pack("@H", socket.AF_INET) + struct.pack("!H", 0) + _aton(address, "address")
    return raw.ljust(128, b"\0")


def group_source_req(ifindex: int, group: str, source: str) -> bytes:
    """``struct group_source_req``: u32 interface, padding to 8, two sockaddr_storage
    (``sockaddr_in`` or ``sockaddr_in6`` by the group's family; RFC 3678 5.2)."""
    scope = ifindex if needs_scope(source) else 0
    return struct.pack("@I4x", ifindex) + _sockaddr_storage(group, ifindex if needs_scope(group) else 0) \
        + _sockaddr_storage(source, scope)


@dataclass(frozen=True, slots=True)
class Join:
    """One membership: any-source (``source`` None) or source-specific (RFC 4607)."""

    group: str
    source: str | None = None

    def __post_init__(self) -> None:
        if not is_multicast(self.group):
            rule = "IPv6 multicast is ff00::/8" if family(self.group) == 6 else "IPv4 multicast is 224.0.0.0/4"
            raise InputError(f"{self.group} is not a multicast group ({rule})")
        if self.source is not None:
            if family(self.source) != family(self.group):
                raise InputError(f"source {self.source} and group {self.group} are of different address "
                                 "families: an IPv{0} group needs an IPv{0} source".format(family(self.group)))
            if is_multicast(self.source):
                raise InputError(f"source {self.source} is a multicast address; a source is a sender's "
                                 "unicast address")

    def __str__(self) -> str:
        return f"({self.source}, {self.group})" if self.source else f"(*, {self.group})"


def plan_sockets(joins: Iterable[Join], max_msf: int = 10) -> list[tuple[str, tuple[str, ...]]]:
    """Spread joins over sockets: one socket per group (like mcjoin), and no more than
    ``max_msf`` sources per socket for a source-specific group.

    Returns ``(group, sources)`` per socket, in first-seen group order; ``sources`` empty
    means an any-source join. Duplicates are dropped. A group asked for both any-source and
    with sources gets both sockets (the any-source one receives every sender anyway).
    """
    if max_msf < 1:
        raise InputError(f"igmp_max_msf {max_msf} leaves no room for a source")
    # dicts and sets, not lists: 16,384 groups must not cost 16,384² comparisons
    any_source: set[str] = set()
    sources: dict[str, list[str]] = {}
    seen: set[Join] = set()
    order: dict[str, None] = {}
    for j in joins:
        if j in seen:
            continue
        seen.add(j)
        order.setdefault(j.group, None)
        if j.source is None:
            any_source.add(j.group)
        else:
            sources.setdefault(j.group, []).append(j.source)
    plan: list[tuple[str, tuple[str, ...]]] = []
    for group in order:
        if group in any_source:
            plan.append((group, ()))
        srcs = sources.get(group, [])
        for i in range(0, len(srcs), max_msf):
            plan.append((group, tuple(srcs[i:i + max_msf])))
    return plan


# --------------------------------------------------------------------------- errors


def explain(exc: OSError, *, action: str, group: str | None = None, iface: str | None = None,
            source: str | None = None, port: int | None = None) -> MdiagError:
    """Turn a kernel errno from a socket call into one clear error."""
    code = exc.errno
    where = f" on {iface}" if iface else ""
    what = f"{action} {f'({source}, {group})' if source else group or ''}".strip()
    v6 = group is not None and group.count(":") >= 2  # an IPv6 group, or "[group]:port"
    if v6 and code == errno.ENOBUFS and source:
        # mld_max_msf lives in the first network namespace only: set machine-wide, unreadable here
        limit = interfaces.sysctl("net/ipv6/mld_max_msf")
        shown = f"= {limit}" if limit else "(machine-wide, default 64)"
        return SocketError(f"{what}{where} failed: the kernel allows {limit or 'net.ipv6.mld_max_msf'} "
                           f"sources per group and socket (net.ipv6.mld_max_msf {shown}); raise it in "
                           "the host's first namespace with 'sysctl -w net.ipv6.mld_max_msf=N' or use "
                           "fewer sources")
    if v6 and code in (errno.ENOBUFS, errno.ENOMEM) and action.startswith(("join", "leav")):
        limit = interfaces.sysctl("net/core/optmem_max", "?")
        return SocketError(f"{what}{where} failed: the socket's option memory is used up by its "
                           f"memberships (net.core.optmem_max = {limit} bytes); raise it with 'sysctl -w "
                           "net.core.optmem_max=N' or spread groups over sockets")
    if code == errno.ENOBUFS:
        if source:
            limit = interfaces.sysctl("net/ipv4/igmp_max_msf", "?")
            return SocketError(f"{what}{where} failed: the kernel allows {limit} sources per group "
                               f"and socket (net.ipv4.igmp_max_msf = {limit}); raise it with "
                               f"'sysctl -w net.ipv4.igmp_max_msf=N' or use fewer sources")
        limit = interfaces.sysctl("net/ipv4/igmp_max_memberships", "?")
        return SocketError(f"{what}{where} failed: the kernel allows {limit} memberships per socket "
                           f"(net.ipv4.igmp_max_memberships = {limit}); raise it with "
                           f"'sysctl -w net.ipv4.igmp_max_memberships=N' or spread groups over sockets")
    if code == errno.EADDRINUSE:
        if action == "bind":
            return SocketError(f"UDP port {port} on {group or ('::' if v6 else '0.0.0.0')} is in use by a socket that "
                               "does not share it (no SO_REUSEADDR): pick another --port or stop that "
                               f"program ('ss -ulpn sport = :{port}' shows it)")
        return SocketError(f"{what}{where} failed: this socket already joined it (EADDRINUSE)")
    if code in (errno.ENODEV, errno.ENXIO):
        names = ", ".join(interfaces.interface_names()) or "none"
        return SocketError(f"{what} failed: no such interface{where or ''}; interfaces here: {names}")
    if code == errno.EINVAL and action.startswith("join"):
        return SocketError(f"{what}{where} failed: the kernel refused it as invalid (EINVAL): "
                           f"is the group multicast ({'ff00::/8' if v6 else '224.0.0.0/4'}) and the "
                           "source unicast?")
    if code in (errno.EPERM, errno.EACCES):
        return PermissionProblem(f"{what}{where} failed: not permitted ({os.strerror(code)})"
                                 + (": broadcast needs --broadcast" if action == "send" else ""))
    if code == errno.ENETUNREACH:
        route = "ip -6 route add ff00::/8 dev IFACE table local" if v6 else "ip route add 224.0.0.0/4 dev IFACE"
        return SocketError(f"{what} failed: no route to it{where}: give --iface, or add a route "
                           f"({route})")
    if code == errno.ENETDOWN:
        return SocketError(f"{what} failed: interface{where} is down (ip link set IFACE up)")
    if code == errno.EADDRNOTAVAIL:
        return SocketError(f"{what}{where} failed: address not available here (EADDRNOTAVAIL): "
                           f"is the interface up with an {'IPv6' if v6 else 'IPv4'} address?")
    if code == errno.EMSGSIZE:
        return SocketError(f"{what} failed: datagram too large for the interface or UDP (EMSGSIZE)")
    return SocketError(f"{what}{where} failed: {os.strerror(code) if code else exc}")


def require_ipv6(iface: str | None) -> None:
    """Explain up front when IPv6 cannot work here: no IPv6 in the kernel, or disabled on ``iface``."""
    if interfaces.sysctl("net/ipv6/conf/all/disable_ipv6") is None:
        raise SocketError("this kernel has no IPv6 (no /proc/sys/net/ipv6): IPv6 groups cannot be "
                          "joined or sent here")
    if iface and interfaces.sysctl(f"net/ipv6/conf/{iface}/disable_ipv6") == "1":
        raise SocketError(f"IPv6 is disabled on {iface} (net.ipv6.conf.{iface}.disable_ipv6 = 1): "
                          f"enable it with 'sysctl -w net.ipv6.conf.{iface}.disable_ipv6=0'")


# --------------------------------------------------------------------------- receiving


@dataclass
class Member:
    """One receiving socket: the group it is bound to and joined, and its sources."""

    group: str
    sources: tuple[str, ...]
    sock: socket.socket
    joined: bool = False
    join_ns: int | None = None
    leave_ns: int | None = None
    stats: dict[Any, st.StreamStats] = field(default_factory=dict)
    foreign: int = 0
    #: datagrams counted for this socket (test-stream data and plain; not END markers)
    datagrams: int = 0
    first_ns: int | None = None
    # the last stream seen on this socket: most datagrams belong to it (no dict lookup)
    last_key: Any = None
    last_stats: Any = None
    #: a unicast/broadcast baseline socket: bound, never joined
    bind_only: bool = False


def raise_fd_limit(needed: int) -> None:
    """Raise the soft RLIMIT_NOFILE to fit ``needed`` more descriptors, or explain."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    want = needed + 64
    try:
        in_use = len(os.listdir("/proc/self/fd"))
    except OSError:
        in_use = 16
    want += in_use
    if want <= soft:
        return
    if hard != resource.RLIM_INFINITY and want > hard:
        raise SocketError(f"{needed} sockets (one per group, like mcjoin) need more file descriptors "
                          f"than the hard limit {hard} allows: raise it (ulimit -Hn) or join fewer groups")
    resource.setrlimit(resource.RLIMIT_NOFILE, (want, hard))


class Receiver:
    """Receiving sockets for ``joins`` on one interface and UDP port (see the module docstring).

    The constructor creates and binds the sockets in the caller's network namespace;
    ``join()`` joins (time recorded per socket);
    ``leave()`` drops the memberships but keeps the sockets so late datagrams can be counted;
    ``close()`` releases everything. Also a context manager (open+join / close).
    """

    def __init__(self, joins: Iterable[Join], iface: str, port: int, *,
                 rcvbuf: int = DEFAULT_RCVBUF, unicast: Iterable[str] = (), until_ns: int | None = None) -> None:
        """``until_ns`` (monotonic ns): make no more sockets past it (a --duration is a promise);
        ``planned`` says how many the joins wanted."""
        self.until_ns = until_ns
        self.planned = 0
        if not 1 <= port <= 65535:
            raise InputError(f"port {port} is out of range 1..65535")
        self.joins = list(joins)
        #: unicast or broadcast addresses to bind without any join (baselines)
        self.unicast = list(dict.fromkeys(unicast))
        for address in self.unicast:
            if is_multicast(address):
                raise InputError(f"{address} is a multicast group: join it instead of binding it")
        if not self.joins and not self.unicast:
            raise InputError("no group to join")
        self.iface = iface
        self.port = port
        self.rcvbuf = rcvbuf
        self.ifindex = interfaces.interface_index(iface)
        self.members: list[Member] = []
        self.max_msf = interfaces.sysctl_int("net/ipv4/igmp_max_msf", 10) or 10
        self.max_msf6 = interfaces.sysctl_int("net/ipv6/mld_max_msf", 64) or 64
        if any(family(j.group) == 6 for j in self.joins) or any(family(a) == 6 for a in self.unicast):
            require_ipv6(iface)
        self.address = self._iface_address() if any(j.source and family(j.group) == 4
                                                     for j in self.joins) else None
        # Sockets are made here, so they live in the network namespace of the caller now
        # (the one ``iface`` and its index were looked up in), whatever thread joins later.
        try:
            self.open()
        except BaseException:
            self.close()
            raise

    def __enter__(self) -> Receiver:
        try:
            self.join()
        except BaseException:
            self.close()
            raise
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def open(self) -> None:
        if self.members:
            return
        plan = (plan_sockets([j for j in self.joins if family(j.group) == 4], self.max_msf)
                + plan_sockets([j for j in self.joins if family(j.group) == 6], self.max_msf6))
        raise_fd_limit(len(plan) + len(self.unicast))
        self.planned = len(plan)
        for group, sources in plan + [(a, ()) for a in self.unicast]:
            if self.until_ns is not None and time.monotonic_ns() >= self.until_ns:
                break
            v6 = family(group) == 6
            sock = socket.socket(socket.AF_INET6 if v6 else socket.AF_INET, socket.SOCK_DGRAM)
            member = Member(group, sources, sock, bind_only=group in self.unicast)
            self.members.append(member)
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            if v6:
                sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
                with _suppress_oserror():  # Linux 4.20+; older kernels deliver by binding alone
                    sock.setsockopt(socket.IPPROTO_IPV6, IPV6_MULTICAST_ALL, 0)
            else:
                sock.setsockopt(socket.IPPROTO_IP, IP_MULTICAST_ALL, 0)
            if member.bind_only:
                # a baseline socket gets only datagrams addressed to it, on this interface
                with _suppress_oserror():
                    sock.setsockopt(socket.SOL_SOCKET, SO_BINDTODEVICE, self.iface.encode())
            if len(plan) > DRAIN_MAX_SOCKETS:
                sock.setsockopt(socket.SOL_SOCKET, SO_TIMESTAMPNS, 1)
            try:
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, self.rcvbuf)
            except OSError:
                pass
            try:
                sock.bind(sockaddr(group, self.port, self.ifindex))
            except OSError as exc:
                raise explain(exc, action="bind", group=group, port=self.port) from None
            sock.setblocking(False)

    def _iface_address(self) -> str | None:
        try:
            return interfaces.first_ipv4(self.iface)
        except Exception:
            return None

    def join(self, until_ns: int | None = None) -> None:
        """Join every planned membership; the join time (wall clock ns) is kept per socket.
        ``until_ns`` (monotonic ns): stop joining there (a command's --duration is a promise)."""
        for m in self.members:
            if m.joined:
                continue
            if until_ns is not None and time.monotonic_ns() >= until_ns:
                return
            m.join_ns = time.time_ns()
            if not m.bind_only:
                self._membership(m, joining=True)
            m.joined = True

    def leave(self) -> int:
        """Drop every membership (sockets stay open). Returns the leave time (wall clock ns)."""
        now = time.time_ns()
        for m in self.members:
            if not m.joined:
                continue
            m.leave_ns = time.time_ns()
            if not m.bind_only:
                self._membership(m, joining=False)
            m.joined = False
        return now

    def _membership(self, m: Member, *, joining: bool) -> None:
        """Add or drop one socket's membership. Any-source: ``ip_mreqn`` with the interface index
        (IPv6: ``IPV6_JOIN/LEAVE_GROUP`` with ``ipv6_mreq``). Per source: IP_ADD/DROP_SOURCE_MEMBERSHIP
        (ip_mreq_source, Linux order) when an IPv4 interface has an address, else
        MCAST_JOIN/LEAVE_SOURCE_GROUP by index (IPv6 always; RFC 3678 5.2)."""
        action = "joining" if joining else "leaving"
        v6 = family(m.group) == 6
        level = socket.IPPROTO_IPV6 if v6 else socket.IPPROTO_IP
        if not m.sources:
            options = (IPV6_JOIN_GROUP, IPV6_LEAVE_GROUP) if v6 else (IP_ADD_MEMBERSHIP, IP_DROP_MEMBERSHIP)
            request = ipv6_mreq(m.group, self.ifindex) if v6 else mreqn(m.group, self.ifindex)
            try:
                m.sock.setsockopt(level, options[0 if joining else 1], request)
            except OSError as exc:
                raise explain(exc, action=action, group=m.group, iface=self.iface) from None
            return
        for source in m.sources:
            if self.address and not v6:
                option = IP_ADD_SOURCE_MEMBERSHIP if joining else IP_DROP_SOURCE_MEMBERSHIP
                request = mreq_source(m.group, self.address, source)
            else:
                option = MCAST_JOIN_SOURCE_GROUP if joining else MCAST_LEAVE_SOURCE_GROUP
                request = group_source_req(self.ifindex, m.group, source)
            try:
                m.sock.setsockopt(level, option, request)
            except OSError as exc:
                raise explain(exc, action=action, group=m.group, iface=self.iface,
                              source=source if joining else None) from None

    def close(self) -> None:
        for m in self.members:
            try:
                m.sock.close()
            except OSError:
                pass
        self.members = []

    def receive(self, handler: Callable[[Member, memoryview, int, tuple[str, int], int], None], *,
                until_ns: int | None = None, max_packets: int | None = None,
                stop: Callable[[], bool] | None = None,
                tick: Callable[[], None] | None = None, tick_interval: float = 1.0) -> int:
        """Receive until the monotonic deadline ``until_ns``, ``max_packets``, or ``stop()``.

        ``handler(member, buffer, length, sender, recv_wall_ns)`` runs per datagram (the
        buffer is reused: copy what you keep). ``tick()`` runs about every ``tick_interval``
        seconds (live display). Returns the number of datagrams received. Always bounded by
        the deadline when one is given.
        """
        poller = select.epoll()
        table: dict[int, tuple[Member, Any]] = {}
        for m in self.members:
            fd = m.sock.fileno()
            poller.register(fd, select.EPOLLIN)
            table[fd] = (m, m.sock.recvfrom_into)
        buf = bytearray(65536)
        view = memoryview(buf)
        count = 0
        now_wall = time.time_ns
        mono = time.monotonic_ns
        tick_ns = int(tick_interval * 1e9)
        next_tick = mono() + tick_ns
        drain = len(self.members) <= DRAIN_MAX_SOCKETS
        bufs = [buf]
        try:
            while True:
                now = mono()
                if until_ns is not None and now >= until_ns:
                    break
                if stop is not None and stop():
                    break
                wait_ns = 200_000_000
                if until_ns is not None:
                    wait_ns = min(wait_ns, until_ns - now)
                if tick is not None:
                    if now >= next_tick:
                        tick()
                        next_tick = now + tick_ns
                    wait_ns = min(wait_ns, max(0, next_tick - now))
                events = poller.poll(wait_ns / 1e9)
                if drain:
                    for fd, _ev in events:
                        m, recv = table[fd]
                        for _ in range(1024):
                            try:
                                n, sender = recv(buf)
                            except BlockingIOError:
                                break
                            handler(m, view, n, sender, now_wall())
                            count += 1
                            if max_packets is not None and count >= max_packets:
                                return count
                else:
                    # Many sockets, few datagrams each: one read per ready socket (epoll is
                    # level-triggered and reports it again if more is queued), with the
                    # kernel's receive timestamp, and a short nap when few were ready so one
                    # wake-up serves many datagrams; timings stay exact (kernel stamps).
                    for fd, _ev in events:
                        m, recv = table[fd]
                        try:
                            n, anc, _flags, sender = m.sock.recvmsg_into(bufs, ANC_SIZE)
                        except BlockingIOError:
                            continue
                        stamp = 0
                        for level, kind, data in anc:
                            if level == SOL_SOCKET and kind == SO_TIMESTAMPNS and len(data) >= 16:
                                sec, nsec = TIMESPEC.unpack_from(data)
                                stamp = sec * 1_000_000_000 + nsec
                        handler(m, view, n, sender, stamp or now_wall())
                        count += 1
                        if max_packets is not None and count >= max_packets:
                            return count
                    if len(events) < COALESCE_EVENTS:
                        time.sleep(COALESCE_NAP)
        finally:
            poller.close()
        return count


class StreamCollector:
    """The receive handler for test streams: statistics per (group, sender, stream id).

    Datagrams without the test-stream header are counted as ``foreign`` and, when
    ``on_plain`` is given, passed to it (plain mode: the seed receiver's print).
    """

    def __init__(self, *, clock_id: int = 0, on_plain: Callable[[Member, bytes, tuple[str, int], int], None] | None = None,
                 latency: bool | None = None, window: int = st.DEFAULT_WINDOW) -> None:
        self.clock_id = clock_id
        self.window = window
        self.on_plain = on_plain
        self.latency = latency  # None: when clock ids match
        self.streams: list[st.StreamStats] = []
        self.data_packets = 0
        self.plain_packets = 0

    def __call__(self, m: Member, buf: memoryview, n: int, sender: tuple[str, int], now: int,
                 _unpack: Any = st.HEADER.unpack_from, _magic: bytes = st.MAGIC,
                 _version: int = st.VERSION, _size: int = st.HEADER_SIZE) -> None:
        if n >= _size:
            magic, version, flags, _hlen, sid, seq, ts, clock = _unpack(buf)
            if magic == _magic and version == _version:
                key = m.last_key
                if key is not None and key[1] == sid and key[0] == sender:
                    stats = m.last_stats
                else:
                    stats = self._stream(m, sender, sid, clock, now)
                if flags & 1:  # FLAG_END
                    stats.end(seq)
                    return
                stats.observe(seq, ts, now, n)
                self.data_packets += 1
                m.datagrams += 1
                return
        m.foreign += 1
        m.datagrams += 1
        if m.first_ns is None:
            m.first_ns = now
        self.plain_packets += 1
        if self.on_plain is not None:
            self.on_plain(m, bytes(buf[:n]), sender, now)

    def _stream(self, m: Member, sender: tuple[str, int], sid: int, clock: int, now: int) -> st.StreamStats:
        key = (sender[0], sid)
        stats = m.stats.get(key)
        if stats is None:
            same = self.latency if self.latency is not None else (clock != 0 and clock == self.clock_id)
            stats = st.StreamStats(m.group, endpoint(sender), sid,
                                   join_ns=m.join_ns, same_clock=same, window=self.window)
            m.stats[key] = stats
            self.streams.append(stats)
            if m.first_ns is None:
                m.first_ns = now
        m.last_key = (sender, sid)
        m.last_stats = stats
        return stats


# --------------------------------------------------------------------------- sending


@dataclass(frozen=True, slots=True)
class SendResult:
    """What a sender did: datagrams sent, kernel drops it retried, time taken (s)."""

    sent: int
    retries: int
    elapsed: float
    bytes: int
    stream_id: int | None = None
    interrupted: bool = False

    @property
    def pps(self) -> float:
        return self.sent / self.elapsed if self.elapsed > 0 else 0.0

    def to_json(self) -> dict[str, Any]:
        return {"sent": self.sent, "bytes": self.bytes, "elapsed_s": round(self.elapsed, 6),
                "pps": round(self.pps, 1), "retries": self.retries, "stream_id": self.stream_id}


class Sender:
    """A UDP socket connected to ``destination:port``: multicast (default), unicast or broadcast.

    Several multicast destinations (a list) share one unconnected socket; streams then go
    round-robin, one datagram per group in turn, each group with its own sequence numbers.

    Multicast leaves through ``iface`` (``IP_MULTICAST_IF`` with the interface index) with
    ``ttl`` (default 1: never past the first router). Unicast and broadcast are bound to
    ``iface`` with SO_BINDTODEVICE. ``iface`` is required and checked: nothing is ever sent
    where the routing table alone would put it (that is the real NIC in a root namespace).
    """

    def __init__(self, destination: str | Sequence[str], port: int, iface: str, *,
                 ttl: int = 1, loop: bool = True, kind: str = "multicast", source_port: int = 0,
                 sndbuf: int = DEFAULT_SNDBUF, tos: int = 0) -> None:
        destinations = [destination] if isinstance(destination, str) else list(destination)
        if not destinations:
            raise InputError("no destination to send to")
        for other in destinations[1:]:
            if not is_multicast(other):
                raise InputError(f"{other} is not a multicast group: several destinations must all be groups")
            if family(other) != family(destinations[0]):
                raise InputError(f"{destinations[0]} and {other} are of different address families: "
                                 "send IPv4 and IPv6 groups with two senders")
        destination = destinations[0]
        if kind not in ("multicast", "unicast", "broadcast"):
            raise InputError(f"sender kind must be multicast, unicast or broadcast, not {kind!r}")
        if not 1 <= port <= 65535:
            raise InputError(f"port {port} is out of range 1..65535")
        if not 0 <= ttl <= 255:
            raise InputError(f"TTL {ttl} is out of range 0..255")
        v6 = family(destination) == 6
        if v6 and kind == "broadcast":
            raise InputError(f"{destination}: IPv6 has no broadcast (RFC 4291 2); send to ff02::1 "
                             "(all nodes) instead")
        multicast = is_multicast(destination)
        if kind == "multicast" and not multicast:
            raise InputError(f"{destination} is not a multicast group: add --unicast or --broadcast "
                             "to send to it on purpose")
        self.destination, self.port, self.iface, self.kind = destination, port, iface, kind
        self.ifindex = interfaces.interface_index(iface)  # checks the name: never empty
        if v6:
            require_ipv6(iface)
        self.family = 6 if v6 else 4
        self.destinations = [sockaddr(d, port, self.ifindex) for d in destinations]
        self.sock = socket.socket(socket.AF_INET6 if v6 else socket.AF_INET, socket.SOCK_DGRAM)
        try:
            s = self.sock
            with _suppress_oserror():
                s.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, sndbuf)
            if tos:
                s.setsockopt(*((socket.IPPROTO_IPV6, IPV6_TCLASS) if v6 else (socket.IPPROTO_IP, socket.IP_TOS)),
                             tos)
            if multicast and v6:
                s.setsockopt(socket.IPPROTO_IPV6, IPV6_MULTICAST_HOPS, ttl)
                s.setsockopt(socket.IPPROTO_IPV6, IPV6_MULTICAST_LOOP, 1 if loop else 0)
                s.setsockopt(socket.IPPROTO_IPV6, IPV6_MULTICAST_IF, struct.pack("@i", self.ifindex))
            elif multicast:
                s.setsockopt(socket.IPPROTO_IP, IP_MULTICAST_TTL, ttl)
                s.setsockopt(socket.IPPROTO_IP, IP_MULTICAST_LOOP, 1 if loop else 0)
                # ip_mreqn: the group field is ignored here, the index chooses the interface
                s.setsockopt(socket.IPPROTO_IP, IP_MULTICAST_IF,
                             b"\0" * 8 + struct.pack("@i", self.ifindex))
            else:
                if v6:
                    s.setsockopt(socket.IPPROTO_IPV6, IPV6_UNICAST_HOPS, max(1, ttl))
                else:
                    s.setsockopt(socket.IPPROTO_IP, socket.IP_TTL, max(1, ttl))
                if kind == "broadcast":
                    s.setsockopt(socket.SOL_SOCKET, socket.SO_BROADCAST, 1)
                try:
                    s.setsockopt(socket.SOL_SOCKET, SO_BINDTODEVICE, iface.encode())
                except PermissionError:
                    raise PermissionProblem(f"binding to {iface} (SO_BINDTODEVICE) needs root or "
                                            "CAP_NET_RAW") from None
            if source_port:
                s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
                try:
                    s.bind(("::" if v6 else "0.0.0.0", source_port))
                except OSError as exc:
                    raise explain(exc, action="bind", port=source_port) from None
            if len(self.destinations) == 1:
                try:
                    s.connect(self.destinations[0])
                except OSError as exc:
                    raise explain(exc, action="send to", group=destination, iface=iface) from None
        except BaseException:
            self.sock.close()
            raise

    def close(self) -> None:
        self.sock.close()

    def __enter__(self) -> Sender:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @property
    def local_address(self) -> tuple[str, int]:
        """(address, port) this socket sends from (``0.0.0.0``/``::`` while unconnected)."""
        name = self.sock.getsockname()
        return (name[0], name[1])

    def _send_error(self, exc: OSError) -> MdiagError:
        return explain(exc, action="send to", group=endpoint((self.destination, self.port)), iface=self.iface)

    def send_stream(self, *, size: int, pacing: Pacing | None, budget: int | None,
                    duration: float | None, stream_id: int, clock_id: int = 0,
                    stop: Callable[[], bool] | None = None,
                    progress: Callable[[int, float], None] | None = None,
                    progress_interval: float = 1.0) -> SendResult:
        """Send test-stream datagrams until ``budget`` packets, ``duration`` seconds or ``stop()``.

        With several destinations ``pacing`` and ``budget`` count datagrams over all groups
        (round-robin: datagram ``n`` goes to group ``n % G`` with sequence ``n // G``).
        ``pacing`` None sends as fast as the host allows. ENOBUFS/EAGAIN from a full queue
        are retried after a short pause (counted in ``retries``); the sequence number is
        only consumed by a datagram the kernel accepted, so receivers see no false loss.
        """
        buf = st.template(size, stream_id, clock_id)
        pack = st.SEQ_TIME.pack_into
        off = st.SEQ_TIME_OFFSET
        send = self.sock.send
        dests = self.destinations
        groups = len(dests)
        sendto = self.sock.sendto
        wall = time.time_ns
        mono = time.monotonic_ns
        sleep = time.sleep
        rate = pacing.pps if pacing is not None else float("inf")
        burst = pacing.burst if pacing is not None else 64
        paced = pacing is not None and rate != float("inf")
        sent = 0
        retries = 0
        start = mono()
        end_ns = start + int(duration * 1e9) if duration is not None else None
        limit = budget if budget is not None else -1
        next_progress = start + int(progress_interval * 1e9)
        interrupted = False
        try:
            while True:
                now = mono()
                if end_ns is not None and now >= end_ns:
                    break
                if sent == limit:
                    break
                if paced:
                    n = int((now - start) * rate // 1_000_000_000) + 1 - sent
                    if n <= 0:
                        wait = start + int(sent * 1e9 / rate) - now
                        if wait > 150_000:
                            sleep((wait - 60_000) / 1e9)
                        if stop is not None and stop():
                            break
                        continue
                    if n > burst:
                        n = burst
                else:
                    n = burst
                if limit >= 0 and sent + n > limit:
                    n = limit - sent
                try:
                    if groups == 1:
                        for _ in range(n):
                            pack(buf, off, sent, wall())
                            send(buf)
                            sent += 1
                    else:
                        for _ in range(n):
                            pack(buf, off, sent // groups, wall())
                            sendto(buf, dests[sent % groups])
                            sent += 1
                except (BlockingIOError, InterruptedError):
                    retries += 1
                    sleep(0.0002)
                except OSError as exc:
                    if exc.errno in (errno.ENOBUFS, errno.EAGAIN):
                        retries += 1
                        sleep(0.0002)
                    elif exc.errno == errno.ECONNREFUSED:
                        continue  # unicast to a closed port: ICMP came back; keep sending
                    else:
                        raise self._send_error(exc) from None
                if progress is not None and now >= next_progress:
                    progress(sent, (now - start) / 1e9)
                    next_progress = now + int(progress_interval * 1e9)
                if stop is not None and stop():
                    break
        except KeyboardInterrupt:  # Ctrl-C ends the stream; what was sent is reported
            interrupted = True
        elapsed = (mono() - start) / 1e9
        return SendResult(sent, retries, elapsed, sent * size, stream_id, interrupted)

    def send_end(self, stream_id: int, sent: int, clock_id: int = 0, repeats: int = 3) -> None:
        """Tell receivers the stream is over (END marker, sent ``repeats`` times 1 ms apart)."""
        groups = len(self.destinations)
        for i in range(repeats):
            for index, dest in enumerate(self.destinations):
                total = sent if groups == 1 else sent // groups + (1 if index < sent % groups else 0)
                try:
                    self.sock.sendto(st.end_marker(stream_id, total, time.time_ns(), clock_id), dest)
                except OSError:
                    pass
            if i + 1 < repeats:
                time.sleep(0.001)

    def send_datagrams(self, payloads: Iterable[bytes], *, pacing: Pacing | None = None,
                       stop: Callable[[], bool] | None = None) -> SendResult:
        """Send each payload as one datagram (the ``--stdin`` mode), paced when asked."""
        sent = 0
        total = 0
        retries = 0
        start = time.monotonic_ns()
        interrupted = False
        try:
            for payload in payloads:
                if stop is not None and stop():
                    break
                if pacing is not None:
                    due = start + pacing.next_due_ns(sent)
                    wait = due - time.monotonic_ns()
                    if wait > 0:
                        time.sleep(wait / 1e9)
                while True:
                    try:
                        for dest in self.destinations:
                            self.sock.sendto(payload, dest)
                        break
                    except OSError as exc:
                        if exc.errno in (errno.ENOBUFS, errno.EAGAIN):
                            retries += 1
                            time.sleep(0.001)
                            continue
                        if exc.errno == errno.ECONNREFUSED:
                            break
                        raise self._send_error(exc) from None
                sent += 1
                total += len(payload)
        except KeyboardInterrupt:  # Ctrl-C: report what went out
            interrupted = True
        return SendResult(sent, retries, (time.monotonic_ns() - start) / 1e9, total, None, interrupted)


class BackgroundStream:
    """A paced test stream (:meth:`Sender.send_stream`) in a daemon thread: the traffic a probe
    (delay, verify, zap) keeps running while it measures. Bounded by ``duration``; ``stop()``
    ends it sooner. An error in the thread is kept in ``error`` (re-raised by :meth:`check`).
    """

    def __init__(self, sender: Sender, *, pps: float, size: int = 64, duration: float,
                 burst: int = 4) -> None:
        import threading

        self.sender = sender
        self._stop = threading.Event()
        self.result: SendResult | None = None
        self.error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, args=(Pacing(pps, burst=burst), size, duration),
                                        daemon=True, name="mdiag-stream")

    def _run(self, pacing: Pacing, size: int, duration: float) -> None:
        try:
            self.result = self.sender.send_stream(size=size, pacing=pacing, budget=None, duration=duration,
                                                  stream_id=random_stream_id(), stop=self._stop.is_set)
        except BaseException as exc:  # reported by check() in the measuring thread
            self.error = exc

    def start(self) -> BackgroundStream:
        self._thread.start()
        return self

    def stop(self, timeout: float = 2.0) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout)

    def check(self) -> None:
        """Raise the sending thread's error, if it had one."""
        if self.error is not None:
            raise self.error

    @property
    def sent(self) -> int:
        return self.result.sent if self.result is not None else 0

    def __enter__(self) -> BackgroundStream:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


class _suppress_oserror:
    def __enter__(self) -> None:
        return None

    def __exit__(self, kind: Any, value: Any, tb: Any) -> bool:
        return kind is not None and issubclass(kind, OSError)


def random_stream_id() -> int:
    return int.from_bytes(os.urandom(4), "big") or 1


def iter_lines(stream: Any, max_size: int = 65507) -> Iterator[bytes]:
    """Lines of a binary stream without their line end; over-long lines are refused."""
    for number, line in enumerate(stream, 1):
        data = line[:-1] if line.endswith(b"\n") else line
        if data.endswith(b"\r"):
            data = data[:-1]
        if len(data) > max_size:
            raise InputError(f"stdin line {number} is {len(data)} bytes, more than one UDP datagram "
                             f"can carry ({max_size})")
        yield data
