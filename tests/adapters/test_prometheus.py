"""The Prometheus adapter: ADDR:PORT parsing and a real HTTP endpoint on loopback."""

from __future__ import annotations

import socket
import urllib.request

import pytest

from mdiag.adapters.prometheus import MetricsServer, parse_listen
from mdiag.errors import InputError
from mdiag.monitor.metrics import Family, spec


@pytest.mark.parametrize(("text", "expected"), [
    ("9851", ("127.0.0.1", 9851)),
    ("127.0.0.1:9851", ("127.0.0.1", 9851)),
    ("0.0.0.0:80", ("0.0.0.0", 80)),
    (":9851", ("0.0.0.0", 9851)),
    ("[::1]:9851", ("::1", 9851)),
    ("[::]:9851", ("::", 9851)),
])
def test_parse_listen(text, expected) -> None:
    assert parse_listen(text) == expected


@pytest.mark.parametrize("text", ["", "x", "1.2.3.4:", "1.2.3.4:0", "[::1]9851", "[::1", "::1:80",
                                  "999.1.1.1:80", "localhost:80"])
def test_parse_listen_refuses(text) -> None:
    with pytest.raises(InputError):
        parse_listen(text)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_server_serves_the_families_at_each_scrape_and_a_busy_port_is_one_line() -> None:
    calls = []

    def collect() -> list[Family]:
        calls.append(1)
        family = Family(spec("mdiag_capture_frames"))
        family.add(("lo",), float(len(calls)))
        return [family]

    port = _free_port()
    server = MetricsServer("127.0.0.1", port, collect)
    try:
        for expected in ("1.0", "2.0"):
            with urllib.request.urlopen(server.url, timeout=10) as response:
                body = response.read().decode()
            assert f'mdiag_capture_frames_total{{interface="lo"}} {expected}' in body
        assert "process_cpu_seconds_total" in body
        with pytest.raises(InputError, match="the port is in use"):
            MetricsServer("127.0.0.1", port, collect)
    finally:
        server.close()
