"""The host's interfaces and multicast state: netifaces, ioctl flags, /proc and sysctls.

Route lookups also ask the kernel itself (``ip -j route get``, iproute2) when it is there, so
policy rules and other tables count; /proc/net/route (main table) is the fallback.

The only module that imports netifaces (netifaces-plus). Everything here reads the network
namespace of the *calling thread*: /proc/thread-self/net instead of /proc/net, and ioctls on
a socket made by this thread, so it gives the right answers inside ``Lab.inside(host)``.
Parsing is done by the pure :mod:`mdiag.core.procnet`.
"""

from __future__ import annotations

import errno
import fcntl
import json
import socket
import struct
import subprocess
import sys
from dataclasses import dataclass
from typing import Any

from mdiag.core import names, procnet
from mdiag.errors import InputError, MissingSystemPiece

SIOCGIFFLAGS = 0x8913
SIOCGIFMTU = 0x8921
SIOCGIFHWADDR = 0x8927
ARPHRD_ETHER = 1
ARPHRD_LOOPBACK = 772
IFF_UP = 0x1
IFF_BROADCAST = 0x2
IFF_LOOPBACK = 0x8
IFF_RUNNING = 0x40
IFF_ALLMULTI = 0x200
IFF_MULTICAST = 0x1000


class InterfaceNotFound(InputError):
    """The named interface does not exist here."""


def _netifaces() -> Any:
    try:
        import netifaces
    except ImportError:  # pragma: no cover - declared dependency
        raise MissingSystemPiece("the Python package netifaces-plus is missing "
                                 "(pip install 'netifaces-plus>=0.12,<0.13')") from None
    return netifaces


def proc_net(name: str) -> str:
    """Text of /proc/net/<name> for the calling thread's network namespace."""
    for base in ("/proc/thread-self/net", "/proc/net"):
        try:
            with open(f"{base}/{name}", encoding="ascii", errors="replace") as handle:
                return handle.read()
        except FileNotFoundError:
            continue
    raise MissingSystemPiece(f"/proc/net/{name} is missing (is /proc mounted? IPv4 multicast built in?)")


def sysctl(path: str, default: str | None = None) -> str | None:
    """A sysctl under /proc/sys (``net/ipv4/igmp_max_memberships``), stripped; ``default`` if absent."""
    try:
        with open(f"/proc/sys/{path}", encoding="ascii") as handle:
            return handle.read().strip()
    except (FileNotFoundError, PermissionError):
        return default


def sysctl_int(path: str, default: int | None = None) -> int | None:
    value = sysctl(path)
    try:
        return int(value) if value is not None else default
    except ValueError:
        return default


def interface_names() -> list[str]:
    """Names of the interfaces in this namespace, in index order."""
    return [name for _, name in sorted(socket.if_nameindex())]


def interface_index(name: str) -> int:
    """The ifindex of ``name``; :class:`InterfaceNotFound` listing the interfaces that exist.

    The name is checked first (:func:`mdiag.core.names.interface_name`): an empty or
    malformed name is an :class:`InputError`, never "no interface" or "any interface".
    """
    names.interface_name(name)
    try:
        return socket.if_nametoindex(name)
    except OSError:
        raise InterfaceNotFound(f"no interface {name!r} here; interfaces: "
                                f"{', '.join(interface_names()) or 'none'}") from None


def _ifreq(sock: socket.socket, request: int, name: str) -> int:
    raw = fcntl.ioctl(sock.fileno(), request, struct.pack("16s16x", name.encode()[:15]))
    return int(struct.unpack_from("i" if request == SIOCGIFMTU else "H", raw, 16)[0])


def interface_flags(name: str) -> int:
    """SIOCGIFFLAGS of ``name`` (IFF_UP, IFF_MULTICAST, ...)."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        try:
            return _ifreq(sock, SIOCGIFFLAGS, name)
        except OSError as exc:
            if exc.errno == errno.ENODEV:
                interface_index(name)  # raises with the list
            raise


def interface_mtu(name: str) -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        return _ifreq(sock, SIOCGIFMTU, name)


def interface_ipv4(name: str) -> list[tuple[str, int]]:
    """IPv4 addresses of ``name`` as (address, prefix length)."""
    ni = _netifaces()
    try:
        entries = ni.ifaddresses(name).get(ni.AF_INET, [])
    except ValueError:
        interface_index(name)
        raise
    result = []
    for entry in entries:
        mask = entry.get("netmask") or "255.255.255.255"
        try:
            prefixlen = bin(int.from_bytes(socket.inet_aton(mask), "big")).count("1")
        except OSError:
            prefixlen = 32
        result.append((entry["addr"], prefixlen))
    return result


def hardware_address(name: str) -> bytes:
    """The 6-byte hardware address of ``name`` (SIOCGIFHWADDR on a socket of the calling
    thread: right inside a namespace, where /sys still shows the namespace that mounted it).
    :class:`InterfaceNotFound` or :class:`InputError` when it cannot be read."""
    interface_index(name)
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        try:
            raw = fcntl.ioctl(probe.fileno(), SIOCGIFHWADDR, struct.pack("256s", name.encode()[:15]))
        except OSError as exc:
            raise InputError(f"cannot read the MAC address of {name!r}: {exc.strerror}") from None
    if struct.unpack_from("@H", raw, 16)[0] not in (ARPHRD_ETHER, ARPHRD_LOOPBACK):
        raise InputError(f"{name!r} has no Ethernet address (not an Ethernet-like interface)")
    return bytes(raw[18:24])


def interface_mac(name: str) -> str | None:
    """``aa:bb:cc:dd:ee:ff`` of ``name``, or None when it has no Ethernet address."""
    try:
        return ":".join(f"{b:02x}" for b in hardware_address(name))
    except InputError:
        return None


def first_ipv4(name: str) -> str | None:
    addrs = interface_ipv4(name)
    return addrs[0][0] if addrs else None


def interface_ipv6(name: str) -> list[tuple[str, int]]:
    """IPv6 addresses of ``name`` as (address without zone, prefix length), link-local included."""
    ni = _netifaces()
    try:
        entries = ni.ifaddresses(name).get(ni.AF_INET6, [])
    except ValueError:
        interface_index(name)
        raise
    result = []
    for entry in entries:
        address = str(entry.get("addr", "")).partition("%")[0]
        mask = str(entry.get("netmask") or "/128")
        if "/" in mask:
            prefixlen = int(mask.rpartition("/")[2] or 128)
        else:
            try:
                prefixlen = bin(int.from_bytes(socket.inet_pton(socket.AF_INET6, mask), "big")).count("1")
            except OSError:
                prefixlen = 128
        if address:
            result.append((address, prefixlen))
    return result


def first_ipv6(name: str) -> str | None:
    """The interface's first global/ULA IPv6 address, else its link-local one, else None."""
    addrs = [a for a, _ in interface_ipv6(name)]
    routable = [a for a in addrs if not a.lower().startswith("fe80")]
    return (routable or addrs or [None])[0]


@dataclass(frozen=True, slots=True)
class InterfaceInfo:
    """One interface as ``mdiag ifaces`` shows it."""

    name: str
    index: int
    flags: int
    mtu: int | None
    mac: str | None
    ipv4: tuple[tuple[str, int], ...]
    igmp_version: str | None        # V1/V2/V3 from /proc/net/igmp (None: no IPv4 on it)
    force_igmp_version: int          # effective: all or the interface's, whichever forces
    rp_filter: int                   # effective: max(all, interface) as the kernel applies it
    mc_forwarding: int
    groups: int
    ipv6: tuple[tuple[str, int], ...] = ()
    #: True: IPv6 off on it (disable_ipv6 = 1 or no IPv6 in the kernel); None: cannot say
    ipv6_disabled: bool | None = None
    force_mld_version: int = 0       # effective: all or the interface, as the kernel checks
    mld_groups: int = 0

    @property
    def mld_version(self) -> str | None:
        """``"v1"``/``"v2"`` forced, ``"auto"`` (MLDv2 unless an MLDv1 querier is heard: /proc
        does not tell), None when IPv6 is off here."""
        if self.ipv6_disabled:
            return None
        return f"v{self.force_mld_version}" if self.force_mld_version in (1, 2) else "auto"

    @property
    def querier_seen(self) -> str | None:
        """``"v1"``/``"v2"`` when the kernel runs the older version because it heard such a
        querier (not forced); None otherwise (an IGMPv3 querier or none: /proc cannot tell)."""
        if self.igmp_version in ("V1", "V2") and self.force_igmp_version not in (1, 2):
            return self.igmp_version.lower()
        return None

    @property
    def up(self) -> bool:
        return bool(self.flags & IFF_UP)

    @property
    def multicast(self) -> bool:
        return bool(self.flags & IFF_MULTICAST)

    @property
    def loopback(self) -> bool:
        return bool(self.flags & IFF_LOOPBACK)

    def flag_names(self) -> list[str]:
        names = [("UP", IFF_UP), ("BROADCAST", IFF_BROADCAST), ("LOOPBACK", IFF_LOOPBACK),
                 ("RUNNING", IFF_RUNNING), ("ALLMULTI", IFF_ALLMULTI), ("MULTICAST", IFF_MULTICAST)]
        return [n for n, bit in names if self.flags & bit]

    def to_json(self) -> dict[str, Any]:
        return {"name": self.name, "index": self.index, "flags": self.flag_names(),
                "up": self.up, "multicast": self.multicast, "mtu": self.mtu, "mac": self.mac,
                "ipv4": [f"{a}/{p}" for a, p in self.ipv4], "igmp_version": self.igmp_version,
                "querier_seen": self.querier_seen,
                "force_igmp_version": self.force_igmp_version, "rp_filter": self.rp_filter,
                "mc_forwarding": self.mc_forwarding, "groups": self.groups,
                "ipv6": [f"{a}/{p}" for a, p in self.ipv6], "ipv6_disabled": self.ipv6_disabled,
                "mld_version": self.mld_version, "force_mld_version": self.force_mld_version,
                "mld_groups": self.mld_groups}


def effective_force_igmp_version(name: str) -> int:
    """The kernel checks ``all`` and the interface (net/ipv4/igmp.c IGMP_V1_SEEN/V2_SEEN)."""
    values = [sysctl_int("net/ipv4/conf/all/force_igmp_version", 0) or 0,
              sysctl_int(f"net/ipv4/conf/{name}/force_igmp_version", 0) or 0]
    for forced in (1, 2):
        if forced in values:
            return forced
    return 0


def effective_rp_filter(name: str) -> int:
    """The kernel uses max(conf/all/rp_filter, conf/<iface>/rp_filter)."""
    return max(sysctl_int("net/ipv4/conf/all/rp_filter", 0) or 0,
               sysctl_int(f"net/ipv4/conf/{name}/rp_filter", 0) or 0)


def byteorder() -> str:
    return sys.byteorder


#: The probe that makes /proc/net/mcfilter list every interface (see :func:`igmp_state`).
PROBE_GROUP = "232.255.255.254"
PROBE_SOURCE = "127.0.0.254"
MCAST_JOIN_SOURCE_GROUP = 46


def _probe_join() -> socket.socket | None:
    """A source-specific join on ``lo`` (ifindex 1), or None if the kernel refuses it.

    Nothing leaves the host: reports for loopback stay on loopback.
    """
    def sockaddr(address: str) -> bytes:
        return (struct.pack("@H", socket.AF_INET) + bytes(2) + socket.inet_aton(address)).ljust(128, b"\0")

    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        lo = socket.if_nametoindex("lo")
        sock.setsockopt(socket.IPPROTO_IP, MCAST_JOIN_SOURCE_GROUP,
                        struct.pack("@I4x", lo) + sockaddr(PROBE_GROUP) + sockaddr(PROBE_SOURCE))
        return sock
    except OSError:
        sock.close()
        return None


def igmp_state(reveal_sources: bool = True) -> tuple[procnet.IgmpInterface, ...]:
    """/proc/net/igmp merged with /proc/net/mcfilter for this namespace.

    The kernel's mcfilter listing skips every interface before the first one whose newest
    group has sources. With ``reveal_sources`` a short-lived (probe source, 232.255.255.254)
    join on ``lo`` (the first interface) is held while reading, so the listing starts at
    ``lo`` and covers every interface; the probe's own rows are removed.
    """
    probe = _probe_join() if reveal_sources else None
    try:
        igmp_text = proc_net("igmp")
        mcf_text = proc_net("mcfilter")
    finally:
        if probe is not None:
            probe.close()
    igmp = procnet.parse_igmp(igmp_text, byteorder())
    mcf = procnet.parse_mcfilter(mcf_text)
    merged = procnet.merge(igmp, mcf)
    if probe is None:
        return merged
    cleaned = []
    for iface in merged:
        members = tuple(m for m in iface.memberships if m.group != PROBE_GROUP or iface.name != "lo")
        cleaned.append(procnet.IgmpInterface(iface.index, iface.name,
                                             iface.count - (len(iface.memberships) - len(members)),
                                             iface.version, members))
    return tuple(cleaned)


#: The IPv6 probe: interface-local scope (ff31::, never reported by MLD, RFC 3810 6) on ``lo``.
PROBE_GROUP6 = "ff31::8000:fffe"
PROBE_SOURCE6 = "::1"


def _probe_join6() -> socket.socket | None:
    """An IPv6 source-specific join on ``lo`` (interface-local group, so no MLD at all), or None."""
    def sockaddr6(address: str) -> bytes:
        return (struct.pack("@H", socket.AF_INET6) + bytes(6) + socket.inet_pton(socket.AF_INET6, address)
                + bytes(4)).ljust(128, b"\0")

    try:
        sock = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM)
    except OSError:
        return None
    try:
        lo = socket.if_nametoindex("lo")
        sock.setsockopt(socket.IPPROTO_IPV6, MCAST_JOIN_SOURCE_GROUP,
                        struct.pack("@I4x", lo) + sockaddr6(PROBE_GROUP6) + sockaddr6(PROBE_SOURCE6))
        return sock
    except OSError:
        sock.close()
        return None


def _proc_net_optional(name: str) -> str:
    """/proc/net/<name>, or empty text when the kernel has no IPv6."""
    try:
        return proc_net(name)
    except MissingSystemPiece:
        return ""


def mld_state(reveal_sources: bool = True) -> tuple[procnet.MldInterface, ...]:
    """/proc/net/igmp6 merged with /proc/net/mcfilter6 for this namespace (empty without IPv6).

    Same kernel gap as :func:`igmp_state`, avoided the same way: a short-lived source-specific
    join of an interface-local group on ``lo`` (no MLD message is ever sent for it), whose own
    rows are then removed.
    """
    probe = _probe_join6() if reveal_sources else None
    try:
        igmp6_text = _proc_net_optional("igmp6")
        mcf6_text = _proc_net_optional("mcfilter6")
    finally:
        if probe is not None:
            probe.close()
    merged = procnet.merge6(procnet.parse_igmp6(igmp6_text), procnet.parse_mcfilter6(mcf6_text))
    if probe is None:
        return merged
    return tuple(procnet.MldInterface(i.index, i.name, tuple(m for m in i.memberships
                                                             if m.group != PROBE_GROUP6 or i.name != "lo"))
                 for i in merged)


def routes6() -> tuple[procnet.Route6, ...]:
    return tuple(procnet.parse_ipv6_route(_proc_net_optional("ipv6_route")).items)


def udp6_sockets() -> tuple[procnet.UdpSocket, ...]:
    return tuple(procnet.parse_udp6(_proc_net_optional("udp6"), byteorder()).items)


def ipv6_disabled(name: str) -> bool | None:
    """True when IPv6 is off on ``name`` (or in the whole kernel), None when the kernel cannot say."""
    if sysctl("net/ipv6/conf/all/disable_ipv6") is None:
        return True  # no IPv6 in this kernel
    value = sysctl(f"net/ipv6/conf/{name}/disable_ipv6")
    return None if value is None else value == "1"


def effective_force_mld_version(name: str) -> int:
    """1 or 2 when MLD is forced (``all`` or the interface, as net/ipv6/mcast.c checks), else 0."""
    values = [sysctl_int("net/ipv6/conf/all/force_mld_version", 0) or 0,
              sysctl_int(f"net/ipv6/conf/{name}/force_mld_version", 0) or 0]
    for forced in (1, 2):
        if forced in values:
            return forced
    return 0


def routes() -> tuple[procnet.Route, ...]:
    return tuple(procnet.parse_route(proc_net("route"), byteorder()).items)


#: Where :func:`route_for` says the route came from when the kernel's answer differs from the main table.
NOT_MAIN_TABLE = "policy rule or table"


def kernel_route(address: str) -> tuple[bool, str | None, str | None]:
    """The kernel's own route lookup for ``address`` (``ip -j route get``): policy rules and all
    tables included. Returns (asked, interface or None when unreachable, table name or None).
    ``asked`` is False when iproute2 is missing or its answer cannot be read.
    """
    try:
        proc = subprocess.run(["ip", "-j", "route", "get", address], capture_output=True, text=True,
                              timeout=5, check=False)
    except (OSError, subprocess.TimeoutExpired):
        return False, None, None
    if proc.returncode != 0:
        # "RTNETLINK answers: Network is unreachable" (or prohibit/blackhole rules)
        return ("RTNETLINK" in proc.stderr), None, None
    try:
        (entry, *_) = json.loads(proc.stdout)
        return True, entry.get("dev"), entry.get("table")
    except (ValueError, TypeError, AttributeError):
        return False, None, None


def route_for(table: tuple[procnet.Route, ...], address: str) -> tuple[str | None, str | None]:
    """(interface, prefix) of the route the kernel uses for ``address``; (None, None): no route.

    The main table (/proc/net/route) gives the prefix; when the kernel's own lookup names
    another interface, a policy rule or another table decided and the prefix is
    :data:`NOT_MAIN_TABLE` plus the table the kernel named.
    """
    route = procnet.lookup_route(table, address)
    iface = route.iface if route else None
    prefix = f"{route.destination}/{route.prefixlen}" if route else None
    asked, kernel_iface, kernel_table = kernel_route(address)
    if not asked or (kernel_iface == iface and kernel_table in (None, "main")):
        return iface, prefix
    if kernel_iface is None:
        return None, None
    return kernel_iface, NOT_MAIN_TABLE + (f" {kernel_table}" if kernel_table else "")


def udp_sockets() -> tuple[procnet.UdpSocket, ...]:
    return tuple(procnet.parse_udp(proc_net("udp"), byteorder()).items)


def describe(name: str, igmp: tuple[procnet.IgmpInterface, ...] | None = None,
             mld: tuple[procnet.MldInterface, ...] | None = None) -> InterfaceInfo:
    """Everything ``mdiag ifaces`` shows about one interface."""
    index = interface_index(name)
    if igmp is None:
        igmp = igmp_state(reveal_sources=False)
    if mld is None:
        mld = mld_state(reveal_sources=False)
    entry = next((i for i in igmp if i.index == index), None)
    entry6 = next((i for i in mld if i.index == index), None)
    try:
        mtu: int | None = interface_mtu(name)
    except OSError:
        mtu = None
    return InterfaceInfo(
        name=name, index=index, flags=interface_flags(name), mtu=mtu, mac=interface_mac(name),
        ipv4=tuple(interface_ipv4(name)), igmp_version=entry.version if entry else None,
        force_igmp_version=effective_force_igmp_version(name), rp_filter=effective_rp_filter(name),
        mc_forwarding=sysctl_int(f"net/ipv4/conf/{name}/mc_forwarding", 0) or 0,
        groups=len(entry.memberships) if entry else 0,
        ipv6=tuple(interface_ipv6(name)), ipv6_disabled=ipv6_disabled(name),
        force_mld_version=effective_force_mld_version(name),
        mld_groups=len(entry6.memberships) if entry6 else 0)


def all_interfaces() -> list[InterfaceInfo]:
    igmp = igmp_state(reveal_sources=False)
    mld = mld_state(reveal_sources=False)
    result = []
    for name in interface_names():
        try:
            result.append(describe(name, igmp, mld))
        except (InterfaceNotFound, OSError):
            continue  # vanished while we looked
    return result


def boot_clock_id() -> int:
    """First 32 bits of the kernel boot id: equal on sender and receiver = same clock."""
    value = sysctl("kernel/random/boot_id")
    if not value:
        return 0
    try:
        return int(value.replace("-", "")[:8], 16)
    except ValueError:
        return 0



def host_facts(iface: str, *, group: str | None = None, sources: tuple[str, ...] = (),
               port: int | None = None, planned_groups: int = 1) -> Any:
    """Gather :class:`mdiag.core.preflight.HostFacts` for ``mdiag doctor`` (this namespace)."""
    from mdiag.core.preflight import HostFacts

    names = tuple(interface_names())
    if iface not in names:
        return HostFacts(iface=iface, exists=False, interfaces=names)
    if group is not None and ":" in group:
        return _host_facts6(iface, names, group=group, sources=sources, port=port,
                            planned_groups=planned_groups)
    info = describe(iface)
    table = routes()
    probe = group or "224.0.0.1"
    route_iface, route_prefix = route_for(table, probe)
    source_routes = {source: route_for(table, source)[0] for source in sources}
    wildcard = 0
    if port is not None:
        wildcard = sum(1 for s in udp_sockets() if s.port == port and s.local_address == "0.0.0.0")
    return HostFacts(
        iface=iface, exists=True, interfaces=names, up=info.up, multicast=info.multicast,
        loopback=info.loopback, ipv4=tuple(f"{a}/{p}" for a, p in info.ipv4), route_probe=probe,
        route_iface=route_iface, route_prefix=route_prefix,
        max_memberships=sysctl_int("net/ipv4/igmp_max_memberships", 20) or 0,
        max_msf=sysctl_int("net/ipv4/igmp_max_msf", 10) or 0,
        rp_filter=min(2, info.rp_filter), force_igmp_version=info.force_igmp_version,
        igmp_version=info.igmp_version, mc_forwarding=info.mc_forwarding,
        memberships_now=info.groups, planned_groups=planned_groups, group=group,
        sources=tuple(sources), source_routes=source_routes, port=port,
        wildcard_port_sockets=wildcard)


def _host_facts6(iface: str, names: tuple[str, ...], *, group: str, sources: tuple[str, ...],
                 port: int | None, planned_groups: int) -> Any:
    """:class:`HostFacts` for an IPv6 group: the MLD side of this namespace."""
    from mdiag.core.preflight import HostFacts

    info = describe(iface)
    route = procnet.lookup_route6(routes6(), group)
    # link-local groups go out of the interface they are scoped to: only its routes count
    if route is not None and group.lower().startswith(("ff02", "ff01")):
        route = procnet.lookup_route6(routes6(), group, iface=iface)
    wildcard = 0
    if port is not None:
        wildcard = sum(1 for s in udp6_sockets() if s.port == port and s.local_address == "::")
    return HostFacts(
        iface=iface, exists=True, interfaces=names, up=info.up, multicast=info.multicast,
        loopback=info.loopback, ipv4=tuple(f"{a}/{p}" for a, p in info.ipv4), route_probe=group,
        route_iface=route.iface if route else None,
        route_prefix=f"{route.destination}/{route.prefixlen}" if route else None,
        memberships_now=info.groups, planned_groups=planned_groups, group=group, sources=tuple(sources),
        port=port, wildcard_port_sockets=wildcard, family=6,
        ipv6=tuple(f"{a}/{p}" for a, p in info.ipv6), ipv6_disabled=info.ipv6_disabled,
        force_mld_version=info.force_mld_version,
        max_msf6=sysctl_int("net/ipv6/mld_max_msf", 64) or 64,
        optmem_max=sysctl_int("net/core/optmem_max"), mld_memberships_now=info.mld_groups,
        mc_forwarding6=sysctl_int(f"net/ipv6/conf/{iface}/mc_forwarding", 0) or 0)
