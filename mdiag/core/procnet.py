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
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

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
    sockets: list[UdpSocket] = []
    findings: list[Finding] = []
    for number, line in enumerate(text.splitlines(), 1):
        parts = line.split()
        if not parts or parts[0] == "sl":
            continue
        try:
            addr, port = parts[1].split(":")
            sockets.append(UdpSocket(raw_word_to_ipv4(addr, byteorder), int(port, 16),
                                     int(parts[7]), int(parts[9])))
        except (IndexError, ValueError):
            findings.append(_bad_line("/proc/net/udp", number, line))
    return Parsed(tuple(sockets), tuple(findings))
