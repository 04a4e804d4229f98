"""The live network a probe runs against: namespaces, packet sockets, UDP multicast sockets.

Implements :class:`mdiag.probes.network.Network` by composing the single-owner adapters:
:mod:`.netns` (entering namespaces), :mod:`.rawsock` (packet sockets), :mod:`.interfaces`
(addresses) and :mod:`.sockets` (joins and the paced sender). Every socket is made inside the
endpoint's namespace and keeps it for its life.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from typing import Any

from mdiag.adapters import interfaces, rawsock, sockets
from mdiag.adapters.netns import entered
from mdiag.probes.network import Endpoint


class LiveNetwork:
    """The real :class:`~mdiag.probes.network.Network`."""

    def require_raw(self, what: str) -> None:
        rawsock.require_cap_net_raw(what)

    def packet_socket(self, at: Endpoint, *, igmp: bool = True,
                      udp_to: tuple[str | Sequence[str], int] | None = None,
                      send_only: bool = False, mld: bool = False) -> rawsock.RawSocket:
        if send_only:
            capture_filter = None
        elif udp_to is not None:
            capture_filter = rawsock.membership_or_udp_to(*udp_to)
        elif mld:
            capture_filter = rawsock.MLD
        else:
            capture_filter = rawsock.IGMP if igmp else rawsock.ANY
        with entered(at.netns):
            return rawsock.RawSocket(at.iface, capture_filter)

    def hardware_address(self, at: Endpoint) -> bytes:
        with entered(at.netns):
            return interfaces.hardware_address(at.iface)

    def ipv4_address(self, at: Endpoint) -> str | None:
        with entered(at.netns):
            return interfaces.first_ipv4(at.iface)

    def ipv6_address(self, at: Endpoint) -> str | None:
        with entered(at.netns):
            return interfaces.first_ipv6(at.iface)

    def ipv6_link_local(self, at: Endpoint) -> str | None:
        with entered(at.netns):
            return next((a for a, _ in interfaces.interface_ipv6(at.iface) if a.lower().startswith("fe80")),
                        None)

    def membership(self, at: Endpoint, joins: Iterable[tuple[str, str | None]], port: int) -> sockets.Receiver:
        with entered(at.netns):
            return sockets.Receiver([sockets.Join(g, s) for g, s in joins], at.iface, port)

    def plan_capture(self, path: str, *, speed: float | None, only_igmp: bool, count: int | None) -> Any:
        from mdiag.adapters import replay

        return replay.plan(path, speed=speed, only_igmp=only_igmp, count=count)

    def replay_capture(self, path: str, send: Callable[[bytes], None], *, speed: float | None, only_igmp: bool,
                       rewrite_src_mac: bytes | None, count: int | None, deadline: float) -> Any:
        from mdiag.adapters import replay

        return replay.replay(path, send, speed=speed, only_igmp=only_igmp, rewrite_src_mac=rewrite_src_mac,
                             count=count, deadline=deadline)

    def read_mdb(self, bridge: Endpoint) -> list[dict[str, Any]]:
        from mdiag.adapters import replay

        return replay.read_mdb(bridge.iface, bridge.netns)

    def stream(self, at: Endpoint, group: str | Sequence[str], port: int, *, pps: float, size: int,
               duration: float) -> sockets.BackgroundStream:
        with entered(at.netns):
            sender = sockets.Sender(group, port, at.iface, loop=False)
        return _OwnedStream(sender, pps=pps, size=size, duration=duration)


class _OwnedStream(sockets.BackgroundStream):
    """A background stream that closes its sender when stopped."""

    def stop(self, timeout: float = 2.0) -> None:
        super().stop(timeout)
        self.sender.close()


class LiveStreams:
    """The real :class:`~mdiag.probes.streams.StreamPort`: UDP sockets in the current namespace
    (``send``/``listen`` enter ``--netns`` around the whole run)."""

    def sender(self, destinations: Sequence[str], port: int, iface: str, *, ttl: int, loop: bool,
               kind: str, source_port: int, tos: int) -> sockets.Sender:
        return sockets.Sender(list(destinations), port, iface, ttl=ttl, loop=loop, kind=kind,
                              source_port=source_port, tos=tos)

    def receiver(self, joins: Sequence[tuple[str, str | None]], iface: str, port: int, *,
                 unicast: Sequence[str], until_ns: int) -> sockets.Receiver:
        return sockets.Receiver([sockets.Join(g, s) for g, s in joins], iface, port, unicast=unicast,
                                until_ns=until_ns)

    def collector(self, *, on_plain: Callable[..., None], latency: bool | None,
                  streams: int) -> sockets.StreamCollector:
        from mdiag.core import stream as stream_format

        # a 64k-packet duplicate window per stream for a few streams, 2k for many
        return sockets.StreamCollector(
            clock_id=interfaces.boot_clock_id(), on_plain=on_plain, latency=latency,
            window=stream_format.DEFAULT_WINDOW if streams <= 8 else stream_format.SMALL_WINDOW)

    def is_multicast(self, address: str) -> bool:
        return sockets.is_multicast(address)

    def stream_id(self) -> int:
        return sockets.random_stream_id()

    def clock_id(self) -> int:
        return interfaces.boot_clock_id()

    def first_address(self, iface: str, family: int) -> str | None:
        return interfaces.first_ipv6(iface) if family == 6 else interfaces.first_ipv4(iface)


__all__ = ["LiveNetwork", "LiveStreams"]
