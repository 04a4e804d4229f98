"""Bounded-memory MAC collision audit of a set of IPv4 groups (a channel plan).

The MAC keeps the low 23 bits of the group (RFC 1112 6.4), so 224.0.0.0/4 is 32
*layers* of 2**23 groups, and the MAC of a group is its position inside its layer.
Each entry ``[first, last]`` splits into at most 32 per-layer intervals of MAC space.
A sweep over the interval end points then knows, for every stretch of MAC space,
which layers (distinct groups) and which entries cover it: a MAC is a collision
when two or more layers cover it, a group is a duplicate when two entries cover it,
and MACs below 0x100 are the 224.0.0.x MACs snooping switches flood (RFC 4541
2.1.2). IPv6 works the same way in its own MAC space (RFC 2464 7: 33:33 + low 32
bits): one layer per /96, and 33:33:00:00:00:01 (all nodes) is the flooded MAC.
Work and memory grow with the number of entries, never with the number of groups:
a whole /8 (16.7 M groups) is two intervals. Only ``limit`` rows of each kind are
materialised; everything else is counted.
"""

from __future__ import annotations

import bisect
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

from mdiag.core.addresses import registry as reg
from mdiag.core.addresses.group import Group, IPv4Group, IPv6Group
from mdiag.core.addresses.mac import IPV4_MAC_BASE, IPV6_MAC_BASE, LOW23, Mac
from mdiag.core.addresses.plan import Entry
from mdiag.core.findings import Finding, Severity

DEFAULT_LIMIT = 20


@dataclass(frozen=True, slots=True)
class GroupRef:
    """A group of the plan with the labels and origins of the entries that name it."""

    group: Group
    labels: tuple[str, ...] = ()
    origins: tuple[str, ...] = ()

    def text(self) -> str:
        return f"{self.group} ({', '.join(self.labels)})" if self.labels else str(self.group)

    def to_json(self) -> dict[str, Any]:
        return {"group": str(self.group), "labels": list(self.labels), "origins": list(self.origins)}


@dataclass(frozen=True, slots=True)
class CollisionRow:
    """One MAC carried by two or more distinct groups of the plan."""

    mac: Mac
    groups: tuple[GroupRef, ...]

    def __post_init__(self) -> None:
        if len(self.groups) < 2:
            raise ValueError("a collision needs at least two groups")

    def to_json(self) -> dict[str, Any]:
        return {"mac": str(self.mac), "groups": [g.to_json() for g in self.groups]}


@dataclass(frozen=True, slots=True)
class FloodedRow:
    """A group whose MAC is that of a 224.0.0.x group (``shares_with``)."""

    group: GroupRef
    mac: Mac
    shares_with: Group
    shares_with_name: str | None

    def to_json(self) -> dict[str, Any]:
        return {**self.group.to_json(), "mac": str(self.mac), "shares_with": str(self.shares_with),
                "shares_with_name": self.shares_with_name}


@dataclass(frozen=True, slots=True)
class DuplicateRow:
    """A group named by two or more entries; ``conflicting`` when two single-group entries
    give it different labels."""

    group: GroupRef
    conflicting: bool

    def to_json(self) -> dict[str, Any]:
        return {**self.group.to_json(), "conflicting": self.conflicting}


@dataclass(frozen=True, slots=True)
class BlockUsage:
    """How many distinct groups of the plan fall in one IANA block."""

    key: str
    name: str
    range_text: str
    groups: int

    def to_json(self) -> dict[str, Any]:
        return {"block_key": self.key, "block": self.name, "block_range": self.range_text, "groups": self.groups}


@dataclass(frozen=True, slots=True)
class EntryPair:
    """Two plan entries whose groups share ``macs`` MACs (``a is b``: a range colliding with itself)."""

    a: Entry
    b: Entry
    macs: int

    def __post_init__(self) -> None:
        if self.macs < 1:
            raise ValueError("an entry pair shares at least one MAC")

    def to_json(self) -> dict[str, Any]:
        return {"a": self.a.to_json(), "b": self.b.to_json(), "macs": self.macs, "self": self.a is self.b}


#: Bound on distinct colliding entry pairs kept, and on pair combinations examined per stretch.
MAX_PAIRS = 100_000


@dataclass(frozen=True, slots=True)
class AuditReport:
    """Counts are exact; row tuples hold at most ``limit`` rows each."""

    entries: int
    groups: int
    colliding_macs: int
    colliding_groups: int
    collisions: tuple[CollisionRow, ...]
    flooded_groups: int
    flooded: tuple[FloodedRow, ...]
    link_local_groups: int
    link_local: tuple[GroupRef, ...]
    duplicate_groups: int
    conflicting_groups: int
    duplicates: tuple[DuplicateRow, ...]
    blocks: tuple[BlockUsage, ...]
    limit: int
    findings: tuple[Finding, ...] = field(default=())
    #: colliding entry pairs, most shared MACs first (at most ``limit``), and how many pairs in all
    entry_pairs: tuple[EntryPair, ...] = ()
    pair_count: int = 0
    #: False when the pair bookkeeping hit its bound (pair_count is then a lower bound)
    pairs_complete: bool = True

    def __post_init__(self) -> None:
        if self.limit < 0:
            raise ValueError("limit must be >= 0")
        for name in ("entries", "groups", "colliding_macs", "colliding_groups", "flooded_groups",
                     "link_local_groups", "duplicate_groups", "conflicting_groups"):
            if getattr(self, name) < 0:
                raise ValueError(f"{name} must be >= 0")

    @property
    def problem_found(self) -> bool:
        """True when the plan fails the audit (any ERROR finding)."""
        return any(f.severity >= Severity.ERROR for f in self.findings)

    def to_json(self) -> dict[str, Any]:
        return {
            "clean": not self.problem_found,
            "limit": self.limit,
            "summary": {
                "entries": self.entries, "groups": self.groups,
                "colliding_macs": self.colliding_macs, "colliding_groups": self.colliding_groups,
                "flooded_groups": self.flooded_groups, "link_local_groups": self.link_local_groups,
                "duplicate_groups": self.duplicate_groups, "conflicting_groups": self.conflicting_groups,
            },
            "entry_pairs": [p.to_json() for p in self.entry_pairs],
            "pair_count": self.pair_count,
            "pairs_complete": self.pairs_complete,
            "collisions": [r.to_json() for r in self.collisions],
            "flooded": [r.to_json() for r in self.flooded],
            "link_local": [r.to_json() for r in self.link_local],
            "duplicates": [r.to_json() for r in self.duplicates],
            "blocks": [b.to_json() for b in self.blocks],
            "findings": [f.to_json() for f in self.findings],
        }


def _plural(count: int, word: str, verbs: tuple[str, str] | None = None) -> str:
    """``3 groups share`` / ``1 group shares``."""
    text = f"{count} {word}" if count == 1 else f"{count:,} {word}s"
    if verbs:
        text += " " + (verbs[0] if count == 1 else verbs[1])
    return text


class _IPv4Space:
    """IPv4: 32 layers (the 5 lost bits) of 2**23 MAC positions; 224.0.0.x MACs are positions 0-255."""

    mac_base = IPV4_MAC_BASE

    @staticmethod
    def split(entry: Entry) -> Iterator[tuple[int, int, int]]:
        first_layer, last_layer = (entry.first >> 23) & 31, (entry.last >> 23) & 31
        for layer in range(first_layer, last_layer + 1):
            lo = entry.first & LOW23 if layer == first_layer else 0
            hi = entry.last & LOW23 if layer == last_layer else LOW23
            yield lo, hi, layer

    @staticmethod
    def group(layer: int, pos: int) -> Group:
        return IPv4Group(0xE0000000 | layer << 23 | pos)

    @staticmethod
    def link_local_span(layer: int, pos: int, end: int) -> tuple[int, int] | None:
        """224.0.0.0/24 itself: layer 0, positions 0-255 (RFC 5771 4)."""
        if layer == 0 and pos < 0x100:
            return pos, min(end, 0x100)
        return None

    @staticmethod
    def flood_span(pos: int, end: int) -> tuple[int, int] | None:
        """Positions whose MAC is a 224.0.0.x MAC, flooded by snooping switches (RFC 4541 2.1.2)."""
        return (pos, min(end, 0x100)) if pos < 0x100 else None

    @staticmethod
    def flood_owner(pos: int) -> tuple[Group, str | None]:
        value = 0xE0000000 | pos
        return IPv4Group(value), reg.IPV4_WELL_KNOWN.get(value)


class _IPv6Space:
    """IPv6: a layer per /96 (the 96 lost bits), 2**32 positions; 33:33:00:00:00:01 is all-nodes."""

    mac_base = IPV6_MAC_BASE

    @staticmethod
    def split(entry: Entry) -> Iterator[tuple[int, int, int]]:
        yield entry.first & 0xFFFFFFFF, entry.last & 0xFFFFFFFF, entry.first >> 32

    @staticmethod
    def group(layer: int, pos: int) -> Group:
        return IPv6Group(layer << 32 | pos)

    @staticmethod
    def link_local_span(layer: int, pos: int, end: int) -> tuple[int, int] | None:
        """Interface- and link-local scopes (RFC 4291 2.7): never routed."""
        return (pos, end) if (layer >> 80) & 0xF in (1, 2) else None

    @staticmethod
    def flood_span(pos: int, end: int) -> tuple[int, int] | None:
        """33:33:00:00:00:01, the all-nodes MAC every port receives."""
        return (1, 2) if pos <= 1 < end else None

    @staticmethod
    def flood_owner(pos: int) -> tuple[Group, str | None]:
        return IPv6Group(0xFF02 << 112 | 1), "all nodes"


_Space = type[_IPv4Space] | type[_IPv6Space]


class _Sweep:
    """Counters and bounded rows filled by :meth:`run` (one run per address family)."""

    def __init__(self, items: list[Entry], limit: int, limits: dict[str, int] | None = None) -> None:
        self.items = items
        self.limit = limit
        #: rows to make of each kind (ROW_KINDS), and how many were made
        self.limits = limits if limits is not None else dict.fromkeys(ROW_KINDS, limit)
        self.kept = dict.fromkeys(ROW_KINDS, 0)
        self.groups = self.colliding_macs = self.colliding_groups = 0
        self.flooded_groups = self.link_local_groups = self.duplicate_groups = self.conflicting_groups = 0
        self.collisions: list[CollisionRow] = []
        self.flooded: list[FloodedRow] = []
        self.link_local: list[GroupRef] = []
        self.duplicates: list[DuplicateRow] = []
        self.pairs: dict[tuple[int, int], int] = {}
        self.pairs_complete = True

    def _count_pairs(self, active: dict[int, dict[int, None]], layers: list[int], length: int) -> None:
        """Entries on different layers of one stretch share ``length`` MACs pairwise."""
        sizes = [len(active[layer]) for layer in layers]
        work = sum(a * b for i, a in enumerate(sizes) for b in sizes[i + 1:])
        if work > MAX_PAIRS:  # e.g. one /8 listed 10,000 times: keep the audit fast, say it is partial
            self.pairs_complete = False
            return
        here: set[tuple[int, int]] = set()  # a pair counts once per MAC, however many layers it meets on
        for i, la in enumerate(layers):
            for lb in layers[i + 1:]:
                for ea in active[la]:
                    for eb in active[lb]:
                        here.add((ea, eb) if ea <= eb else (eb, ea))
        pairs = self.pairs
        for key in here:
            if key in pairs:
                pairs[key] += length
            elif len(pairs) < MAX_PAIRS:
                pairs[key] = length
            else:
                self.pairs_complete = False

    def run(self, space: _Space, indices: list[int]) -> Iterator[tuple[str, Any]]:
        """Sweep one address family; yields ``(kind, row)`` for the rows within ``limits``
        (counters are exact whatever the limits)."""
        # Every entry becomes per-layer intervals of MAC space; sweep their end points.
        starts: list[tuple[int, int, int]] = []
        ends: list[tuple[int, int, int]] = []
        for idx in indices:
            for lo, hi, layer in space.split(self.items[idx]):
                starts.append((lo, layer, idx))
                ends.append((hi + 1, layer, idx))
        starts.sort()
        ends.sort()
        active: dict[int, dict[int, None]] = {}  # layer -> entries covering the current stretch
        live: set[int] = set()  # layers with at least one covering entry
        dup: set[int] = set()   # layers covered by two or more entries
        limits, kept, items = self.limits, self.kept, self.items
        beyond = 1 << 33

        # labels and origins only change at event points: cache them per layer for the stretch
        described: dict[int, tuple[tuple[str, ...], tuple[str, ...]]] = {}

        def ref(layer: int, pos: int) -> GroupRef:
            known = described.get(layer)
            if known is None:
                labels: dict[str, None] = {}
                origins: dict[str, None] = {}
                for idx in sorted(active[layer]):
                    entry = items[idx]
                    if entry.label is not None:
                        labels[entry.label] = None
                    origins[entry.origin or entry.text] = None
                known = described[layer] = (tuple(labels), tuple(origins))
            return GroupRef(space.group(layer, pos), *known)

        si = ei = 0
        ns, ne = len(starts), len(ends)
        while si < ns or ei < ne:
            pos = min(starts[si][0] if si < ns else beyond, ends[ei][0] if ei < ne else beyond)
            while ei < ne and ends[ei][0] == pos:
                _, layer, idx = ends[ei]
                bucket = active[layer]
                del bucket[idx]
                if not bucket:
                    live.discard(layer)
                    del active[layer]
                elif len(bucket) < 2:
                    dup.discard(layer)
                ei += 1
            while si < ns and starts[si][0] == pos:
                _, layer, idx = starts[si]
                bucket = active.setdefault(layer, {})
                bucket[idx] = None
                live.add(layer)
                if len(bucket) >= 2:
                    dup.add(layer)
                si += 1
            described.clear()
            if not live:
                continue
            end = min(starts[si][0] if si < ns else beyond, ends[ei][0] if ei < ne else beyond)
            length = end - pos
            distinct = len(live)
            self.groups += length * distinct
            layers = sorted(live)

            if distinct >= 2:
                self.colliding_macs += length
                self.colliding_groups += length * distinct
                self._count_pairs(active, layers, length)
                for p in range(pos, min(end, pos + limits["collisions"] - kept["collisions"])):
                    kept["collisions"] += 1
                    yield "collisions", CollisionRow(Mac(space.mac_base | p), tuple(ref(l, p) for l in layers))

            local_layers = []
            local_span: tuple[int, int] | None = None
            for layer in layers:
                span = space.link_local_span(layer, pos, end)
                if span is not None:
                    local_layers.append(layer)
                    local_span = span
                    self.link_local_groups += span[1] - span[0]
            if local_span is not None:
                for p in range(*local_span):
                    if kept["link_local"] >= limits["link_local"]:
                        break
                    for layer in local_layers:
                        if kept["link_local"] < limits["link_local"]:
                            kept["link_local"] += 1
                            yield "link_local", ref(layer, p)
            flood = space.flood_span(pos, end)
            if flood is not None:
                flood_layers = [layer for layer in layers if layer not in local_layers]
                self.flooded_groups += (flood[1] - flood[0]) * len(flood_layers)
                for p in range(*flood):
                    if kept["flooded"] >= limits["flooded"] or not flood_layers:
                        break
                    owner, name = space.flood_owner(p)
                    for layer in flood_layers:
                        if kept["flooded"] < limits["flooded"]:
                            kept["flooded"] += 1
                            yield "flooded", FloodedRow(ref(layer, p), Mac(space.mac_base | p), owner, name)

            for layer in sorted(dup):
                # two single-group entries with different labels: two channels on one group.
                # A group inside a labelled pool range that is also listed alone is not a conflict.
                labels = {items[idx].label for idx in active[layer] if items[idx].is_single} - {None}
                conflicting = len(labels) > 1
                self.duplicate_groups += length
                if conflicting:
                    self.conflicting_groups += length
                for p in range(pos, min(end, pos + limits["duplicates"] - kept["duplicates"])):
                    kept["duplicates"] += 1
                    yield "duplicates", DuplicateRow(ref(layer, p), conflicting)


#: The kinds of rows an audit lists (AuditReport fields of the same names).
ROW_KINDS = ("collisions", "flooded", "link_local", "duplicates")


def audit_rows(entries: Iterable[Entry], kind: str, limit: int) -> Iterator[Any]:
    """The first ``limit`` rows of one kind (:data:`ROW_KINDS`), in the order :func:`audit`
    lists them, made as they are found: memory does not grow with ``limit``
    (``collisions --limit 1000000``). Each call sweeps the plan again."""
    if kind not in ROW_KINDS:
        raise ValueError(f"kind is one of {ROW_KINDS}")
    items = list(entries)
    sweep = _Sweep(items, limit, {k: (limit if k == kind else 0) for k in ROW_KINDS})
    for space, version in ((_IPv4Space, 4), (_IPv6Space, 6)):
        for _, row in sweep.run(space, [i for i, e in enumerate(items) if e.version == version]):
            yield row


def audit(entries: Iterable[Entry], limit: int = DEFAULT_LIMIT, *, row_limit: int | None = None) -> AuditReport:
    """Audit a plan (any mix of single groups, ranges and CIDRs, IPv4 and IPv6) for MAC
    collisions, flooded aliases, link-local groups and duplicates. Exact counts, bounded rows
    (``row_limit`` rows of each kind, default ``limit``; :func:`audit_rows` streams more)."""
    if limit < 0:
        raise ValueError("limit must be >= 0")
    items = list(entries)
    sweep = _Sweep(items, limit, dict.fromkeys(ROW_KINDS, limit if row_limit is None else min(row_limit, limit)))
    for kind, row in sweep.run(_IPv4Space, [i for i, e in enumerate(items) if e.version == 4]):
        getattr(sweep, kind).append(row)
    v4_flooded, v4_local = sweep.flooded_groups, sweep.link_local_groups
    for kind, row in sweep.run(_IPv6Space, [i for i, e in enumerate(items) if e.version == 6]):
        getattr(sweep, kind).append(row)
    blocks = _block_usage(items)
    findings = _findings(sweep, blocks, v4_flooded, v4_local)
    ranked = sorted(sweep.pairs.items(), key=lambda kv: (-kv[1], kv[0]))[:limit]
    pairs = tuple(EntryPair(items[a], items[b], macs) for (a, b), macs in ranked)
    return AuditReport(len(items), sweep.groups, sweep.colliding_macs, sweep.colliding_groups,
                       tuple(sweep.collisions), sweep.flooded_groups, tuple(sweep.flooded),
                       sweep.link_local_groups, tuple(sweep.link_local), sweep.duplicate_groups,
                       sweep.conflicting_groups, tuple(sweep.duplicates), blocks, limit, tuple(findings),
                       pairs, len(sweep.pairs), sweep.pairs_complete)


def _block_usage(items: list[Entry]) -> tuple[BlockUsage, ...]:
    """Distinct groups per IANA block (IPv4) or per IPv6 kind, from the merged union of the entries."""
    merged: list[list[int]] = []
    for first, last in sorted((e.first, e.last) for e in items):
        if merged and first <= merged[-1][1] + 1 and first >> 32 == merged[-1][1] >> 32:
            merged[-1][1] = max(merged[-1][1], last)
        else:
            merged.append([first, last])
    counts: dict[int, int] = {}
    starts = [b.first for b in reg.IPV4_BLOCKS]
    ipv6_ssm = ipv6_other = 0
    for first, last in merged:
        if first > 0xFFFFFFFF:  # IPv6: an interval never leaves its /96, so one test decides
            if first >> 116 == 0xFF3 and (first >> 96) & 0xFFFF == 0:
                ipv6_ssm += last - first + 1
            else:
                ipv6_other += last - first + 1
            continue
        index = bisect.bisect_right(starts, first) - 1
        while index < len(reg.IPV4_BLOCKS) and reg.IPV4_BLOCKS[index].first <= last:
            block = reg.IPV4_BLOCKS[index]
            overlap = min(last, block.last) - max(first, block.first) + 1
            counts[index] = counts.get(index, 0) + overlap
            index += 1
    usage = [BlockUsage(reg.IPV4_BLOCKS[i].key, reg.IPV4_BLOCKS[i].name, reg.IPV4_BLOCKS[i].range_text, n)
             for i, n in sorted(counts.items())]
    if ipv6_ssm:
        usage.append(BlockUsage("ipv6-ssm", "IPv6 Source-Specific Multicast", "ff3x::/32", ipv6_ssm))
    if ipv6_other:
        usage.append(BlockUsage("ipv6", "IPv6 multicast", "ff00::/8", ipv6_other))
    return tuple(usage)


def _findings(sweep: _Sweep, blocks: tuple[BlockUsage, ...], v4_flooded: int, v4_local: int) -> list[Finding]:
    out: list[Finding] = []
    colliding_macs, colliding_groups = sweep.colliding_macs, sweep.colliding_groups
    if colliding_macs:
        out.append(Finding("mac-collision", Severity.ERROR,
                           f"{_plural(colliding_macs, 'MAC', ('carries', 'carry'))} {colliding_groups:,} groups "
                           "of the plan: switches and NICs filtering by MAC deliver them together",
                           rfc="RFC 1112 6.4, RFC 2464 7", context={"macs": colliding_macs, "groups": colliding_groups}))
    v6_flooded = sweep.flooded_groups - v4_flooded
    if v4_flooded:
        out.append(Finding("flooded-alias", Severity.ERROR,
                           f"{_plural(v4_flooded, 'group', ('shares', 'share'))} a MAC with 224.0.0.x "
                           f"(x.0.0.y / x.128.0.y): snooping switches flood {'it' if v4_flooded == 1 else 'them'} "
                           "to every port", rfc="RFC 4541 2.1.2", context={"groups": v4_flooded}))
    if v6_flooded:
        out.append(Finding("flooded-alias", Severity.ERROR,
                           f"{_plural(v6_flooded, 'IPv6 group', ('shares', 'share'))} 33:33:00:00:00:01 with "
                           "ff02::1 (all nodes): every port receives it", rfc="RFC 2464 7, RFC 4541 3",
                           context={"groups": v6_flooded}))
    v6_local = sweep.link_local_groups - v4_local
    if v4_local:
        out.append(Finding("link-local-group", Severity.ERROR,
                           f"{_plural(v4_local, 'group', ('is', 'are'))} in 224.0.0.0/24 (Local Network Control): "
                           "never routed and flooded to every port", rfc="RFC 5771 4", context={"groups": v4_local}))
    if v6_local:
        out.append(Finding("link-local-group", Severity.ERROR,
                           f"{_plural(v6_local, 'IPv6 group', ('has', 'have'))} interface- or link-local scope: "
                           "never routed", rfc="RFC 4291 2.7", context={"groups": v6_local}))
    duplicate_groups, conflicting_groups = sweep.duplicate_groups, sweep.conflicting_groups
    if conflicting_groups:
        out.append(Finding("duplicate-group", Severity.ERROR,
                           f"{_plural(conflicting_groups, 'group', ('carries', 'carry'))} different labels: "
                           "two channels on one group", context={"groups": conflicting_groups}))
    if duplicate_groups - conflicting_groups:
        plain = duplicate_groups - conflicting_groups
        out.append(Finding("duplicate-entry", Severity.WARNING,
                           f"{_plural(plain, 'group', ('is', 'are'))} listed more than once (same label, no label, "
                           "or also inside a listed range)",
                           context={"groups": plain}))
    reserved = sum(b.groups for b in blocks if b.key.startswith("reserved"))
    if reserved:
        out.append(Finding("reserved-block", Severity.WARNING,
                           f"{_plural(reserved, 'group', ('is', 'are'))} in blocks IANA keeps reserved (RFC 5771): "
                           "use 239/8 for private plans", rfc="RFC 5771 3", context={"groups": reserved}))
    ssm = sum(b.groups for b in blocks if b.key in ("ssm", "ipv6-ssm"))
    if ssm:
        out.append(Finding("ssm-groups", Severity.INFO,
                           f"{_plural(ssm, 'group', ('is', 'are'))} source-specific (232/8, ff3x::/32): receivers "
                           "need IGMPv3 / MLDv2 (S,G) joins", rfc="RFC 4607 1", context={"groups": ssm}))
    return out


__all__ = ["AuditReport", "BlockUsage", "CollisionRow", "DEFAULT_LIMIT", "DuplicateRow", "EntryPair", "FloodedRow",
           "GroupRef", "audit"]
