"""Who is the IGMP (or MLD) querier on this link, and is it behaving? Optionally: does it yield?

``family`` 6 does the same for MLD (RFC 3810 5.1, 6, 7.6.2): the capture keeps MLD, the tracker
and the judge apply MLD's rules, and a challenge sends MLD general queries from a lower
link-local address (MLDv2 with the incumbent's QQIC and QRV, or MLDv1).

Listens on one interface, feeds every query to the election tracker (RFC 3376 6.6.2) and the
compliance judge (:func:`mdiag.core.compliance.assess`); with a challenger address it sends
general queries from a lower address, watches the incumbent go quiet and come back after its
Other Querier Present Interval (RFC 3376 8.5, :class:`mdiag.core.timers.TimerSet`).
"""

from __future__ import annotations

import ipaddress
import time
from dataclasses import dataclass, field
from typing import Any

from mdiag.core.compliance import ChallengeResult, ComplianceReport, QueryHeard, assess, judge_challenge, \
    query_from_decoded
from mdiag.core.findings import Finding
from mdiag.core.querier import QuerierTracker, querier_spans
from mdiag.core.timers import TimerSet
from mdiag.errors import ExitStatus, InputError, MdiagError
from mdiag.probes.frames import decode_membership
from mdiag.probes.network import Endpoint, Network, PacketSocket

#: Hard upper bound of any wait, whatever the options say.
MAX_WAIT = 3600.0
#: The default Query Interval when the querier does not say (RFC 3376 8.2).
DEFAULT_QUERY_INTERVAL = 125.0


class NothingHeard(MdiagError):
    """No IGMP (or MLD) query was heard within the wait."""

    exit_status = ExitStatus.BAD_INPUT


@dataclass(frozen=True, slots=True)
class QuerierOptions:
    """What to listen on and what to expect; ``challenge`` (an address below the querier's)
    turns on the election test. Durations in seconds."""

    at: Endpoint
    wait: float = 30.0
    queries: int = 0
    expect_querier: str | None = None
    #: when ``expect_querier`` must hold: "throughout" (default), "at-end" or "any-time"
    expect_querier_when: str = "throughout"
    expect_version: int | None = None
    query_interval: float | None = None
    challenge: str | None = None
    challenge_for: float | None = None
    challenge_interval: float = 1.0
    #: 4: IGMP, 6: MLD
    family: int = 4

    def __post_init__(self) -> None:
        if self.queries < 0:
            raise InputError("--queries must be 0 or more")
        if self.family not in (4, 6):
            raise InputError(f"address family {self.family} is not 4 (IGMP) or 6 (MLD)")
        if self.challenge is not None:
            address = ipaddress.ip_address(self.challenge)
            if address.version != self.family:
                raise InputError(f"--challenge {address} is IPv{address.version}; an "
                                 f"{'MLD' if self.family == 6 else 'IGMP'} querier needs an IPv{self.family} address")
            if int(address) == 0 or address.is_multicast:
                raise InputError(f"--challenge {address} cannot be a querier address (unspecified or multicast)")
            if self.family == 6 and not address.is_link_local:
                raise InputError(f"--challenge {address} is not link-local: MLD queries come from fe80::/10 "
                                 "(RFC 3810 5.1.14), hosts ignore any other source")

    @property
    def protocol(self) -> str:
        return "MLD" if self.family == 6 else "IGMP"

    @property
    def zero(self) -> str:
        """The source of a snooping switch's proxy queries (not a querier)."""
        return "::" if self.family == 6 else "0.0.0.0"


@dataclass
class QuerierReport:
    """The verdicts, the elections seen and (with a challenge) how the incumbent yielded."""

    options: QuerierOptions
    compliance: ComplianceReport
    elections: list[Any] = field(default_factory=list)
    election_findings: list[Finding] = field(default_factory=list)
    challenge: ChallengeResult | None = None

    @property
    def heard(self) -> bool:
        return self.compliance.heard_anything

    @property
    def ok(self) -> bool:
        return self.compliance.ok and (self.challenge is None or self.challenge.ok)

    @property
    def findings(self) -> list[Finding]:
        return [*self.compliance.findings, *self.election_findings,
                *(self.challenge.findings if self.challenge else [])]

    def to_json(self) -> dict[str, Any]:
        o = self.options
        if not self.heard:
            return {"iface": o.at.iface, "netns": o.at.netns, "heard": False, "wait": o.wait,
                    "report": self.compliance.to_json()}
        return {"iface": o.at.iface, "netns": o.at.netns, "heard": True, "wait": o.wait, "ok": self.ok,
                "report": self.compliance.to_json(), "elections": [e.to_json() for e in self.elections],
                "findings": [f.to_json() for f in self.findings],
                "challenge": self.challenge.to_json() if self.challenge else None}


class _Listener:
    """Captures queries, feeds the election tracker and keeps the QueryHeard values."""

    def __init__(self, sock: PacketSocket, family: int = 4) -> None:
        self.sock = sock
        self.family = family
        self.tracker = QuerierTracker(family=family)
        self.heard: list[QueryHeard] = []
        self.started = time.time()
        self.frames = 0

    def feed(self, captured: Any) -> QueryHeard | None:
        """The query in ``captured`` when someone else sent it (our own are not judged)."""
        got = decode_membership(captured.frame, self.family)
        if got is None:
            return None
        decoded, mac = got
        self.frames += 1
        query = query_from_decoded(captured.time, decoded, mac, frame=self.frames)
        if query is None or captured.outgoing:
            return None
        self.heard.append(query)
        self.tracker.observe(captured.time - self.started, self.frames, decoded.ip.src, decoded.ip.dst,
                             decoded.message, mac=mac)
        return query

    def listen(self, wait: float, *, stop_after: int = 0, stop_on_first: bool = False) -> None:
        for captured in self.sock.capture(time.monotonic() + wait):
            query = self.feed(captured)
            if query is None:
                continue
            if stop_on_first and query.general and query.source not in ("0.0.0.0", "::"):
                return
            if stop_after:
                elected = self.tracker.elected
                count = sum(1 for q in self.heard if q.general and elected is not None
                            and q.source == str(elected))
                if count >= stop_after:
                    return


def run(options: QuerierOptions, network: Network) -> QuerierReport:
    """Listen (and challenge); the report says who the querier is and how it behaves."""
    network.require_raw(f"listening for {options.protocol} queries")
    sock = network.packet_socket(options.at, mld=True) if options.family == 6 else network.packet_socket(options.at)
    sender = our_mac = None
    try:
        if options.challenge is not None:
            sender = network.packet_socket(options.at, send_only=True)
            our_mac = network.hardware_address(options.at)
        listener = _Listener(sock, options.family)
        listener.listen(options.wait, stop_after=options.queries, stop_on_first=sender is not None)
        challenge = None
        if sender is not None and our_mac is not None and options.challenge is not None:
            challenge = _challenge(listener, sender, options.challenge, our_mac, options)
    finally:
        sock.close()
        if sender is not None:
            sender.close()
    return _judge(listener, challenge, options)


def _igmp_query_frame(version: int, src: str, src_mac: str, *, qri: float, qrv: int, qi: float) -> bytes:
    """An IGMP general query of ``version`` from ``src`` to 224.0.0.1 (RFC 3376 4.1, RFC 2236 2)."""
    from mdiag.core.igmp.frame import build_frame
    from mdiag.core.igmp.ipv4 import IPv4Header
    from mdiag.core.igmp.messages import V1Query, V2Query, V3Query

    message: Any
    if version == 3:
        message = V3Query.build(max_resp_time=min(qri, 3174.4), qrv=min(qrv, 7), qqi=int(min(qi, 31744)))
    elif version == 2:
        message = V2Query.from_seconds(min(max(qri, 0.1), 25.5))
    else:
        message = V1Query()
    return build_frame(message, IPv4Header(src=src, dst="224.0.0.1"), src_mac=src_mac)


def _mld_query_frame(version: int, src: str, src_mac: str, *, qri: float, qrv: int, qi: float) -> bytes:
    """An MLD general query of ``version`` from the link-local ``src`` to ff02::1, hop limit 1,
    Router Alert (RFC 3810 5.1, RFC 2710 3)."""
    from mdiag.core.mld import IPv6Header, Mld1Query, Mld2Query, build_frame

    message: Any
    max_ms = int(min(max(qri, 0.001), 3000.0) * 1000)
    if version == 2:
        message = Mld2Query.build(max_resp_ms=max_ms, qrv=min(qrv, 7), qqi=int(min(qi, 31744)))
    else:
        message = Mld1Query(max_resp_delay=min(max_ms, 65535))
    return build_frame(message, IPv6Header(src=src, dst="ff02::1"), src_mac=src_mac)


def _challenge(listener: _Listener, sender: PacketSocket, src: str, mac: bytes,
               options: QuerierOptions) -> ChallengeResult:
    """Send general queries from ``src``; watch the incumbent stop and resume (RFC 3376 6.6.2,
    RFC 3810 7.6.2)."""
    incumbents = [q for q in listener.heard if q.general and q.source != options.zero]
    if not incumbents:
        raise NothingHeard(f"no querier heard within {options.wait:g} s, so there is nothing to challenge")
    incumbent = min(incumbents, key=lambda q: ipaddress.ip_address(q.source))
    if ipaddress.ip_address(src) >= ipaddress.ip_address(incumbent.source):
        rule = "RFC 3810 7.6.2" if options.family == 6 else "RFC 3376 6.6.2"
        raise InputError(f"--challenge {src} is not lower than the querier {incumbent.source}: it "
                         f"cannot win the election ({rule}); pick a lower address")
    latest = 2 if options.family == 6 else 3
    qi = options.query_interval or (incumbent.qqi if incumbent.version == latest and incumbent.qqi
                                    else DEFAULT_QUERY_INTERVAL)
    qri = incumbent.max_resp
    qrv = incumbent.qrv or 2
    oqpi = TimerSet(robustness=qrv, query_interval=qi,
                    query_response_interval=qri if qri > 0 else 0.1).other_querier_present_interval
    duration = min(options.challenge_for or 2 * qi, MAX_WAIT)
    src_mac = ":".join(f"{b:02x}" for b in mac)
    frame = (_mld_query_frame(incumbent.version, src, src_mac, qri=qri, qrv=qrv, qi=qi) if options.family == 6
             else _igmp_query_frame(incumbent.version, src, src_mac, qri=qri, qrv=qrv, qi=qi))
    sent: list[float] = []
    start = time.monotonic()
    next_send, end = start, start + duration
    while (now := time.monotonic()) < end:
        if now >= next_send:
            sender.send(frame)
            sent.append(time.time())
            next_send += options.challenge_interval
        for captured in listener.sock.capture(min(next_send, end)):
            listener.feed(captured)
    last_sent = sent[-1]
    # Watch for the incumbent to resume: OQPI after our last query, plus a margin (bounded).
    for captured in listener.sock.capture(time.monotonic() + min(oqpi * 1.5 + qi + 2.0, MAX_WAIT)):
        q = listener.feed(captured)
        if q is not None and q.source == incumbent.source and q.general and q.ts > last_sent:
            break
    return judge_challenge(
        incumbent=incumbent.source, challenger=src, first_sent=sent[0], last_sent=last_sent,
        incumbent_general=[q.ts for q in listener.heard if q.source == incumbent.source and q.general],
        expected_oqpi=oqpi, sent=len(sent))


def _judge(listener: _Listener, challenge: ChallengeResult | None, options: QuerierOptions) -> QuerierReport:
    tracker = listener.tracker
    tracker.finish(time.time() - listener.started)
    elected = str(tracker.elected) if tracker.elected is not None else None
    heard = listener.heard
    if challenge is not None:  # the challenge stops the querier on purpose: judge it before that
        heard = [q for q in heard if q.ts < challenge.first_sent]
    # The tracker's drift and two-active findings repeat verdicts of assess(); during a
    # challenge its elections and gaps are the test itself, reported by the challenge.
    cutoff = (challenge.first_sent - listener.started) if challenge is not None else float("inf")
    spans = [span for span in querier_spans(tracker, time.time() - listener.started) if span.start < cutoff]
    compliance = assess(heard, expect_querier=options.expect_querier, expect_version=options.expect_version,
                        query_interval=options.query_interval, elected=elected,
                        expect_when=options.expect_querier_when, spans=spans)
    election_findings = [f for f in tracker.findings
                         if f.code not in ("querier-interval-drift", "querier-two-active")
                         and (f.time is None or f.time < cutoff)]
    return QuerierReport(options, compliance, list(tracker.elections), election_findings, challenge)
