"""The Prometheus endpoint: the only importer of ``prometheus_client``.

``mdiag monitor --metrics ADDR:PORT`` serves ``/metrics`` in the Prometheus text
format through the standard client library: a custom collector turns the
monitor's :class:`mdiag.monitor.metrics.Family` values into metric families at
each scrape (so series of forgotten groups simply disappear), next to the
library's process collector (``process_resident_memory_bytes``,
``process_cpu_seconds_total``: the monitor's own footprint over days). Only
``mdiag monitor`` imports this module, so no other command pays for the library
at start-up.
"""

from __future__ import annotations

import errno
import socket
from collections.abc import Callable, Iterator
from typing import Any

from mdiag.errors import InputError, MissingSystemPiece
from mdiag.monitor.metrics import COUNTER, Family

__all__ = ["MetricsServer", "exposition", "parse_listen"]


def _library() -> Any:
    try:
        import prometheus_client
    except ImportError:   # pragma: no cover - a dependency of mdiag
        raise MissingSystemPiece("the Python package prometheus-client is not installed "
                                 "(pip install 'prometheus-client>=0.21,<0.27')") from None
    return prometheus_client


def parse_listen(text: str) -> tuple[str, int]:
    """``ADDR:PORT``, ``[V6ADDR]:PORT`` or ``PORT`` (then 127.0.0.1) -> (address, port)."""
    text = text.strip()
    address = "127.0.0.1"
    port_text = text
    if text.startswith("["):
        close = text.find("]")
        if close < 0 or text[close + 1:close + 2] != ":":
            raise InputError(f"--metrics {text!r}: write an IPv6 address as [ADDR]:PORT")
        address, port_text = text[1:close], text[close + 2:]
    elif ":" in text:
        address, _, port_text = text.rpartition(":")
        if ":" in address:
            raise InputError(f"--metrics {text!r}: write an IPv6 address as [ADDR]:PORT")
        address = address or "0.0.0.0"
    if not port_text.isdigit() or not 1 <= int(port_text) <= 65535:
        raise InputError(f"--metrics {text!r}: the port must be a number 1..65535 "
                         "(e.g. --metrics 127.0.0.1:9851)")
    try:
        socket.getaddrinfo(address, None, flags=socket.AI_NUMERICHOST)
    except socket.gaierror:
        raise InputError(f"--metrics {text!r}: {address!r} is not an IP address of this host "
                         "(e.g. 127.0.0.1, 0.0.0.0, [::])") from None
    return address, int(port_text)


class _Collector:
    """A prometheus_client collector over a function returning :class:`Family` values."""

    def __init__(self, collect: Callable[[], list[Family]]) -> None:
        self._collect = collect

    def collect(self) -> Iterator[Any]:
        from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily

        for family in self._collect():
            spec = family.spec
            kind = CounterMetricFamily if spec.kind == COUNTER else GaugeMetricFamily
            metric = kind(spec.name, spec.help, labels=list(spec.labels))
            for labels, value in family.samples:
                metric.add_metric(list(labels), value)
            yield metric

    def describe(self) -> list[Any]:
        return []   # described at collection: the series vary with what is seen


def _registry(collect: Callable[[], list[Family]], *, process: bool) -> Any:
    client = _library()
    registry = client.CollectorRegistry(auto_describe=False)
    registry.register(_Collector(collect))
    if process:
        client.ProcessCollector(registry=registry)
    return registry


def exposition(families: list[Family], *, process: bool = False) -> bytes:
    """The Prometheus text format (0.0.4) of ``families``, as a scrape would get it."""
    client = _library()
    return bytes(client.generate_latest(_registry(lambda: families, process=process)))


class MetricsServer:
    """``/metrics`` on ``address``:``port`` in a daemon thread; :meth:`close` stops it.

    Sockets are made where the constructor runs: start it outside ``--netns`` so
    Prometheus reaches it in the host's namespace while the capture runs inside.
    """

    def __init__(self, address: str, port: int, collect: Callable[[], list[Family]]) -> None:
        client = _library()
        self.address = address
        registry = _registry(collect, process=True)
        try:
            self._server, self._thread = client.start_http_server(port, addr=address, registry=registry)
        except OSError as exc:
            if exc.errno == errno.EADDRINUSE:
                raise InputError(f"--metrics {address}:{port}: the port is in use (another monitor?); "
                                 "give each monitor its own port") from None
            if exc.errno == errno.EADDRNOTAVAIL:
                raise InputError(f"--metrics {address}:{port}: {address} is not an address of this "
                                 "host") from None
            if exc.errno == errno.EACCES:
                raise InputError(f"--metrics {address}:{port}: ports below 1024 need privileges; "
                                 "use a high port (e.g. 9851)") from None
            raise InputError(f"--metrics {address}:{port}: cannot listen: {exc.strerror or exc}") from None
        self.port = int(self._server.server_address[1])

    @property
    def url(self) -> str:
        host = f"[{self.address}]" if ":" in self.address else self.address
        return f"http://{host}:{self.port}/metrics"

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)
