"""Real joins in the lab: delivery, snooping, SSM, 1,000 groups, leaves, kernel errors."""

from __future__ import annotations

import errno
import socket
import struct
import threading
import time

import pytest

from mdiag.adapters import rawsock, sockets
from mdiag.adapters.sockets import Join, Receiver, Sender, StreamCollector
from mdiag.core.rate import Pacing

pytestmark = pytest.mark.lab


def _send(lab, host, group, count, *, port, rate=2000.0, size=100):
    with lab.inside(host):
        sender = Sender(group, port, lab.host(host).iface, loop=False)
    with sender:
        result = sender.send_stream(size=size, pacing=Pacing(rate, burst=4), budget=count,
                                    duration=None, stream_id=sockets.random_stream_id())
        sender.send_end(result.stream_id, result.sent)
    return result


def _receive_while(receiver, action, seconds=3.0):
    """Run ``action`` in a thread while receiving; stop 0.3 s after it ends (bounded)."""
    collector = StreamCollector()
    done = threading.Event()
    thread = threading.Thread(target=lambda: (action(), done.set()), daemon=True)
    thread.start()
    finished_at: list[float] = []

    def stop():
        if done.is_set() and not finished_at:
            finished_at.append(time.monotonic())
        return bool(finished_at) and time.monotonic() - finished_at[0] > 0.3

    receiver.receive(collector, until_ns=time.monotonic_ns() + int(seconds * 1e9), stop=stop)
    thread.join(5)
    return collector


class _Counter:
    """Counts the group's UDP frames arriving on a host interface (packet socket)."""

    def __init__(self, lab, host, group, port):
        with lab.inside(host):
            self.raw = rawsock.RawSocket(lab.host(host).iface, rawsock.igmp_or_udp_to(group, port))
        self.packed = socket.inet_aton(group)

    def count(self):
        n = 0
        for c in self.raw.drain():
            if not c.outgoing and c.frame[23] == 17 and c.frame[30:34] == self.packed:
                n += 1
        self.raw.close()
        return n


def test_member_receives_and_snooping_keeps_it_from_the_non_member(mdiag_lab):
    group, port = "239.10.0.1", 6001
    with mdiag_lab.inside("h2"):
        receiver = Receiver([Join(group)], "lab0", port)
    with receiver:
        other = _Counter(mdiag_lab, "h3", group, port)
        mdiag_lab.wait_member(group, "h2")  # registered: the bridge stops flooding it to h3
        collector = _receive_while(receiver, lambda: _send(mdiag_lab, "h1", group, 300, port=port))
        leaked = other.count()
    (report,) = [s.report() for s in collector.streams]
    assert (report.received, report.lost, report.duplicated, report.ended) == (300, 0, 0, True)
    assert report.sender.startswith("198.18.0.11:")
    assert leaked == 0, "h3 never joined: the snooping bridge must not forward the group to it"


def test_source_specific_join_receives_only_its_source(mdiag_lab):
    group, port = "232.10.0.1", 6002
    with mdiag_lab.inside("h2"):
        receiver = Receiver([Join(group, "198.18.0.11")], "lab0", port)
    with receiver:
        mdiag_lab.wait_member(group, "h2")

        def both():
            t = threading.Thread(target=_send, args=(mdiag_lab, "h3", group, 200), kwargs={"port": port})
            t.start()
            _send(mdiag_lab, "h1", group, 200, port=port)
            t.join()

        collector = _receive_while(receiver, both)
    senders = {s.sender.split(":")[0] for s in collector.streams}
    assert senders == {"198.18.0.11"}
    assert collector.streams[0].report().received == 200


def test_a_thousand_groups_are_joined_and_delivered(mdiag_lab):
    port = 6003
    groups = [f"239.20.{i // 250}.{i % 250 + 1}" for i in range(1000)]
    with mdiag_lab.inside("h2"):
        receiver = Receiver([Join(g) for g in groups], "lab0", port)
    with receiver:
        assert len(receiver.members) == 1000  # one socket per group, far under igmp_max_memberships
        mdiag_lab.wait_member(groups[-1], "h2", timeout=10)
        with mdiag_lab.inside("h1"):
            out = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            out.setsockopt(socket.IPPROTO_IP, sockets.IP_MULTICAST_IF,
                           bytes(8) + struct.pack("@i", socket.if_nametoindex("lab0")))

        def blast():
            with out:
                for round_ in range(3):
                    for g in groups:
                        out.sendto(b"hello %d" % round_, (g, port))
                    time.sleep(0.05)

        got: dict[str, int] = {}

        def handler(member, buf, n, sender, now):
            got[member.group] = got.get(member.group, 0) + 1

        thread = threading.Thread(target=blast)
        thread.start()
        receiver.receive(handler, until_ns=time.monotonic_ns() + 3_000_000_000,
                         stop=lambda: sum(got.values()) >= 3000)
        thread.join()
        members = mdiag_lab.members  # bridge view: every group registered for h2
        registered = sum(1 for g in groups[:50] if "h2" in members(g))
    assert len(got) == 1000, f"{1000 - len(got)} groups got nothing"
    assert sum(got.values()) == 3000
    assert registered == 50


def test_after_the_leave_delivery_stops_within_the_last_member_time(mdiag_lab):
    group, port = "239.10.0.4", 6004
    # h3 stays joined so the group stays registered and is not flooded after h2 leaves
    with mdiag_lab.inside("h3"):
        anchor = Receiver([Join(group)], "lab0", port)
    with mdiag_lab.inside("h2"):
        receiver = Receiver([Join(group)], "lab0", port)
        raw = rawsock.RawSocket("lab0", rawsock.igmp_or_udp_to(group, port))
    packed = socket.inet_aton(group)
    with anchor, receiver, raw:
        stop = threading.Event()
        with mdiag_lab.inside("h1"):
            sender = Sender(group, port, "lab0", loop=False)
        thread = threading.Thread(target=lambda: sender.send_stream(
            size=64, pacing=Pacing(1000, 4), budget=None, duration=6, stream_id=1, stop=stop.is_set))
        thread.start()
        try:
            time.sleep(0.4)
            leave_ns = receiver.leave()
            time.sleep(1.0)
        finally:
            stop.set()
            thread.join()
            sender.close()
        data = [c.ts_ns for c in raw.drain()
                if not c.outgoing and c.frame[23] == 17 and c.frame[30:34] == packed]
    before = [t for t in data if t < leave_ns]
    after = [t for t in data if t >= leave_ns]
    assert len(before) > 100
    lmqt = mdiag_lab.bridge.last_member_interval * mdiag_lab.bridge.last_member_count
    assert after, "the bridge needs the last member query time before it stops"
    assert after[-1] - leave_ns < (lmqt + 0.3) * 1e9
    assert data[-1] < time.time_ns() - 0.4e9  # and then it stayed quiet


@pytest.fixture
def in_h2(mdiag_lab):
    with mdiag_lab.inside("h2"):
        yield socket.if_nametoindex("lab0")


def _error_from(fn):
    try:
        fn()
    except OSError as exc:
        return exc
    raise AssertionError("the kernel accepted it")


def test_enobufs_names_the_sysctl_and_its_value(in_h2):
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        def join_21():
            for i in range(21):
                s.setsockopt(socket.IPPROTO_IP, sockets.IP_ADD_MEMBERSHIP,
                             sockets.mreqn(f"239.30.0.{i + 1}", in_h2))
        exc = _error_from(join_21)
        assert exc.errno == errno.ENOBUFS
        message = sockets.explain(exc, action="joining", group="239.30.0.21", iface="lab0").message
    assert "net.ipv4.igmp_max_memberships = 20" in message and "sysctl -w" in message


def test_too_many_sources_names_igmp_max_msf(in_h2):
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        def add_11():
            for i in range(11):
                s.setsockopt(socket.IPPROTO_IP, sockets.IP_ADD_SOURCE_MEMBERSHIP,
                             sockets.mreq_source("232.30.0.1", "198.18.0.12", f"10.0.0.{i + 1}"))
        exc = _error_from(add_11)
        assert exc.errno == errno.ENOBUFS
        message = sockets.explain(exc, action="joining", group="232.30.0.1", source="10.0.0.11").message
    assert "net.ipv4.igmp_max_msf = 10" in message


def test_receiver_spreads_sources_over_sockets(in_h2):
    sources = [f"10.0.1.{i}" for i in range(1, 26)]
    with Receiver([Join("232.30.0.2", s) for s in sources], "lab0", 6005) as r:
        assert [len(m.sources) for m in r.members] == [10, 10, 5]


@pytest.mark.parametrize("call, code, text", [
    (lambda s, i: s.setsockopt(socket.IPPROTO_IP, sockets.IP_ADD_MEMBERSHIP, sockets.mreqn("10.1.2.3", i)),
     errno.EINVAL, "EINVAL"),
    (lambda s, i: s.setsockopt(socket.IPPROTO_IP, sockets.IP_ADD_MEMBERSHIP, sockets.mreqn("239.30.1.1", 9999)),
     errno.ENODEV, "interfaces here: lo, lab0"),
])
def test_kernel_errors_become_clear_messages(in_h2, call, code, text):
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        exc = _error_from(lambda: call(s, in_h2))
        assert exc.errno == code
        assert text in sockets.explain(exc, action="joining", group="x", iface="lab0").message


def test_joining_twice_on_one_socket_is_eaddrinuse(in_h2):
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        req = sockets.mreqn("239.30.2.1", in_h2)
        s.setsockopt(socket.IPPROTO_IP, sockets.IP_ADD_MEMBERSHIP, req)
        exc = _error_from(lambda: s.setsockopt(socket.IPPROTO_IP, sockets.IP_ADD_MEMBERSHIP, req))
    assert exc.errno == errno.EADDRINUSE
    assert "already joined" in sockets.explain(exc, action="joining", group="239.30.2.1").message


def test_groups_command_shows_the_kernel_view(mdiag_lab, cli):
    with mdiag_lab.inside("h2"):
        with Receiver([Join("232.40.0.1", "198.18.0.11"), Join("239.40.0.1")], "lab0", 6006):
            result = cli("groups", "--iface", "lab0", "--json")
            table = cli("groups", "--iface", "lab0")
        ifaces = cli("ifaces", "lab0", "--json")
        doctor = cli("doctor", "--iface", "lab0", "--group", "239.1.1.1", "--json")
    assert result.status == 0, result.stderr
    by_group = {m["group"]: m for m in result.json()["memberships"]}
    assert by_group["232.40.0.1"]["mode"] == "include"
    assert [s["source"] for s in by_group["232.40.0.1"]["sources"]] == ["198.18.0.11"]
    assert by_group["239.40.0.1"]["mode"] == "exclude" and by_group["239.40.0.1"]["mac"] == "01:00:5e:28:00:01"
    assert "198.18.0.11" in table.stdout and "INCLUDE" in table.stdout
    (lab0,) = ifaces.json()["interfaces"]
    assert lab0["multicast"] and lab0["igmp_version"] == "V3" and lab0["ipv4"] == ["198.18.0.12/24"]
    assert doctor.status == 0 and doctor.json()["verdict"] == "ok"
