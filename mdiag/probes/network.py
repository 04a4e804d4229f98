"""The seam between a probe and the outside world: endpoints and the network interface.

A probe never opens a socket or enters a namespace itself: it asks the :class:`Network` it was
given. :class:`mdiag.adapters.network.LiveNetwork` is the real one (namespaces, packet sockets,
UDP multicast sockets); tests pass fakes with the same methods.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any, Protocol


def sender_address(network: Network, at: Endpoint, group: str) -> str | None:
    """The address ``at`` sends ``group``'s stream from (the SSM source): IPv4 for an IPv4
    group, IPv6 (ULA/global before link-local) for an IPv6 one."""
    return network.ipv6_address(at) if ":" in group else network.ipv4_address(at)


@dataclass(frozen=True, slots=True)
class Endpoint:
    """An interface a probe uses: its name, its network namespace (None: this one) and a label
    for reports (a lab host name, or ``NS:IFACE``)."""

    iface: str
    netns: str | None = None
    name: str | None = None

    @property
    def label(self) -> str:
        if self.name:
            return self.name
        return f"{self.netns}:{self.iface}" if self.netns else self.iface

    def to_json(self) -> dict[str, Any]:
        return {"host": self.label, "netns": self.netns, "iface": self.iface}


class Frame(Protocol):
    """One captured frame: kernel receive time (ns since the epoch), bytes, direction."""

    ts_ns: int
    frame: bytes
    outgoing: bool

    @property
    def time(self) -> float: ...


class PacketSocket(Protocol):
    """A link-layer socket bound to one interface (send whole frames, capture with a filter)."""

    def capture(self, until: float) -> Iterator[Frame]: ...
    def recv(self, timeout: float) -> Frame | None: ...
    def drain(self) -> list[Frame]: ...
    def send(self, frame: bytes) -> None: ...
    def close(self) -> None: ...


class Membership(Protocol):
    """Receiving sockets that join and leave groups on one interface (the kernel reports)."""

    members: Sequence[Any]

    def receive(self, handler: Any, *, stop: Any = None) -> int: ...
    def join(self) -> None: ...
    def leave(self) -> int: ...
    def close(self) -> None: ...


class Stream(Protocol):
    """A paced test stream running in the background while a probe measures."""

    error: BaseException | None

    @property
    def sent(self) -> int: ...
    def start(self) -> Stream: ...
    def stop(self, timeout: float = 2.0) -> None: ...
    def check(self) -> None: ...


class Network(Protocol):
    """Everything an active probe may do to the outside world."""

    def require_raw(self, what: str) -> None:
        """Raise PermissionProblem (exit 4) unless packet sockets may be opened."""

    def packet_socket(self, at: Endpoint, *, igmp: bool = True,
                      udp_to: tuple[str | Sequence[str], int] | None = None,
                      send_only: bool = False, mld: bool = False) -> PacketSocket:
        """A packet socket on ``at``: IGMP (``mld``: MLD) captured, plus UDP to ``udp_to``
        (groups, port; IPv6 groups capture MLD instead of IGMP), or send-only."""

    def hardware_address(self, at: Endpoint) -> bytes:
        """The 6-byte MAC of ``at``."""

    def ipv4_address(self, at: Endpoint) -> str | None:
        """The first IPv4 address of ``at`` (None: it has none)."""

    def ipv6_address(self, at: Endpoint) -> str | None:
        """The first global/ULA IPv6 address of ``at``, else its link-local one (None: none)."""

    def ipv6_link_local(self, at: Endpoint) -> str | None:
        """The link-local IPv6 address of ``at`` (the source of MLD queries; None: none)."""

    def membership(self, at: Endpoint, joins: Iterable[tuple[str, str | None]], port: int) -> Membership:
        """Sockets on ``at`` that join (group, source or None) on ``join()``."""

    def plan_capture(self, path: str, *, speed: float | None, only_igmp: bool, count: int | None) -> Any:
        """What replaying the capture at ``path`` would send (frames, peak rate, duration, damage)."""

    def replay_capture(self, path: str, send: Any, *, speed: float | None, only_igmp: bool,
                       rewrite_src_mac: bytes | None, count: int | None, deadline: float) -> Any:
        """Send the capture's frames through ``send`` with their timing; what was sent."""

    def read_mdb(self, bridge: Endpoint) -> list[dict[str, Any]]:
        """The multicast database of the Linux bridge ``bridge.iface`` in ``bridge.netns``."""

    def stream(self, at: Endpoint, group: str | Sequence[str], port: int, *, pps: float, size: int,
               duration: float) -> Stream:
        """A paced test stream from ``at`` to ``group:port`` (TTL 1, no loop), not yet started;
        several groups share it round-robin and ``pps`` counts datagrams over all of them."""
