"""The ``igmp_sniffer`` fixture: what IGMP crossed an interface during a test, decoded.

::

    def test_join_is_reported(mdiag_lab, igmp_sniffer):
        h2 = mdiag_lab.host("h2")
        sniffer = igmp_sniffer(h2.iface, netns=h2.netns)      # capturing from here on
        ...                                                   # make h2 join something
        reports = sniffer.wait_for(lambda ms: any(m.kind == "v3-report" for m in ms), timeout=2)
        assert reports[-1].outgoing and reports[-1].mac == h2.mac

Each :class:`Sniffed` carries the kernel timestamp, the direction, the sender MAC and
the codec's ``Decoded`` (message, IP facts, findings). Capture runs in a background
thread on an AF_PACKET socket with a kernel IGMP filter (see
:mod:`mdiag.adapters.rawsock`); it is bounded in time (``max_seconds``) and stopped at
teardown. Needs root: skips on a laptop, fails under CI=true.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import pytest


@dataclass(frozen=True, slots=True)
class Sniffed:
    """One IGMP message seen on the interface."""

    ts_ns: int
    outgoing: bool
    mac: str
    decoded: Any

    @property
    def message(self) -> Any:
        return self.decoded.message

    @property
    def kind(self) -> str:
        return str(self.decoded.kind)

    @property
    def src(self) -> str:
        return str(self.decoded.src)

    @property
    def dst(self) -> str:
        return str(self.decoded.dst)


class Sniffer:
    """Background IGMP capture on one interface (optionally inside a namespace)."""

    def __init__(self, iface: str, netns: str | None = None, *, max_seconds: float = 120.0) -> None:
        from mdiag.adapters import rawsock
        from mdiag.adapters.netns import entered

        with entered(netns):
            self._sock = rawsock.RawSocket(iface, rawsock.IGMP)
        self.iface, self.netns = iface, netns
        self._messages: list[Sniffed] = []
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._deadline = time.monotonic() + max_seconds
        self._thread = threading.Thread(target=self._run, daemon=True, name=f"igmp-sniffer-{iface}")
        self._thread.start()

    def _run(self) -> None:
        from mdiag.probes.frames import decode_igmp

        try:
            while not self._stop.is_set() and time.monotonic() < self._deadline:
                captured = self._sock.recv(0.05)
                if captured is None:
                    continue
                got = decode_igmp(captured.frame)
                if got is None:
                    continue
                with self._lock:
                    self._messages.append(Sniffed(captured.ts_ns, captured.outgoing, got[1], got[0]))
        finally:
            self._sock.close()

    @property
    def messages(self) -> list[Sniffed]:
        """Everything decoded so far (a copy)."""
        with self._lock:
            return list(self._messages)

    def wait_for(self, predicate: Callable[[list[Sniffed]], bool], timeout: float = 5.0) -> list[Sniffed]:
        """Wait (bounded) until ``predicate(messages)`` holds; returns the messages either way."""
        end = time.monotonic() + timeout
        while True:
            current = self.messages
            if predicate(current) or time.monotonic() >= end or not self._thread.is_alive():
                return current
            time.sleep(0.01)

    def stop(self) -> list[Sniffed]:
        """Stop capturing; returns everything seen."""
        self._stop.set()
        self._thread.join(2.0)
        return self.messages


@pytest.fixture
def igmp_sniffer() -> Iterator[Callable[..., Sniffer]]:
    """``igmp_sniffer(iface, netns=None)`` -> a running :class:`Sniffer`; all stop at teardown."""
    from mdiag.testing.requirements import need_root

    made: list[Sniffer] = []

    def start(iface: str, netns: str | None = None, *, max_seconds: float = 120.0) -> Sniffer:
        need_root()
        sniffer = Sniffer(iface, netns, max_seconds=max_seconds)
        made.append(sniffer)
        return sniffer

    try:
        yield start
    finally:
        for sniffer in made:
            sniffer.stop()
