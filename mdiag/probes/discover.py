"""Send a query, list every host that answered and what it reported (RFC 3376 5.2, RFC 2236 3).

General, group-specific or group-and-source-specific queries of IGMPv1/v2/v3, or (``family``
6) MLDv1/v2 general, multicast-address-specific and address-and-source-specific queries
(RFC 2710 3.6, RFC 3810 5.1.10) from a link-local source; each answer is
timed with kernel capture timestamps against the query's own capture time, ``repeat`` rounds
give response-time statistics (:func:`mdiag.core.discovery.discover` judges).
"""

from __future__ import annotations

import ipaddress
import time
from dataclasses import dataclass, field
from typing import Any

from mdiag.core.compliance import query_from_decoded
from mdiag.core.discovery import Discovery, Round, discover, heard_from_decoded
from mdiag.core.findings import Finding, Severity
from mdiag.core.igmp.frame import build_frame
from mdiag.core.igmp.ipv4 import IPv4Header
from mdiag.core.igmp.messages import V1Query, V2Query, V3Query, default_destination
from mdiag.errors import InputError
from mdiag.probes.frames import decode_membership
from mdiag.probes.network import Endpoint, Network

MAX_REPEAT = 100

_LABELS = {"v3-query": "general query", "v2-query": "general query", "v1-query": "general query",
           "v3-group-query": "group-specific query", "v2-group-query": "group-specific query",
           "v3-group-source-query": "group-and-source-specific query"}


def _address(text: str, what: str, family: int = 4) -> Any:
    try:
        address = ipaddress.ip_address(text.partition("%")[0])
    except ValueError:
        address = None
    if address is None or address.version != family:
        raise InputError(f"{what} {text!r} is not an IPv{family} address"
                         + (" (an IPv6 group or source makes this an MLD query: --version 1 or 2)"
                            if family == 4 and ":" in text else ""))
    return address


@dataclass(frozen=True, slots=True)
class DiscoverOptions:
    """The query to send (version, group, sources, Max Response Time) and how often."""

    at: Endpoint
    version: int = 3
    group: str | None = None
    sources: tuple[str, ...] = ()
    max_resp: float = 5.0
    margin: float = 0.5
    repeat: int = 1
    src: str | None = None

    #: 4: IGMP, 6: MLD
    family: int = 4

    def query(self) -> Any:
        """The query message these options describe (InputError when they contradict)."""
        if not 1 <= self.repeat <= MAX_REPEAT:
            raise InputError(f"--repeat must be 1..{MAX_REPEAT}")
        if self.family == 6:
            return self._mld_query()
        group = _address(self.group, "--group") if self.group else None
        if group is not None and not group.is_multicast:
            raise InputError(f"--group {group} is not a multicast address (224.0.0.0/4)")
        sources = [_address(s, "--source") for s in self.sources]
        if sources and group is None:
            raise InputError("--source needs --group: a source-specific query names its group (RFC 3376 4.1.9)")
        if sources and self.version != 3:
            raise InputError("--source needs --version 3: only IGMPv3 queries carry sources")
        if self.version == 1:
            if group is not None:
                raise InputError("IGMPv1 has no group-specific query; use --version 2 or 3")
            return V1Query()
        if self.version == 2:
            if not 0.1 <= self.max_resp <= 25.5:
                raise InputError("IGMPv2 max response time must be 0.1..25.5 s")
            return V2Query.from_seconds(self.max_resp, group or "0.0.0.0")
        if not 0 <= self.max_resp <= 3174.4:
            raise InputError("IGMPv3 max response time must be 0..3174.4 s")
        return V3Query.build(group=group or "0.0.0.0", sources=sources, max_resp_time=self.max_resp)

    def _mld_query(self) -> Any:
        """MLDv1 (RFC 2710 3) or MLDv2 (RFC 3810 5.1) general, address-specific or
        address-and-source-specific query."""
        from mdiag.core.mld import Mld1Query, Mld2Query

        group = _address(self.group, "--group", 6) if self.group else None
        if group is not None and not group.is_multicast:
            raise InputError(f"--group {group} is not a multicast address (ff00::/8)")
        sources = [_address(s, "--source", 6) for s in self.sources]
        if sources and group is None:
            raise InputError("--source needs --group: an address-and-source-specific query names its "
                             "address (RFC 3810 5.1.10)")
        if self.version not in (1, 2):
            raise InputError(f"MLD has versions 1 and 2, not {self.version}")
        if sources and self.version != 2:
            raise InputError("--source needs --version 2: only MLDv2 queries carry sources")
        if self.version == 1:
            if not 0.001 <= self.max_resp <= 65.535:
                raise InputError("MLDv1 maximum response delay must be 0.001..65.535 s")
            return Mld1Query(max_resp_delay=round(self.max_resp * 1000), group=group or "::")
        if not 0 <= self.max_resp <= 8387.584:
            raise InputError("MLDv2 maximum response delay must be 0..8387.584 s")
        return Mld2Query.build(group=group or "::", sources=sources, max_resp_ms=round(self.max_resp * 1000))

    @property
    def protocol(self) -> str:
        return "MLD" if self.family == 6 else "IGMP"


@dataclass
class DiscoverReport:
    """The hosts that answered, per round, with the findings."""

    options: DiscoverOptions
    query: Any
    source: str
    rounds: list[Round]
    result: Discovery
    findings: list[Finding] = field(default_factory=list)

    @property
    def max_resp(self) -> float:
        return float(getattr(self.query, "max_resp_time", 10.0))

    @property
    def window(self) -> float:
        return self.max_resp + self.options.margin

    @property
    def description(self) -> str:
        o = self.options
        label = _LABELS.get(self.query.kind, self.query.kind)
        if o.family == 6:
            label = ("address-and-source-specific query" if o.sources else
                     "multicast-address-specific query" if o.group else "general query")
        return (f"{o.protocol}v{self.query.version} {label} from {self.source}"
                + (f" for {o.group}" if o.group else "")
                + (f" sources {','.join(o.sources)}" if o.sources else ""))

    @property
    def ok(self) -> bool:
        return bool(self.result.hosts)

    def to_json(self) -> dict[str, Any]:
        body = self.result.to_json()
        body["findings"] = [f.to_json() for f in self.findings]
        return {"iface": self.options.at.iface, "netns": self.options.at.netns, "query": self.description,
                "max_resp": self.max_resp, **body}


def run(options: DiscoverOptions, network: Network) -> DiscoverReport:
    """Send the query ``repeat`` times and collect every answer within Max Response Time + margin."""
    message = options.query()
    family = options.family
    network.require_raw(f"sending {options.protocol} queries")
    capture = network.packet_socket(options.at, mld=True) if family == 6 else network.packet_socket(options.at)
    sender = None
    rounds: list[Round] = []
    extra: dict[str, Finding] = {}
    try:
        sender = network.packet_socket(options.at, send_only=True)
        mac = network.hardware_address(options.at)
        src_ip, frame = _query_frame(options, network, message, ":".join(f"{b:02x}" for b in mac))
        max_resp = float(getattr(message, "max_resp_time", 10.0))
        for _ in range(options.repeat):
            capture.drain()
            before = time.time_ns()
            sender.send(frame)
            query_ns: int | None = None
            heard = []
            for captured in capture.capture(time.monotonic() + max_resp + options.margin):
                got = decode_membership(captured.frame, family)
                if got is None:
                    continue
                decoded, sender_mac = got
                if captured.outgoing:
                    if query_ns is None and captured.frame == frame:
                        query_ns = captured.ts_ns
                    continue
                h = heard_from_decoded(captured.ts_ns, decoded, sender_mac)
                if h is not None:
                    heard.append(h)
                    continue
                q = query_from_decoded(captured.time, decoded, sender_mac)
                if q is not None and q.general and q.source not in ("0.0.0.0", "::", str(src_ip)) \
                        and ipaddress.ip_address(q.source) > src_ip:
                    finding = Finding(
                        "discover-took-over-querier", Severity.WARNING,
                        f"the querier {q.source} has a higher address than this query's source "
                        f"{src_ip}: it stops querying for its Other Querier Present Interval; use a "
                        "--src above it to leave the election alone",
                        "RFC 3810 7.6.2" if family == 6 else "RFC 3376 6.6.2")
                    extra.setdefault(finding.message, finding)
            rounds.append(Round(query_ns or before, max_resp, tuple(heard), group=options.group,
                                sources=tuple(options.sources), version=message.version))
    finally:
        capture.close()
        if sender is not None:
            sender.close()
    result = discover(rounds, own_addresses={str(src_ip)})
    return DiscoverReport(options, message, str(src_ip), rounds, result,
                          [*result.findings, *extra.values()])


def _query_frame(options: DiscoverOptions, network: Network, message: Any, mac: str) -> tuple[Any, bytes]:
    """(source address, the whole Ethernet frame) of the query: IGMP from the interface's IPv4
    address, MLD from its link-local address (RFC 3810 5.1.14), unless ``--src`` says."""
    if options.family == 6:
        from mdiag.core.mld import IPv6Header
        from mdiag.core.mld import build_frame as build_mld_frame
        from mdiag.core.mld import default_destination as mld_destination

        src = options.src or network.ipv6_link_local(options.at)
        if src is None:
            raise InputError(f"{options.at.iface} has no IPv6 link-local address: give the query source "
                             "with --src fe80::N")
        src_ip = _address(src, "--src", 6)
        if not src_ip.is_link_local:
            raise InputError(f"--src {src_ip} is not link-local: hosts ignore MLD queries from any other "
                             "source (RFC 3810 5.1.14)")
        return src_ip, build_mld_frame(message, IPv6Header(src=src_ip, dst=mld_destination(message)), src_mac=mac)
    src = options.src or network.ipv4_address(options.at)
    if src is None:
        raise InputError(f"{options.at.iface} has no IPv4 address: give the query source with --src")
    src_ip = _address(src, "--src")
    return src_ip, build_frame(message, IPv4Header(src=src_ip, dst=default_destination(message)), src_mac=mac)
