"""probes/streams.py with a fake stream port: budgets, pacing, END, local address, joins,
interruptions and the per-group accounting (the real sockets: tests/lab/test_streams.py)."""

from __future__ import annotations

from dataclasses import dataclass, field
from types import SimpleNamespace
from typing import Any

import pytest

from mdiag.core.rate import parse_rate
from mdiag.errors import InputError
from mdiag.probes import streams


@dataclass
class FakeSender:
    destinations: list[str]
    family: int = 4
    local_address: tuple[str, int] = ("0.0.0.0", 40000)
    sent_per_call: int | None = None  # None: the whole budget
    calls: list[tuple[str, Any]] = field(default_factory=list)
    closed: bool = False

    def __enter__(self) -> FakeSender:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.closed = True

    def send_datagrams(self, lines: Any, *, pacing: Any) -> Any:
        lines = list(lines)
        self.calls.append(("datagrams", (lines, pacing)))
        return SimpleNamespace(sent=len(lines), interrupted=False)

    def send_stream(self, **kw: Any) -> Any:
        self.calls.append(("stream", kw))
        sent = kw["budget"] if self.sent_per_call is None else self.sent_per_call
        return SimpleNamespace(sent=sent, interrupted=False, pps=sent / 10)

    def send_end(self, stream_id: int, sent: int, clock_id: int) -> None:
        self.calls.append(("end", (stream_id, sent, clock_id)))


@dataclass
class FakeStats:
    group: str
    lost: int = 0
    end_total: int | None = None

    def report(self) -> Any:
        return SimpleNamespace(group=self.group, lost=self.lost,
                               counted_from_zero=lambda: SimpleNamespace(group=self.group, from_zero=True))


@dataclass
class FakeReceiver:
    joins: list[tuple[str, str | None]]
    unicast: list[str]
    deliver: dict[str, int]
    join_fails_after: int | None = None   # joins only this many, then the deadline
    interrupt_join: bool = False
    received: list[dict[str, Any]] = field(default_factory=list)
    closed: bool = False

    def __post_init__(self) -> None:
        self.members = [SimpleNamespace(group=g, datagrams=0, joined=False, bind_only=False, join_ns=None,
                                        first_ns=None) for g, _ in self.joins]
        self.members += [SimpleNamespace(group=a, datagrams=0, joined=True, bind_only=True, join_ns=None,
                                         first_ns=None) for a in self.unicast]
        self.planned = len(self.joins)

    def join(self, *, until_ns: int) -> None:
        if self.interrupt_join:
            raise KeyboardInterrupt
        for index, m in enumerate(m for m in self.members if not m.bind_only):
            if self.join_fails_after is not None and index >= self.join_fails_after:
                return
            m.joined, m.join_ns = True, 1_000_000 * (index + 1)

    def receive(self, collector: Any, **kw: Any) -> None:
        self.received.append(kw)
        for m in self.members:
            m.datagrams = self.deliver.get(m.group, 0)
            if m.datagrams:
                m.first_ns = (m.join_ns or 0) + 5_000_000
                collector.streams.append(FakeStats(m.group))
        if kw["tick"]:
            kw["tick"]()

    def close(self) -> None:
        self.closed = True


@dataclass
class FakePort:
    deliver: dict[str, int] = field(default_factory=dict)
    options: dict[str, Any] = field(default_factory=dict)
    made: list[Any] = field(default_factory=list)

    def sender(self, destinations: Any, port: int, iface: str, **kw: Any) -> FakeSender:
        self.made.append(FakeSender(list(destinations), **self.options))
        return self.made[-1]

    def receiver(self, joins: Any, iface: str, port: int, *, unicast: Any, until_ns: int) -> FakeReceiver:
        self.made.append(FakeReceiver(list(joins), list(unicast), self.deliver, **self.options))
        return self.made[-1]

    def collector(self, *, on_plain: Any, latency: Any, streams: int) -> Any:
        return SimpleNamespace(streams=[])

    def is_multicast(self, address: str) -> bool:
        return address.startswith(("2", "ff"))

    def stream_id(self) -> int:
        return 77

    def clock_id(self) -> int:
        return 5

    def first_address(self, iface: str, family: int) -> str | None:
        return "198.18.0.11" if family == 4 else "fd00::11"


def _send(port: FakePort, **kw: Any) -> streams.SendReport:
    options = {"destinations": ["239.1.1.1"], "port": 5001, "iface": "lab0", "rate": parse_rate("1000pps"), **kw}
    return streams.send(streams.SendOptions(**options), port)


@pytest.mark.parametrize("kw, budget, duration", [
    ({"count": 5}, 5, None),                                          # count alone: no deadline
    ({"duration": 2.0}, 2000, 2.0 + streams.DEADLINE_GRACE),           # a paced stream ends by its budget
    ({}, 10_000, streams.DEFAULT_DURATION + streams.DEADLINE_GRACE),   # neither: 10 s
    ({"count": 5, "destinations": ["239.1.1.1", "239.1.1.2", "239.1.1.3"]}, 15, None),  # per group
])
def test_send_budget_deadline_and_end(kw, budget, duration):
    port = FakePort()
    report = _send(port, **kw)
    sender = port.made[0]
    (_, stream), (_, end) = sender.calls
    assert stream["budget"] == budget and stream["duration"] == duration
    assert stream["stream_id"] == 77 and end == (77, budget, 5)     # END carries what was sent
    assert stream["pacing"].pps == 1000 * len(sender.destinations)  # the rate is per group
    assert report.local == ("198.18.0.11", 40000) and sender.closed  # unconnected: the interface's address
    assert not report.short_of_rate


def test_send_says_when_the_host_could_not_keep_the_rate():
    port = FakePort(options={"sent_per_call": 1500})
    report = _send(port, duration=2.0)
    assert report.short_of_rate and report.budget == 2000 and report.duration == 2.0
    assert not _send(FakePort(options={"sent_per_call": 3}), count=5).short_of_rate  # no deadline


def test_send_lines_once_each_without_end_marker():
    port = FakePort()
    report = _send(port, lines=[b"a", b"b"], rate=parse_rate("max"))
    assert port.made[0].calls == [("datagrams", ([b"a", b"b"], None))]
    assert report.pps is None and report.result.sent == 2 and not report.short_of_rate


def test_send_refuses_an_absurd_rate_before_any_socket():
    port = FakePort()
    with pytest.raises(InputError):
        _send(port, rate=parse_rate("100tbit"), size=32)
    assert not port.made


def _listen(port: FakePort, tick: Any = None, **kw: Any) -> streams.ListenReport:
    options = {"groups": ["239.1.1.1", "239.1.1.2"], "iface": "lab0", **kw}
    return streams.listen(streams.ListenOptions(**options), port, on_plain=lambda *a: None, tick=tick)


def test_listen_counts_per_group_and_join_to_first():
    ticks: list[tuple[int, int, int, float]] = []
    port = FakePort(deliver={"239.1.1.1": 900})
    report = _listen(port, tick=lambda *a: ticks.append(a), count=900, until_end=True)
    receiver = port.made[0]
    assert report.counts == {"239.1.1.1": 900, "239.1.1.2": 0}
    assert report.join_to_first_ms("239.1.1.1") == 5.0 and report.join_to_first_ms("239.1.1.2") is None
    assert receiver.received[0]["max_packets"] == 900 and receiver.received[0]["stop"] is not None
    assert ticks and ticks[0][:3] == (1, 900, 0)
    assert receiver.closed and not report.interrupted and not report.joins_cut_short


def test_listen_joins_each_source_of_the_groups_family_and_binds_unicast():
    port = FakePort()
    _listen(port, groups=["232.1.1.1", "ff3e::1", "198.18.0.255"],
            sources=["198.18.0.11", "198.18.0.12", "fd00::11"])
    receiver = port.made[0]
    assert receiver.joins == [("232.1.1.1", "198.18.0.11"), ("232.1.1.1", "198.18.0.12"), ("ff3e::1", "fd00::11")]
    assert receiver.unicast == ["198.18.0.255"]
    with pytest.raises(InputError, match="IPv6 group but no --source is IPv6"):
        _listen(FakePort(), groups=["ff3e::1"], sources=["198.18.0.11"])


def test_listen_interrupted_while_joining_still_reports():
    port = FakePort(options={"interrupt_join": True})
    report = _listen(port)
    assert report.interrupted and report.counts == {"239.1.1.1": 0, "239.1.1.2": 0}
    assert not port.made[0].received and port.made[0].closed


def test_listen_deadline_during_joins_receives_nothing_and_says_so():
    port = FakePort(options={"join_fails_after": 1})
    report = _listen(port)
    assert report.joins_cut_short and (report.joined, report.planned) == (1, 2)
    assert not port.made[0].received


@pytest.mark.parametrize("kw, deadline", [({}, 10.0), ({"count": 3}, streams.COUNT_ONLY_DURATION),
                                          ({"count": 3, "duration": 2.0}, 2.0)])
def test_listen_is_always_bounded(kw, deadline):
    assert streams.ListenOptions(["239.1.1.1"], "lab0", **kw).deadline == deadline


def test_listen_from_zero_recounts_the_streams():
    report = _listen(FakePort(deliver={"239.1.1.1": 3}), from_zero=True)
    assert [r.from_zero for r in report.reports] == [True]
