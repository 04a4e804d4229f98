"""``mdiag querier``: who is the IGMP (``--mld``: MLD) querier on this link, and is it behaving?

Listens passively on one named interface, reports the elected querier (address, MAC,
version, max response time, QRV, QQI, S flag), other routers and proxy queriers, the
measured query interval, and a pass/fail verdict per rule (docs/active.md).
``--challenge SRC --force`` also tests the election by querying from a lower address.
"""

from __future__ import annotations

import argparse
import ipaddress
from typing import Any

from mdiag.cli import options
from mdiag.cli.environment import Environment
from mdiag.errors import ExitStatus, UsageError

HELP = ("identify the IGMP or MLD (--mld) querier on a link and check its compliance "
        "(passive; --challenge with --force)")

#: Hard upper bound of any wait, whatever the options say (as mdiag.probes.querier.MAX_WAIT).
MAX_WAIT = 3600.0


#: durations: 2, 2s, 500ms, 1m (mdiag.cli.options)
_SECONDS = options.duration(MAX_WAIT)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    options.add_iface(parser, help="interface to listen (and send) on (required: never guessed)")
    options.add_json(parser)
    parser.add_argument("--mld", action="store_true",
                        help="the MLD querier (IPv6) instead of IGMP's; implied by an IPv6 --challenge "
                             "or --expect querier=")
    parser.add_argument("--wait", type=_SECONDS, default=30.0, metavar="T",
                        help="listen this long (default 30 s; cover two query intervals to measure one)")
    parser.add_argument("--queries", type=int, default=0, metavar="N",
                        help="stop early once N general queries from the querier were heard")
    parser.add_argument("--expect", action="append", default=[], metavar="KEY=VALUE",
                        help="assertion: querier=IP (throughout the watch; querier@end=IP at the end, querier@any=IP at some time, as analyze --expect), igmp-version=1|2|3 or mld-version=1|2 (repeatable); exit 1 if it fails")
    parser.add_argument("--query-interval", type=_SECONDS, metavar="S",
                        help="the query interval you configured (default: the querier's QQIC, or 125 s)")
    parser.add_argument("--challenge", type=options.address("198.18.0.2"), metavar="SRC",
                        help="test the election: send general queries from SRC (lower than the querier; "
                             "MLD: a link-local address such as fe80::1); needs --force")
    parser.add_argument("--challenge-for", type=_SECONDS, metavar="T",
                        help="how long to keep challenging (default: two query intervals)")
    parser.add_argument("--challenge-interval", type=_SECONDS, default=1.0, metavar="T",
                        help="seconds between challenge queries (default 1)")
    parser.add_argument("--force", action="store_true",
                        help="allow disruptive actions (--challenge takes over the querier role)")


def _parse_expect(items: list[str], family: int,
                  warn: Any = None) -> tuple[str | None, str, int | None]:
    """querier[@end|@any|@throughout]=IP and igmp-version=N / mld-version=N, the keys and
    qualifiers ``analyze --expect`` uses too (querier=IP: throughout the watch); the old
    ``version=N`` still works, with a notice through ``warn``."""
    from mdiag.core.querier import QUERIER_WHEN

    protocol, versions, told = (("MLD", ("1", "2"), "1 or 2") if family == 6
                                else ("IGMP", ("1", "2", "3"), "1, 2 or 3"))
    version_key = f"{protocol.lower()}-version"
    querier, when, version = None, "throughout", None
    for item in items:
        key, sep, value = item.partition("=")
        key, _, qualifier = key.strip().lower().partition("@")
        if qualifier:
            if key != "querier":
                raise UsageError(f"--expect {item!r}: only querier takes a time qualifier "
                                 "(querier@end=, querier@any=, querier@throughout=)")
            if qualifier not in QUERIER_WHEN:
                raise UsageError(f"--expect {item!r}: write querier@end=, querier@any= or querier@throughout=")
            when = QUERIER_WHEN[qualifier]
        if not sep:
            raise UsageError(f"--expect {item!r} is not KEY=VALUE (querier=IP or {version_key}=N)")
        if key == "querier":
            try:
                address = ipaddress.ip_address(value.strip())
            except ValueError:
                raise UsageError(f"--expect querier={value!r}: not an IP address") from None
            if address.version != family:
                raise UsageError(f"--expect querier={address} is IPv{address.version}, but the {protocol} "
                                 f"querier has an IPv{family} address")
            querier = str(address)
        elif key in (version_key, "version"):
            if key == "version" and warn is not None:
                warn(f"--expect version= is deprecated, use --expect {version_key}= (docs/cli-vocabulary.md); "
                     "the old spelling goes away in the next release")
            if value.strip() not in versions:
                raise UsageError(f"--expect {key}={value!r}: the {protocol} version is {told}")
            version = int(value)
        else:
            raise UsageError(f"--expect {key!r} is unknown: use querier=IP or {version_key}=N")
    return querier, when, version


def _family(args: argparse.Namespace) -> int:
    """6 with --mld, or when --challenge or --expect querier= names an IPv6 address."""
    if args.mld:
        return 6
    named = [args.challenge] if args.challenge else []
    named += [item.partition("=")[2] for item in args.expect if item.strip().lower().startswith("querier")]
    return 6 if any(":" in text for text in named) else 4


def options_from(args: argparse.Namespace, warn: Any = None) -> Any:
    """The probe's typed options from the command line."""
    from mdiag.probes.network import Endpoint
    from mdiag.probes.querier import QuerierOptions

    family = _family(args)
    expect_querier, expect_when, expect_version = _parse_expect(args.expect, family, warn)
    if args.challenge is not None:
        try:
            challenger = ipaddress.ip_address(args.challenge)
        except ValueError:
            raise UsageError(f"--challenge {args.challenge!r} is not an IP address") from None
        if challenger.version != family:
            raise UsageError(f"--challenge {challenger} is IPv{challenger.version}, but --mld asks for the "
                             "MLD querier (IPv6)")
        if int(challenger) == 0 or challenger.is_multicast:
            raise UsageError(f"--challenge {challenger} cannot be a querier address (unspecified or multicast)")
        if family == 6 and not challenger.is_link_local:
            raise UsageError(f"--challenge {challenger} is not link-local: MLD queries come from fe80::/10 "
                             "(RFC 3810 5.1.14); give e.g. fe80::1")
        if not args.force:
            raise UsageError("--challenge takes the querier role away from the current querier for a "
                             "while: add --force to confirm")
    if args.queries < 0:
        raise UsageError("--queries must be 0 or more")
    return QuerierOptions(Endpoint(args.iface, args.netns), wait=args.wait, queries=args.queries,
                          expect_querier=expect_querier, expect_querier_when=expect_when,
                          expect_version=expect_version,
                          query_interval=args.query_interval, challenge=args.challenge,
                          challenge_for=args.challenge_for, challenge_interval=args.challenge_interval,
                          family=family)


def run(args: argparse.Namespace, env: Environment) -> ExitStatus:
    options = options_from(args, env.warn)
    from mdiag.adapters.network import LiveNetwork
    from mdiag.probes import querier

    return _render(querier.run(options, LiveNetwork()), env, args.json)


def _fmt_s(value: float | None) -> str:
    return "-" if value is None else f"{value:g} s"


def _render(result: Any, env: Environment, as_json: bool) -> ExitStatus:
    from mdiag.cli.render import emit_json, table
    from mdiag.core.compliance import Status

    o = result.options
    report = result.compliance
    if as_json:
        emit_json(result.to_json(), env.stdout, "querier")
    if not result.heard:
        env.error(f"no {o.protocol} query heard on {o.at.iface} within {o.wait:g} s: no querier on this "
                  "link, or listen longer (--wait)")
        return ExitStatus.BAD_INPUT
    if as_json:
        return ExitStatus.OK if result.ok else ExitStatus.PROBLEM_FOUND
    out = env.stdout
    rows = []
    for role, info in ([("querier", report.elected)] if report.elected else []) + \
            [("other router", x) for x in report.others] + [("proxy", p) for p in report.proxies]:
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
    if result.challenge is not None:
        print(file=out)
        table([[k, v] for k, v in result.challenge.rows()], ["challenge", "result"], out)
    for f in result.election_findings:
        print(f"{f.severity}: {f.code}: {f.message}", file=out)
    return ExitStatus.OK if result.ok else ExitStatus.PROBLEM_FOUND
