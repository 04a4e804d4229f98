"""Parsers for the kernel's multicast views: /proc/net/igmp, /proc/net/mcfilter, /proc/net/route,
/proc/net/udp. Text in, values out; the adapter reads the files and passes the host byte order.

Formats (net/ipv4/igmp.c, net/ipv4/fib_trie.c, net/ipv4/udp.c):

- /proc/net/igmp, per device ``"%d\\t%-10s: %5d %7s"`` (index, name, group count, version in
  force: V1 or V2 while an older querier's timer runs, else V3); per group
  ``"\\t\\t\\t\\t%08X %5d %d:%08lX\\t\\t%d"`` (group, users, timer running:expiry in jiffies,
  reporter). The group is the raw 32-bit word printed as a number, so on a little-endian
  host 239.1.2.3 reads ``030201EF``.
- /proc/net/mcfilter: ``"%3d %6.6s 0x%08x 0x%08x %6lu %6lu"`` (index, device cut to 6
  characters, group, source, include count, exclude count), addresses already in readable
  order (the kernel applies ntohl). Kernel quirk (igmp_mcf_get_first): the listing starts at
  the first device whose *newest* group has sources; devices before it are left out entirely,
  so their source filters are unknown, not empty. :func:`merge` marks them
  (``sources_known`` False); the adapter avoids the gap by holding a source-specific probe
  join on ``lo`` (always the first device) while it reads.
- /proc/net/route: hexadecimal raw words like /proc/net/igmp (host byte order).
- /proc/net/udp: ``local_address`` as raw hex word ``:`` port in readable hex.

IPv6 (net/ipv6/mcast.c, net/ipv6/route.c, net/ipv6/datagram.c):

- /proc/net/igmp6, one line per group ``"%-4d %-15s %pi6 %5d %08X %ld"`` (index, device,
  group as 32 hex digits in network order, users, ``mca_flags``, timer in clock ticks). Flags:
  0x1 timer running, 0x2 last reporter, 0x4 loaded, 0x8 no report (groups MLD never reports:
  ff02::1 and interface-local scope, RFC 3810 6), 0x10 address-specific query pending. Groups
  are listed newest first; there is no per-device version line: the MLD version in force is
  ``force_mld_version`` or, unforced, whatever the last querier made it (not in /proc).
- /proc/net/mcfilter6 ``"%3d %6.6s %pi6 %pi6 %6lu %6lu"`` (index, device cut to 6, group,
  source, include count, exclude count), with the same gap as /proc/net/mcfilter
  (igmp6_mcf_get_first starts at the first device whose newest group has sources).
- /proc/net/ipv6_route: destination, prefix length (hex), source, source prefix length, next
  hop, metric, refcount, use, flags, device; every table (the ff00::/8 multicast routes live in
  ``local``).
- /proc/net/udp6: ``local_address`` as four raw 32-bit words (host byte order) ``:`` port.
"""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass, field
from typing import Any, Literal

from mdiag.core.findings import Finding, Severity

_DEV_RE = re.compile(r"^(\d+)\s+(\S+)\s*:\s*(\d+)\s+(V[123])\s*$")
_GROUP_RE = re.compile(r"^\s+([0-9A-Fa-f]{8})\s+(\d+)\s+([01]):([0-9A-Fa-f]+)\s+(\d+)\s*$")
_MCF_RE = re.compile(r"^\s*(\d+)\s+(\S+)\s+0x([0-9a-fA-F]{8})\s+0x([0-9a-fA-F]{8})\s+(\d+)\s+(\d+)\s*$")


def _check_order(byteorder: str) -> None:
    if byteorder not in ("little", "big"):
        raise ValueError(f"byteorder must be 'little' or 'big', not {byteorder!r}")


def raw_word_to_ipv4(hex_word: str, byteorder: str) -> str:
    """A /proc raw 32-bit address word (``030201EF``) to dotted text, given the host byte order."""
    _check_order(byteorder)
    value = int(hex_word, 16)
    # the bytes as they were in memory = network order
    raw = value.to_bytes(4, "little" if byteorder == "little" else "big")
    return ".".join(str(b) for b in raw)


def readable_word_to_ipv4(hex_word: str) -> str:
    """A /proc address already in readable order (``EF010203``) to dotted text."""
    value = int(hex_word, 16)
    return f"{value >> 24 & 255}.{value >> 16 & 255}.{value >> 8 & 255}.{value & 255}"


@dataclass(frozen=True, slots=True)
class SourceFilter:
    """One source of a group's filter (/proc/net/mcfilter): how many sockets include/exclude it."""

    source: str
    include: int
    exclude: int


@dataclass(frozen=True, slots=True)
class Membership:
    """One group joined on one interface (RFC 3376 3.2 interface state, as the kernel keeps it)."""

    group: str
    users: int
    timer_running: bool
    reporter: bool
    sources: tuple[SourceFilter, ...] = ()
    sources_known: bool = True

    @property
    def mode(self) -> str:
        """``"include"`` when only source-specific joins seem to hold the group, else ``"exclude"``.

        Inferred: the kernel keeps the group in EXCLUDE mode while any socket joined it for
        any source (RFC 3376 3.2), but /proc shows only per-source socket counts. INCLUDE is
        reported when no source is excluded and the include counts cover every user;
        ``"unknown"`` when /proc/net/mcfilter left this interface out (see the module docstring).
        """
        if not self.sources_known:
            return "unknown"
        if self.sources and all(s.exclude == 0 for s in self.sources):
            if sum(s.include for s in self.sources) >= self.users:
                return "include"
        return "exclude"

    @property
    def included_sources(self) -> tuple[str, ...]:
        return tuple(s.source for s in self.sources if s.include > 0)

    @property
    def excluded_sources(self) -> tuple[str, ...]:
        return tuple(s.source for s in self.sources if s.exclude > 0)

    def to_json(self) -> dict[str, Any]:
        return {"group": self.group, "users": self.users, "mode": self.mode,
                "timer_running": self.timer_running, "reporter": self.reporter,
                "sources_known": self.sources_known,
                "sources": [{"source": s.source, "include": s.include, "exclude": s.exclude}
                            for s in self.sources]}


@dataclass(frozen=True, slots=True)
class IgmpInterface:
    """One interface of /proc/net/igmp: the IGMP version in force and its memberships."""

    index: int
    name: str
    count: int
    version: str  # "V1", "V2" or "V3"
    memberships: tuple[Membership, ...] = ()

    def to_json(self) -> dict[str, Any]:
        return {"index": self.index, "name": self.name, "count": self.count,
                "version": self.version, "memberships": [m.to_json() for m in self.memberships]}


@dataclass(frozen=True, slots=True)
class McFilterEntry:
    """One row of /proc/net/mcfilter (``device`` is cut to 6 characters by the kernel)."""

    index: int
    device: str
    group: str
    source: str
    include: int
    exclude: int


@dataclass(frozen=True, slots=True)
class Parsed:
    """Parser output: the values and findings for lines that could not be read."""

    items: tuple[Any, ...]
    findings: tuple[Finding, ...] = field(default=())


def _bad_line(path: str, number: int, line: str) -> Finding:
    return Finding("procnet-unreadable-line", Severity.WARNING,
                   f"{path} line {number} not understood: {line.strip()!r}",
                   context={"line": number})


def parse_igmp(text: str, byteorder: str) -> Parsed:
    """Parse /proc/net/igmp; items are :class:`IgmpInterface` (memberships without sources)."""
    _check_order(byteorder)
    interfaces: list[IgmpInterface] = []
    findings: list[Finding] = []
    current: dict[str, Any] | None = None
    groups: list[Membership] = []

    def flush() -> None:
        if current is not None:
            interfaces.append(IgmpInterface(memberships=tuple(groups), **current))

    for number, line in enumerate(text.splitlines(), 1):
        if not line.strip() or line.startswith("Idx"):
            continue
        dev = _DEV_RE.match(line)
        if dev:
            flush()
            groups = []
            current = {"index": int(dev.group(1)), "name": dev.group(2),
                       "count": int(dev.group(3)), "version": dev.group(4)}
            continue
        grp = _GROUP_RE.match(line)
        if grp and current is not None:
            groups.append(Membership(group=raw_word_to_ipv4(grp.group(1), byteorder),
                                     users=int(grp.group(2)), timer_running=grp.group(3) == "1",
                                     reporter=grp.group(5) != "0"))
            continue
        findings.append(_bad_line("/proc/net/igmp", number, line))
    flush()
    return Parsed(tuple(interfaces), tuple(findings))


def parse_mcfilter(text: str) -> Parsed:
    """Parse /proc/net/mcfilter; items are :class:`McFilterEntry`."""
    entries: list[McFilterEntry] = []
    findings: list[Finding] = []
    for number, line in enumerate(text.splitlines(), 1):
        if not line.strip() or line.lstrip().startswith("Idx"):
            continue
        m = _MCF_RE.match(line)
        if not m:
            findings.append(_bad_line("/proc/net/mcfilter", number, line))
            continue
        entries.append(McFilterEntry(index=int(m.group(1)), device=m.group(2),
                                     group=readable_word_to_ipv4(m.group(3)),
                                     source=readable_word_to_ipv4(m.group(4)),
                                     include=int(m.group(5)), exclude=int(m.group(6))))
    return Parsed(tuple(entries), tuple(findings))


#: The all-systems group every IPv4 interface joins by itself; it never has sources.
ALL_SYSTEMS = "224.0.0.1"


def merge(igmp: Parsed, mcfilter: Parsed) -> tuple[IgmpInterface, ...]:
    """Attach mcfilter source lists to the memberships, matching on interface index and group.

    Interfaces listed before the first one /proc/net/mcfilter mentions were skipped by the
    kernel (module docstring): their groups get ``sources_known`` False, except 224.0.0.1.
    """
    by_key: dict[tuple[int, str], list[SourceFilter]] = {}
    for e in mcfilter.items:
        by_key.setdefault((e.index, e.group), []).append(SourceFilter(e.source, e.include, e.exclude))
    first_listed = mcfilter.items[0].index if mcfilter.items else None
    visible = False
    result = []
    for iface in igmp.items:
        if iface.index == first_listed:
            visible = True
        members = tuple(
            Membership(m.group, m.users, m.timer_running, m.reporter,
                       tuple(sorted(by_key.get((iface.index, m.group), ()),
                                    key=lambda s: tuple(int(x) for x in s.source.split(".")))),
                       sources_known=visible or m.group == ALL_SYSTEMS)
            for m in iface.memberships)
        result.append(IgmpInterface(iface.index, iface.name, iface.count, iface.version, members))
    return tuple(result)


@dataclass(frozen=True, slots=True)
class Route:
    """One IPv4 route of the main table (/proc/net/route)."""

    iface: str
    destination: str
    prefixlen: int
    gateway: str
    metric: int
    up: bool

    def contains(self, address: str) -> bool:
        value = _int(address)
        mask = (0xFFFFFFFF << (32 - self.prefixlen)) & 0xFFFFFFFF if self.prefixlen else 0
        return (value & mask) == (_int(self.destination) & mask)


def _int(address: str) -> int:
    a, b, c, d = (int(x) for x in address.split("."))
    return a << 24 | b << 16 | c << 8 | d


def parse_route(text: str, byteorder: str) -> Parsed:
    """Parse /proc/net/route (Iface Destination Gateway Flags RefCnt Use Metric Mask ...)."""
    _check_order(byteorder)
    routes: list[Route] = []
    findings: list[Finding] = []
    for number, line in enumerate(text.splitlines(), 1):
        parts = line.split()
        if not parts or parts[0] == "Iface":
            continue
        try:
            dest = raw_word_to_ipv4(parts[1], byteorder)
            mask = raw_word_to_ipv4(parts[7], byteorder)
            prefixlen = bin(_int(mask)).count("1")
            routes.append(Route(iface=parts[0], destination=dest, prefixlen=prefixlen,
                                gateway=raw_word_to_ipv4(parts[2], byteorder),
                                metric=int(parts[6]), up=bool(int(parts[3], 16) & 0x1)))
        except (IndexError, ValueError):
            findings.append(_bad_line("/proc/net/route", number, line))
    return Parsed(tuple(routes), tuple(findings))


def lookup_route(routes: tuple[Route, ...] | list[Route], address: str) -> Route | None:
    """Longest-prefix match in the main table (lowest metric breaks ties); None if no route.

    Policy routing rules and other tables are not considered.
    """
    best: Route | None = None
    for r in routes:
        if not r.up or not r.contains(address):
            continue
        if best is None or r.prefixlen > best.prefixlen or (
                r.prefixlen == best.prefixlen and r.metric < best.metric):
            best = r
    return best


@dataclass(frozen=True, slots=True)
class UdpSocket:
    """A bound UDP socket from /proc/net/udp: local address and port, owner uid, inode."""

    local_address: str
    port: int
    uid: int
    inode: int


def parse_udp(text: str, byteorder: str) -> Parsed:
    """Parse /proc/net/udp (``sl local_address rem_address st ... uid timeout inode``)."""
    _check_order(byteorder)
    return _parse_udp_table(text, "/proc/net/udp", lambda word: raw_word_to_ipv4(word, byteorder))


def _parse_udp_table(text: str, path: str, address: Any) -> Parsed:
    """/proc/net/udp and udp6 rows: ``address(hex)`` reads the local address column."""
    sockets: list[UdpSocket] = []
    findings: list[Finding] = []
    for number, line in enumerate(text.splitlines(), 1):
        parts = line.split()
        if not parts or parts[0] == "sl":
            continue
        try:
            addr, port = parts[1].split(":")
            sockets.append(UdpSocket(address(addr), int(port, 16), int(parts[7]), int(parts[9])))
        except (IndexError, ValueError):
            findings.append(_bad_line(path, number, line))
    return Parsed(tuple(sockets), tuple(findings))


# --------------------------------------------------------------------------- IPv6

_IGMP6_RE = re.compile(r"^\s*(\d+)\s+(\S+)\s+([0-9a-fA-F]{32})\s+(\d+)\s+([0-9a-fA-F]{1,8})\s+(-?\d+)\s*$")
_MCF6_RE = re.compile(r"^\s*(\d+)\s+(\S+)\s+([0-9a-fA-F]{32})\s+([0-9a-fA-F]{32})\s+(\d+)\s+(\d+)\s*$")

#: ``mca_flags`` bits (include/net/if_inet6.h).
MAF_TIMER_RUNNING = 0x01
MAF_LAST_REPORTER = 0x02
MAF_NOREPORT = 0x08
#: The all-nodes group every IPv6 interface joins by itself (never reported, never has sources).
ALL_NODES = "ff02::1"


def hex_to_ipv6(hex32: str) -> str:
    """32 hex digits in network order (``%pi6``) to RFC 5952 text."""
    if len(hex32) != 32:
        raise ValueError(f"an IPv6 address is 32 hex digits, not {len(hex32)}")
    return str(ipaddress.IPv6Address(int(hex32, 16)))


def raw_words_to_ipv6(hex32: str, byteorder: str) -> str:
    """/proc/net/udp6's four raw 32-bit words (each in host byte order) to RFC 5952 text."""
    _check_order(byteorder)
    if len(hex32) != 32:
        raise ValueError(f"an IPv6 address is 32 hex digits, not {len(hex32)}")
    order: Literal["little", "big"] = "little" if byteorder == "little" else "big"
    raw = b"".join(int(hex32[i:i + 8], 16).to_bytes(4, order) for i in range(0, 32, 8))
    return str(ipaddress.IPv6Address(raw))


@dataclass(frozen=True, slots=True)
class MldInterface:
    """One interface's IPv6 memberships from /proc/net/igmp6 (newest first, as the kernel lists)."""

    index: int
    name: str
    memberships: tuple[Membership, ...] = ()

    def to_json(self) -> dict[str, Any]:
        return {"index": self.index, "name": self.name, "memberships": [m.to_json() for m in self.memberships]}


def parse_igmp6(text: str) -> Parsed:
    """Parse /proc/net/igmp6; items are :class:`MldInterface` (memberships without sources).

    ``reporter`` is the last-reporter flag; ``timer_running`` the report timer flag.
    """
    order: list[tuple[int, str]] = []
    groups: dict[tuple[int, str], list[Membership]] = {}
    findings: list[Finding] = []
    for number, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        m = _IGMP6_RE.match(line)
        if not m:
            findings.append(_bad_line("/proc/net/igmp6", number, line))
            continue
        key = (int(m.group(1)), m.group(2))
        if key not in groups:
            order.append(key)
            groups[key] = []
        flags = int(m.group(5), 16)
        groups[key].append(Membership(group=hex_to_ipv6(m.group(3)), users=int(m.group(4)),
                                      timer_running=bool(flags & MAF_TIMER_RUNNING),
                                      reporter=bool(flags & MAF_LAST_REPORTER)))
    return Parsed(tuple(MldInterface(i, n, tuple(groups[(i, n)])) for i, n in order), tuple(findings))


def parse_mcfilter6(text: str) -> Parsed:
    """Parse /proc/net/mcfilter6; items are :class:`McFilterEntry` with IPv6 text."""
    entries: list[McFilterEntry] = []
    findings: list[Finding] = []
    for number, line in enumerate(text.splitlines(), 1):
        if not line.strip() or line.lstrip().startswith("Idx"):
            continue
        m = _MCF6_RE.match(line)
        if not m:
            findings.append(_bad_line("/proc/net/mcfilter6", number, line))
            continue
        entries.append(McFilterEntry(index=int(m.group(1)), device=m.group(2),
                                     group=hex_to_ipv6(m.group(3)), source=hex_to_ipv6(m.group(4)),
                                     include=int(m.group(5)), exclude=int(m.group(6))))
    return Parsed(tuple(entries), tuple(findings))


def merge6(igmp6: Parsed, mcfilter6: Parsed) -> tuple[MldInterface, ...]:
    """:func:`merge` for IPv6: source lists attached by interface index and group; interfaces
    before the first one /proc/net/mcfilter6 lists get ``sources_known`` False (except ff02::1)."""
    by_key: dict[tuple[int, str], list[SourceFilter]] = {}
    for e in mcfilter6.items:
        by_key.setdefault((e.index, e.group), []).append(SourceFilter(e.source, e.include, e.exclude))
    first_listed = mcfilter6.items[0].index if mcfilter6.items else None
    visible = False
    result = []
    for iface in igmp6.items:
        if iface.index == first_listed:
            visible = True
        members = tuple(
            Membership(m.group, m.users, m.timer_running, m.reporter,
                       tuple(sorted(by_key.get((iface.index, m.group), ()),
                                    key=lambda s: int(ipaddress.IPv6Address(s.source)))),
                       sources_known=visible or m.group == ALL_NODES)
            for m in iface.memberships)
        result.append(MldInterface(iface.index, iface.name, members))
    return tuple(result)


@dataclass(frozen=True, slots=True)
class Route6:
    """One IPv6 route of any table (/proc/net/ipv6_route)."""

    iface: str
    destination: str
    prefixlen: int
    next_hop: str
    metric: int
    flags: int

    @property
    def up(self) -> bool:
        return bool(self.flags & 0x1)

    def contains(self, address: str) -> bool:
        network = ipaddress.IPv6Network((self.destination, self.prefixlen), strict=False)
        return ipaddress.IPv6Address(address.partition("%")[0]) in network


def parse_ipv6_route(text: str) -> Parsed:
    """Parse /proc/net/ipv6_route (dest plen src splen next-hop metric refcnt use flags dev)."""
    routes: list[Route6] = []
    findings: list[Finding] = []
    for number, line in enumerate(text.splitlines(), 1):
        parts = line.split()
        if not parts:
            continue
        try:
            if len(parts) != 10:
                raise ValueError
            routes.append(Route6(iface=parts[9], destination=hex_to_ipv6(parts[0]),
                                 prefixlen=int(parts[1], 16), next_hop=hex_to_ipv6(parts[4]),
                                 metric=int(parts[5], 16), flags=int(parts[8], 16)))
        except ValueError:
            findings.append(_bad_line("/proc/net/ipv6_route", number, line))
    return Parsed(tuple(routes), tuple(findings))


def lookup_route6(routes: tuple[Route6, ...] | list[Route6], address: str, *,
                  iface: str | None = None) -> Route6 | None:
    """Longest-prefix match over every table (lowest metric breaks ties), optionally only routes
    out of ``iface``; loopback's catch-all unreachable routes (``lo``, /0) never match."""
    best: Route6 | None = None
    for r in routes:
        if not r.up or (r.iface == "lo" and r.prefixlen == 0) or not r.contains(address):
            continue
        if iface is not None and r.iface != iface:
            continue
        if best is None or r.prefixlen > best.prefixlen or (
                r.prefixlen == best.prefixlen and r.metric < best.metric):
            best = r
    return best


def parse_udp6(text: str, byteorder: str) -> Parsed:
    """Parse /proc/net/udp6 (``sl local_address rem_address st ... uid timeout inode``)."""
    _check_order(byteorder)
    return _parse_udp_table(text, "/proc/net/udp6", lambda word: raw_words_to_ipv6(word, byteorder))
