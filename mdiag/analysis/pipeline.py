"""Capture -> link layer -> IGMP / MLD decode -> state machines -> :class:`Report`.

:func:`analyze` runs one pass over a capture in constant memory. Plain multicast
UDP (the bulk of a span-port capture) is counted by the reader itself per
(source, group) pair with a few byte comparisons and no object per frame
(:meth:`mdiag.adapters.capture.Capture.records` with ``multicast_udp``); other
frames come here, go through :func:`mdiag.core.linklayer.locate_ipv4`, and only
IGMP goes through the codec (:func:`mdiag.core.igmp.decode_ipv4`, each distinct
packet decoded once) and the per-segment
:class:`~mdiag.core.querier.QuerierTracker` and
:class:`~mdiag.core.membership.MembershipTable`. Data is then set against the
memberships (traffic without members, members without traffic, traffic that
stopped, join latency).

IPv6 frames (which :func:`~mdiag.core.linklayer.locate_ipv4` turns away, so the IPv4
path pays nothing for them) go through :func:`~mdiag.core.linklayer.locate_ipv6`:
MLD through :func:`mdiag.core.mld.decode_ipv6` into the same state machines, one per
segment and address family (RFC 3810 is RFC 3376 for IPv6), and multicast UDP to
ff00::/8 is data per IPv6 group. Neighbour discovery and other ICMPv6 is skipped on
its type byte without decoding.

Times in the report are seconds relative to the first frame of the capture
(``Report.start_ns`` gives the absolute start).
"""

from __future__ import annotations

import bisect
import itertools
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from ipaddress import IPv4Address, IPv4Network, IPv6Address
from typing import Any

from mdiag.analysis.history import History
from mdiag.analysis.report import DataStats, Event, Report, SegmentReport, querier_spans
from mdiag.core.findinglog import FindingLog
from mdiag.core.findings import Finding, Severity
from mdiag.core.igmp import MalformedPacket, complete_records, decode_ipv4
from mdiag.core.igmp.messages import (
    UnknownMessage,
    V1Query,
    V1Report,
    V2Leave,
    V2Query,
    V2Report,
    V3Query,
    V3Report,
)
from mdiag.core.linklayer import (
    NOT_IPV4,
    OK,
    TRUNCATED,
    Segment,
    locate_ipv4,
    locate_ipv6,
    unknown_linktype_finding,
)
from mdiag.core.mld import MLD_TYPES, MRD_TYPES, Mld1Done, Mld1Query, Mld1Report, Mld2Query, Mld2Report, NotMld
from mdiag.core.mld import decode_ipv6
from mdiag.core.membership import INCLUDE, MembershipTable, prepare
from mdiag.core.querier import QuerierTracker
from mdiag.core.timers import Profile, TimerSet

__all__ = ["AnalysisOptions", "Analyzer", "analyze"]

_QUERIES = frozenset((V1Query, V2Query, V3Query, Mld1Query, Mld2Query))
_REPORTS = frozenset((V1Report, V2Report, V2Leave, V3Report, Mld1Report, Mld1Done, Mld2Report))
_LEAVES = frozenset((V2Leave, Mld1Done))
_FULL_REPORTS = frozenset((V3Report, Mld2Report))
#: ICMPv6 types worth decoding: MLD and Multicast Router Discovery (the rest, neighbour
#: discovery above all, is skipped on its type byte).
_MLD_ICMP = frozenset(MLD_TYPES | MRD_TYPES)
_ETH_IPV4 = b"\x08\x00"
_ETH_IPV6 = b"\x86\xdd"
#: Distinct IGMP packets whose decoding is remembered (about 1 KB each).
DECODE_CACHE = 16384
#: Timeline events kept at most (the rest are counted).
TIMELINE_LIMIT = 50_000


@dataclass(frozen=True, slots=True)
class AnalysisOptions:
    """What to analyse and how.

    ``since``/``until`` are seconds relative to the first frame, or absolute
    epoch nanoseconds in ``since_ns``/``until_ns``. ``vlan``, ``groups`` and
    ``querier`` narrow the report (and the timeline) without changing the state
    machines' view of the segment.
    """

    profile: Profile = Profile.RFC3376
    vlan: int | None = None
    groups: frozenset[IPv4Address] = frozenset()
    querier: IPv4Address | None = None
    #: the links' IPv4 subnets, when known: reports from outside them are flagged
    #: (``report-source-off-subnet``); a pcapng's if_IPv4addr options add to them
    subnets: tuple[IPv4Network, ...] = ()
    since: float | None = None
    until: float | None = None
    since_ns: int | None = None
    until_ns: int | None = None
    timeline: bool = False
    #: called every few thousand frames with (bytes_read, frames_read)
    progress: Callable[[int, int], None] | None = None
    #: keep the time-resolved :class:`~mdiag.analysis.history.History` for pictures
    #: (``Report.history``); every data frame then goes through Python (rate bins)
    history: bool = False

    def __post_init__(self) -> None:
        if self.since is not None and self.until is not None and self.until < self.since:
            raise ValueError(f"--until {self.until} is before --since {self.since}")


@dataclass(slots=True)
class _SegmentState:
    segment: Segment
    name: str
    tracker: QuerierTracker
    table: MembershipTable
    family: int = 4
    igmp: int = 0
    #: reports per host in the current one-second window: host -> [window start, count]
    report_rate: dict[int, list[Any]] = field(default_factory=dict)
    #: when each reporting host was first heard (host -> time): a host heard before a
    #: general query was on the link to hear it (compat-newer-host)
    first_report: dict[int, float] = field(default_factory=dict)
    #: multicast routing protocols heard: (protocol, sender) -> [messages, first, last, kinds]
    routing: dict[tuple[str, int], list[Any]] = field(default_factory=dict)
    first: float | None = None
    last: float | None = None
    end: float = 0.0


def _mac_text(raw: bytes | None) -> str | None:
    if raw is None or len(raw) != 6:
        return None
    return raw.hex(":")


def _query_text(src: Any, msg: Any) -> str:
    kind = type(msg)
    if kind is Mld2Query or kind is Mld1Query:
        what = "general" if msg.is_general else (
            "address-and-source" if getattr(msg, "sources", ()) else "address-specific")
        extra = f", QRV {msg.qrv}, QQI {msg.qqi} s" + (", S" if msg.s_flag else "") if kind is Mld2Query else ""
        target = "" if msg.is_general else f" for {msg.group}"
        return f"{src}: MLDv{msg.version} {what} query{target} (MRT {msg.max_resp_time:g} s{extra})"
    if kind is V3Query:
        what = "general" if msg.is_general else ("group-and-source" if msg.sources else "group-specific")
        extra = f", QRV {msg.qrv}, QQI {msg.qqi} s" + (", S" if msg.s_flag else "")
        target = "" if msg.is_general else f" for {msg.group}"
        return f"{src}: IGMPv3 {what} query{target} (MRT {msg.max_resp_time:g} s{extra})"
    if kind is V2Query:
        target = "" if msg.is_general else f" for {msg.group}"
        return f"{src}: IGMPv2 {'general' if msg.is_general else 'group-specific'} query{target} (MRT {msg.max_resp_time:g} s)"
    return f"{src}: IGMPv1 query"


class _LiveSource:
    """What a report says about its source when frames are fed by hand (no capture file)."""

    def __init__(self, name: str, format: str) -> None:
        self.name = name
        self.format = format
        self.compression: str | None = None
        self.interfaces: list[Any] = []
        self.problems: list[Finding] = []


class Analyzer:
    """Incremental capture analysis: feed frames as they come, snapshot a :class:`Report`
    whenever needed. :func:`analyze` is a loop over it; ``mdiag monitor`` drives it live.

    ::

        analyzer = Analyzer(AnalysisOptions(), on_finding=print, on_event=print)
        analyzer.feed(frame_bytes, time_ns)          # Ethernet frame (linktype=1), epoch ns
        analyzer.feed(frame_bytes, time_ns, linktype=113, iface=1)
        analyzer.advance(now_ns)                     # no packet: timers still fire
        report = analyzer.report(now_ns)             # a snapshot; feeding may go on
        report = analyzer.report()                   # at the last frame's time

    Times are integer epoch nanoseconds, never going backwards; the report gives
    seconds relative to the first frame fed (``Report.start_ns``). Everything a
    frame does happens in :meth:`feed`: a new finding is passed to ``on_finding``
    (a :class:`~mdiag.core.findings.Finding`, first occurrence of its key; repeats are
    counted in the report), a timeline line to ``on_event`` (an
    :class:`~mdiag.analysis.report.Event`, also kept for the report when
    ``options.timeline``). :meth:`advance` brings every timer to ``now``: the
    elected querier that fell silent loses its role (RFC 3376 6.6.2), memberships
    expire (6.5), a query overdue is flagged, each dated when it happened.
    :meth:`report` then adds the judgements that need an end (no querier heard,
    an open gap, traffic that stopped, members without traffic) to the snapshot
    only, so a later snapshot judges afresh.

    State is per segment: :attr:`segments` maps ``(family, interface, link key)``
    to the segment's state, ``family`` being 4 (IGMP over IPv4) or 6 (MLD over IPv6),
    ``link key`` the VLAN tags or cooked-capture interface (see
    :class:`~mdiag.core.linklayer.Segment`). Each family of a segment has its own
    querier tracker and membership table, as routers keep them (RFC 3376, RFC 3810).

    ``source`` describes where the frames come from (an open capture, whose
    ``problems`` and ``interfaces`` the report includes); without one the report is
    named ``name`` with format ``format``.

    A capture's raw records go in faster through :meth:`feed_records` (the tuples of
    :meth:`mdiag.adapters.capture.Capture.records`; pass :attr:`reader_counts` to the
    reader so it counts plain multicast data itself). For a timeline, each segment's
    report carries structured values: ``querier_spans`` (who was querier from when to
    when, its last query, how its time ended), ``elections``, ``gaps``, per group
    ``expires`` (also for an ended membership) and ``member_spans`` (each host's
    membership interval), ``link_local`` traffic and ``multicast_routers`` by protocol.
    """

    def __init__(self, options: AnalysisOptions | None = None, *,
                 on_finding: Callable[[Finding], None] | None = None,
                 on_event: Callable[[Event], None] | None = None,
                 source: Any = None, name: str = "live", format: str = "live") -> None:
        self.options = options = options or AnalysisOptions()
        self.source = source if source is not None else _LiveSource(name, format)
        self.findings = FindingLog(on_new=on_finding)
        self.on_event = on_event
        self.segments: dict[tuple[int, int, tuple[int, ...]], _SegmentState] = {}
        self.events: list[Event] = []
        self.events_dropped = 0
        self.malformed = 0
        self.decoded: dict[bytes, Any] = {}
        self.timers = TimerSet(profile=options.profile)
        #: when what happened, for pictures (``options.history``), else None
        self.history = History() if options.history else None
        self._history_bins: dict[tuple[int, tuple[int, ...], bytes], Any] = {}
        #: Multicast UDP data counted by a capture reader itself (see
        #: :meth:`~mdiag.adapters.capture.Capture.records`): (src + dst) -> stats.
        self.reader_counts: dict[bytes, list[int]] = {}
        #: Multicast UDP data counted here: (interface, link key, src + dst) ->
        #: [packets, wire bytes, first ns, last ns].
        self.data: dict[tuple[int, tuple[int, ...], bytes], list[int]] = {}
        self.unknown_link: dict[int, tuple[int, int | None]] = {}
        self.t0: int | None = None
        self.last_ns = 0
        self.frames = 0
        self.bytes = 0
        self.non_ipv4 = 0
        self.fragments = 0
        self.truncated = 0
        self.igmp_frames = 0
        self.other_ipv4 = 0
        self.ipv6 = 0
        self.mld_frames = 0
        self.mld_malformed = 0
        #: multicast routing protocol messages (DVMRP, PIMv1/v2, mtrace, MRD)
        self.routing_messages = 0
        self._number = 0
        self._subnets: tuple[IPv4Network, ...] = tuple(options.subnets)
        self._subnet_ifaces = -1
        self._lo_ns = options.since_ns
        self._hi_ns = options.until_ns
        self._windowed = any(v is not None for v in (options.since, options.until, options.since_ns,
                                                      options.until_ns))

    @property
    def subnets(self) -> tuple[IPv4Network, ...]:
        """The links' IPv4 subnets when known: ``options.subnets`` and the capture
        interfaces' pcapng if_IPv4addr networks."""
        interfaces = getattr(self.source, "interfaces", ())
        if len(interfaces) != self._subnet_ifaces:
            self._subnet_ifaces = len(interfaces)
            nets = list(self.options.subnets)
            for interface in interfaces:
                nets += [IPv4Network(n) for n in getattr(interface, "ipv4_networks", ())]
            self._subnets = tuple(dict.fromkeys(nets))
        return self._subnets

    # -- segments ---------------------------------------------------------------------
    def segment(self, iface: int, key: tuple[int, ...], family: int = 4) -> _SegmentState:
        """The state of one segment and family, created on first use."""
        state = self.segments.get((family, iface, key))
        if state is None:
            seg = Segment.from_key(iface, key)
            name = str(seg)
            if family == 6:
                name += " (MLD)"
            tracker = QuerierTracker(self.timers, findings=self.findings, segment=name, family=family)
            sink = self._sink(name) if self.options.timeline or self.on_event else None
            history = self.history
            table = MembershipTable(lambda: tracker.timers, findings=self.findings, segment=name,
                                    on_event=sink, family=family,
                                    on_state=history.state_sink((family, name)) if history is not None else None)
            state = self.segments[(family, iface, key)] = _SegmentState(seg, name, tracker, table,
                                                                        family)
        return state

    def _event(self, event: Event) -> None:
        if self.on_event is not None:
            self.on_event(event)
        if not self.options.timeline:
            return
        if len(self.events) < TIMELINE_LIMIT:
            self.events.append(event)
        else:
            self.events_dropped += 1

    def _sink(self, name: str) -> Callable[[float, int | None, IPv4Address, str], None]:
        groups = self.options.groups
        querier = self.options.querier

        def sink(time: float, frame: int | None, group: IPv4Address, text: str) -> None:
            if groups and group not in groups:
                return
            if querier is not None and not groups:
                return
            self._event(Event(time, frame, name, str(group), text))
        return sink

    def querier_silence(self, seg: _SegmentState, elections: int, missed: int) -> None:
        """Tell in the story what the querier's silence did since the tracker had
        ``elections`` elections and ``missed`` missed queries (no packet marks either):
        a missed scheduled query, the querier role lost after OQPI (RFC 3376 6.6.2)."""
        tracker = seg.tracker
        if tracker.missed_queries != missed and tracker.last_missed is not None:
            querier, last, due = tracker.last_missed
            self.querier_event(seg, due, None, querier,
                               f"{querier} missed its scheduled general query (none since {last:.3f} s)",
                               every_group=True)
        for e in tracker.elections[elections:]:
            if e.querier is None and e.previous is not None:
                self.querier_event(seg, e.time, e.frame, e.previous, f"no querier: {e.reason}",
                                   every_group=True)

    def querier_event(self, seg: _SegmentState, time: float, frame: int | None, src: IPv4Address,
                      text: str, *, every_group: bool = False) -> None:
        """A line of the querier's story; ``every_group``: one that decides every group's
        fate (who is querier, its silence), kept when ``--group`` narrows the story."""
        opts = self.options
        if opts.groups and opts.querier is None and not every_group:
            return
        if opts.querier is not None and src != opts.querier:
            return
        self._event(Event(time, frame, seg.name, None, text))

    # -- input ------------------------------------------------------------------------
    def feed(self, frame: bytes, time_ns: int, *, linktype: int = 1, iface: int = 0,
             orig_len: int | None = None) -> None:
        """Analyse one frame captured at ``time_ns`` (epoch nanoseconds) on capture
        interface ``iface`` with link type ``linktype`` (1 Ethernet, 113 Linux
        cooked, 276 SLL2, 101 raw IP...). ``orig_len`` is its length on the wire
        when the capture cut it (default: ``len(frame)``)."""
        self._number += 1
        size = len(frame)
        self.feed_records(((self._number, time_ns, linktype, iface, frame, 0, size,
                            size if orig_len is None else orig_len, None),))

    def feed_records(self, records: Iterable[tuple[int, int | None, int, int, bytes, int, int, int,
                                                   int | None]]) -> None:
        """Analyse capture records as :meth:`mdiag.adapters.capture.Capture.records`
        yields them: ``(number, time_ns or None, linktype, interface, buf, start,
        caplen, orig_len, file offset)``, the frame being ``buf[start:start + caplen]``.
        A record without a time (pcapng Simple Packet Block) takes the previous one."""
        options = self.options
        records = iter(records)
        if self.t0 is None:
            first = next(records, None)
            if first is None:
                return
            t0 = first[1] if first[1] is not None else 0
            self.t0 = t0
            self.last_ns = t0
            if options.since is not None:
                self._lo_ns = t0 + int(options.since * 1e9)
            if options.until is not None:
                self._hi_ns = t0 + int(options.until * 1e9)
            records = itertools.chain((first,), records)
        t0 = self.t0
        data = self.data
        frames = slow_bytes = non_ipv4 = fragments = truncated = igmp_frames = other_ipv4 = 0
        last_ns = self.last_ns
        windowed = self._windowed
        lo_ns = self._lo_ns
        hi_ns = self._hi_ns
        locate = locate_ipv4
        plans = self.decoded
        segments = self.segments
        vlan = options.vlan
        history = self.history
        history_bins = self._history_bins
        try:
            for number, t_ns, lt, iface, buf, s, cap, orig, off in records:
                if t_ns is None:  # pcapng Simple Packet Block: no timestamp, use the previous one
                    t_ns = last_ns
                if windowed and ((lo_ns is not None and t_ns < lo_ns)
                                 or (hi_ns is not None and t_ns > hi_ns)):
                    continue
                last_ns = t_ns
                frames += 1
                slow_bytes += orig
                if lt == 1 and cap >= 34 and buf[s + 12:s + 14] == _ETH_IPV4 and buf[s + 14] >> 4 == 4:
                    ip = s + 14         # untagged Ethernet: no call needed
                    key: tuple[int, ...] = ()
                    mac = buf[s + 6:s + 12]
                elif lt == 1 and buf[s + 12:s + 14] == _ETH_IPV6:
                    non_ipv4 += 1       # untagged IPv6: straight to the MLD / IPv6 data path
                    self._ipv6(number, t_ns, lt, iface, buf, s, cap, orig)
                    continue
                else:
                    loc = locate(lt, buf, s, cap)
                    status = loc[0]
                    if status != OK:
                        if status == NOT_IPV4:
                            non_ipv4 += 1
                            self._ipv6(number, t_ns, lt, iface, buf, s, cap, orig)
                        elif status == TRUNCATED:
                            truncated += 1
                        elif lt not in self.unknown_link:
                            self._unknown_linktype(lt, number, off)
                        continue
                    ip = loc[1]
                    key = loc[2]
                    mac = loc[3]
                if (buf[ip + 6] & 0x3F) or buf[ip + 7]:
                    fragments += 1
                    continue
                proto = buf[ip + 9]
                if proto == 17:
                    if 224 <= buf[ip + 16] <= 239:
                        dkey = (iface, key, buf[ip + 12:ip + 20])
                        stats = data.get(dkey)
                        if stats is None:
                            data[dkey] = [1, orig, t_ns, t_ns]
                        else:
                            stats[0] += 1
                            stats[1] += orig
                            stats[3] = t_ns
                        if history is not None:   # pictures: packets per time bin, no object per frame
                            bins = history_bins.get(dkey)
                            if bins is None:
                                bins = history_bins[dkey] = _history_bins(history, iface, key, dkey[2][4:])
                            index = (t_ns - t0) // history.bin_ns
                            if index < len(bins):
                                bins[index] += 1
                            else:
                                history.count(bins, (t_ns - t0) / 1e9)
                    else:
                        other_ipv4 += 1
                    continue
                if proto != 2:
                    other_ipv4 += 1
                    if proto == 103 and cap - (ip - s) >= ((buf[ip] & 0x0F) << 2) + 4:
                        _pim(self, (t_ns - t0) / 1e9, iface, key, buf, ip)
                    continue
                # ---- IGMP: through the codec and the state machines -----------------------
                igmp_frames += 1
                packet = buf[ip:s + cap]
                plan = plans.get(packet)
                if (plan is not None and plan[1] is not None and not plan[5] and vlan is None
                        and not self._subnets):
                    seg = segments.get((4, iface, key))
                    qv = seg.tracker.querier_version if seg is not None else None
                    if seg is not None and (qv is None or (qv == 3 and not plan[4])
                                            or (qv < 3 and type(plan[0].message) is not V3Report)):
                        # Fast path, a special case of _igmp (same steps, in the same order): a
                        # report or leave heard before (plan cached) that the decoder found
                        # nothing wrong with, on a segment already known, and not a v1/v2 report
                        # to an IGMPv3 querier (compat-older-host) nor a v3 report to an
                        # older one (compat-newer-host).
                        t = (t_ns - t0) / 1e9
                        seg.igmp += 1
                        if seg.first is None:   # a malformed packet may have made the segment
                            seg.first = t
                        seg.last = t
                        window = seg.report_rate.get(plan[3])
                        if window is None or t - window[0] >= 1.0:
                            seg.report_rate[plan[3]] = [t, 1]
                        else:
                            window[1] += 1
                            if window[1] == REPORT_FLOOD + 1:
                                _report_flood(self, seg, plan[2], window, number)
                        seg.table.report_records(t, number, plan[2], plan[3], plan[1])
                        if history is not None:
                            _history_records(history, seg, t, plan[3], plan[1])
                        continue
                _igmp(self, number, (t_ns - t0) / 1e9, iface, key, packet, mac, orig > cap)
        finally:
            self.last_ns = last_ns
            self.frames += frames
            self.bytes += slow_bytes
            self.non_ipv4 += non_ipv4
            self.fragments += fragments
            self.truncated += truncated
            self.igmp_frames += igmp_frames
            self.other_ipv4 += other_ipv4

    def _ipv6(self, number: int, t_ns: int, lt: int, iface: int, buf: bytes, s: int, cap: int,
              orig: int) -> None:
        """A frame that is not IPv4: MLD into the family 6 state machines, multicast UDP to
        ff00::/8 into the data counts, anything else counted and skipped."""
        loc = locate_ipv6(lt, buf, s, cap)
        if loc[0] != OK:
            return
        ip = loc[1]
        key = loc[2]
        self.ipv6 += 1
        nxt = buf[ip + 6]
        if nxt == 17:
            if buf[ip + 24] == 0xFF:
                dkey = (iface, key, buf[ip + 8:ip + 40])
                stats = self.data.get(dkey)
                if stats is None:
                    self.data[dkey] = [1, orig, t_ns, t_ns]
                else:
                    stats[0] += 1
                    stats[1] += orig
                    stats[3] = t_ns
                history = self.history
                if history is not None:   # pictures: packets per time bin
                    bins = self._history_bins.get(dkey)
                    if bins is None:
                        bins = self._history_bins[dkey] = _history_bins(history, iface, key, dkey[2][16:])
                    history.count(bins, (t_ns - (self.t0 or 0)) / 1e9)
            return
        end = s + cap
        # Skip ICMPv6 that is not MLD on its type byte, behind no header or one Hop-by-Hop
        # header of 8 bytes (what MLD senders use); longer chains go to the decoder.
        if nxt == 58:
            if ip + 40 < end and buf[ip + 40] not in _MLD_ICMP:
                return
        elif nxt == 0:
            if ip + 48 < end and buf[ip + 40] == 58 and buf[ip + 41] == 0 and buf[ip + 48] not in _MLD_ICMP:
                return
        elif nxt not in (43, 44, 60):   # Routing, Fragment (an atomic one is whole), Destination
            return
        if self.options.vlan is not None and self.options.vlan not in [k for k in key if k >= 0]:
            return
        packet = buf[ip:end]
        t = (t_ns - (self.t0 or 0)) / 1e9
        plan = self.decoded.get(packet)
        if plan is not None and plan[1] is not None and not plan[5] and not plan[4]:
            seg = self.segments.get((6, iface, key))
            if seg is not None and (seg.tracker.querier_version != 1 or type(plan[0].message) is not Mld2Report):
                # Fast path, a special case of _igmp as for IGMP: an MLD report heard before
                # with nothing to report, on a known segment, not an MLDv1 report, not an
                # MLDv2 report to an MLDv1 querier (compat-newer-host).
                self.mld_frames += 1
                seg.igmp += 1
                if seg.first is None:
                    seg.first = t
                seg.last = t
                seg.table.report_records(t, number, plan[2], plan[3], plan[1])
                return
        _igmp(self, number, t, iface, key, packet, loc[3], orig > cap, 6)

    def _unknown_linktype(self, lt: int, number: int, off: int | None) -> None:
        self.unknown_link[lt] = (number, off)
        self.findings.add(unknown_linktype_finding(lt, number, off), ("linktype", lt))

    def now(self) -> float:
        """Seconds from the first frame to the last one fed (0.0 before any)."""
        end_ns = self.last_ns
        counts = self.reader_counts
        if counts:
            end_ns = max(end_ns, max(v[3] for v in counts.values()))
        return (end_ns - self.t0) / 1e9 if self.t0 is not None else 0.0

    def _relative(self, now_ns: int | None) -> float:
        if now_ns is None or self.t0 is None:
            return self.now()
        return max((now_ns - self.t0) / 1e9, self.now())

    def advance(self, now_ns: int) -> None:
        """Bring every segment's timers to ``now_ns`` (epoch ns) although no frame came:
        the querier's silence and membership expiries fire, dated when they happened."""
        if self.t0 is None:
            return
        now = self._relative(now_ns)
        story = self.options.timeline or self.on_event is not None
        for seg in self.segments.values():
            tracker = seg.tracker
            told = (len(tracker.elections), tracker.missed_queries)
            tracker.advance(now)
            if story:
                self.querier_silence(seg, *told)
            seg.table.finish(now)

    def report(self, now_ns: int | None = None) -> Report:
        """A snapshot at ``now_ns`` (default: the last frame's time): the state so far plus
        the judgements that need an end (made on copies: feeding may go on)."""
        now = self._relative(now_ns)
        self.advance(self.t0 + int(round(now * 1e9)) if self.t0 is not None else 0)
        data = self._all_data()
        counters = {
            "frames": self.frames + sum(v[0] for v in self.reader_counts.values()),
            "bytes": self.bytes + sum(v[1] for v in self.reader_counts.values()),
            "non_ipv4": self.non_ipv4, "fragments": self.fragments,
            "truncated": self.truncated, "igmp": self.igmp_frames - self.ip2_routing(),
            "igmp_malformed": self.malformed, "multicast_routing": self.routing_messages,
            "other_ipv4": self.other_ipv4, "ipv6": self.ipv6, "mld": self.mld_frames,
            "mld_malformed": self.mld_malformed,
        }
        return _build_report(self, data, now, counters)

    def ip2_routing(self) -> int:
        """Routing protocol messages carried over IP protocol 2 (not IGMP proper)."""
        return sum(n for seg in self.segments.values() for (proto, _), (n, *_rest) in seg.routing.items()
                   if proto != "PIMv2")

    def _all_data(self) -> dict[tuple[int, tuple[int, ...], bytes], list[Any]]:
        """Data counted here and by the reader, merged per (interface, link key, pair)."""
        merged = {k: list(v) for k, v in self.data.items()}
        key0: tuple[int, tuple[int, ...], bytes]
        for pair, stats in self.reader_counts.items():
            if len(pair) == 12:   # Linux cooked v2: interface index first (the segment key)
                key0 = (0, (-int.from_bytes(pair[:4], "big") - 1,), pair[4:])
            else:
                key0 = (0, (), pair)
            other = merged.get(key0)
            if other is None:
                merged[key0] = list(stats)
            else:
                other[0] += stats[0]
                other[1] += stats[1]
                other[2] = min(other[2], stats[2])
                other[3] = max(other[3], stats[3])
        return merged


def analyze(capture: Any, options: AnalysisOptions | None = None) -> Report:
    """Analyse an open :class:`mdiag.adapters.capture.Capture` (or anything with the
    same ``records()``, ``problems``, ``name``, ``format`` attributes): one
    :class:`Analyzer` fed every record, reported at the last frame."""
    analyzer = Analyzer(options, source=capture)
    progress = analyzer.options.progress
    if progress is not None:
        capture.on_block = progress
    # Without a time window the reader counts plain multicast data itself (no tuple,
    # no object per frame); with one, every frame comes here to be timed.
    # (Pictures need every data frame's time too: ``options.history``.)
    whole = analyzer._windowed or analyzer.history is not None
    analyzer.feed_records(capture.records(None if whole else analyzer.reader_counts))
    report = analyzer.report()
    if progress is not None:
        progress(capture.bytes_read, report.counters["frames"])
    return report


def _igmp(run: Analyzer, number: int, t: float, iface: int, key: tuple[int, ...], packet: bytes,
          mac_raw: bytes | None, cut: bool = False, family: int = 4) -> None:
    """One IGMP (``family`` 4) or MLD (6) packet into its segment's state machines."""
    opts = run.options
    if opts.vlan is not None and (not key or opts.vlan not in [k for k in key if k >= 0]):
        return
    if family == 6:
        entry6 = run.decoded.get(packet)
        if entry6 is None:
            entry6 = _plan(packet)
            if len(run.decoded) >= DECODE_CACHE:   # bounded, as for IGMP
                run.decoded.clear()
            run.decoded[packet] = entry6
        if entry6[0] is None:   # ICMPv6 that is not MLD, or a fragment: not ours
            return
        run.mld_frames += 1
    seg = run.segments.get((family, iface, key)) or run.segment(iface, key, family)
    # Hosts repeat byte-identical reports (Linux sends IGMP with IP ID 0), so decoding
    # each distinct packet once is exact: a Decoded is an immutable value.
    cache = run.decoded
    entry = cache.get(packet)
    if entry is None:
        entry = cache[packet] = _plan(packet)
        if len(cache) > DECODE_CACHE:
            cache.clear()
            cache[packet] = entry
    decoded, records, src, h, older, findings = entry
    if src is None:             # only a cached MalformedPacket has no source
        if family == 6:
            _mld_malformed(run, seg, number, t, packet, decoded, cut)
            return
        if cut and (len(packet) < 20 or int.from_bytes(packet[2:4], "big") > len(packet)):
            _cut_by_capture(run, seg, number, t, packet)
            return
        error: Any = decoded
        run.malformed += 1
        run.findings.add(Finding(
            "igmp-malformed", Severity.ERROR,
            f"IGMP packet cannot be decoded: {error.message} on {seg.name}", "RFC 3376 4",
            error.offset, t, number, {"segment": seg.name}), ("malformed", seg.name, error.expected))
        return
    msg: Any = decoded.message
    if type(msg) is UnknownMessage and msg.raw[0] in ROUTING_TYPES:
        # Multicast routing protocols carried over IP protocol 2 (DVMRP, PIMv1, mtrace,
        # RFC 4286 MRD): routers on the segment, not IGMP membership traffic.
        protocol, what = ROUTING_TYPES[msg.raw[0]]
        run.routing_messages += 1
        _routing(seg, protocol, what, int(src), t)
        return
    seg.igmp += 1
    if seg.first is None:
        seg.first = t
    seg.last = t
    # Counted per sender and per kind of message, so a count describes every occurrence
    # (a sender's general queries and its group-specific ones are told apart).
    kind = (type(msg), getattr(msg, "is_general", None))
    for f in findings:
        fkey = (f.code, seg.name, h, kind)
        if run.findings.bump(fkey):
            continue
        context = dict(f.context)
        context["segment"] = seg.name
        context["source"] = str(src)
        run.findings.add(Finding(f.code, f.severity, f"{f.message} (from {src} on {seg.name})", f.rfc,
                                 f.offset, t, number, context), fkey)
    if records is not None:
        # A report or leave (the common case): its records were prepared when the
        # packet was first decoded (see _plan).
        if (older and seg.tracker.querier_version == (3 if family == 4 else 2)
                and not run.findings.bump(("compat", seg.name, h, int(msg.group)))):
            group = msg.group
            if family == 4:
                text = (f"{src} sends IGMPv{older} reports for {group} to an IGMPv3 querier "
                        f"({seg.tracker.elected}): the group falls back to v{older} compatibility mode, "
                        "source filtering is lost and leaves are slower (on " + seg.name + ")")
            else:
                text = (f"{src} sends MLDv1 reports for {group} to an MLDv2 querier "
                        f"({seg.tracker.elected}): the address falls back to MLDv1 compatibility mode, "
                        "source filtering is lost and dones are slower (on " + seg.name + ")")
            run.findings.add(Finding(
                "compat-older-host", Severity.WARNING, text,
                "RFC 3376 7.3.2" if family == 4 else "RFC 3810 8.3.2", None, t, number,
                {"segment": seg.name, "host": str(src), "group": str(group), "version": older}),
                ("compat", seg.name, h, int(group)))
        first = seg.first_report.setdefault(h, t)
        tracker = seg.tracker
        if (type(msg) in _FULL_REPORTS and tracker.querier_version is not None
                and tracker.querier_version < (3 if family == 4 else 2)
                and tracker.last_general_time is not None and first < tracker.last_general_time):
            _compat_newer_host(run, seg, family, src, h, t, number)
        window = seg.report_rate.get(h)
        if window is None or t - window[0] >= 1.0:
            seg.report_rate[h] = [t, 1]
        else:
            window[1] += 1
            if window[1] == REPORT_FLOOD + 1:
                _report_flood(run, seg, src, window, number)
        if run.subnets and family == 4 and h and not any(src in net for net in run.subnets):
            _off_subnet(run, seg, src, t, number)
        seg.table.report_records(t, number, src, h, records)
        if run.history is not None:
            _history_records(run.history, seg, t, h, records)
        return
    ip: Any = decoded.ip
    if type(msg) in _QUERIES:
        mac = _mac_text(mac_raw)
        tracker = seg.tracker
        told = (len(tracker.elections), tracker.missed_queries)
        tracker.observe(t, number, src, ip.dst, msg, mac)
        if run.history is not None:
            general = getattr(msg, "is_general", True)
            kind = "general" if general else ("group-source" if getattr(msg, "sources", ()) else "group")
            run.history.query((seg.family, seg.name), t, str(src), kind, None if general else str(msg.group))
        if opts.timeline or run.on_event is not None:
            run.querier_silence(seg, *told)
            if getattr(msg, "is_general", True) or opts.querier is not None:
                # group queries are told in the group's story already
                run.querier_event(seg, t, number, src, _query_text(src, msg))
            for e in tracker.elections[told[0]:]:
                if e.querier is not None:   # (a querier lost to silence is told above)
                    word = "querier" if type(msg) is V1Query else "elected querier"
                    run.querier_event(seg, e.time, e.frame, e.querier, f"{word}: {e.querier} ({e.reason})",
                                      every_group=True)
        if not getattr(msg, "is_general", True):
            seg.table.query(t, number, msg)


#: Reports from one host within one second above which it floods (issue 10: 100/s). A
#: conforming host sends a report per group per query and a few on each change (RFC 3376
#: 5.1: Robustness Variable retransmissions, Unsolicited Report Interval apart).
REPORT_FLOOD = 100


def _report_flood(run: Analyzer, seg: _SegmentState, src: Any, window: list[Any], number: int) -> None:
    """A host crossed REPORT_FLOOD reports within a second: one finding per host, dated
    at its first flooding second, counting every flooding second."""
    run.findings.update(Finding(
        "report-flood", Severity.WARNING,
        f"{src} sent more than {REPORT_FLOOD} membership reports within one second (from "
        f"{window[0]:.3f} s): a report flood (a host in a join/leave loop, a bridging loop, a "
        f"misbehaving IGMP stack or an attack); routers and snooping switches rate-limit or drop "
        f"IGMP under such load (on {seg.name})",
        "RFC 3376 5.1, RFC 2236 3", None, window[0], number,
        {"segment": seg.name, "host": str(src), "limit_per_second": REPORT_FLOOD}),
        ("report-flood", seg.name, int(src)))


def _off_subnet(run: Analyzer, seg: _SegmentState, src: Any, t: float, number: int) -> None:
    """A report from a source outside the link's subnet (RFC 3376 9.1, RFC 2236 9): routers
    that check the source ignore it, so the host never gets the traffic."""
    key = ("off-subnet", seg.name, int(src))
    if run.findings.bump(key):
        return
    nets = ", ".join(str(n) for n in run.subnets)
    run.findings.add(Finding(
        "report-source-off-subnet", Severity.WARNING,
        f"{src} reports from outside the link's subnet ({nets}): routers that check the source "
        f"address ignore its reports, so it may never receive the groups it asks for (on {seg.name})",
        "RFC 3376 9.1, RFC 2236 9", None, t, number,
        {"segment": seg.name, "host": str(src), "subnets": [str(n) for n in run.subnets]}), key)


#: IGMP types of multicast routing protocols (IANA "IGMP Type Numbers"): type ->
#: (protocol, message).
ROUTING_TYPES: dict[int, tuple[str, str]] = {
    0x13: ("DVMRP", "DVMRP"),
    0x14: ("PIMv1", "PIMv1"),
    0x1E: ("mtrace", "response"),
    0x1F: ("mtrace", "query/request"),
    0x30: ("MRD", "advertisement"),
    0x31: ("MRD", "solicitation"),
    0x32: ("MRD", "termination"),
}
#: PIMv2 message types (RFC 7761 4.9).
PIM_TYPES = {0: "hello", 1: "register", 2: "register-stop", 3: "join/prune", 4: "bootstrap",
             5: "assert", 6: "graft", 7: "graft-ack", 8: "candidate-RP-advertisement"}


def _routing(seg: _SegmentState, protocol: str, what: str, src: int, t: float) -> None:
    entry = seg.routing.get((protocol, src))
    if entry is None:
        seg.routing[(protocol, src)] = [1, t, t, {what}]
    else:
        entry[0] += 1
        entry[2] = t
        entry[3].add(what)


def _pim(run: Analyzer, t: float, iface: int, key: tuple[int, ...], buf: bytes, ip: int) -> None:
    """A PIMv2 message (IP protocol 103, RFC 7761): its sender is a PIM router."""
    head = buf[ip + ((buf[ip] & 0x0F) << 2)]
    if head >> 4 != 2:
        return
    if run.options.vlan is not None and (not key or run.options.vlan not in [k for k in key if k >= 0]):
        return
    seg = run.segments.get((4, iface, key)) or run.segment(iface, key)
    run.routing_messages += 1
    _routing(seg, "PIMv2", PIM_TYPES.get(head & 0x0F, f"type {head & 0x0F}"),
             int.from_bytes(buf[ip + 12:ip + 16], "big"), t)


def _cut_by_capture(run: Analyzer, seg: _SegmentState, number: int, t: float, packet: bytes) -> None:
    """An IGMP packet the capture's snap length cut short: the capture's doing, not the
    sender's. What was captured whole (the complete group records of a v3 report) is
    analysed, as tcpdump and tshark show it."""
    seg.igmp += 1
    if seg.first is None:
        seg.first = t
    seg.last = t
    context: dict[str, Any] = {"segment": seg.name, "captured": len(packet)}
    if len(packet) < 20:
        where = ""
        kept_text = ""
        key: Any = None
    else:
        hlen = (packet[0] & 0x0F) * 4
        total = int.from_bytes(packet[2:4], "big")
        src = IPv4Address(packet[12:16])
        dst = IPv4Address(packet[16:20])
        where = f" from {src} to {dst}"
        context.update(source=str(src), destination=str(dst), ip_length=total)
        report, kept, announced = complete_records(packet[hlen:]) if hlen >= 20 else (None, 0, 0)
        kept_text = ""
        if report is not None:
            kept_text = f"; {kept} of its {announced} group records were captured whole and are analysed"
            context.update(records_kept=kept, records=announced)
            if kept:
                seg.table.report_records(t, number, src, int(src), prepare(report))
        key = src
    if run.findings.bump(("snaplen-cut", seg.name, key)):
        return
    total_text = f" of {context['ip_length']}" if "ip_length" in context else ""
    run.findings.add(Finding(
        "capture-snaplen-cut", Severity.WARNING,
        f"IGMP packet{where} cut by the capture's snap length ({len(packet)}{total_text} IP bytes "
        f"captured): the capture's doing, not the sender's{kept_text} (on {seg.name})",
        None, None, t, number, context), ("snaplen-cut", seg.name, key))


def _mld_malformed(run: Analyzer, seg: _SegmentState, number: int, t: float, packet: bytes, error: Any,
                   cut: bool) -> None:
    """An MLD packet that cannot be decoded: the capture's cut, or the sender's fault."""
    seg.igmp += 1
    if seg.first is None:
        seg.first = t
    seg.last = t
    if cut and (len(packet) < 40 or 40 + int.from_bytes(packet[4:6], "big") > len(packet)):
        if not run.findings.bump(("snaplen-cut", seg.name, None)):
            run.findings.add(Finding(
                "capture-snaplen-cut", Severity.WARNING,
                f"MLD packet cut by the capture's snap length ({len(packet)} IP bytes captured): the "
                f"capture's doing, not the sender's (on {seg.name})", None, None, t, number,
                {"segment": seg.name, "captured": len(packet)}), ("snaplen-cut", seg.name, None))
        return
    run.mld_malformed += 1
    run.findings.add(Finding(
        "mld-malformed", Severity.ERROR,
        f"MLD packet cannot be decoded: {error.message} on {seg.name}", "RFC 3810 5",
        error.offset, t, number, {"segment": seg.name}), ("malformed", seg.name, error.expected))


def _compat_newer_host(run: Analyzer, seg: Any, family: int, src: Any, h: int, t: float, number: int) -> None:
    """An IGMPv3 / MLDv2 report from a host that was on the link (heard before) when the
    elected querier asked with an older version: the host should have fallen back (RFC 3376 7.2.1, RFC 3810 8.2.1) and the older querier
    ignores the report, so the membership is never registered (Linux with
    ``force_igmp_version=3`` / ``force_mld_version=2`` does this)."""
    key = ("compat-newer", seg.name, h)
    if run.findings.bump(key):
        return
    tracker = seg.tracker
    if family == 4:
        text = (f"{src} sends IGMPv3 reports although the querier {tracker.elected} runs "
                f"IGMPv{tracker.querier_version}: an IGMPv{tracker.querier_version} router ignores them, "
                "so its memberships are not registered (the host should fall back; check its "
                f"force_igmp_version) on {seg.name}")
    else:
        text = (f"{src} sends MLDv2 reports although the querier {tracker.elected} runs MLDv1: "
                "an MLDv1 router ignores them, so its memberships are not registered (the host "
                f"should fall back; check its force_mld_version) on {seg.name}")
    run.findings.add(Finding(
        "compat-newer-host", Severity.WARNING, text, "RFC 3376 7.2.1" if family == 4 else "RFC 3810 8.2.1",
        None, t, number, {"segment": seg.name, "host": str(src), "querier": str(tracker.elected),
                          "querier_version": tracker.querier_version}), key)


def _plan(packet: bytes) -> tuple[Any, Any, Any, int, int, tuple[Finding, ...]]:
    """Decode one distinct IGMP packet into what :func:`_igmp` needs each time it is
    heard: (Decoded or MalformedPacket, prepared report records or None for other
    messages, source address or None when malformed, the source as an int, the
    version of a v1/v2 report or 0, the decoder's findings). Hosts repeat
    byte-identical reports (Linux sends IGMP with IP ID 0), so planning each distinct
    packet once is exact: all of it is immutable."""
    v6 = packet[:1] and packet[0] >> 4 == 6
    try:
        decoded: Any = decode_ipv6(packet) if v6 else decode_ipv4(packet)
    except NotMld:
        return None, None, None, 0, 0, ()   # ICMPv6 that is not MLD: not for the state machines
    except MalformedPacket as exc:
        exc.__traceback__ = None   # cached: must not keep frames alive
        return exc, None, None, 0, 0, ()
    msg: Any = decoded.message
    src = decoded.ip.src          # the decoders fill the IP facts
    kind = type(msg)
    if kind in _REPORTS:
        full = 2 if v6 else 3
        older = msg.version if kind not in _LEAVES and msg.version < full else 0
        return decoded, prepare(msg), src, int(src), older, decoded.findings
    return decoded, None, src, int(src), 0, decoded.findings


def _build_report(run: Analyzer, data: dict[tuple[int, tuple[int, ...], bytes], list[Any]],
                  end: float, counters: dict[str, int]) -> Report:
    """The report at ``end`` (seconds): state so far, plus the judgements that need an
    end, recorded in a log of this snapshot only (``judged``)."""
    options = run.options
    capture = run.source
    t0 = run.t0
    judged = FindingLog()
    events = list(run.events) if options.timeline else []
    # Data traffic goes to the segment it was seen on (created if IGMP never was), per
    # address family: IPv4 pairs are 8 bytes (source + group), IPv6 pairs 32.
    per_segment: dict[tuple[int, int, tuple[int, ...]], dict[Any, DataStats]] = {}
    multicast_packets = 0
    multicast_bytes = 0
    merged: dict[tuple[int, tuple[int, ...], bytes], list[Any]] = {}
    for (iface, key, pair), (packets, nbytes, first, last) in data.items():
        multicast_packets += packets
        multicast_bytes += nbytes
        if options.vlan is not None and options.vlan not in [k for k in key if k >= 0]:
            continue
        half = len(pair) // 2
        src, dst = pair[:half], pair[half:]
        entry = merged.get((iface, key, dst))
        if entry is None:
            merged[(iface, key, dst)] = [packets, nbytes, {src: packets}, first, last]
        else:
            entry[0] += packets
            entry[1] += nbytes
            entry[2][src] = entry[2].get(src, 0) + packets
            entry[3] = min(entry[3], first)
            entry[4] = max(entry[4], last)
    base = t0 or 0
    for (iface, key, dst), (packets, nbytes, senders, first, last) in merged.items():
        family = 6 if len(dst) == 16 else 4
        ip: Any = IPv6Address if family == 6 else IPv4Address
        group = ip(dst)
        if options.groups and group not in options.groups:
            continue
        run.segment(iface, key, family)
        per_segment.setdefault((family, iface, key), {})[group] = DataStats(
            packets, nbytes, {str(ip(s)): n for s, n in senders.items()},
            (first - base) / 1e9, (last - base) / 1e9)
    counters["multicast_data_packets"] = multicast_packets
    counters["multicast_data_bytes"] = multicast_bytes
    if options.timeline and options.querier is None:
        for (family, iface, key), groups in per_segment.items():
            name = run.segments[(family, iface, key)].name
            for group, stats in groups.items():
                senders = ", ".join(sorted(stats.senders)[:3]) + (", ..." if len(stats.senders) > 3 else "")
                events.append(Event(stats.first, None, name, str(group), f"first data packet (from {senders})"))
                events.append(Event(stats.last, None, name, str(group),
                                    f"last data packet ({stats.packets:,} packets, {stats.bytes:,} bytes)"))

    segments: list[SegmentReport] = []
    for (family, iface, key), seg in sorted(run.segments.items(),
                                            key=lambda kv: (kv[1].segment, kv[0][0])):
        if options.vlan is not None and options.vlan not in seg.segment.vlans:
            continue
        seg.end = end
        # querier-none only where hosts or routers spoke IGMP/MLD (RFC 3376 6.6.2): a
        # segment with only data or only other routing protocols has nothing to say about it.
        open_gap = seg.tracker.judge(end, judged, start_time=0.0, had_igmp=seg.igmp > 0)
        seg.table.finish(end)
        seg_data = per_segment.get((family, iface, key), {})
        _data_findings(judged, seg, seg_data,
                       capture_has_data=any(k[0] == family for k in per_segment))
        names = capture.interfaces
        if_name = names[iface].name if iface < len(names) else None
        segments.append(SegmentReport.build(seg.segment, seg.tracker, seg.table, seg_data, end,
                                            options.groups, seg.igmp, if_name, open_gap=open_gap,
                                            family=family, routing=seg.routing))
    findings: list[Finding] = list(capture.problems)
    findings.extend(run.findings.merged(judged))
    if options.groups:
        findings = [f for f in findings if _about_groups(f, options.groups)]
    events.sort(key=lambda e: (e.time, e.frame or 0))
    return Report(
        name=capture.name, format=capture.format, compression=capture.compression,
        interfaces=list(capture.interfaces), profile=options.profile, start_ns=t0,
        duration=end, counters=counters, segments=segments, findings=findings,
        timeline=events, timeline_dropped=run.events_dropped,
        findings_dropped=run.findings.dropped, history=run.history)


_MODES = {1: "include", 2: "exclude", 3: "include", 4: "exclude"}   # RFC 3376 4.2.12


def _history_records(history: History, seg: _SegmentState, t: float, h: int, records: Any) -> None:
    """A report's prepared records (:func:`mdiag.core.membership.prepare`) as the reporting
    host's membership intervals."""
    gmi = seg.tracker.timers.group_membership_interval
    lane = (seg.family, seg.name)
    names = history.names
    for g, group, rtype, sources, _version, leave, refresh in records:
        name = names.get(g)
        if name is None:
            name = names[g] = str(group)
        if refresh:                 # IS_EX({}) / TO_EX({}): the periodic report
            history.host_record(lane, name, t, h, "exclude", sources, "report", gmi)
            continue
        value = int(rtype)
        if leave or (value in (1, 3) and not sources):
            change, mode = "leave", None
        elif value == 5:
            change, mode = "allow", None
        elif value == 6:
            change, mode = "block", None
        else:
            change, mode = "report", _MODES.get(value)
            if mode is None:
                continue
        history.host_record(lane, name, t, h, mode, sources, change, gmi)


def _history_bins(history: History, iface: int, key: tuple[int, ...], dst: bytes) -> Any:
    """The history's rate bins of a group on a segment (several senders share them); an
    IPv4 group (4 bytes) is on the IGMP lane, an IPv6 one (16 bytes) on the MLD lane."""
    group = IPv4Address(dst) if len(dst) == 4 else IPv6Address(dst)
    name = str(Segment.from_key(iface, key)) + (" (MLD)" if group.version == 6 else "")   # as segment() names it
    return history.bins_for((group.version, name), str(group))


def _no_membership_needed(group: Any) -> bool:
    """224.0.0.0/24 is always flooded (RFC 4541 2.1.2); in IPv6 only ff02::1 and the
    reserved and interface-local scopes ff00::/15 (RFC 4541 3)."""
    value = int(group)
    if group.version == 4:
        return value >> 8 == 0xE00000
    return value >> 113 == 0x7F80 or value == _ALL_NODES


_ALL_NODES = int(IPv6Address("ff02::1"))
#: ff02::1:ff00:0/104: the solicited-node groups of neighbour discovery (RFC 4291 2.7.1),
#: joined by every IPv6 address and never carrying data streams.
_SOLICITED_NODE = int(IPv6Address("ff02::1:ff00:0")) >> 24


def _about_groups(finding: Finding, groups: Iterable[Any]) -> bool:
    names = {str(g) for g in groups}
    context = finding.context
    if "group" in context:
        return str(context["group"]) in names
    if "groups" in context:
        return bool(names & {str(g) for g in context["groups"]})
    return True


def _data_findings(log: FindingLog, seg: _SegmentState, seg_data: dict[IPv4Address, DataStats], *,
                   capture_has_data: bool) -> None:
    """Data against membership: traffic nobody asked for, traffic that stopped, members
    without traffic (judged only when the capture point saw multicast data at all)."""
    table = seg.table
    for group, stats in sorted(seg_data.items()):
        if _no_membership_needed(group):
            continue
        state = table.get(group)
        if state is None or state.joins == 0:
            senders = ", ".join(sorted(stats.senders)[:3]) + ("..." if len(stats.senders) > 3 else "")
            log.add(Finding(
                "traffic-without-members", Severity.WARNING,
                f"{stats.packets:,} packets to {group} from {senders} but no host reported membership "
                f"on {seg.name}: the traffic is flooded or statically joined",
                "RFC 4541 2.1.2", None, stats.first, None,
                {"segment": seg.name, "group": str(group), "packets": stats.packets}),
                ("twm", seg.name, group))
    _unrequested_sources(log, seg, seg_data)
    end = seg.end
    has_querier = any(not r.proxy and r.general_queries for r in seg.tracker.routers.values())
    gmi = seg.tracker.timers.group_membership_interval
    for group, stats in sorted(seg_data.items()):
        state = table.get(group)
        if state is None or not state.joins or stats.packets < 2 or _no_membership_needed(group):
            continue
        silence = end - stats.last
        spacing = (stats.last - stats.first) / (stats.packets - 1)
        if silence < max(5.0, 20 * spacing):
            continue
        # Members when the data stopped: still joined then, or timed out (not left) around then.
        still_member = state.present or (state.last_expiry is not None and state.last_expiry >= stats.last - 1.0)
        if not still_member or state.first_join is None or state.first_join > stats.last:
            continue
        if any(leave.ended is not None and abs(leave.ended - stats.last) < 5.0 for leave in state.leaves):
            continue   # a leave ended it: that is how it should stop
        hint = ""
        cause = "unknown"
        if not has_querier and state.last_report is not None:
            cause = "no-querier"
            aged = state.last_report + gmi
            hint = (f"; no querier refreshed the membership, and a snooping switch ages it out "
                    f"{gmi:.0f} s after the last report ({state.last_report:.1f} s + {gmi:.0f} s = "
                    f"{aged:.1f} s)" + (": that matches" if abs(aged - stats.last) <= 15 else ""))
        elif state.last_expiry is not None and state.last_report is not None \
                and abs(state.last_expiry - stats.last) <= 15:
            hint, cause = _expiry_cause(seg, state.last_report, state.last_expiry, gmi)
        log.add(Finding(
            "traffic-stopped", Severity.WARNING,
            f"data to {group} stopped at {stats.last:.3f} s ({silence:.1f} s before the end of the "
            f"capture) although no host had left it on {seg.name}{hint}",
            "RFC 4541 2.1.1", None, stats.last, None,
            {"segment": seg.name, "group": str(group), "last_data": round(stats.last, 6),
             "querier": has_querier, "cause": cause}), ("stopped", seg.name, group))
    if not capture_has_data:
        return   # an IGMP-only capture says nothing about data reaching members
    for state in sorted(table.groups.values(), key=lambda st: int(st.group)):
        group = state.group
        if (state.joins and group not in seg_data and not _no_membership_needed(group)
                and int(group) >> 24 != _SOLICITED_NODE):
            log.add(Finding(
                "members-without-traffic", Severity.INFO,
                f"{group} has members on {seg.name} but no multicast data for it was captured",
                None, None, state.first_join, state.first_join_frame,
                {"segment": seg.name, "group": str(group)}), ("mwt", seg.name, group))


def _expiry_cause(seg: _SegmentState, last_report: float, expiry: float, gmi: float) -> tuple[str, str]:
    """Why a membership expired without a leave, from the queries heard between the
    last report and the expiry (RFC 3376 6.4, 8.4): the querier fell silent, so no host
    was asked again; or it kept asking and no host answered."""
    times = seg.tracker.general_times
    asked = bisect.bisect_right(times, expiry) - bisect.bisect_right(times, last_report)
    expired = (f"the membership expired at {expiry:.1f} s, the Group Membership Interval "
               f"({gmi:.0f} s) after the last report at {last_report:.1f} s")
    if asked == 0:
        spans = [span for span in querier_spans(seg.tracker, expiry)
                 if span.querier is not None and span.start <= last_report]
        who = (f"the querier {spans[-1].querier} fell silent after its general query at "
               f"{spans[-1].last_query:.1f} s" if spans and spans[-1].last_query is not None
               else "no router sent a general query")
        return (f"; {who}, so no host was asked to report again: {expired}, and a snooping "
                "switch stopped forwarding"), "querier-silent"
    return (f"; the querier kept asking ({asked} general quer{'y' if asked == 1 else 'ies'} after "
            f"the last report) but no host answered: {expired}, and a snooping switch stopped "
            "forwarding (a host that stopped answering queries: a host firewall, or a receiver "
            "gone without a leave)"), "hosts-silent"


def _unrequested_sources(log: FindingLog, seg: _SegmentState, seg_data: dict[IPv4Address, DataStats]) -> None:
    """Data from a source outside an INCLUDE-mode group's source list (RFC 3376 6.4, RFC 4607)."""
    for group, stats in sorted(seg_data.items()):
        state = seg.table.get(group)
        if state is None or state.mode != INCLUDE or not state.sources:
            continue
        ip = type(group)
        requested = {str(ip(s)) for s in state.sources}
        for sender, packets in sorted(stats.senders.items()):
            if sender in requested:
                continue
            wanted = ", ".join(sorted(requested, key=lambda a: ip(a)))
            log.add(Finding(
                "traffic-from-unrequested-source", Severity.WARNING,
                f"{packets:,} packets to {group} from {sender}, a source no host requested on {seg.name} "
                f"(members asked for INCLUDE {{{wanted}}}): a source-filtering network should not "
                f"deliver it",
                "RFC 3376 6.4, RFC 4607 1" if ip is IPv4Address else "RFC 3810 7.4, RFC 4607 1", None,
                stats.first, None,
                {"segment": seg.name, "group": str(group), "source": sender, "packets": packets,
                 "requested": sorted(requested)}), ("unrequested", seg.name, group, sender))
