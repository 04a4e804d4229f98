"""The Prometheus metrics of ``mdiag monitor``: names, types, labels, help, as data.

Pure: no prometheus-client here (:mod:`mdiag.adapters.prometheus` turns
:class:`Family` values into the exposition format). :data:`METRICS` is the one
list docs/monitor.md's metrics table is checked against.

Naming follows the Prometheus conventions: an ``mdiag_`` prefix, base units in
the name (``_seconds``, ``_bytes``), ``_total`` on counters, ``_info`` gauges of
value 1 carrying text in labels. Label values come from bounded sets only:

* ``interface`` the one monitored interface; ``vlan`` the VLAN stack seen on it
  (``""`` untagged); ``family`` ``ipv4`` (IGMP) or ``ipv6`` (MLD). A monitor keeps
  at most ``--max-segments`` (interface, vlan, family) segments.
* ``group`` at most ``--max-groups`` groups per monitor (absent groups without
  data are forgotten after ``--forget-after``; beyond the cap the least recently
  active are dropped and counted in ``mdiag_monitor_dropped_total``).
* ``source`` (test streams) at most ``--max-streams`` (group, sender) pairs.
* ``code``/``severity``: the documented finding codes (docs/findings.md), an
  unknown code counts as ``other``; ``version`` 1..3 (IGMP) or 1..2 (MLD);
  ``what`` the fixed names in :data:`DROPPED_KINDS`.
"""

from __future__ import annotations

from dataclasses import dataclass, field

__all__ = ["COUNTER", "DROPPED_KINDS", "Family", "GAUGE", "INFO", "METRICS", "MetricSpec", "spec"]

COUNTER = "counter"
GAUGE = "gauge"
INFO = "info"   # a gauge of value 1; its labels carry the text

SEGMENT = ("interface", "vlan", "family")
GROUP = SEGMENT + ("group",)
STREAM = ("interface", "group", "source")

#: What the caps may drop (``mdiag_monitor_dropped_total{what=...}``).
DROPPED_KINDS = ("segment", "group", "host", "flow", "stream", "router", "incident", "finding")


@dataclass(frozen=True, slots=True)
class MetricSpec:
    """One metric: its name (counters without the ``_total`` suffix, as the client
    library wants them), type, label names and help text."""

    name: str
    kind: str
    labels: tuple[str, ...]
    help: str

    @property
    def exposed_name(self) -> str:
        """The name as scraped (``_total`` added to counters)."""
        return self.name + "_total" if self.kind == COUNTER else self.name


@dataclass(slots=True)
class Family:
    """Samples of one metric: ``(label values in spec order, value)`` pairs."""

    spec: MetricSpec
    samples: list[tuple[tuple[str, ...], float]] = field(default_factory=list)

    def add(self, labels: tuple[str, ...], value: float) -> None:
        self.samples.append((labels, value))


METRICS: tuple[MetricSpec, ...] = (
    # -- the monitor itself ------------------------------------------------------------
    MetricSpec("mdiag_monitor_info", INFO, ("interface", "netns", "version"),
               "The running monitor: interface, network namespace, mdiag version"),
    MetricSpec("mdiag_monitor_start_time_seconds", GAUGE, ("interface",),
               "When this monitor started (Unix time); a restart starts every counter at zero"),
    MetricSpec("mdiag_capture_frames", COUNTER, ("interface",),
               "Frames captured (IGMP/MLD and multicast data passing the kernel filter)"),
    MetricSpec("mdiag_capture_bytes", COUNTER, ("interface",), "Bytes of the captured frames, as on the wire"),
    MetricSpec("mdiag_capture_kernel_drops", COUNTER, ("interface",),
               "Frames the kernel dropped because the monitor read too slowly (PACKET_STATISTICS)"),
    MetricSpec("mdiag_monitor_dropped", COUNTER, ("interface", "what"),
               "State the memory caps dropped: segment, group, host, flow, stream, router, incident, "
               "finding (findings not kept because 10,000 distinct ones were held)"),
    MetricSpec("mdiag_monitor_tracked", GAUGE, ("interface", "what"),
               "State held now: segment, group, host, flow, stream, router"),
    # -- querier -----------------------------------------------------------------------
    MetricSpec("mdiag_querier_present", GAUGE, SEGMENT,
               "1 while an elected querier is heard (within the Other Querier Present Interval), else 0"),
    MetricSpec("mdiag_querier_info", INFO, SEGMENT + ("address", "version"),
               "The elected querier: its address and IGMP/MLD version (absent when there is none)"),
    MetricSpec("mdiag_querier_version", GAUGE, SEGMENT,
               "Version of the elected querier's queries (1-3 IGMP, 1-2 MLD); 0 without a querier"),
    MetricSpec("mdiag_queriers", GAUGE, SEGMENT,
               "Routers that sent general queries within the Other Querier Present Interval"),
    MetricSpec("mdiag_query_interval_seconds", GAUGE, SEGMENT,
               "Measured interval between the elected querier's general queries (mean since the last tick that saw one)"),
    MetricSpec("mdiag_query_interval_expected_seconds", GAUGE, SEGMENT,
               "The interval the querier announces (QQI) or the RFC default 125 s"),
    MetricSpec("mdiag_querier_elections", COUNTER, SEGMENT,
               "Changes of the elected querier (including losing it)"),
    MetricSpec("mdiag_queries", COUNTER, SEGMENT + ("kind",),
               "Queries by kind: general, group (group-specific), group_source (group-and-source-specific)"),
    # -- membership --------------------------------------------------------------------
    MetricSpec("mdiag_groups", GAUGE, SEGMENT, "Groups with at least one member now"),
    MetricSpec("mdiag_members", GAUGE, SEGMENT, "(host, group) memberships now"),
    MetricSpec("mdiag_hosts", GAUGE, SEGMENT, "Distinct hosts that are members of a group now"),
    MetricSpec("mdiag_joins", COUNTER, SEGMENT, "Groups joined (membership began)"),
    MetricSpec("mdiag_leaves", COUNTER, SEGMENT, "Leaves heard (IGMPv2 leave, TO_IN({}), BLOCK)"),
    MetricSpec("mdiag_expiries", COUNTER, SEGMENT,
               "Memberships that ended because the group timer ran out (after a leave or not)"),
    MetricSpec("mdiag_reports", COUNTER, SEGMENT + ("version",), "Membership reports and leaves by version"),
    MetricSpec("mdiag_group_members", GAUGE, GROUP, "Member hosts of the group now"),
    MetricSpec("mdiag_group_joins", COUNTER, GROUP, "Times the group's membership began"),
    MetricSpec("mdiag_group_leaves", COUNTER, GROUP, "Leaves heard for the group"),
    MetricSpec("mdiag_group_expiries", COUNTER, GROUP, "Times the group's membership expired"),
    # -- data --------------------------------------------------------------------------
    MetricSpec("mdiag_group_data_packets", COUNTER, GROUP, "Multicast data packets to the group"),
    MetricSpec("mdiag_group_data_bytes", COUNTER, GROUP, "Multicast data bytes to the group, as on the wire"),
    MetricSpec("mdiag_group_data_last_seen_timestamp_seconds", GAUGE, GROUP,
               "When the last data packet to the group was seen (Unix time)"),
    # -- test streams (--group) ----------------------------------------------------------
    MetricSpec("mdiag_stream_received_packets", COUNTER, STREAM, "Test-stream packets received"),
    MetricSpec("mdiag_stream_lost_packets", COUNTER, STREAM,
               "Test-stream packets lost (sequence gaps, RFC 4737)"),
    MetricSpec("mdiag_stream_expected_packets", COUNTER, STREAM,
               "Test-stream packets that should have arrived (received + lost)"),
    MetricSpec("mdiag_stream_duplicated_packets", COUNTER, STREAM, "Test-stream duplicates (RFC 5560)"),
    MetricSpec("mdiag_stream_reordered_packets", COUNTER, STREAM, "Test-stream packets out of order (RFC 4737)"),
    MetricSpec("mdiag_stream_jitter_seconds", GAUGE, STREAM, "Interarrival jitter (RFC 3550 A.8)"),
    # -- findings and incidents ----------------------------------------------------------
    MetricSpec("mdiag_findings", COUNTER, ("interface", "code", "severity"),
               ("Findings raised (first occurrence of each finding key; docs/findings.md); every documented "
                "code is there from the start at 0")),
    MetricSpec("mdiag_incidents", COUNTER, ("interface",), "Incident captures written by --ring"),
)

_BY_NAME = {m.name: m for m in METRICS}


def spec(name: str) -> MetricSpec:
    """The :class:`MetricSpec` called ``name`` (KeyError for an undeclared metric)."""
    return _BY_NAME[name]
