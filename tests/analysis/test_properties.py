"""Properties: the state machines and the pipeline never crash and keep their invariants."""

from __future__ import annotations

import io
from ipaddress import IPv4Address as A

from hypothesis import given, settings
from hypothesis import strategies as st

from mdiag.adapters.capture import open_stream
from mdiag.analysis.pipeline import analyze
from mdiag.core.igmp import GroupRecord, V1Report, V2Leave, V2Query, V2Report, V3Query, V3Report
from mdiag.core.membership import EXCLUDE, INCLUDE, MembershipTable
from mdiag.core.querier import QuerierTracker

from .builders import igmp, pcap_bytes

GROUPS = [A("239.1.1.1"), A("239.129.1.1"), A("232.1.1.1"), A("224.0.0.251")]
SOURCES = [A("198.18.1.1"), A("198.18.1.2"), A("198.18.1.3")]
HOSTS = [A("198.18.0.10"), A("198.18.0.11")]

record = st.builds(lambda t, g, s: GroupRecord(t, g, tuple(s)), st.integers(1, 6), st.sampled_from(GROUPS),
                   st.lists(st.sampled_from(SOURCES), unique=True, max_size=3))
message = st.one_of(
    st.builds(V2Report, st.sampled_from(GROUPS)),
    st.builds(V1Report, st.sampled_from(GROUPS)),
    st.builds(V2Leave, st.sampled_from(GROUPS)),
    st.builds(lambda recs: V3Report(tuple(recs)), st.lists(record, min_size=1, max_size=3)),
    st.builds(lambda g: V2Query(10, g), st.sampled_from(GROUPS)),
    st.builds(lambda g, s, flag: V3Query.build(group=g, sources=s, max_resp_time=1, s_flag=flag),
              st.sampled_from(GROUPS), st.lists(st.sampled_from(SOURCES), unique=True, max_size=2),
              st.booleans()),
)
steps = st.lists(st.tuples(st.floats(0, 300), st.sampled_from(HOSTS), message), max_size=40)


@settings(max_examples=150, deadline=None)
@given(steps)
def test_membership_invariants(events):
    table = MembershipTable()
    now = 0.0
    for frame, (dt, host, msg) in enumerate(events, 1):
        now += dt
        if isinstance(msg, (V2Query, V3Query)):
            table.query(now, frame, msg)
        else:
            table.report(now, frame, host, msg)
        for state in table.groups.values():
            assert state.mode in (INCLUDE, EXCLUDE)
            if state.mode == INCLUDE:
                assert not state.blocked
            if state.present and state.mode == EXCLUDE:
                assert state.group_timer > 0
            assert not (set(state.sources) & state.blocked)
            assert state.joins >= state.expiries
    table.finish(now + 1000)
    for state in table.groups.values():
        assert not state.present            # everything expires without reports
        for leave in state.leaves:
            assert leave.latency is None or leave.latency >= 0


@settings(max_examples=100, deadline=None)
@given(st.lists(st.tuples(st.floats(0, 200), st.sampled_from([A("198.18.0.1"), A("198.18.0.2"), A("0.0.0.0")]),
                          st.sampled_from([V2Query(100), V3Query.build(), V3Query.build(qqi=60)])), max_size=30))
def test_querier_invariants(events):
    tracker = QuerierTracker()
    now = 0.0
    for frame, (dt, src, msg) in enumerate(events, 1):
        now += dt
        tracker.observe(now, frame, src, A("224.0.0.1"), msg)
        assert tracker.elected != A("0.0.0.0")
    tracker.finish(now + 1)
    times = [e.time for e in tracker.elections]
    assert times == sorted(times)
    for gap in tracker.gaps:
        assert gap.duration > gap.limit - 1e-9   # judged with the OQPI in force then


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(st.floats(0, 10), st.binary(max_size=120)), max_size=20),
       st.sampled_from([1, 113, 276, 101, 0, 147]))
def test_pipeline_never_raises_on_garbage_frames(frames, linktype):
    data = pcap_bytes(sorted(frames, key=lambda f: f[0]), linktype=linktype)
    with open_stream(io.BytesIO(data)) as c:
        report = analyze(c)
    assert report.counters["frames"] == len(frames)


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(st.floats(0, 300), st.sampled_from(HOSTS + [A("198.18.0.1")]), message),
                max_size=25), st.integers(0, 40))
def test_pipeline_on_igmp_with_damaged_bytes(events, flip):
    frames = []
    t = 0.0
    for dt, host, msg in events:
        t += dt
        frame = bytearray(igmp(msg, str(host)))
        if flip and len(frame) > 14 + flip % 40:
            frame[14 + flip % 40] ^= 0xFF      # damage one byte of the IP packet
        frames.append((t, bytes(frame)))
    with open_stream(io.BytesIO(pcap_bytes(frames))) as c:
        report = analyze(c)
    assert report.counters["igmp"] + report.counters["other_ipv4"] + report.counters["non_ipv4"] \
        + report.counters["fragments"] + report.counters["truncated"] <= len(frames)
