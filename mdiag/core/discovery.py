"""Membership discovery: who answered a query, with what, and how fast (pure).

mdiag sends a General, Group-Specific or Group-and-Source-Specific query and listens
for the Max Response Time plus a margin. Hosts answer (RFC 2236 3, RFC 3376 5.2) with
a v1/v2 report per group or a v3 report of current-state records (IS_IN / IS_EX)
listing their source filters. This module turns the heard reports of one or more
rounds into one row per host: address, MAC, IGMP version, groups with their filter
mode and sources, and response times (report timestamp minus query timestamp, both
from the capture socket).

MLD is the same with IPv6 addresses (RFC 2710 4, RFC 3810 6.2): MLDv1 Report/Done are
REPORT/LEAVE, MLDv2 multicast address records are IGMPv3's group records.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from mdiag.core.delay import DelayStats
from mdiag.core.findings import Finding, Severity

#: v3 record types (RFC 3376 4.2.12) and the v1/v2 message kinds, as shown to users.
RECORD_TYPES = ("IS_IN", "IS_EX", "TO_IN", "TO_EX", "ALLOW", "BLOCK", "REPORT", "LEAVE")

#: What the rules say differently for MLD (RFC 2710, RFC 3810) than for IGMP.
_RFC = {4: {"compat-answer": "RFC 3376 7.2.1", "late": "RFC 3376 5.2", "older": "RFC 3376 7.3.2"},
        6: {"compat-answer": "RFC 3810 8.2.1", "late": "RFC 3810 6.2", "older": "RFC 3810 8.3.2"}}


def _check_ipv4(text: str, what: str) -> None:
    """An IPv4 or IPv6 address (the name stays for callers; MLD rounds carry IPv6)."""
    try:
        ipaddress.ip_address(text)
    except ValueError:
        raise ValueError(f"{what} {text!r} is not an IP address") from None


def _key(text: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address:
    return ipaddress.ip_address(text)


def _protocol(address: str) -> str:
    return "MLD" if ":" in address else "IGMP"


def _is_ssm(group: str) -> bool:
    from mdiag.core.addresses import is_ssm

    return is_ssm(group)


@dataclass(frozen=True, slots=True)
class Record:
    """One group as reported: a v3 group record, or a v1/v2 REPORT / LEAVE."""

    kind: str
    group: str
    sources: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if self.kind not in RECORD_TYPES:
            raise ValueError(f"record kind {self.kind!r} is not one of {', '.join(RECORD_TYPES)}")
        _check_ipv4(self.group, "group")
        for s in self.sources:
            _check_ipv4(s, "source")
        if self.kind in ("REPORT", "LEAVE") and self.sources:
            raise ValueError("v1/v2 reports and leaves carry no sources")

    @property
    def mode(self) -> str:
        """Filter mode the record states or implies (RFC 3376 6.4: v1/v2 report = EXCLUDE {})."""
        if self.kind in ("IS_EX", "TO_EX", "REPORT"):
            return "exclude"
        if self.kind == "LEAVE":
            return "leave"
        return "include"

    def describe(self) -> str:
        if self.kind in ("REPORT", "LEAVE"):
            return self.group if self.kind == "REPORT" else f"{self.group} (leave)"
        sources = ",".join(self.sources)
        if self.kind in ("IS_IN", "IS_EX"):
            return f"{self.group} {self.mode.upper()}{{{sources}}}"
        return f"{self.group} {self.kind}{{{sources}}}"

    def to_json(self) -> dict[str, Any]:
        return {"type": self.kind, "group": self.group, "mode": self.mode,
                "sources": list(self.sources)}


@dataclass(frozen=True, slots=True)
class Heard:
    """One report or leave captured during a round (``ts_ns`` from the capture socket)."""

    ts_ns: int
    source: str
    mac: str
    version: int
    records: tuple[Record, ...]

    def __post_init__(self) -> None:
        _check_ipv4(self.source, "source address")
        if self.version not in ((1, 2) if ":" in self.source else (1, 2, 3)):
            raise ValueError(f"{_protocol(self.source)} version {self.version} does not exist")


@dataclass(frozen=True, slots=True)
class Round:
    """One query mdiag sent and what came back before the round closed."""

    query_ns: int
    max_resp: float
    heard: tuple[Heard, ...]
    group: str | None = None
    sources: tuple[str, ...] = ()
    version: int = 3

    def __post_init__(self) -> None:
        if self.max_resp < 0:
            raise ValueError("max response time is negative")
        if self.group is not None:
            _check_ipv4(self.group, "group")
        if self.sources and self.group is None:
            raise ValueError("a source-specific query needs a group (RFC 3376 4.1.9)")


@dataclass(frozen=True, slots=True)
class HostAnswer:
    """Everything one host said over all rounds."""

    address: str
    mac: str
    versions: tuple[int, ...]
    records: tuple[Record, ...]
    response_times: tuple[float, ...]
    rounds_answered: int
    stats: DelayStats = field(init=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "stats", DelayStats.of(self.response_times))

    @property
    def groups(self) -> tuple[str, ...]:
        return tuple(sorted({r.group for r in self.records if r.kind != "LEAVE"},
                            key=_key))

    def to_json(self) -> dict[str, Any]:
        return {"address": self.address, "mac": self.mac, "versions": list(self.versions),
                "groups": [r.to_json() for r in self.records],
                "response_times": list(self.response_times),
                "rounds_answered": self.rounds_answered, "response_time": self.stats.to_json()}


@dataclass(frozen=True, slots=True)
class Discovery:
    """Hosts sorted by address, and findings about their answers."""

    rounds: int
    hosts: tuple[HostAnswer, ...]
    findings: tuple[Finding, ...]

    def to_json(self) -> dict[str, Any]:
        return {"rounds": self.rounds, "hosts": [h.to_json() for h in self.hosts],
                "findings": [f.to_json() for f in self.findings]}


def _relevant(record: Record, rnd: Round) -> bool:
    if rnd.group is None:
        return True
    if record.group != rnd.group:
        return False
    return True


def discover(rounds: Sequence[Round], *, own_addresses: Iterable[str] = ()) -> Discovery:
    """Collect the answers of ``rounds`` per host (RFC 3376 5.2, RFC 2236 3).

    Reports from ``own_addresses`` (mdiag's interface) are ignored. For a group(-and-
    source)-specific query only records for that group count as answers; a report of a
    newer version than the query answers some other querier (RFC 3376 7.2.1) and does
    not count. A host's
    records are those of the last round it answered (its current state); response
    time is its first relevant report of each round minus that round's query.
    """
    own = set(own_addresses)
    per_host: dict[str, dict[str, Any]] = {}
    findings: list[Finding] = []
    seen_codes: set[tuple[str, str, str]] = set()

    def note(code: str, severity: Severity, host: str, message: str, rfc: str, ts: int) -> None:
        key = (code, host, message)
        if key not in seen_codes:
            seen_codes.add(key)
            findings.append(Finding(code, severity, message, rfc, time=ts / 1e9,
                                    context={"host": host}))

    for rnd in rounds:
        answered: set[str] = set()
        round_records: dict[str, dict[tuple[str, str], Record]] = {}
        for heard in sorted(rnd.heard, key=lambda h: h.ts_ns):
            if heard.source in own or heard.ts_ns < rnd.query_ns:
                continue
            records = [r for r in heard.records if _relevant(r, rnd)]
            if not records:
                continue
            p, family = _protocol(heard.source), 6 if ":" in heard.source else 4
            if heard.version > rnd.version:
                # A host answers an older query in that older version (RFC 3376 7.2.1,
                # RFC 2236 4, RFC 3810 8.2.1): a newer report answers another querier's query.
                note("discover-not-an-answer", Severity.INFO, heard.source,
                     f"{heard.source} sent an {p}v{heard.version} report during an {p}v{rnd.version} "
                     f"round: it answers another querier's query, not mdiag's (a host answers an "
                     f"{p}v{rnd.version} query in {p}v{rnd.version}), so it is not counted",
                     _RFC[family]["compat-answer"], heard.ts_ns)
                continue
            host = per_host.setdefault(heard.source, {"mac": heard.mac, "versions": set(),
                                                      "records": {}, "times": [], "rounds": 0})
            host["versions"].add(heard.version)
            mine = round_records.setdefault(heard.source, {})
            for r in records:
                mine[(r.group, r.kind if r.kind in ("LEAVE",) else "state")] = r
                if r.group and _is_ssm(r.group) and r.mode == "exclude":
                    note("discover-ssm-exclude", Severity.WARNING, heard.source,
                         f"{heard.source} reports SSM group {r.group} in EXCLUDE mode; SSM-aware "
                         "routers ignore it", "RFC 4607 2.2", heard.ts_ns)
            if heard.source not in answered:
                answered.add(heard.source)
                delay = (heard.ts_ns - rnd.query_ns) / 1e9
                host["times"].append(delay)
                host["rounds"] += 1
                if rnd.max_resp and delay > rnd.max_resp + 0.25:
                    note("discover-late-answer", Severity.WARNING, heard.source,
                         f"{heard.source} answered {delay:.3f} s after the query, later than its "
                         f"Max Response Time of {rnd.max_resp:g} s", _RFC[family]["late"], heard.ts_ns)
                if heard.version < rnd.version:
                    note("discover-older-host", Severity.INFO, heard.source,
                         f"{heard.source} answered an {p}v{rnd.version} query with {p}v"
                         f"{heard.version}: the querier must run in compatibility mode for it",
                         _RFC[family]["older"], heard.ts_ns)
        for address, records_now in round_records.items():
            per_host[address]["records"] = records_now
    hosts = []
    for address, info in per_host.items():
        recs = sorted(info["records"].values(),
                      key=lambda r: (_key(r.group), r.kind))
        hosts.append(HostAnswer(address, info["mac"], tuple(sorted(info["versions"])), tuple(recs),
                                tuple(info["times"]), info["rounds"]))
    hosts.sort(key=lambda h: _key(h.address))
    return Discovery(len(rounds), tuple(hosts), tuple(findings))


def heard_from_decoded(ts_ns: int, decoded: Any, mac: str) -> Heard | None:
    """A :class:`Heard` from a codec ``Decoded`` report or leave (None otherwise)."""
    from mdiag.core.igmp.messages import RecordType, V1Report, V2Leave, V2Report, V3Report
    from mdiag.core.mld.messages import Mld1Done, Mld1Report, Mld2Report

    message = decoded.message
    if decoded.ip is None:
        return None
    if isinstance(message, (V1Report, V2Report, Mld1Report)):
        records: tuple[Record, ...] = (Record("REPORT", str(message.group)),)
    elif isinstance(message, (V2Leave, Mld1Done)):
        records = (Record("LEAVE", str(message.group)),)
    elif isinstance(message, (V3Report, Mld2Report)):
        known = {int(t) for t in RecordType}
        records = tuple(Record(record_type_short(int(r.record_type)), str(r.group),
                               tuple(str(s) for s in r.sources))
                        for r in message.records if int(r.record_type) in known)
    else:
        return None
    return Heard(ts_ns, str(decoded.ip.src), mac, message.version, records)


def record_type_short(value: int) -> str:
    """RFC 3376 4.2.12 record type number -> IS_IN .. BLOCK."""
    return ("IS_IN", "IS_EX", "TO_IN", "TO_EX", "ALLOW", "BLOCK")[value - 1]
