"""Expected versus actual multicast database (MDB) of a snooping bridge (pure).

The expected-MDB file is plain text, one entry per line::

    # group        port   [source]
    239.1.1.1      p1
    239.1.1.1      p2
    232.1.1.1      p3     198.18.0.5

``#`` starts a comment; blank lines are ignored. ``port`` is the bridge port name
(``p1``.. in the mdiag lab); ``source`` makes it an (S,G) entry (IGMPv3 INCLUDE).
A line ``-  GROUP  PORT [SOURCE]`` asserts the entry is *absent* without demanding that
the rest of the MDB be listed; a file whose first non-comment line is ``exact``
(the default) requires the MDB to hold exactly the listed entries, ``subset`` only
that each listed entry be present.

Groups and sources are IPv4 or IPv6 (MLD snooping, RFC 4541 3); IPv6 text is compared in its
RFC 5952 form. An expectation compares only the address families it lists (an empty one: all),
and IPv6 link-scope groups (ff02::/16: the hosts' solicited-node groups, the bridge's own
all-snoopers membership) only when it lists one of them: they are the link's housekeeping,
present whatever a capture did.

Actual entries come from ``bridge -j -d mdb show`` (flattened dicts with ``grp``,
``port`` and optionally ``src``/``filter_mode``). An IGMPv3 INCLUDE (*,G) entry only
carries its (S,G) children, so it is folded into them (RFC 3376 6.1: an INCLUDE
record is its source list); an EXCLUDE or v2 (*,G) entry is the any-source entry.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from mdiag.core.findings import Finding, Severity


def _key(entry: MdbEntry) -> tuple[int, int, str, int]:
    return entry.sort_key


def _ip(text: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address:
    return ipaddress.ip_address(text)


def _link_scope(group: str) -> bool:
    """IPv6 ff02::/16 (and ff01::/16): per-link groups every IPv6 host and bridge holds."""
    address = _ip(group)
    return address.version == 6 and (int(address) >> 112) & 0xF in (1, 2)


class MdbFileError(ValueError):
    """The expected-MDB text is not valid (the message names the line)."""


@dataclass(frozen=True, slots=True)
class MdbEntry:
    """(group, port, source); source None is the any-source (*,G) entry."""

    group: str
    port: str
    source: str | None = None

    def __post_init__(self) -> None:
        try:
            group = _ip(self.group)
        except ValueError:
            raise ValueError(f"group {self.group!r} is not an IPv4 or IPv6 address") from None
        if not group.is_multicast:
            raise ValueError(f"{self.group} is not a multicast group")
        object.__setattr__(self, "group", str(group))  # one spelling per group (RFC 5952)
        if not self.port or any(c.isspace() for c in self.port):
            raise ValueError(f"port {self.port!r} is not a port name")
        if self.source is not None:
            try:
                source = _ip(self.source)
            except ValueError:
                raise ValueError(f"source {self.source!r} is not an IPv4 or IPv6 address") from None
            if source.version != group.version:
                raise ValueError(f"source {self.source} and group {self.group} are of different families")
            object.__setattr__(self, "source", str(source))

    @property
    def family(self) -> int:
        return _ip(self.group).version

    @property
    def sort_key(self) -> tuple[int, int, str, int]:
        return (self.family, int(_ip(self.group)), self.port, int(_ip(self.source)) if self.source else -1)

    def describe(self) -> str:
        return f"({self.source or '*'}, {self.group}) on {self.port}"

    def line(self) -> str:
        return f"{self.group:<15} {self.port}" + (f" {self.source}" if self.source else "")

    def judged_by(self, expected: Expectation) -> bool:
        """Whether ``expected`` speaks about entries like this one (module docstring)."""
        listed = expected.present | expected.absent
        if listed and self.family not in {e.family for e in listed}:
            return False
        return not _link_scope(self.group) or any(_link_scope(e.group) for e in listed)

    def to_json(self) -> dict[str, Any]:
        return {"group": self.group, "port": self.port, "source": self.source}


@dataclass(frozen=True, slots=True)
class Expectation:
    """Parsed expected-MDB file."""

    present: frozenset[MdbEntry]
    absent: frozenset[MdbEntry]
    exact: bool = True


def parse_expected(text: str, *, name: str = "expected MDB") -> Expectation:
    """Parse the expected-MDB format (module docstring); :class:`MdbFileError` names the line."""
    present: set[MdbEntry] = set()
    absent: set[MdbEntry] = set()
    exact: bool | None = None
    for number, raw in enumerate(text.splitlines(), 1):
        line = raw.split("#", 1)[0].strip()
        if not line:
            continue
        words = line.split()
        if words[0] in ("exact", "subset") and len(words) == 1:
            if exact is not None or present or absent:
                raise MdbFileError(f"{name} line {number}: '{words[0]}' must be the first entry line")
            exact = words[0] == "exact"
            continue
        negate = words[0] == "-"
        if negate:
            words = words[1:]
        if len(words) not in (2, 3):
            raise MdbFileError(f"{name} line {number}: expected 'GROUP PORT [SOURCE]', got {raw.strip()!r}")
        try:
            entry = MdbEntry(words[0], words[1], words[2] if len(words) == 3 else None)
        except ValueError as exc:
            raise MdbFileError(f"{name} line {number}: {exc}") from None
        (absent if negate else present).add(entry)
    both = present & absent
    if both:
        raise MdbFileError(f"{name}: {min(both, key=_key).describe()} is listed both present and absent")
    return Expectation(frozenset(present), frozenset(absent), True if exact is None else exact)


def actual_entries(mdb: Iterable[Mapping[str, Any]], *, port_names: Mapping[str, str] | None = None,
                   ) -> frozenset[MdbEntry]:
    """Normalise ``bridge -j mdb show`` entries (flattened) into :class:`MdbEntry` values."""
    entries: set[MdbEntry] = set()
    rename = dict(port_names or {})
    for item in mdb:
        group = item.get("grp")
        port = item.get("port")
        if not group or not port:
            continue
        try:
            if not _ip(group).is_multicast:
                continue
        except ValueError:
            continue
        port = rename.get(port, port)
        src = item.get("src")
        if src:
            entries.add(MdbEntry(group, port, src))
            continue
        mode = str(item.get("filter_mode", "")).lower()
        sources = item.get("source_list") or []
        if mode == "include" and sources:
            for s in sources:
                address = s.get("address") if isinstance(s, Mapping) else s
                if address:
                    entries.add(MdbEntry(group, port, address))
            continue
        entries.add(MdbEntry(group, port, None))
    return frozenset(entries)


@dataclass(frozen=True, slots=True)
class MdbComparison:
    """Entries missing from / unexpected in the actual MDB, and what matched."""

    matched: tuple[MdbEntry, ...]
    missing: tuple[MdbEntry, ...]
    unexpected: tuple[MdbEntry, ...]

    @property
    def ok(self) -> bool:
        return not self.missing and not self.unexpected

    @property
    def findings(self) -> list[Finding]:
        out = [Finding("mdb-missing", Severity.ERROR,
                       f"expected {e.describe()} is not in the bridge's MDB", "RFC 4541 2.1.1",
                       context=e.to_json()) for e in self.missing]
        out += [Finding("mdb-unexpected", Severity.ERROR,
                        f"{e.describe()} is in the bridge's MDB but was not expected", "RFC 4541 2.1.1",
                        context=e.to_json()) for e in self.unexpected]
        return out

    def to_json(self) -> dict[str, Any]:
        return {"ok": self.ok, "matched": [e.to_json() for e in self.matched],
                "missing": [e.to_json() for e in self.missing],
                "unexpected": [e.to_json() for e in self.unexpected]}


def compare(expected: Expectation, actual: Iterable[MdbEntry]) -> MdbComparison:
    """Compare; with ``exact`` every actual entry not listed is unexpected."""
    have = frozenset(e for e in actual if e.judged_by(expected))
    missing = expected.present - have
    unexpected = have & expected.absent
    if expected.exact:
        unexpected |= have - expected.present
    return MdbComparison(tuple(sorted(expected.present & have, key=_key)),
                         tuple(sorted(missing, key=_key)), tuple(sorted(unexpected, key=_key)))


def render_expected(entries: Iterable[MdbEntry]) -> str:
    """The expected-MDB text for ``entries`` (what ``--save-mdb`` writes)."""
    lines = ["# expected MDB written by mdiag: group port [source]", "exact"]
    lines += [e.line() for e in sorted(entries, key=_key)]
    return "\n".join(lines) + "\n"
