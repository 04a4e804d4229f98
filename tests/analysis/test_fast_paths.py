"""The membership table's fast paths agree with its general path.

:meth:`MembershipTable.report_records` takes shortcuts for the periodic refresh
(EXCLUDE({}) + IS_EX({})/TO_EX({})) and the INCLUDE source refresh only when no
timeline is requested. A table with an event sink therefore runs every record
through the general path: fed the same random sequences, both tables must end
in exactly the same state with the same findings.
"""

from __future__ import annotations

import io
from dataclasses import fields
from ipaddress import IPv4Address as A

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mdiag.core.igmp import (
    GroupRecord,
    V1Report,
    V2Leave,
    V2Query,
    V2Report,
    V3Query,
    V3Report,
)
from mdiag.core.igmp.messages import RecordType
from mdiag.core.membership import GroupState, MembershipTable, prepare

from .builders import igmp, pcap_bytes

GROUPS = [A("239.1.1.1"), A("239.129.1.1"), A("232.1.1.1"), A("224.0.0.251")]
SOURCES = [A("198.18.1.1"), A("198.18.1.2"), A("198.18.1.3")]
HOSTS = [A("198.18.0.10"), A("198.18.0.11"), A("198.18.0.12")]

# Refreshes dominate real captures: weight them so the fast paths run often.
refresh = st.one_of(
    st.builds(V2Report, st.sampled_from(GROUPS)),
    st.builds(lambda g: V3Report((GroupRecord(2, g),)), st.sampled_from(GROUPS)),
    st.builds(lambda g: V3Report((GroupRecord(4, g),)), st.sampled_from(GROUPS)),
    st.builds(lambda g, s: V3Report((GroupRecord(5, g, tuple(s)),)), st.sampled_from(GROUPS),
              st.lists(st.sampled_from(SOURCES), unique=True, min_size=1, max_size=2)),
)
record = st.builds(lambda t, g, s: GroupRecord(t, g, tuple(s)), st.integers(1, 6), st.sampled_from(GROUPS),
                   st.lists(st.sampled_from(SOURCES), unique=True, max_size=3))
other = st.one_of(
    st.builds(V1Report, st.sampled_from(GROUPS)),
    st.builds(V2Leave, st.sampled_from(GROUPS)),
    st.builds(lambda recs: V3Report(tuple(recs)), st.lists(record, min_size=1, max_size=3)),
    st.builds(lambda g: V2Query(10, g), st.sampled_from(GROUPS)),
    st.builds(lambda g, s, flag: V3Query.build(group=g, sources=s, max_resp_time=1, s_flag=flag),
              st.sampled_from(GROUPS), st.lists(st.sampled_from(SOURCES), unique=True, max_size=2),
              st.booleans()),
)
message = st.one_of(refresh, refresh, refresh, other)
# Gaps from a few ms to past the Group Membership Interval (260 s) and the
# older-host-present interval, so timers run out between some refreshes.
steps = st.lists(st.tuples(st.sampled_from([0.001, 0.5, 3.0, 20.0, 125.0, 300.0]), st.sampled_from(HOSTS),
                           message), max_size=60)


def _feed(table: MembershipTable, events: list[tuple[float, A, object]]) -> float:
    now = 0.0
    for frame, (gap, host, msg) in enumerate(events):
        now += gap
        if isinstance(msg, (V2Query, V3Query)):
            table.query(now, frame, msg)
        else:
            table.report(now, frame, host, msg)
    table.finish(now + 1.0)
    return now + 1.0


def _snapshot(state: GroupState) -> dict[str, object]:
    return {f.name: getattr(state, f.name) for f in fields(state)}


@settings(max_examples=200, deadline=None)
@given(steps)
def test_fast_paths_agree_with_general_path(events):
    fast = MembershipTable(segment="if0")
    told: list[object] = []
    general = MembershipTable(segment="if0", on_event=lambda *event: told.append(event))
    end = _feed(fast, events)
    _feed(general, events)
    assert fast.reports == general.reports
    assert fast.groups.keys() == general.groups.keys()
    for key, state in fast.groups.items():
        assert _snapshot(state) == _snapshot(general.groups[key])
        assert state.to_json(end, 260.0) == general.groups[key].to_json(end, 260.0)
    assert list(fast.findings) == list(general.findings)


def test_the_refresh_fast_path_runs():
    """The sequence the benchmark is made of takes the shortcut (and agrees)."""
    fast = MembershipTable()
    told: list[object] = []
    general = MembershipTable(on_event=lambda *event: told.append(event))
    seq = [(0.001, HOSTS[i % 3], V2Report(GROUPS[0])) for i in range(50)]
    _feed(fast, seq)
    _feed(general, seq)
    state = fast.get(GROUPS[0])
    assert state is not None and state.reports == 50 and state.versions == {2}
    assert _snapshot(state) == _snapshot(general.groups[int(GROUPS[0])])
    assert told   # the general table told the story the fast one skipped


G = A("239.1.1.1")
LL = A("224.0.0.251")
S1 = A("198.18.1.1")
EMPTY: frozenset[int] = frozenset()


@pytest.mark.parametrize(("message", "expected"), [
    # v1/v2 reports are IS_EX({}), a v2 leave is TO_IN({}) (RFC 3376 7.3.2)
    (V2Report(G), [(int(G), G, RecordType.MODE_IS_EXCLUDE, EMPTY, 2, False, True)]),
    (V1Report(G), [(int(G), G, RecordType.MODE_IS_EXCLUDE, EMPTY, 1, False, True)]),
    (V2Leave(G), [(int(G), G, RecordType.CHANGE_TO_INCLUDE_MODE, EMPTY, 2, True, False)]),
    # link-local groups never take the refresh shortcut (they raise report-link-local)
    (V2Report(LL), [(int(LL), LL, RecordType.MODE_IS_EXCLUDE, EMPTY, 2, False, False)]),
    (V3Report((GroupRecord(4, G), GroupRecord(5, G, (S1,)))),
     [(int(G), G, RecordType.CHANGE_TO_EXCLUDE_MODE, EMPTY, 3, False, True),
      (int(G), G, RecordType.ALLOW_NEW_SOURCES, frozenset([int(S1)]), 3, False, False)]),
    (V3Report((GroupRecord(2, G, (S1,)),)),
     [(int(G), G, RecordType.MODE_IS_EXCLUDE, frozenset([int(S1)]), 3, False, False)]),
    # records of an undefined type and non-multicast groups are dropped (the decoder reports them)
    (V3Report((GroupRecord(9, G), GroupRecord(2, A("10.0.0.1")))), []),
    (V2Query(10, G), []),
])
def test_prepare(message, expected):
    assert list(prepare(message)) == expected


# -- the capture pipeline: a cached plan takes a shortcut past _igmp ---------------------

class _Forgetful(dict):
    """A decode cache that never hits: every packet goes through _igmp, planned anew."""

    def get(self, key, default=None):
        return default


def _analyze(data: bytes, *, forgetful: bool):
    from mdiag.adapters.capture import open_stream
    from mdiag.analysis import pipeline

    with open_stream(io.BytesIO(data)) as capture:
        analyzer = pipeline.Analyzer(source=capture)
        if forgetful:
            analyzer.decoded = _Forgetful()
        analyzer.feed_records(capture.records(analyzer.reader_counts))
        return analyzer.report().to_json()


ROUTER = A("198.18.0.1")


@settings(max_examples=40, deadline=None)
@given(st.lists(st.tuples(st.sampled_from([0.001, 0.5, 3.0, 125.0]), st.sampled_from(HOSTS + [ROUTER]),
                          st.one_of(message, st.builds(lambda: V3Query.build()),
                                    st.builds(lambda: V2Query(10))),
                          st.sampled_from([1, 1, 1, 64]), st.booleans()), max_size=40))
def test_pipeline_shortcut_agrees_with_decoding_every_packet(events):
    """Repeats of one packet (the shortcut) give the report decoding each afresh gives,
    with decoder findings (TTL 64), damaged packets and v2 hosts under a v3 querier."""
    frames = []
    now = 0.0
    for gap, host, msg, ttl, damage in events:
        now += gap
        frame = bytearray(igmp(msg, str(host), ttl=ttl))
        if damage:
            frame[-1] ^= 0xFF        # breaks the IGMP checksum or a record
        for repeat in range(3):      # hosts repeat byte-identical reports
            frames.append((now + repeat * 0.001, bytes(frame)))
    data = pcap_bytes(frames)
    assert _analyze(data, forgetful=False) == _analyze(data, forgetful=True)


def test_pipeline_shortcut_counts_older_hosts_under_a_v3_querier():
    """A repeated v2 report to an IGMPv3 querier leaves the shortcut: each repeat is
    counted in compat-older-host."""
    frames = [(0.0, igmp(V3Query.build(), str(ROUTER)))]
    frames += [(1.0 + i, igmp(V2Report(G), str(HOSTS[0]))) for i in range(4)]
    frames += [(6.0 + i, igmp(V3Report((GroupRecord(2, G),)), str(HOSTS[1]))) for i in range(4)]
    data = pcap_bytes(frames)
    report = _analyze(data, forgetful=False)
    assert report == _analyze(data, forgetful=True)
    compat = [f for f in report["findings"] if f["code"] == "compat-older-host"]
    assert len(compat) == 1 and compat[0]["context"]["count"] == 4


def test_querier_drift_is_dated_when_first_seen_and_carries_the_latest_values():
    """Each drifting interval counts once more on one finding, dated when the drift was
    first seen, telling the latest mean and the range (issue 10 item 10)."""
    from mdiag.core.querier import QuerierTracker

    q = V3Query.build(qqi=125)
    tracker = QuerierTracker(segment="if0")
    times = [0, 31.25, 91.25, 151.25, 211.25, 301.25]   # startup, then 60 s, then 90 s (QQIC 125)
    for frame, t in enumerate(times, 1):
        tracker.observe(t, frame, ROUTER, A("224.0.0.1"), q)
    drift = [f for f in tracker.findings if f.code == "querier-interval-drift"]
    assert len(drift) == 1
    assert drift[0].time == 151.25 and drift[0].context["count"] == 3
    assert drift[0].message.endswith(" on if0")
    assert drift[0].context["measured"] == 67.5 and drift[0].context["max"] == 90.0
    assert "67.5 s on average (60.0 s to 90.0 s over 4 steady intervals)" in drift[0].message
