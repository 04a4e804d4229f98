"""Pre-flight verdicts for ``mdiag doctor``: will joins and streams on this interface work?

Pure: the adapter gathers :class:`HostFacts` (flags, routes, sysctls, /proc) and this module
judges them. Each check gives one :class:`Verdict` (ok / info / warn / fail) with the reason
and the fix; problems also become :class:`~mdiag.core.findings.Finding` values.
"""

from __future__ import annotations

import enum
import math
from dataclasses import dataclass, field
from typing import Any

from mdiag.core.findings import Finding, Severity


class Status(enum.IntEnum):
    OK = 0
    INFO = 1
    WARN = 2
    FAIL = 3

    def __str__(self) -> str:
        return self.name.lower()


@dataclass(frozen=True, slots=True)
class Verdict:
    """The outcome of one check: stable ``check`` name, status, what was seen, how to fix it."""

    check: str
    status: Status
    message: str
    fix: str | None = None
    rfc: str | None = None

    def finding(self) -> Finding | None:
        """A finding for warn/fail verdicts (code ``doctor-<check>``), None otherwise."""
        if self.status < Status.WARN:
            return None
        severity = Severity.ERROR if self.status == Status.FAIL else Severity.WARNING
        text = self.message + (f"; fix: {self.fix}" if self.fix else "")
        return Finding(f"doctor-{self.check}", severity, text, rfc=self.rfc)

    def to_json(self) -> dict[str, Any]:
        body: dict[str, Any] = {"check": self.check, "status": str(self.status),
                                "message": self.message}
        if self.fix:
            body["fix"] = self.fix
        if self.rfc:
            body["rfc"] = self.rfc
        return body


@dataclass(frozen=True, slots=True)
class HostFacts:
    """What the adapter found about one interface and the user's plan.

    ``route_iface``/``route_prefix``: the route the kernel would use for ``route_probe``
    (the planned group, else 224.0.0.1); ``route_prefix`` is a CIDR from the main table, or
    text naming the policy rule or table that decided. ``source_routes``: source -> interface of the
    route back to it (None: no route). ``igmp_version``: V1/V2/V3 in force from
    /proc/net/igmp. ``wildcard_port_sockets``: sockets bound to 0.0.0.0 on the planned port.
    """

    iface: str
    exists: bool
    interfaces: tuple[str, ...] = ()
    up: bool = False
    multicast: bool = False
    loopback: bool = False
    ipv4: tuple[str, ...] = ()
    route_probe: str = "224.0.0.1"
    route_iface: str | None = None
    route_prefix: str | None = None
    max_memberships: int = 20
    max_msf: int = 10
    rp_filter: int = 0
    force_igmp_version: int = 0
    igmp_version: str | None = "V3"
    mc_forwarding: int = 0
    memberships_now: int = 0
    planned_groups: int = 1
    group: str | None = None
    sources: tuple[str, ...] = ()
    source_routes: dict[str, str | None] = field(default_factory=dict)
    port: int | None = None
    wildcard_port_sockets: int = 0

    def __post_init__(self) -> None:
        if self.planned_groups < 0:
            raise ValueError(f"planned groups must be >= 0, not {self.planned_groups}")
        if self.rp_filter not in (0, 1, 2):
            raise ValueError(f"rp_filter is 0, 1 or 2, not {self.rp_filter}")


def _is_ssm(group: str | None) -> bool:
    return bool(group) and group.split(".")[0] == "232"  # type: ignore[union-attr]


def evaluate(f: HostFacts) -> tuple[Verdict, ...]:
    """Every check, in a fixed order. A missing interface stops after the first verdict."""
    v: list[Verdict] = []
    if not f.exists:
        names = ", ".join(f.interfaces) or "none"
        return (Verdict("interface", Status.FAIL, f"no interface {f.iface!r} here",
                        f"use one of: {names}"),)
    v.append(Verdict("interface", Status.OK if f.up else Status.FAIL,
                     f"{f.iface} is {'up' if f.up else 'down'}",
                     None if f.up else f"ip link set {f.iface} up"))
    if f.multicast:
        v.append(Verdict("multicast-flag", Status.OK, f"{f.iface} has the MULTICAST flag"))
    elif f.loopback:
        v.append(Verdict("multicast-flag", Status.WARN,
                         f"{f.iface} is loopback without the MULTICAST flag: joins work for local "
                         "delivery only", f"ip link set {f.iface} multicast on"))
    else:
        v.append(Verdict("multicast-flag", Status.FAIL,
                         f"{f.iface} lacks the MULTICAST flag: the NIC will not accept group frames",
                         f"ip link set {f.iface} multicast on"))
    if f.ipv4:
        v.append(Verdict("ipv4-address", Status.OK, f"{f.iface} has {', '.join(f.ipv4)}"))
    else:
        v.append(Verdict("ipv4-address", Status.WARN,
                         f"{f.iface} has no IPv4 address: IGMP reports go out from 0.0.0.0, which "
                         "some queriers and snooping switches ignore",
                         f"ip addr add ADDRESS/LEN dev {f.iface}", "RFC 3376 4.2.13"))
    v.append(_route(f))
    v.append(_memberships(f))
    if f.sources:
        v.append(_msf(f))
    v.append(_rp_filter(f))
    v.append(_igmp_version(f))
    if f.group is not None and _is_ssm(f.group) and not f.sources:
        v.append(Verdict("ssm-source", Status.WARN,
                         f"{f.group} is in the SSM range 232/8 but no --source is planned: SSM "
                         "routers ignore any-source joins there", "give --source S", "RFC 4607 1"))
    v.append(_multicast_all(f))
    if f.mc_forwarding:
        v.append(Verdict("mc-forwarding", Status.INFO,
                         f"multicast forwarding is on for {f.iface} (a routing daemon owns it): "
                         "its IGMP state comes from the daemon, not only from this host's joins"))
    return tuple(v)


def _route(f: HostFacts) -> Verdict:
    if f.route_iface is None:
        return Verdict("route", Status.WARN,
                       f"no route for {f.route_probe}: a sender that does not name the interface "
                       "gets ENETUNREACH", f"ip route add 224.0.0.0/4 dev {f.iface}")
    if f.route_iface == f.iface:
        return Verdict("route", Status.OK, f"{f.route_probe} routes via {f.iface} ({f.route_prefix})")
    fix = f"ip route add 224.0.0.0/4 dev {f.iface}"
    if f.route_prefix and "/" not in f.route_prefix:  # a policy rule or another table decided
        fix = f"find the rule with ip rule and ip route show table all, then route 224.0.0.0/4 to {f.iface} there"
    return Verdict("route", Status.WARN,
                   f"{f.route_probe} routes via {f.route_iface} ({f.route_prefix}), not {f.iface}: "
                   "programs that do not set IP_MULTICAST_IF send and join there",
                   f"{fix} (mdiag itself always names the interface)")


def _memberships(f: HostFacts) -> Verdict:
    limit = f.max_memberships
    if limit <= 0:
        return Verdict("max-memberships", Status.FAIL,
                       f"net.ipv4.igmp_max_memberships = {limit}: no socket may join any group",
                       "sysctl -w net.ipv4.igmp_max_memberships=20")
    if f.planned_groups <= limit:
        return Verdict("max-memberships", Status.OK,
                       f"{f.planned_groups} group(s) fit one socket (net.ipv4.igmp_max_memberships = {limit})")
    sockets = math.ceil(f.planned_groups / limit)
    return Verdict("max-memberships", Status.WARN,
                   f"{f.planned_groups} groups exceed net.ipv4.igmp_max_memberships = {limit} per socket: "
                   f"a program joining them on one socket gets ENOBUFS at group {limit + 1} "
                   f"(mdiag spreads them over sockets; at least {sockets} needed)",
                   f"sysctl -w net.ipv4.igmp_max_memberships={f.planned_groups}")


def _msf(f: HostFacts) -> Verdict:
    n = len(f.sources)
    if n <= f.max_msf:
        return Verdict("max-msf", Status.OK,
                       f"{n} source(s) per group fit net.ipv4.igmp_max_msf = {f.max_msf}")
    return Verdict("max-msf", Status.WARN,
                   f"{n} sources for one group exceed net.ipv4.igmp_max_msf = {f.max_msf}: a "
                   f"program adding them on one socket gets ENOBUFS at source {f.max_msf + 1}",
                   f"sysctl -w net.ipv4.igmp_max_msf={n}")


def _rp_filter(f: HostFacts) -> Verdict:
    mode = {0: "off", 1: "strict", 2: "loose"}[f.rp_filter]
    if not f.sources:
        if f.rp_filter == 1:
            return Verdict("rp-filter", Status.INFO,
                           f"rp_filter is strict on {f.iface}: multicast from a source whose route "
                           f"back is not via {f.iface} is dropped before any socket sees it")
        return Verdict("rp-filter", Status.OK, f"rp_filter is {mode} on {f.iface}")
    bad: list[str] = []
    for source in f.sources:
        via = f.source_routes.get(source)
        if f.rp_filter == 1 and via != f.iface:
            bad.append(f"{source} (route via {via or 'nothing'})")
        elif f.rp_filter == 2 and via is None:
            bad.append(f"{source} (no route)")
    if bad:
        return Verdict("rp-filter", Status.FAIL,
                       f"rp_filter is {mode} on {f.iface}: traffic from {', '.join(bad)} will be "
                       "dropped by the reverse-path check",
                       f"add a route to the source via {f.iface}, or sysctl -w "
                       f"net.ipv4.conf.{f.iface}.rp_filter=2 (and conf.all.rp_filter below 1)")
    return Verdict("rp-filter", Status.OK,
                   f"rp_filter is {mode} on {f.iface}; routes back to the sources pass it")


def _igmp_version(f: HostFacts) -> Verdict:
    wants_v3 = bool(f.sources) or _is_ssm(f.group)
    if f.force_igmp_version in (1, 2):
        text = (f"IGMP is forced to v{f.force_igmp_version} on {f.iface} "
                f"(net.ipv4.conf.*.force_igmp_version = {f.force_igmp_version})")
        if wants_v3:
            return Verdict("igmp-version", Status.FAIL,
                           text + ": source-specific joins cannot be reported, the network sees (*,G)",
                           f"sysctl -w net.ipv4.conf.{f.iface}.force_igmp_version=0 and "
                           "net.ipv4.conf.all.force_igmp_version=0", "RFC 4604 2.2")
        return Verdict("igmp-version", Status.INFO, text)
    if f.igmp_version in ("V1", "V2"):
        text = (f"{f.iface} runs IGMP{f.igmp_version.lower()}: an older querier was heard and the "
                "host fell back")
        if wants_v3:
            return Verdict("igmp-version", Status.FAIL,
                           text + ": source filters are not reported until that querier goes",
                           "upgrade the querier to IGMPv3", "RFC 3376 7.2.1")
        return Verdict("igmp-version", Status.INFO, text, None, "RFC 3376 7.2.1")
    return Verdict("igmp-version", Status.OK, f"{f.iface} uses IGMPv3 (not forced)")


def _multicast_all(f: HostFacts) -> Verdict:
    if f.port is not None and f.wildcard_port_sockets:
        return Verdict("multicast-all", Status.WARN,
                       f"{f.wildcard_port_sockets} socket(s) here are bound to 0.0.0.0:{f.port}: with "
                       "IP_MULTICAST_ALL = 1 (the default) they also receive every group any program "
                       "joins on this host",
                       "bind those receivers to the group address or set IP_MULTICAST_ALL to 0 "
                       "(mdiag's receivers do both)")
    return Verdict("multicast-all", Status.OK,
                   "no wildcard-bound socket shares the port" if f.port is not None else
                   "mdiag's receivers bind to the group and set IP_MULTICAST_ALL = 0; other "
                   "programs bound to 0.0.0.0 get every group joined on the host")


def overall(verdicts: tuple[Verdict, ...] | list[Verdict]) -> Status:
    """The worst status among ``verdicts`` (OK when empty)."""
    return max((x.status for x in verdicts), default=Status.OK)
