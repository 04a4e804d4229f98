"""Pre-flight verdicts for ``mdiag doctor``: will joins and streams on this interface work?

Pure: the adapter gathers :class:`HostFacts` (flags, routes, sysctls, /proc) and this module
judges them. A planned IPv6 group (``family`` 6) gets the MLD checks instead of the IGMP ones:
IPv6 enabled with a link-local address (the source of MLD reports, RFC 3810 5.2.13), the
ff00::/8 route, memberships per socket against ``net.core.optmem_max``, sources against
``net.ipv6.mld_max_msf``, the MLD version in force (``force_mld_version``), SSM in ff3x::/32. Each check gives one :class:`Verdict` (ok / info / warn / fail) with the reason
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


_SEVERITY_OF = {Status.INFO: Severity.INFO, Status.WARN: Severity.WARNING, Status.FAIL: Severity.ERROR}


@dataclass(frozen=True, slots=True)
class Verdict:
    """The outcome of one check: stable ``check`` name, status, what was seen, how to fix it."""

    check: str
    status: Status
    message: str
    fix: str | None = None
    rfc: str | None = None

    @property
    def severity(self) -> Severity | None:
        """The finding severity of this verdict (info, warning, error), None when it is ok:
        what ``doctor --fail-on`` compares."""
        return _SEVERITY_OF.get(self.status)

    def finding(self) -> Finding | None:
        """A finding for warn/fail verdicts (code ``doctor-<check>``), None otherwise."""
        severity = self.severity
        if severity is None or self.status < Status.WARN:
            return None
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
    #: 6 when the planned group is IPv6: the MLD checks replace the IGMP ones
    family: int = 4
    ipv6: tuple[str, ...] = ()
    ipv6_disabled: bool | None = None
    force_mld_version: int = 0
    max_msf6: int = 64
    optmem_max: int | None = None
    mld_memberships_now: int = 0
    mc_forwarding6: int = 0

    def __post_init__(self) -> None:
        if self.planned_groups < 0:
            raise ValueError(f"planned groups must be >= 0, not {self.planned_groups}")
        if self.rp_filter not in (0, 1, 2):
            raise ValueError(f"rp_filter is 0, 1 or 2, not {self.rp_filter}")


def _is_ssm(group: str | None) -> bool:
    """232/8 or ff3x::/32 (RFC 4607 1)."""
    if not group:
        return False
    from mdiag.core.addresses import is_ssm

    return is_ssm(group.partition("%")[0])


#: Option memory one IPv6 membership takes from ``net.core.optmem_max`` (struct ipv6_mc_socklist,
#: measured on Linux 6.x x86-64: 131072 bytes held 2,340 joins on one socket, ENOMEM at the next).
IPV6_MEMBERSHIP_BYTES = 56


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
    if f.family == 6:
        return tuple(v + _evaluate6(f))
    v.append(_multicast_flag(f))
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
    v.extend(_plan_checks(f))
    return tuple(v)


def _plan_checks(f: HostFacts) -> list[Verdict]:
    """The checks both families end with: SSM without a source, wildcard sockets, forwarding."""
    v6 = f.family == 6
    v: list[Verdict] = []
    if f.group is not None and _is_ssm(f.group) and not f.sources:
        v.append(Verdict("ssm-source", Status.WARN,
                         f"{f.group} is in the SSM range {'ff3x::/32' if v6 else '232/8'} but no --source "
                         "is planned: SSM routers ignore any-source joins there", "give --source S",
                         "RFC 4607 1"))
    v.append(_multicast_all(f))
    if f.mc_forwarding6 if v6 else f.mc_forwarding:
        v.append(Verdict("mc-forwarding", Status.INFO,
                         f"{'IPv6 ' if v6 else ''}multicast forwarding is on for {f.iface} (a routing daemon "
                         f"owns it): its {'MLD' if v6 else 'IGMP'} state comes from the daemon, not only "
                         "from this host's joins"))
    return v


def _multicast_flag(f: HostFacts) -> Verdict:
    if f.multicast:
        return Verdict("multicast-flag", Status.OK, f"{f.iface} has the MULTICAST flag")
    if f.loopback:
        return Verdict("multicast-flag", Status.WARN,
                       f"{f.iface} is loopback without the MULTICAST flag: joins work for local "
                       "delivery only", f"ip link set {f.iface} multicast on")
    return Verdict("multicast-flag", Status.FAIL,
                   f"{f.iface} lacks the MULTICAST flag: the NIC will not accept group frames",
                   f"ip link set {f.iface} multicast on")


def _evaluate6(f: HostFacts) -> list[Verdict]:
    """The IPv6/MLD checks, in the same order as the IPv4 ones."""
    v = [_multicast_flag(f), _ipv6_address(f)]
    if f.ipv6_disabled:
        return v  # nothing else can work
    v.append(_route6(f))
    v.append(_memberships6(f))
    if f.sources:
        n = len(f.sources)
        v.append(Verdict("max-msf", Status.OK if n <= f.max_msf6 else Status.WARN,
                         f"{n} source(s) per group fit net.ipv6.mld_max_msf = {f.max_msf6}" if n <= f.max_msf6
                         else f"{n} sources for one group exceed net.ipv6.mld_max_msf = {f.max_msf6}: a "
                              f"program adding them on one socket gets ENOBUFS at source {f.max_msf6 + 1} "
                              "(mdiag spreads them over sockets)",
                         None if n <= f.max_msf6 else
                         f"sysctl -w net.ipv6.mld_max_msf={n} (machine-wide, in the first namespace)"))
    v.append(Verdict("rp-filter", Status.OK, "IPv6 has no rp_filter: sources are not reverse-path "
                     "checked by the kernel (only by ip6tables rpfilter rules, if any)"))
    v.append(_mld_version(f))
    return v + _plan_checks(f)


def _ipv6_address(f: HostFacts) -> Verdict:
    if f.ipv6_disabled:
        return Verdict("ipv6-address", Status.FAIL,
                       f"IPv6 is disabled on {f.iface} (net.ipv6.conf.{f.iface}.disable_ipv6 = 1): no "
                       "IPv6 group can be joined or sent there",
                       f"sysctl -w net.ipv6.conf.{f.iface}.disable_ipv6=0")
    link_local = [a for a in f.ipv6 if a.lower().startswith("fe80")]
    if not link_local:
        return Verdict("ipv6-address", Status.FAIL,
                       f"{f.iface} has no IPv6 link-local address: MLD reports go out from :: , which "
                       "queriers and snooping switches ignore after DAD",
                       f"ip link set {f.iface} down; ip link set {f.iface} up (regenerates it), or "
                       f"ip addr add fe80::N/64 dev {f.iface}", "RFC 3810 5.2.13")
    return Verdict("ipv6-address", Status.OK, f"{f.iface} has {', '.join(f.ipv6)}")


def _route6(f: HostFacts) -> Verdict:
    fix = f"ip -6 route add multicast ff00::/8 dev {f.iface} table local"
    if f.route_iface is None:
        return Verdict("route", Status.WARN,
                       f"no IPv6 route for {f.route_probe}: a sender that does not name the interface "
                       "gets ENETUNREACH", fix)
    if f.route_iface == f.iface:
        return Verdict("route", Status.OK, f"{f.route_probe} routes via {f.iface} ({f.route_prefix})")
    return Verdict("route", Status.WARN,
                   f"{f.route_probe} routes via {f.route_iface} ({f.route_prefix}), not {f.iface}: "
                   "programs that do not set IPV6_MULTICAST_IF send there",
                   f"{fix} with a lower metric (mdiag itself always names the interface)")


def _memberships6(f: HostFacts) -> Verdict:
    if f.optmem_max is None:
        return Verdict("max-memberships", Status.INFO,
                       "net.core.optmem_max cannot be read here: IPv6 memberships per socket are "
                       "bounded by it (ENOMEM when it runs out)")
    fit = f.optmem_max // IPV6_MEMBERSHIP_BYTES
    if f.planned_groups <= fit:
        return Verdict("max-memberships", Status.OK,
                       f"{f.planned_groups} group(s) fit one socket (net.core.optmem_max = {f.optmem_max} "
                       f"bytes, about {IPV6_MEMBERSHIP_BYTES} per IPv6 membership: about {fit:,})")
    need = f.planned_groups * IPV6_MEMBERSHIP_BYTES
    return Verdict("max-memberships", Status.WARN,
                   f"{f.planned_groups} groups exceed what net.core.optmem_max = {f.optmem_max} bytes holds "
                   f"on one socket (about {fit:,} IPv6 memberships): a program joining them on one "
                   "socket gets ENOMEM (mdiag spreads them over sockets)",
                   f"sysctl -w net.core.optmem_max={need}")


def _mld_version(f: HostFacts) -> Verdict:
    wants_v2 = bool(f.sources) or _is_ssm(f.group)
    if f.force_mld_version == 1:
        text = f"MLD is forced to v1 on {f.iface} (net.ipv6.conf.*.force_mld_version = 1)"
        if wants_v2:
            return Verdict("mld-version", Status.FAIL,
                           text + ": source-specific joins cannot be reported, the network sees (*,G)",
                           f"sysctl -w net.ipv6.conf.{f.iface}.force_mld_version=0 and "
                           "net.ipv6.conf.all.force_mld_version=0", "RFC 4604 2.2")
        return Verdict("mld-version", Status.INFO, text)
    if f.force_mld_version == 2:
        return Verdict("mld-version", Status.OK,
                       f"MLD is forced to v2 on {f.iface}: an MLDv1-only querier will not see this "
                       "host's joins", None, "RFC 3810 8.2.1")
    text = (f"{f.iface} uses MLDv2 unless an MLDv1 querier is heard (the kernel then falls back, "
            "RFC 3810 8.2.1; /proc does not show it, a capture of the link's queries does)")
    return Verdict("mld-version", Status.OK, text)


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
    wildcard, option = ("[::]", "IPV6_MULTICAST_ALL") if f.family == 6 else ("0.0.0.0", "IP_MULTICAST_ALL")
    if f.port is not None and f.wildcard_port_sockets:
        return Verdict("multicast-all", Status.WARN,
                       f"{f.wildcard_port_sockets} socket(s) here are bound to {wildcard}:{f.port}: with "
                       f"{option} = 1 (the default) they also receive every group any program "
                       "joins on this host",
                       f"bind those receivers to the group address or set {option} to 0 "
                       "(mdiag's receivers do both)")
    return Verdict("multicast-all", Status.OK,
                   "no wildcard-bound socket shares the port" if f.port is not None else
                   f"mdiag's receivers bind to the group and set {option} = 0; other "
                   f"programs bound to {wildcard} get every group joined on the host")


def overall(verdicts: tuple[Verdict, ...] | list[Verdict]) -> Status:
    """The worst status among ``verdicts`` (OK when empty)."""
    return max((x.status for x in verdicts), default=Status.OK)
