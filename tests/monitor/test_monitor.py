"""The monitor fed scripted frames (no root): counters, events, caps, incident captures."""

from __future__ import annotations

import pytest

from mdiag.adapters.capture import open_capture
from mdiag.core.igmp import GroupRecord, V2Leave, V2Report, V3Query, V3Report
from mdiag.core.igmp.messages import RecordType
from mdiag.core.findings import Severity
from mdiag.monitor.runner import Monitor, MonitorOptions
from mdiag.monitor.state import Limits

from tests.analysis.builders import igmp, udp

SECOND = 1_000_000_000
T0 = 1_700_000_000 * SECOND
ROUTER = "198.18.0.1"
G = "239.1.1.1"


def _query(qqic: int = 2) -> bytes:
    return igmp(V3Query(max_resp_code=10, qqic=qqic, qrv=2), ROUTER)


def _join(host: str, group: str = G) -> bytes:
    return igmp(V3Report([GroupRecord(RecordType.CHANGE_TO_EXCLUDE_MODE, group)]), host)


def _leave(host: str, group: str = G) -> bytes:
    return igmp(V3Report([GroupRecord(RecordType.CHANGE_TO_INCLUDE_MODE, group)]), host)


def _values(monitor: Monitor) -> dict[tuple[str, tuple[str, ...]], float]:
    return {(f.spec.name, labels): value for f in monitor.families() for labels, value in f.samples}


SEG = ("lab0", "", "ipv4")


def _run(monitor: Monitor, script: dict[float, list[bytes]], until: float) -> None:
    """Feed frames at their second marks, ticking every half second up to ``until``."""
    t = 0.0
    while t <= until:
        frames = script.get(t, [])
        if frames:
            monitor.feed([(T0 + int(t * SECOND) + i, f) for i, f in enumerate(frames)])
        monitor.tick(T0 + int(t * SECOND) + len(frames))
        t = round(t + 0.5, 3)


def test_scripted_segment_querier_members_leave_expiry_and_data() -> None:
    events: list[dict] = []
    monitor = Monitor(MonitorOptions(iface="lab0"), emit=events.append, start_ns=T0)
    script = {0.0: [_query()], 0.5: [_join("198.18.0.11"), _join("198.18.0.12")],
              2.0: [_query(), _join("198.18.0.11"), _join("198.18.0.12")]}
    for t in (1.0, 1.5, 2.5, 3.0):
        script.setdefault(t, []).extend(udp("198.18.0.20", G, 100) for _ in range(5))
    script[3.0].append(_leave("198.18.0.12"))
    script[4.0] = [_query(), _join("198.18.0.11")]
    _run(monitor, script, 4.0)
    values = _values(monitor)
    assert values[("mdiag_querier_present", SEG)] == 1
    assert values[("mdiag_querier_info", SEG + (ROUTER, "3"))] == 1
    assert values[("mdiag_query_interval_seconds", SEG)] == pytest.approx(2.0)
    assert values[("mdiag_query_interval_expected_seconds", SEG)] == 2.0
    assert values[("mdiag_group_members", SEG + (G,))] == 1       # .12 left at 3.0
    assert values[("mdiag_group_leaves", SEG + (G,))] == 1
    assert values[("mdiag_group_data_packets", SEG + (G,))] == 20
    assert values[("mdiag_group_data_bytes", SEG + (G,))] == 20 * 142
    assert values[("mdiag_reports", SEG + ("3",))] == 6
    assert values[("mdiag_queries", SEG + ("general",))] == 3
    kinds = [e["event"] for e in events]
    assert kinds.count("member-joined") == 2 and "member-gone" in kinds and "leave" in kinds
    assert [e["querier"] for e in events if e["event"] == "querier"] == [ROUTER]

    # The querier and the last member go silent: the clock alone ends both (OQPI 4.5 s,
    # GMI 5 s with QRV 2, QI 2 s, MRT 1 s), and the events tell when it happened.
    t = 4.5
    while t <= 12.0:
        monitor.tick(T0 + int(t * SECOND))
        t += 0.5
    values = _values(monitor)
    assert values[("mdiag_querier_present", SEG)] == 0
    assert ("mdiag_querier_info", SEG + (ROUTER, "3")) not in values
    assert values[("mdiag_querier_elections", SEG)] == 2
    assert values[("mdiag_group_members", SEG + (G,))] == 0
    assert values[("mdiag_group_expiries", SEG + (G,))] == 1
    lost = [e for e in events if e["event"] == "querier" and e["querier"] is None]
    assert lost and lost[0]["previous"] == ROUTER and lost[0]["at"] == pytest.approx(T0 / 1e9 + 8.5)
    expiry = [e for e in events if e["event"] == "expiry"]
    assert expiry and expiry[0]["at"] == pytest.approx(T0 / 1e9 + 9.0)
    assert "data-stopped" in [e["event"] for e in events]


def test_igmpv2_hosts_counted_by_version_and_the_mismatch_is_a_finding() -> None:
    events: list[dict] = []
    monitor = Monitor(MonitorOptions(iface="lab0"), emit=events.append, start_ns=T0)
    _run(monitor, {0.0: [_query()], 0.5: [igmp(V2Report(G), "198.18.0.11")],
                   1.0: [igmp(V2Leave(G), "198.18.0.11")]}, 1.5)
    values = _values(monitor)
    assert values[("mdiag_reports", SEG + ("2",))] == 2
    assert values[("mdiag_findings", ("lab0", "compat-older-host", "warning"))] == 1
    (finding,) = [e for e in events if e["event"] == "finding"]
    assert finding["code"] == "compat-older-host" and finding["context"]["host"] == "198.18.0.11"


def test_group_cap_drops_the_least_recently_active_and_counts_it() -> None:
    monitor = Monitor(MonitorOptions(iface="lab0", limits=Limits(max_groups=10)), start_ns=T0)
    frames = [_query()] + [_join(f"198.18.0.{10 + i % 5}", f"239.2.0.{i}") for i in range(30)]
    monitor.feed([(T0 + i * 1000, f) for i, f in enumerate(frames)])
    monitor.tick(T0 + SECOND)
    values = _values(monitor)
    groups = [labels[3] for (name, labels) in values if name == "mdiag_group_members"]
    assert len(groups) == 10 and "239.2.0.29" in groups and "239.2.0.0" not in groups
    assert values[("mdiag_monitor_dropped", ("lab0", "group"))] == 20
    assert values[("mdiag_monitor_tracked", ("lab0", "group"))] == 10
    assert len(monitor.analyzer.segments[(4, 0, ())].table.groups) == 10


def test_quiet_groups_and_flows_are_forgotten_after_the_horizon() -> None:
    monitor = Monitor(MonitorOptions(iface="lab0", limits=Limits(forget_after=30.0)), start_ns=T0)
    _run(monitor, {0.0: [_query()], 0.5: [_join("198.18.0.11"), udp("198.18.0.20", "239.9.9.9")],
                   1.0: [_leave("198.18.0.11")]}, 2.0)
    assert {g for v in monitor.state.segments.values() for g in v.groups} == {G, "239.9.9.9"}
    monitor.tick(T0 + 40 * SECOND)
    values = _values(monitor)
    assert not [k for k in values if k[0] == "mdiag_group_members"]
    assert monitor.analyzer.data == {} and monitor.analyzer.segments[(4, 0, ())].table.groups == {}
    assert values[("mdiag_joins", SEG)] == 1      # segment totals survive forgetting


def test_memory_stays_bounded_under_churn() -> None:
    """Hours of churning groups in fast motion: tracked state never exceeds the caps."""
    limits = Limits(max_groups=200, max_flows=300, forget_after=60.0)
    monitor = Monitor(MonitorOptions(iface="lab0", limits=limits), start_ns=T0)
    for minute in range(0, 90):
        base = T0 + minute * 60 * SECOND
        frames = [(base, _query(125))]
        for i in range(60):
            n = minute * 60 + i
            group = f"239.{(n >> 16) & 255}.{(n >> 8) & 255}.{n & 255}"
            frames.append((base + 1000 + i, _join(f"198.18.{n % 50}.{1 + n % 200}", group)))
            frames.append((base + 2000 + i, udp(f"198.18.1.{n % 250}", group, 64)))
        monitor.feed(frames)
        monitor.tick(base + 30 * SECOND)
        tracked = monitor.state.tracked()
        assert tracked["group"] <= 200 and tracked["flow"] <= 300
        table = monitor.analyzer.segments[(4, 0, ())].table
        assert len(table.groups) <= 200
        assert all(len(g.member_history) <= 4 and len(g.leaves) <= 4 for g in table.groups.values())
    assert monitor.state.dropped.get("group", 0) > 0


def test_incident_capture_around_an_error_finding(tmp_path) -> None:
    events: list[dict] = []
    options = MonitorOptions(iface="lab0", ring_dir=str(tmp_path), ring_bytes=64 * 1024, ring_after=2.0,
                             ring_severity=Severity.ERROR)
    monitor = Monitor(options, emit=events.append, start_ns=T0)
    before = [(T0 + i * SECOND // 10, udp("198.18.0.20", G, 200)) for i in range(10)]
    monitor.feed(before)
    broken = igmp(V2Report(G), "198.18.0.11")[:14 + 20 + 4]   # IGMP cut to 4 bytes: malformed
    monitor.feed([(T0 + 2 * SECOND, broken)])
    monitor.feed([(T0 + 3 * SECOND, udp("198.18.0.20", G, 200))])
    monitor.tick(T0 + 6 * SECOND)                # the after-window (2 s) has passed
    monitor.feed([(T0 + 7 * SECOND, udp("198.18.0.20", G, 200))])
    monitor.close()
    (written,) = [e for e in events if e["event"] == "incident"]
    assert written["codes"] == ["igmp-malformed"] and written["frames_before"] == 11
    assert written["frames_after"] == 1
    with open_capture(written["path"]) as capture:
        frames = list(capture)
    assert len(frames) == 12 and frames[10].data == broken
    assert frames[0].time_ns // 1000 == T0 // 1000
    assert _values(monitor)[("mdiag_incidents", ("lab0",))] == 1
    # a second monitor run never overwrites the first one's file
    again = Monitor(options, emit=events.append, start_ns=T0)
    again.feed([(T0 + 2 * SECOND, broken)])
    again.close()
    paths = sorted(p.name for p in tmp_path.iterdir())
    assert len(paths) == 2 and any(p.endswith("-malformed-2.pcap") for p in paths)


def test_summary_lists_segments_findings_and_caps() -> None:
    monitor = Monitor(MonitorOptions(iface="lab0"), start_ns=T0)
    _run(monitor, {0.0: [_query()], 0.5: [_join("198.18.0.11")]}, 1.0)
    summary = monitor.summary()
    (segment,) = summary["segments"]
    assert segment["querier"] == ROUTER and segment["members"] == 1 and segment["joins"] == 1
    assert summary["frames"] == 2 and summary["dropped"] == {}


def test_live_screen_draws_segments_groups_streams_and_findings() -> None:
    import io

    from mdiag.cli.commands.monitor import _LiveScreen

    monitor = Monitor(MonitorOptions(iface="lab0"), start_ns=T0)
    _run(monitor, {0.0: [_query()], 0.5: [_join("198.18.0.11"), igmp(V2Report("239.1.1.2"), "198.18.0.12")],
                   1.0: [udp("198.18.0.20", G, 100)]}, 1.5)
    out = io.StringIO()
    _LiveScreen(out, monitor, "http://127.0.0.1:9851/metrics").draw(T0 + 2 * SECOND)
    text = out.getvalue()
    assert text.startswith("\033[H\033[2J") and "http://127.0.0.1:9851/metrics" in text
    assert "untagged ipv4" in text and ROUTER in text and G in text and "239.1.1.2" in text
    assert "recent findings:" in text and "compat-older-host" in text


def test_mld_flows_through_the_same_monitor_per_family() -> None:
    """A dual-stack capture (IGMPv3 and MLDv2 on one link): one segment per family, MLD's
    own version numbers, IPv6 groups and members; nothing in the monitor is IPv4-only."""
    from pathlib import Path

    path = Path(__file__).resolve().parents[2] / "pcaps" / "mld" / "dual-stack.pcap"
    with open_capture(path) as capture:
        frames = [(f.time_ns, f.data) for f in capture]
    monitor = Monitor(MonitorOptions(iface="eth0"), start_ns=frames[0][0])
    clock = frames[0][0]
    for ts, frame in frames:
        while ts - clock > SECOND // 2:
            clock += SECOND // 2
            monitor.tick(clock)
        monitor.feed([(ts, frame)])
    monitor.tick(frames[-1][0] + 1)
    values = _values(monitor)
    v6 = ("eth0", "", "ipv6")
    assert values[("mdiag_querier_info", v6 + ("fe80::1", "2"))] == 1
    assert values[("mdiag_querier_info", ("eth0", "", "ipv4", "198.18.0.1", "3"))] == 1
    assert values[("mdiag_reports", v6 + ("2",))] == 7
    assert values[("mdiag_group_members", v6 + ("ff05::1:3",))] == 1
    assert values[("mdiag_group_data_packets", v6 + ("ff05::1:3",))] > 0


def test_a_full_disk_ends_an_output_not_the_monitor(tmp_path) -> None:
    """/dev/full: the JSON lines and an incident file fail, the monitor goes on counting."""
    from mdiag.monitor.events import JsonLines

    reasons: list[str] = []
    full = open("/dev/full", "w")
    sink = JsonLines(full, "/dev/full", reasons.append)
    sink({"event": "start", "time": 0.0})
    sink({"event": "start", "time": 0.0})
    with pytest.raises(OSError):
        full.close()         # what is still buffered fails again: the CLI ignores that
    assert sink.failed and len(reasons) == 1 and "No space left" in reasons[0]

    class FullWriter:
        def __init__(self, path: str) -> None:
            self.handle = open("/dev/full", "wb", buffering=0)

        def write(self, frame: bytes, time_ns: int, orig_len: int | None = None) -> None:
            self.handle.write(frame)

        def close(self) -> None:
            self.handle.close()

    options = MonitorOptions(iface="lab0", ring_dir=str(tmp_path), ring_after=1.0)
    monitor = Monitor(options, start_ns=T0)
    monitor.recorder.writer = FullWriter
    broken = igmp(V2Report(G), "198.18.0.11")[:14 + 20 + 4]
    monitor.feed([(T0, udp("198.18.0.20", G, 200)), (T0 + SECOND, broken)])
    monitor.feed([(T0 + 2 * SECOND, _query())])
    monitor.tick(T0 + 3 * SECOND)
    assert monitor.recorder.errors >= 1 and monitor.state.frames == 3
    assert _values(monitor)[("mdiag_querier_present", SEG)] == 1


@pytest.mark.parametrize(("sender", "source"), [("198.18.0.12:40000", "198.18.0.12"),
                                                 ("[fd00:c612::12]:43106", "fd00:c612::12")])
def test_stream_source_label_is_the_bare_address(sender: str, source: str) -> None:
    from types import SimpleNamespace

    assert Monitor._key(SimpleNamespace(group="ff05::70:1", sender=sender)) == ("ff05::70:1", source)


def test_general_query_times_stay_bounded_and_recent() -> None:
    """Days of queries every 2 s: the tracker's general-query times keep only the recent past."""
    monitor = Monitor(MonitorOptions(iface="lab0", limits=Limits(forget_after=60.0)), start_ns=T0)
    for i in range(3000):
        monitor.feed([(T0 + 2 * i * SECOND, _query())])
        if i % 100 == 99:
            monitor.tick(T0 + 2 * i * SECOND + 1)
    times = monitor.analyzer.segments[(4, 0, ())].tracker.general_times
    assert len(times) <= 1024 + 200 and times[-1] == pytest.approx(2 * 2999)
