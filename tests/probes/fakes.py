"""Fakes of the probe seam (mdiag.probes.network.Network): canned frames, recorded sends.

A :class:`FakeNetwork` hands out :class:`FakeSocket` packet sockets. Frames are queued with
:meth:`FakeNetwork.deliver` (to every capture socket of an interface) or produced by a
``respond(frame) -> frames`` script when a probe sends. ``capture()`` yields what is queued and
returns at the window's end: probes run on real (short) time.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

from mdiag.core.igmp.frame import build_frame
from mdiag.core.igmp.ipv4 import IPv4Header
from mdiag.core.igmp.messages import default_destination
from mdiag.probes.network import Endpoint


@dataclass(frozen=True)
class FakeFrame:
    ts_ns: int
    frame: bytes
    outgoing: bool = False

    @property
    def time(self) -> float:
        return self.ts_ns / 1e9


def igmp_frame(message: Any, src: str, *, mac: str = "02:00:c6:12:00:01", dst: str | None = None) -> bytes:
    """An Ethernet frame carrying ``message`` from ``src``."""
    return build_frame(message, IPv4Header(src=src, dst=dst or default_destination(message)), src_mac=mac)


@dataclass
class FakeSocket:
    network: FakeNetwork
    at: Endpoint
    send_only: bool
    queue: list[FakeFrame] = field(default_factory=list)
    closed: bool = False

    def capture(self, until: float) -> Iterator[FakeFrame]:
        """What is queued, after waiting until ``until`` (a time.monotonic() deadline), as a
        capture window would (the caller's hold and settle times really pass)."""
        time.sleep(max(0.0, until - time.monotonic()))
        while self.queue:
            yield self.queue.pop(0)

    def recv(self, timeout: float) -> FakeFrame | None:
        if not self.queue:
            time.sleep(timeout)
        return self.queue.pop(0) if self.queue else None

    def drain(self) -> list[FakeFrame]:
        out, self.queue = self.queue, []
        return out

    def send(self, frame: bytes) -> None:
        assert not self.closed
        self.network.sent.append((self.at, frame))
        now = time.time_ns()
        self.network.deliver(self.at, FakeFrame(now, frame, outgoing=True))
        for offset_ns, reply in self.network.respond(frame):
            self.network.deliver(self.at, FakeFrame(now + offset_ns, reply))

    def close(self) -> None:
        self.closed = True


def udp_frame(group: str, port: int, src: str = "198.18.0.11") -> bytes:
    """An Ethernet frame with one UDP datagram to ``group:port`` (the probe's test stream)."""
    import socket
    import struct

    udp = struct.pack("!HHHH", 40000, port, 8 + 32, 0) + bytes(32)
    ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(udp), 0, 0x4000, 1, 17, 0,
                     socket.inet_aton(src), socket.inet_aton(group))
    return bytes.fromhex("01005e010203" "020000000b00" "0800") + ip + udp


@dataclass
class FakeMembership:
    """Join/leave sockets: each join/leave puts the kernel's report on the wire at once, and
    the scripted switch answers (``on_join``/``on_leave`` -> [(delay_ns, frame)] arriving)."""

    network: FakeNetwork
    at: Endpoint
    joins: list[tuple[str, str | None]]
    members: list[Any] = field(default_factory=list)
    closed: bool = False
    inbox: list[bytes] = field(default_factory=list)
    joined: bool = False

    def _report(self, kind: str) -> bytes:
        from mdiag.core.igmp.messages import GroupRecord, V3Report

        group, source = self.joins[0]
        if source is None:
            record = GroupRecord("TO_EX" if kind == "join" else "TO_IN", group)
        else:
            record = GroupRecord("ALLOW" if kind == "join" else "BLOCK", group, [source])
        return igmp_frame(V3Report((record,)), "198.18.0.12")

    def _event(self, kind: str) -> None:
        now = time.time_ns()
        self.network.deliver(self.at, FakeFrame(now, self._report(kind), outgoing=True))
        script = self.network.on_join if kind == "join" else self.network.on_leave
        for offset_ns, frame in script(self.at, self.joins[0][0]):
            self.network.deliver(self.at, FakeFrame(now + offset_ns, frame))
            if kind == "join":
                self.inbox.append(frame)  # what the joined socket itself receives
        self.network.events.append((self.at, kind))

    def receive(self, handler: Callable[..., None], *, stop: Callable[[], bool] | None = None) -> int:
        count = 0
        while stop is None or not stop():
            while self.inbox:
                handler(self, self.inbox.pop(0), 0, ("198.18.0.11", 40000), time.time_ns())
                count += 1
            if stop is None:
                break
            time.sleep(0.005)
        return count

    def join(self) -> None:
        self._event("join")

    def leave(self) -> int:
        self._event("leave")
        return 0

    def close(self) -> None:
        self.closed = True


@dataclass
class FakeStream:
    group: str
    pps: float
    started: bool = False
    stopped: bool = False
    error: BaseException | None = None

    @property
    def sent(self) -> int:
        return 100 if self.started else 0

    def start(self) -> FakeStream:
        self.started = True
        return self

    def stop(self, timeout: float = 2.0) -> None:
        self.stopped = True

    def check(self) -> None:
        if self.error is not None:
            raise self.error


@dataclass
class FakeNetwork:
    """A network of canned frames. ``respond(sent_frame)`` -> [(delay_ns, frame), ...]."""

    respond: Callable[[bytes], Iterable[tuple[int, bytes]]] = lambda frame: ()
    mac: bytes = bytes.fromhex("02000000aa01")
    address: str | None = "198.18.0.5"
    sockets: list[FakeSocket] = field(default_factory=list)
    sent: list[tuple[Endpoint, bytes]] = field(default_factory=list)
    raw_allowed: bool = True
    #: what reaches a member after its join / leave: (at, group) -> [(delay_ns, frame)]
    on_join: Callable[[Endpoint, str], Iterable[tuple[int, bytes]]] = lambda at, group: ()
    on_leave: Callable[[Endpoint, str], Iterable[tuple[int, bytes]]] = lambda at, group: ()
    memberships: list[FakeMembership] = field(default_factory=list)
    streams: list[FakeStream] = field(default_factory=list)
    events: list[tuple[Endpoint, str]] = field(default_factory=list)

    def deliver(self, at: Endpoint, frame: FakeFrame) -> None:
        for s in self.sockets:
            if s.at == at and not s.send_only and not s.closed:
                s.queue.append(frame)

    def require_raw(self, what: str) -> None:
        if not self.raw_allowed:
            from mdiag.errors import PermissionProblem

            raise PermissionProblem(f"{what} needs root")

    def packet_socket(self, at: Endpoint, *, igmp: bool = True, udp_to: tuple[str, int] | None = None,
                      send_only: bool = False) -> FakeSocket:
        sock = FakeSocket(self, at, send_only)
        self.sockets.append(sock)
        return sock

    def hardware_address(self, at: Endpoint) -> bytes:
        return self.mac

    def ipv4_address(self, at: Endpoint) -> str | None:
        return self.address

    def membership(self, at: Endpoint, joins: Iterable[tuple[str, str | None]], port: int) -> FakeMembership:
        m = FakeMembership(self, at, list(joins))
        self.memberships.append(m)
        return m

    def stream(self, at: Endpoint, group: str, port: int, *, pps: float, size: int,
               duration: float) -> FakeStream:
        s = FakeStream(group, pps)
        self.streams.append(s)
        return s
