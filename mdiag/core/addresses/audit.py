"""Bounded-memory MAC collision audit of a set of IPv4 groups (a channel plan).

The MAC keeps the low 23 bits of the group (RFC 1112 6.4), so 224.0.0.0/4 is 32
*layers* of 2**23 groups, and the MAC of a group is its position inside its layer.
Each entry ``[first, last]`` splits into at most 32 per-layer intervals of MAC space.
A sweep over the interval end points then knows, for every stretch of MAC space,
which layers (distinct groups) and which entries cover it: a MAC is a collision
when two or more layers cover it, a group is a duplicate when two entries cover it,
and MACs below 0x100 are the 224.0.0.x MACs snooping switches flood (RFC 4541
2.1.2). Work and memory grow with the number of entries, never with the number of
groups: a whole /8 (16.7 M groups) is two intervals. Only ``limit`` rows of each
kind are materialised; everything else is counted.
"""

from __future__ import annotations

import bisect
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from mdiag.core.addresses import registry as reg
from mdiag.core.addresses.group import IPv4Group
from mdiag.core.addresses.mac import IPV4_MAC_BASE, LOW23, Mac
from mdiag.core.addresses.plan import Entry
from mdiag.core.findings import Finding, Severity

DEFAULT_LIMIT = 20


@dataclass(frozen=True, slots=True)
class GroupRef:
    """A group of the plan with the labels and origins of the entries that name it."""

    group: IPv4Group
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
    shares_with: IPv4Group
    shares_with_name: str | None

    def to_json(self) -> dict[str, Any]:
        return {**self.group.to_json(), "mac": str(self.mac), "shares_with": str(self.shares_with),
                "shares_with_name": self.shares_with_name}


@dataclass(frozen=True, slots=True)
class DuplicateRow:
    """A group named by two or more entries; ``conflicting`` when their labels differ."""

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


def audit(entries: Iterable[Entry], limit: int = DEFAULT_LIMIT) -> AuditReport:
    """Audit a plan (any mix of single groups, ranges and CIDRs) for MAC collisions,
    flooded aliases, 224.0.0.x groups and duplicates. Exact counts, bounded rows."""
    if limit < 0:
        raise ValueError("limit must be >= 0")
    items = list(entries)

    # Split every entry into per-layer intervals of MAC space: events (pos, +1/-1, layer, entry).
    starts: list[tuple[int, int, int]] = []
    ends: list[tuple[int, int, int]] = []
    for idx, entry in enumerate(items):
        first_layer, last_layer = (entry.first >> 23) & 31, (entry.last >> 23) & 31
        for layer in range(first_layer, last_layer + 1):
            lo = entry.first & LOW23 if layer == first_layer else 0
            hi = entry.last & LOW23 if layer == last_layer else LOW23
            starts.append((lo, layer, idx))
            ends.append((hi + 1, layer, idx))
    starts.sort()
    ends.sort()

    active: list[dict[int, None]] = [{} for _ in range(32)]
    live: set[int] = set()  # layers with at least one covering entry
    dup: set[int] = set()   # layers covered by two or more entries

    def ref(layer: int, mac: int) -> GroupRef:
        labels: dict[str, None] = {}
        origins: dict[str, None] = {}
        for idx in sorted(active[layer]):
            entry = items[idx]
            if entry.label is not None:
                labels[entry.label] = None
            origins[entry.origin or entry.text] = None
        return GroupRef(IPv4Group(0xE0000000 | layer << 23 | mac), tuple(labels), tuple(origins))

    groups = colliding_macs = colliding_groups = 0
    flooded_groups = link_local_groups = duplicate_groups = conflicting_groups = 0
    collisions: list[CollisionRow] = []
    flooded: list[FloodedRow] = []
    link_local: list[GroupRef] = []
    duplicates: list[DuplicateRow] = []

    si = ei = 0
    ns, ne = len(starts), len(ends)
    while si < ns or ei < ne:
        pos = min(starts[si][0] if si < ns else 1 << 24, ends[ei][0] if ei < ne else 1 << 24)
        while ei < ne and ends[ei][0] == pos:
            _, layer, idx = ends[ei]
            bucket = active[layer]
            del bucket[idx]
            if not bucket:
                live.discard(layer)
            if len(bucket) < 2:
                dup.discard(layer)
            ei += 1
        while si < ns and starts[si][0] == pos:
            _, layer, idx = starts[si]
            bucket = active[layer]
            bucket[idx] = None
            live.add(layer)
            if len(bucket) >= 2:
                dup.add(layer)
            si += 1
        if not live:
            continue
        end = min(starts[si][0] if si < ns else 1 << 24, ends[ei][0] if ei < ne else 1 << 24)
        length = end - pos
        distinct = len(live)
        groups += length * distinct
        layers = sorted(live)

        if distinct >= 2:
            colliding_macs += length
            colliding_groups += length * distinct
            for mac in range(pos, min(end, pos + limit - len(collisions))):
                collisions.append(CollisionRow(Mac(IPV4_MAC_BASE | mac), tuple(ref(l, mac) for l in layers)))

        if pos < 0x100:
            low_end = min(end, 0x100)
            for layer in layers:
                if layer == 0:
                    link_local_groups += low_end - pos
                else:
                    flooded_groups += low_end - pos
            for mac in range(pos, low_end):
                if len(flooded) >= limit and len(link_local) >= limit:
                    break
                for layer in layers:
                    if layer == 0:
                        if len(link_local) < limit:
                            link_local.append(ref(0, mac))
                    elif len(flooded) < limit:
                        base = 0xE0000000 | mac
                        flooded.append(FloodedRow(ref(layer, mac), Mac(IPV4_MAC_BASE | mac), IPv4Group(base),
                                                  reg.IPV4_WELL_KNOWN.get(base)))

        for layer in sorted(dup):
            labels = {items[idx].label for idx in active[layer]} - {None}
            conflicting = len(labels) > 1
            duplicate_groups += length
            if conflicting:
                conflicting_groups += length
            for mac in range(pos, min(end, pos + limit - len(duplicates))):
                duplicates.append(DuplicateRow(ref(layer, mac), conflicting))

    blocks = _block_usage(items)
    findings = _findings(colliding_macs, colliding_groups, flooded_groups, link_local_groups,
                         duplicate_groups, conflicting_groups, blocks)
    return AuditReport(len(items), groups, colliding_macs, colliding_groups, tuple(collisions),
                       flooded_groups, tuple(flooded), link_local_groups, tuple(link_local),
                       duplicate_groups, conflicting_groups, tuple(duplicates), blocks, limit,
                       tuple(findings))


def _block_usage(items: list[Entry]) -> tuple[BlockUsage, ...]:
    """Distinct groups per IANA block, from the merged union of the entries."""
    merged: list[list[int]] = []
    for first, last in sorted((e.first, e.last) for e in items):
        if merged and first <= merged[-1][1] + 1:
            merged[-1][1] = max(merged[-1][1], last)
        else:
            merged.append([first, last])
    counts: dict[int, int] = {}
    starts = [b.first for b in reg.IPV4_BLOCKS]
    for first, last in merged:
        index = bisect.bisect_right(starts, first) - 1
        while index < len(reg.IPV4_BLOCKS) and reg.IPV4_BLOCKS[index].first <= last:
            block = reg.IPV4_BLOCKS[index]
            overlap = min(last, block.last) - max(first, block.first) + 1
            counts[index] = counts.get(index, 0) + overlap
            index += 1
    return tuple(BlockUsage(reg.IPV4_BLOCKS[i].key, reg.IPV4_BLOCKS[i].name, reg.IPV4_BLOCKS[i].range_text, n)
                 for i, n in sorted(counts.items()))


def _findings(colliding_macs: int, colliding_groups: int, flooded_groups: int, link_local_groups: int,
              duplicate_groups: int, conflicting_groups: int,
              blocks: tuple[BlockUsage, ...]) -> list[Finding]:
    out: list[Finding] = []
    if colliding_macs:
        out.append(Finding("mac-collision", Severity.ERROR,
                           f"{_plural(colliding_macs, 'MAC', ('carries', 'carry'))} {colliding_groups:,} groups of the plan: "
                           "switches and NICs filtering by MAC deliver them together", rfc="RFC 1112 6.4",
                           context={"macs": colliding_macs, "groups": colliding_groups}))
    if flooded_groups:
        out.append(Finding("flooded-alias", Severity.ERROR,
                           f"{_plural(flooded_groups, 'group', ('shares', 'share'))} a MAC with 224.0.0.x "
                           f"(x.0.0.y / x.128.0.y): snooping switches flood {'it' if flooded_groups == 1 else 'them'} "
                           "to every port",
                           rfc="RFC 4541 2.1.2", context={"groups": flooded_groups}))
    if link_local_groups:
        out.append(Finding("link-local-group", Severity.ERROR,
                           f"{_plural(link_local_groups, 'group', ('is', 'are'))} in 224.0.0.0/24 (Local Network Control): "
                           "never routed and flooded to every port", rfc="RFC 5771 4",
                           context={"groups": link_local_groups}))
    if conflicting_groups:
        out.append(Finding("duplicate-group", Severity.ERROR,
                           f"{_plural(conflicting_groups, 'group', ('carries', 'carry'))} different labels: "
                           "two channels on one group",
                           context={"groups": conflicting_groups}))
    if duplicate_groups - conflicting_groups:
        out.append(Finding("duplicate-entry", Severity.WARNING,
                           f"{_plural(duplicate_groups - conflicting_groups, 'group', ('is', 'are'))} listed more than once "
                           "(same label or none)", context={"groups": duplicate_groups - conflicting_groups}))
    reserved = sum(b.groups for b in blocks if b.key.startswith("reserved"))
    if reserved:
        out.append(Finding("reserved-block", Severity.WARNING,
                           f"{_plural(reserved, 'group', ('is', 'are'))} in blocks IANA keeps reserved (RFC 5771): "
                           "use 239/8 for private plans", rfc="RFC 5771 3", context={"groups": reserved}))
    ssm = sum(b.groups for b in blocks if b.key == "ssm")
    if ssm:
        out.append(Finding("ssm-groups", Severity.INFO,
                           f"{_plural(ssm, 'group', ('is', 'are'))} in 232/8: receivers need IGMPv3 (S,G) joins",
                           rfc="RFC 4607 1", context={"groups": ssm}))
    return out


__all__ = ["AuditReport", "BlockUsage", "CollisionRow", "DEFAULT_LIMIT", "DuplicateRow", "FloodedRow",
           "GroupRef", "audit"]
