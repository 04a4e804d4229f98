"""Querier compliance: one verdict per rule for the queries heard on a segment (pure).

Input is every query heard during a passive listen (:class:`QueryHeard`, times in
seconds from the capture socket); output is a :class:`ComplianceReport`: the elected
querier (lowest non-zero source address, RFC 3376 6.6.2 / RFC 2236 3), the other
routers heard, proxy queries from 0.0.0.0 (snooping switches, RFC 4541 2.1.1), the
measured query interval and a list of :class:`Verdict` values, each pass, fail or
not applicable, citing the RFC section it checks.

MLD queries (``QueryHeard`` with IPv6 addresses, ``version`` 1 or 2) are judged by the same
rules with MLD's wire facts (RFC 2710 3, RFC 3810 5.1, 6, 7.6.2): a query must come from a
link-local source (hosts ignore any other, RFC 3810 5.1.14), hop limit 1, Router Alert in a
Hop-by-Hop header on every version, general queries to ff02::1 and address-specific ones to
their address; MLDv2 is held to its QQIC and QRV as IGMPv3 is, and a querier from ``::`` is a
snooping switch's proxy. There is no TOS rule for MLD.
"""

from __future__ import annotations

import enum
import ipaddress
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from mdiag.core.findings import Finding, Severity
from mdiag.core.querier import QUERIER_WHEN_TEXT, QuerierSpan, querier_held, querier_story, split_startup

ALL_SYSTEMS = "224.0.0.1"
ZERO = "0.0.0.0"
ALL_NODES = "ff02::1"
ZERO6 = "::"
#: RFC 3376 8.2 / RFC 2236 8.2 default Query Interval.
DEFAULT_QUERY_INTERVAL = 125.0
#: Internet Control precedence, RFC 3376 4 ("IP Precedence of Internetwork Control").
TOS_INTERNET_CONTROL = 0xC0
_LOCAL_CONTROL = ipaddress.IPv4Network("224.0.0.0/24")


def _rank(text: str) -> tuple[int, int]:
    """Election order of a querier address (RFC 3376 6.6.2 / RFC 3810 7.6.2: lowest wins),
    total across families so a mixed list never compares IPv4 with IPv6."""
    address = _ip(text)
    return address.version, int(address)


def _ip(text: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address:
    try:
        return ipaddress.ip_address(text)
    except ValueError:
        raise ValueError(f"{text!r} is not an IPv4 or IPv6 address") from None


@dataclass(frozen=True, slots=True)
class Protocol:
    """What differs between IGMP and MLD for the rules here (names, constants, RFC sections)."""

    name: str
    family: int
    zero: str
    all_hosts: str
    latest: int  # IGMPv3 / MLDv2: the version with QQIC, QRV and sources
    ttl_name: str
    rfc_source: str
    rfc_ttl: str
    rfc_router_alert: str
    rfc_destination: str
    rfc_group_specific: str
    rfc_checksum: str
    rfc_interval: str
    rfc_response: str
    rfc_robustness: str
    rfc_election: str
    rfc_versions: str
    rfc_startup: str


IGMP = Protocol("IGMP", 4, ZERO, ALL_SYSTEMS, 3, "TTL", "RFC 3376 6.6.2", "RFC 3376 4",
                "RFC 2236 2, RFC 3376 4", "RFC 2236 2.1, RFC 3376 4.1.12", "RFC 2236 2.1, RFC 3376 4.1.9",
                "RFC 3376 4.1.2", "RFC 3376 4.1.7, 8.2", "RFC 3376 8.3", "RFC 3376 4.1.6, 8.1",
                "RFC 3376 6.6.2", "RFC 3376 7.3.1", "RFC 3376 8.6, 8.7")
MLD = Protocol("MLD", 6, ZERO6, ALL_NODES, 2, "hop limit", "RFC 3810 5.1.14, RFC 2710 3",
               "RFC 3810 5, RFC 2710 3", "RFC 3810 5, RFC 2710 3", "RFC 3810 5.1.15, RFC 2710 5",
               "RFC 3810 5.1.10, RFC 2710 3.6", "RFC 3810 5.1.2", "RFC 3810 5.1.9, 9.2",
               "RFC 3810 9.3", "RFC 3810 5.1.8, 9.1", "RFC 3810 7.6.2", "RFC 3810 8.3.1",
               "RFC 3810 9.6, 9.7")


def protocol_of(address: str) -> Protocol:
    """IGMP for IPv4 addresses, MLD for IPv6 ones."""
    return MLD if ":" in address else IGMP


@dataclass(frozen=True, slots=True)
class QueryHeard:
    """One Membership Query as captured (RFC 2236 2, RFC 3376 4.1)."""

    ts: float
    source: str
    destination: str
    mac: str
    version: int
    group: str = ZERO
    max_resp: float = 10.0
    ttl: int = 1
    tos: int = 0
    router_alert: bool = True
    qrv: int | None = None
    qqi: float | None = None
    s_flag: bool = False
    sources: tuple[str, ...] = ()
    checksum_ok: bool = True
    frame: int | None = None

    def __post_init__(self) -> None:
        if self.family == 6 and self.group == ZERO:  # the IGMP default: an MLD query names ::
            object.__setattr__(self, "group", ZERO6)
        family = {_ip(text).version for text in (self.source, self.destination, self.group, *self.sources)}
        if len(family) > 1:
            raise ValueError("a query's addresses are all IPv4 (IGMP) or all IPv6 (MLD)")
        if self.version not in ((1, 2) if self.family == 6 else (1, 2, 3)):
            raise ValueError(f"{self.protocol.name} version {self.version} does not exist")
        if not 0 <= self.ttl <= 255 or not 0 <= self.tos <= 255:
            raise ValueError("TTL and TOS are bytes")
        if self.max_resp < 0:
            raise ValueError("max response time is negative")

    @property
    def family(self) -> int:
        return 6 if ":" in self.source else 4

    @property
    def protocol(self) -> Protocol:
        return MLD if ":" in self.source else IGMP

    @property
    def general(self) -> bool:
        """General Query: group 0 (or ::) and no sources (RFC 3376 4.1.9, RFC 3810 5.1.10).

        A group-0 query sent to a routable group address is read as a group-specific
        query that forgot its group (a known querier bug), not as a general one.
        """
        if self.group not in (ZERO, ZERO6) or self.sources:
            return False
        dst = _ip(self.destination)
        if dst.version == 6:
            return not dst.is_multicast or (int(dst) >> 112) & 0xF in (1, 2)  # link-scope
        return dst in _LOCAL_CONTROL or not dst.is_multicast

    @property
    def group_specific(self) -> bool:
        """Meant for one group (or one group's sources)."""
        return not self.general


class Status(enum.Enum):
    PASS = "pass"
    FAIL = "fail"
    NOT_APPLICABLE = "n/a"


@dataclass(frozen=True, slots=True)
class Verdict:
    """One rule checked: ``check`` is a stable name, ``detail`` says what was seen."""

    check: str
    status: Status
    detail: str
    rfc: str
    severity: Severity = Severity.ERROR

    def to_json(self) -> dict[str, Any]:
        return {"check": self.check, "status": self.status.value, "detail": self.detail,
                "rfc": self.rfc, "severity": str(self.severity)}


@dataclass(frozen=True, slots=True)
class QuerierInfo:
    """One router (or proxy) that sent queries."""

    address: str
    mac: str
    versions: tuple[int, ...]
    queries: int
    general_queries: int
    first_ts: float
    last_ts: float
    max_resp: float | None
    qrv: int | None
    qqi: float | None
    s_flag: bool
    intervals: tuple[float, ...]

    @property
    def version(self) -> int:
        return max(self.versions)

    def to_json(self) -> dict[str, Any]:
        return {"address": self.address, "mac": self.mac, "version": self.version,
                "versions": list(self.versions), "queries": self.queries,
                "general_queries": self.general_queries, "first": self.first_ts,
                "last": self.last_ts, "max_resp": self.max_resp, "qrv": self.qrv,
                "qqi": self.qqi, "s_flag": self.s_flag, "intervals": list(self.intervals)}


@dataclass(frozen=True, slots=True)
class ComplianceReport:
    """What a passive listen found; ``ok`` when no verdict failed."""

    elected: QuerierInfo | None
    others: tuple[QuerierInfo, ...]
    proxies: tuple[QuerierInfo, ...]
    measured_interval: float | None
    expected_interval: float | None
    verdicts: tuple[Verdict, ...]

    @property
    def heard_anything(self) -> bool:
        return self.elected is not None or bool(self.others) or bool(self.proxies)

    @property
    def failed(self) -> tuple[Verdict, ...]:
        return tuple(v for v in self.verdicts if v.status is Status.FAIL)

    @property
    def ok(self) -> bool:
        return not any(v.status is Status.FAIL and v.severity >= Severity.ERROR for v in self.verdicts)

    @property
    def findings(self) -> list[Finding]:
        return [Finding(f"querier-{v.check}", v.severity, v.detail, v.rfc) for v in self.failed]

    def to_json(self) -> dict[str, Any]:
        return {"elected": self.elected.to_json() if self.elected else None,
                "others": [q.to_json() for q in self.others],
                "proxies": [q.to_json() for q in self.proxies],
                "measured_interval": self.measured_interval,
                "expected_interval": self.expected_interval,
                "ok": self.ok, "verdicts": [v.to_json() for v in self.verdicts]}


def _tolerance(interval: float) -> float:
    return max(0.25, 0.1 * interval)


def steady_intervals(gaps: Sequence[float], query_interval: float | None) -> list[float]:
    """Gaps between general queries with the startup phase left out (RFC 3376 8.6/8.7,
    :func:`mdiag.core.querier.split_startup`, the rule ``mdiag analyze`` applies too)."""
    if query_interval is None:
        return list(gaps)
    return list(split_startup(gaps, query_interval).steady)


def _summarise(address: str, queries: Sequence[QueryHeard]) -> QuerierInfo:
    general = [q for q in queries if q.general]
    last = (general or list(queries))[-1]
    gaps = tuple(round(b.ts - a.ts, 6) for a, b in zip(general, general[1:]))
    return QuerierInfo(address, last.mac, tuple(sorted({q.version for q in queries})), len(queries),
                       len(general), queries[0].ts, queries[-1].ts,
                       last.max_resp, last.qrv, last.qqi, last.s_flag, gaps)


def assess(heard: Iterable[QueryHeard], *, expect_querier: str | None = None,
           expect_version: int | None = None, query_interval: float | None = None,
           elected: str | None = None, expect_when: str = "throughout",
           spans: Sequence[QuerierSpan] | None = None) -> ComplianceReport:
    """Judge the queries heard (module docstring). ``query_interval`` is what the user
    configured; without it v3 queriers are held to their QQIC and v1/v2 to 125 s.
    ``elected`` is the querier an election tracker settled on (default: the lowest
    non-zero source heard). ``expect_querier`` holds ``expect_when`` ("throughout",
    "at-end" or "any-time", the rule of ``analyze --expect querier@WHEN=``) over the
    tracker's querier ``spans``; without spans, the querier elected at the end counts."""
    queries = sorted(heard, key=lambda q: q.ts)
    p = queries[0].protocol if queries else IGMP
    zero = p.zero  # the proxy querier's source (RFC 4541 2.1.1)
    by_source: dict[str, list[QueryHeard]] = {}
    for q in queries:
        by_source.setdefault(q.source, []).append(q)
    routers = sorted((a for a in by_source if a != zero), key=_ip)
    if elected is not None and elected in routers:
        routers.remove(elected)
        routers.insert(0, elected)
    infos = {a: _summarise(a, by_source[a]) for a in by_source}
    elected_addr = routers[0] if routers else None
    chosen = infos[elected_addr] if elected_addr else None
    others = tuple(infos[a] for a in routers[1:])
    proxies = (infos[zero],) if zero in infos else ()
    judged = by_source[elected_addr] if elected_addr else by_source.get(zero, [])
    v: list[Verdict] = []

    def verdict(check: str, ok: bool | None, detail: str, rfc: str,
                severity: Severity = Severity.ERROR) -> None:
        status = Status.NOT_APPLICABLE if ok is None else (Status.PASS if ok else Status.FAIL)
        v.append(Verdict(check, status, detail, rfc, severity))

    # Source address.
    if chosen is not None and p is MLD:
        ok = ipaddress.IPv6Address(chosen.address).is_link_local
        verdict("source-address", ok, f"querier {chosen.address} sends from a link-local address" if ok
                else f"querier {chosen.address} does not send from a link-local address: hosts "
                "ignore its queries (MLD queries must come from fe80::/10)", p.rfc_source)
    elif chosen is not None:
        verdict("source-address", True, f"querier {chosen.address} sends from a real address",
                p.rfc_source)
    elif proxies:
        verdict("source-address", False,
                f"only queries from {zero} were heard: a snooping switch's proxy querier, which takes "
                "no part in the election and which some hosts and routers drop; configure a querier "
                "with an address", "RFC 4541 2.1.1", Severity.WARNING)
    # Field checks over the judged querier's queries.
    if judged:
        bad_ttl = [q for q in judged if q.ttl != 1]
        verdict("ttl", not bad_ttl, f"{len(bad_ttl)} of {len(judged)} queries had {p.ttl_name} != 1 "
                f"(seen {sorted({q.ttl for q in bad_ttl})})" if bad_ttl else
                f"all {len(judged)} queries had {p.ttl_name} 1", p.rfc_ttl)
        ra_needed = [q for q in judged if q.version >= 2 or p is MLD]
        no_ra = [q for q in ra_needed if not q.router_alert]
        what = "MLD queries" if p is MLD else "v2/v3 queries"
        verdict("router-alert", None if not ra_needed else not no_ra,
                f"{len(no_ra)} of {len(ra_needed)} {what} lack the "
                f"{'Hop-by-Hop' if p is MLD else 'IP'} Router Alert option"
                if no_ra else (f"all {what} carry Router Alert" if ra_needed
                               else "IGMPv1 queries carry no Router Alert"),
                p.rfc_router_alert, Severity.WARNING)
        if p is IGMP:
            v3 = [q for q in judged if q.version == 3]
            bad_tos = [q for q in v3 if q.tos != TOS_INTERNET_CONTROL]
            verdict("tos", None if not v3 else not bad_tos,
                    f"{len(bad_tos)} of {len(v3)} IGMPv3 queries had TOS "
                    f"{', '.join(sorted({f'0x{q.tos:02x}' for q in bad_tos}))} instead of 0xc0"
                    if bad_tos else ("IGMPv3 queries use TOS 0xc0" if v3 else "no IGMPv3 queries"),
                    "RFC 3376 4", Severity.WARNING)
        wrong_dst = [q for q in judged if (q.general and q.destination != p.all_hosts)
                     or (not q.general and q.group != zero and q.destination != q.group)]
        verdict("destination", not wrong_dst,
                "; ".join(sorted({f"{'general' if q.general else 'group'} query for {q.group} sent "
                                  f"to {q.destination}" for q in wrong_dst}))
                if wrong_dst else f"general queries to {p.all_hosts}, group queries to their group",
                p.rfc_destination)
        specific = [q for q in judged if q.group_specific]
        zero_group = [q for q in specific if q.group == zero]
        verdict("group-specific-group", None if not specific else not zero_group,
                f"{len(zero_group)} group-specific queries carry group {zero} "
                f"(sent to {', '.join(sorted({q.destination for q in zero_group}))})" if zero_group
                else (f"{len(specific)} group-specific queries name their group" if specific
                      else "no group-specific queries heard"), p.rfc_group_specific)
        bad_sum = [q for q in judged if not q.checksum_ok]
        verdict("checksum", not bad_sum, f"{len(bad_sum)} queries had a bad checksum" if bad_sum
                else "all checksums good", p.rfc_checksum)
    # Timers of the elected querier.
    measured: float | None = None
    expected: float | None = None
    if chosen is not None:
        latest = chosen.version == p.latest
        qqi_advertised = chosen.qqi if latest and chosen.qqi else None
        expected = query_interval or qqi_advertised or DEFAULT_QUERY_INTERVAL
        phases = split_startup(chosen.intervals, expected)
        steady = phases.steady
        robustness = chosen.qrv if latest and chosen.qrv else 2
        if phases.startup:
            # Judged by its own rule (RFC 3376 8.6/8.7, RFC 2236 8.6/8.7): Startup Query
            # Count queries, Startup Query Interval apart; both configurable, so the RFC
            # defaults are told, not required.
            verdict("startup", True, phases.describe(expected, robustness), p.rfc_startup)
        if steady:
            measured = steady[-1]
            off = [g for g in steady if abs(g - expected) > _tolerance(expected)]
            source = ("configured" if query_interval else "advertised QQIC" if qqi_advertised
                      else "RFC default")
            verdict("interval", not off,
                    f"general queries every {measured:.3f} s in steady state, {source} {expected:g} s"
                    + (f" (the {phases.startup_queries} startup queries left out)" if phases.startup else "")
                    + (f"; off by more than {_tolerance(expected):.2f} s: "
                       f"{', '.join(f'{g:.3f}' for g in off)}" if off else ""),
                    p.rfc_interval, Severity.ERROR)
        elif phases.only_startup:
            verdict("interval", None,
                    f"no steady-state general query heard: the {phases.startup_queries} heard were the "
                    f"querier's startup phase ({phases.startup_interval:.1f} s apart); listen past it, "
                    f"at least {expected * 2:g} s (--wait), to measure the interval", "RFC 3376 8.2")
        else:
            verdict("interval", None, "fewer than two general queries heard: listen at least "
                    f"{expected:g} s (--wait) to measure the interval", "RFC 3376 8.2")
        if chosen.max_resp is not None:
            verdict("response-time", chosen.max_resp < expected,
                    f"max response time {chosen.max_resp:g} s, query interval {expected:g} s",
                    p.rfc_response)
        if latest:
            verdict("robustness", chosen.qrv != 1,
                    f"QRV {chosen.qrv}" + (" (should not be 1)" if chosen.qrv == 1 else "")
                    + (" (0: above 7 or unset)" if chosen.qrv == 0 else ""),
                    p.rfc_robustness, Severity.WARNING)
    # Election.
    if chosen is not None:
        late = [o for o in others if _rank(o.address) > _rank(chosen.address)
                and any(q.general and q.ts > chosen.first_ts + 1.0 for q in by_source[o.address])]
        if late and p is IGMP and set(chosen.versions) == {1} and all(set(o.versions) == {1} for o in late):
            # IGMPv1 has no querier election (RFC 1112 App. I): nobody has to yield, as
            # for analyze's querier-v1-several.
            verdict("single-querier", None,
                    f"IGMPv1 has no querier election: {', '.join(o.address for o in late)} "
                    f"query{'' if len(late) > 1 else 'ies'} beside {chosen.address}, nobody has to yield; "
                    "hosts get every query more than once", "RFC 1112 App. I")
        else:
            verdict("single-querier", not late,
                    "; ".join(f"{o.address} kept sending general queries after {chosen.address} "
                              "(lower address) was heard" for o in late)
                    if late else f"only {chosen.address} queries", p.rfc_election)
        versions = {q.version for q in queries if q.source != zero and q.general}
        verdict("versions-agree", len(versions) <= 1,
                f"routers query with {p.name}v{', v'.join(map(str, sorted(versions)))}"
                if len(versions) > 1 else f"all routers use {p.name}v{chosen.version}",
                p.rfc_versions, Severity.WARNING)
    # User expectations.
    if expect_querier is not None:
        _ip(expect_querier)
        got = chosen.address if chosen else None
        if spans is None:
            held, story = got == expect_querier, f"elected querier {got or 'none'}"
        else:
            held = querier_held(spans, got, expect_querier, expect_when)
            story = f"querier {querier_story(spans)}"
        verdict("expect-querier", held,
                f"{story}, expected {expect_querier} {QUERIER_WHEN_TEXT[expect_when]}", "--expect")
    if expect_version is not None:
        got_v = chosen.version if chosen else (proxies[0].version if proxies else None)
        verdict("expect-version", got_v == expect_version,
                f"querier version {got_v if got_v else 'none'}, expected {expect_version}", "--expect")
    return ComplianceReport(chosen, others, proxies, measured, expected, tuple(v))


def query_from_decoded(ts: float, decoded: Any, mac: str, frame: int | None = None) -> QueryHeard | None:
    """A :class:`QueryHeard` from a codec ``Decoded`` (None when it is not a query)."""
    from mdiag.core.igmp.messages import V1Query, V2Query, V3Query
    from mdiag.core.mld.messages import Mld1Query, Mld2Query

    message = decoded.message
    if not isinstance(message, (V1Query, V2Query, V3Query, Mld1Query, Mld2Query)) or decoded.ip is None:
        return None
    ip = decoded.ip
    v3 = message if isinstance(message, (V3Query, Mld2Query)) else None
    return QueryHeard(
        ts=ts, source=str(ip.src), destination=str(ip.dst), mac=mac, version=message.version,
        group=str(message.group), max_resp=message.max_resp_time, ttl=ip.ttl, tos=ip.tos,
        router_alert=bool(ip.router_alert), qrv=v3.qrv if v3 else None,
        qqi=float(v3.qqi) if v3 else None, s_flag=bool(v3.s_flag) if v3 else False,
        sources=tuple(str(s) for s in v3.sources) if v3 else (),
        checksum_ok=decoded.checksum_ok is not False and decoded.ip_checksum_ok is not False,
        frame=frame)


@dataclass(frozen=True, slots=True)
class ChallengeResult:
    """An election challenge (RFC 3376 6.6.2, 8.5): did the incumbent yield, and when did
    it resume after the challenger went quiet? Times are seconds (capture clock)."""

    incumbent: str
    challenger: str
    sent: int
    first_sent: float
    last_sent: float
    queries_during: tuple[float, ...]
    resumed_after: float | None
    expected_oqpi: float

    @property
    def yielded(self) -> bool:
        return not self.queries_during

    @property
    def resume_ok(self) -> bool:
        return self.resumed_after is not None and \
            abs(self.resumed_after - self.expected_oqpi) <= max(1.0, 0.1 * self.expected_oqpi)

    @property
    def ok(self) -> bool:
        return self.yielded and self.resume_ok

    @property
    def findings(self) -> list[Finding]:
        out = []
        if not self.yielded:
            out.append(Finding("querier-challenge-not-yielded", Severity.ERROR,
                               f"{self.incumbent} kept sending general queries after {self.challenger} "
                               f"(lower) queried: {len(self.queries_during)} more", "RFC 3376 6.6.2"))
        if self.resumed_after is None:
            out.append(Finding("querier-challenge-not-resumed", Severity.ERROR,
                               f"{self.incumbent} did not resume querying after the challenger went "
                               f"quiet (Other Querier Present Interval {self.expected_oqpi:g} s)",
                               "RFC 3376 8.5"))
        elif not self.resume_ok:
            out.append(Finding("querier-challenge-resume-timing", Severity.WARNING,
                               f"{self.incumbent} resumed {self.resumed_after:.3f} s after the last "
                               f"challenge query; the Other Querier Present Interval is "
                               f"{self.expected_oqpi:g} s", "RFC 3376 8.5"))
        return out

    def rows(self) -> list[tuple[str, str]]:
        return [("incumbent", self.incumbent), ("challenger", self.challenger),
                ("challenge queries sent", str(self.sent)),
                ("incumbent yielded", "yes" if self.yielded else
                 f"NO ({len(self.queries_during)} queries during the challenge)"),
                ("resumed after challenger quiet", f"{self.resumed_after:.3f} s"
                 if self.resumed_after is not None else "not within the wait"),
                ("expected (Other Querier Present Interval)", f"{self.expected_oqpi:g} s")]

    def to_json(self) -> dict[str, Any]:
        return {"incumbent": self.incumbent, "challenger": self.challenger, "sent": self.sent,
                "yielded": self.yielded, "queries_during": list(self.queries_during),
                "resumed_after": self.resumed_after, "expected_oqpi": self.expected_oqpi,
                "ok": self.ok, "findings": [f.to_json() for f in self.findings]}


#: The incumbent needs a moment to hear the first challenge query.
CHALLENGE_GRACE = 0.2


def judge_challenge(*, incumbent: str, challenger: str, first_sent: float, last_sent: float,
                    incumbent_general: Iterable[float], expected_oqpi: float, sent: int
                    ) -> ChallengeResult:
    """Judge an election challenge from the incumbent's general query times.

    Queries after ``first_sent`` + grace and up to ``last_sent`` mean it did not yield;
    the first query after ``last_sent`` is its resumption (RFC 3376 8.5 OQPI).
    """
    times = sorted(incumbent_general)
    during = tuple(round(t - first_sent, 6) for t in times
                   if first_sent + CHALLENGE_GRACE < t <= last_sent)
    after = [t for t in times if t > last_sent]
    resumed = round(after[0] - last_sent, 6) if after else None
    return ChallengeResult(incumbent, challenger, sent, first_sent, last_sent, during, resumed,
                           expected_oqpi)
