"""``mdiag querier``: who is the IGMP querier on this link, and is it behaving?

Listens passively on one named interface, reports the elected querier (address, MAC,
version, max response time, QRV, QQI, S flag), other routers and proxy queriers, the
measured query interval, and a pass/fail verdict per rule (docs/active.md).
``--challenge SRC --force`` also tests the election by querying from a lower address.
"""

from __future__ import annotations

import argparse
import ipaddress
import time
from typing import Any

from mdiag.cli import options
from mdiag.cli.environment import Environment
from mdiag.errors import ExitStatus, InputError, MdiagError, UsageError

HELP = "identify the IGMP querier on a link and check its compliance (passive; --challenge with --force)"

#: Hard upper bound of any wait, whatever the options say.
MAX_WAIT = 3600.0


def add_interface_arguments(parser: argparse.ArgumentParser) -> None:
    options.add_iface(parser, required=False,
                      help="interface to listen (and send) on; required, never guessed")
    parser.add_argument("--json", action="store_true", help="JSON output (schema in docs/active.md)")


#: durations: 2, 2s, 500ms, 1m (mdiag.cli.options)
_SECONDS = options.duration(MAX_WAIT)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_interface_arguments(parser)
    parser.add_argument("--wait", type=_SECONDS, default=30.0, metavar="T",
                        help="listen this long (default 30 s; cover two query intervals to measure one)")
    parser.add_argument("--queries", type=int, default=0, metavar="N",
                        help="stop early once N general queries from the querier were heard")
    parser.add_argument("--expect", action="append", default=[], metavar="KEY=VALUE",
                        help="assertion: querier=IP or version=1|2|3 (repeatable); exit 1 if it fails")
    parser.add_argument("--query-interval", type=_SECONDS, metavar="S",
                        help="the query interval you configured (default: the querier's QQIC, or 125 s)")
    parser.add_argument("--challenge", type=options.address("198.18.0.2"), metavar="SRC",
                        help="test the election: send general queries from SRC (lower than the querier); "
                             "needs --force")
    parser.add_argument("--challenge-for", type=_SECONDS, metavar="T",
                        help="how long to keep challenging (default: two query intervals)")
    parser.add_argument("--challenge-interval", type=_SECONDS, default=1.0, metavar="T",
                        help="seconds between challenge queries (default 1)")
    parser.add_argument("--force", action="store_true",
                        help="allow disruptive actions (--challenge takes over the querier role)")


def _parse_expect(items: list[str]) -> tuple[str | None, int | None]:
    querier, version = None, None
    for item in items:
        key, sep, value = item.partition("=")
        key = key.strip().lower()
        if not sep:
            raise UsageError(f"--expect {item!r} is not KEY=VALUE (querier=IP or version=N)")
        if key == "querier":
            try:
                querier = str(ipaddress.IPv4Address(value.strip()))
            except ValueError:
                raise UsageError(f"--expect querier={value!r}: not an IPv4 address") from None
        elif key == "version":
            if value.strip() not in ("1", "2", "3"):
                raise UsageError(f"--expect version={value!r}: the IGMP version is 1, 2 or 3")
            version = int(value)
        else:
            raise UsageError(f"--expect {key!r} is unknown: use querier=IP or version=N")
    return querier, version


def run(args: argparse.Namespace, env: Environment) -> ExitStatus:
    if not args.iface:
        raise UsageError("querier needs --iface IFACE: mdiag never picks an interface on its own")
    expect_querier, expect_version = _parse_expect(args.expect)
    challenger = None
    if args.challenge is not None:
        try:
            challenger = ipaddress.IPv4Address(args.challenge)
        except ValueError:
            raise UsageError(f"--challenge {args.challenge!r} is not an IPv4 address") from None
        if int(challenger) == 0 or challenger.is_multicast:
            raise UsageError(f"--challenge {challenger} cannot be a querier address (0.0.0.0 or multicast)")
        if not args.force:
            raise UsageError("--challenge takes the querier role away from the current querier for a "
                             "while: add --force to confirm")
    if args.queries < 0:
        raise UsageError("--queries must be 0 or more")

    from mdiag.adapters import rawsock

    with rawsock.netns(args.netns):
        sock = rawsock.RawSocket(args.iface, rawsock.IGMP)
        sender = rawsock.RawSocket(args.iface, None) if challenger is not None else None
        our_mac = rawsock.interface_mac(args.iface) if challenger is not None else b""
    try:
        listener = _Listener(sock)
        listener.listen(args.wait, stop_after=args.queries, stop_on_first=challenger is not None)
        challenge = None
        if challenger is not None and sender is not None:
            challenge = _challenge(listener, sender, str(challenger), our_mac, args)
    finally:
        sock.close()
        if sender is not None:
            sender.close()
    return _report(listener, challenge, args, env, expect_querier, expect_version)


class _Listener:
    """Captures queries, feeds the election tracker and keeps QueryHeard values."""

    def __init__(self, sock: Any) -> None:
        from mdiag.core.querier import QuerierTracker

        self.sock = sock
        self.tracker = QuerierTracker()
        self.heard: list[Any] = []
        self.started = time.time()
        self.frames = 0
        self.other_findings: list[Any] = []

    def feed(self, captured: Any) -> Any:
        from mdiag.adapters.rawsock import decode_igmp
        from mdiag.core.compliance import query_from_decoded

        got = decode_igmp(captured.frame)
        if got is None:
            return None
        decoded, mac = got
        self.frames += 1
        query = query_from_decoded(captured.time, decoded, mac, frame=self.frames)
        if query is None:
            return None
        if captured.outgoing:
            return ("ours", query)  # our own challenge queries: not judged
        self.heard.append(query)
        self.tracker.observe(captured.time - self.started, self.frames, decoded.ip.src, decoded.ip.dst,
                             decoded.message, mac=mac)
        return query

    def listen(self, wait: float, *, stop_after: int = 0, stop_on_first: bool = False) -> None:
        deadline = time.monotonic() + wait
        for captured in self.sock.capture(deadline):
            query = self.feed(captured)
            if query is None or isinstance(query, tuple):
                continue
            if stop_on_first and query.general and query.source != "0.0.0.0":
                return
            if stop_after:
                elected = self.tracker.elected
                count = sum(1 for q in self.heard if q.general and elected is not None
                            and q.source == str(elected))
                if count >= stop_after:
                    return


def _challenge(listener: _Listener, sender: Any, src: str, mac: bytes, args: argparse.Namespace
               ) -> dict[str, Any]:
    """Send general queries from ``src``; watch the incumbent stop and resume."""
    from mdiag.core.compliance import ChallengeResult, judge_challenge
    from mdiag.core.igmp.frame import build_frame
    from mdiag.core.igmp.ipv4 import IPv4Header
    from mdiag.core.igmp.messages import V2Query, V3Query

    incumbent_queries = [q for q in listener.heard if q.general and q.source != "0.0.0.0"]
    if not incumbent_queries:
        raise _NothingHeard(f"no querier heard within {args.wait:g} s, so there is nothing to challenge")
    incumbent = min(incumbent_queries, key=lambda q: ipaddress.IPv4Address(q.source))
    if ipaddress.IPv4Address(src) >= ipaddress.IPv4Address(incumbent.source):
        raise InputError(f"--challenge {src} is not lower than the querier {incumbent.source}: it "
                         "cannot win the election (RFC 3376 6.6.2); pick a lower address")
    qi = args.query_interval or (incumbent.qqi if incumbent.version == 3 and incumbent.qqi else 125.0)
    qri = incumbent.max_resp
    qrv = incumbent.qrv or 2
    oqpi = qrv * qi + qri / 2
    duration = min(args.challenge_for or 2 * qi, MAX_WAIT)
    if incumbent.version == 3:
        message: Any = V3Query.build(max_resp_time=min(qri, 3174.4), qrv=min(qrv, 7), qqi=int(min(qi, 31744)))
    elif incumbent.version == 2:
        message = V2Query.from_seconds(min(max(qri, 0.1), 25.5))
    else:
        from mdiag.core.igmp.messages import V1Query
        message = V1Query()
    mac_text = ":".join(f"{b:02x}" for b in mac)
    frame = build_frame(message, IPv4Header(src=src, dst="224.0.0.1"), src_mac=mac_text)
    sent: list[float] = []
    start = time.monotonic()
    next_send = start
    end = start + duration
    while True:
        now = time.monotonic()
        if now >= end:
            break
        if now >= next_send:
            sender.send(frame)
            sent.append(time.time())
            next_send += args.challenge_interval
        for captured in listener.sock.capture(min(next_send, end)):
            listener.feed(captured)
    last_sent = sent[-1]
    # Watch for the incumbent to resume: OQPI after our last query, plus a margin (bounded).
    resume_deadline = time.monotonic() + min(oqpi * 1.5 + qi + 2.0, MAX_WAIT)
    for captured in listener.sock.capture(resume_deadline):
        q = listener.feed(captured)
        if q is not None and not isinstance(q, tuple) and q.source == incumbent.source and q.general \
                and q.ts > last_sent:
            break
    result: ChallengeResult = judge_challenge(
        incumbent=incumbent.source, challenger=src, first_sent=sent[0], last_sent=last_sent,
        incumbent_general=[q.ts for q in listener.heard if q.source == incumbent.source and q.general],
        expected_oqpi=oqpi, sent=len(sent))
    return {"result": result}


class _NothingHeard(MdiagError):
    """No IGMP query was heard within the wait."""

    exit_status = ExitStatus.BAD_INPUT


def _fmt_s(value: float | None) -> str:
    return "-" if value is None else f"{value:g} s"


def _report(listener: _Listener, challenge: dict[str, Any] | None, args: argparse.Namespace,
            env: Environment, expect_querier: str | None, expect_version: int | None) -> ExitStatus:
    from mdiag.cli.render import emit_json, table
    from mdiag.core.compliance import Status, assess

    tracker = listener.tracker
    tracker.finish(time.time() - listener.started)
    elected = str(tracker.elected) if tracker.elected is not None else None
    result = challenge["result"] if challenge else None
    heard = listener.heard
    if result is not None:  # the challenge stops the querier on purpose: judge it before that
        heard = [q for q in heard if q.ts < result.first_sent]
    report = assess(heard, expect_querier=expect_querier, expect_version=expect_version,
                    query_interval=args.query_interval, elected=elected)
    if not report.heard_anything:
        if args.json:
            emit_json({"iface": args.iface, "netns": args.netns, "heard": False, "wait": args.wait,
                       "report": report.to_json()}, env.stdout, "querier")
        env.error(f"no IGMP query heard on {args.iface} within {args.wait:g} s: no querier on this "
                  "link, or listen longer (--wait)")
        return ExitStatus.BAD_INPUT
    # The tracker's drift and two-active findings repeat verdicts above; during a
    # challenge its elections and gaps are the test itself, reported by the challenge.
    cutoff = (result.first_sent - listener.started) if result is not None else float("inf")
    election_findings = [f for f in tracker.findings
                         if f.code not in ("querier-interval-drift", "querier-two-active")
                         and (f.time is None or f.time < cutoff)]
    ok = report.ok and (result is None or result.ok)
    if args.json:
        emit_json({"iface": args.iface, "netns": args.netns, "heard": True, "wait": args.wait,
                   "ok": ok, "report": report.to_json(),
                   "elections": [e.to_json() for e in tracker.elections],
                   "findings": [f.to_json() for f in (*report.findings, *election_findings,
                                                      *(result.findings if result else []))],
                   "challenge": result.to_json() if result else None}, env.stdout, "querier")
        return ExitStatus.OK if ok else ExitStatus.PROBLEM_FOUND
    out = env.stdout
    rows = []
    for role, info in ([("querier", report.elected)] if report.elected else []) + \
            [("other router", o) for o in report.others] + [("proxy", p) for p in report.proxies]:
        rows.append([role, info.address, info.mac, f"v{info.version}", _fmt_s(info.max_resp),
                     info.qrv if info.qrv is not None else "-", _fmt_s(info.qqi),
                     "yes" if info.s_flag else "no", info.general_queries,
                     " ".join(f"{g:.3f}" for g in info.intervals[-4:]) or "-"])
    table(rows, ["role", "address", "mac", "version", "max resp", "qrv", "qqi", "s",
                 "general queries", "intervals (s)"], out)
    print(file=out)
    if report.measured_interval is not None:
        print(f"query interval: measured {report.measured_interval:.3f} s, expected "
              f"{report.expected_interval:g} s", file=out)
    table([[v.check, v.status.value.upper() if v.status is not Status.NOT_APPLICABLE else "n/a",
            v.detail, v.rfc] for v in report.verdicts], ["check", "verdict", "detail", "rfc"], out)
    if result is not None:
        print(file=out)
        table([[k, v] for k, v in result.rows()], ["challenge", "result"], out)
    for f in election_findings:
        print(f"{f.severity}: {f.code}: {f.message}", file=out)
    return ExitStatus.OK if ok else ExitStatus.PROBLEM_FOUND
