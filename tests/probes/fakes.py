"""Fakes of the probe seam (mdiag.probes.network.Network): canned frames, recorded sends.

A :class:`FakeNetwork` hands out :class:`FakeSocket` packet sockets. Frames are queued with
:meth:`FakeNetwork.deliver` (to every capture socket of an interface) or produced by a
``respond(frame) -> frames`` script when a probe sends. ``capture()`` yields what is queued and
returns at once: probes run without waiting on real time.
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
        while self.queue:
            yield self.queue.pop(0)

    def recv(self, timeout: float) -> FakeFrame | None:
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


@dataclass
class FakeNetwork:
    """A network of canned frames. ``respond(sent_frame)`` -> [(delay_ns, frame), ...]."""

    respond: Callable[[bytes], Iterable[tuple[int, bytes]]] = lambda frame: ()
    mac: bytes = bytes.fromhex("02000000aa01")
    address: str | None = "198.18.0.5"
    sockets: list[FakeSocket] = field(default_factory=list)
    sent: list[tuple[Endpoint, bytes]] = field(default_factory=list)
    raw_allowed: bool = True

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
