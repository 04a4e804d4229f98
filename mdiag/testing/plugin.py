"""pytest plugin (entry point ``pytest11: mdiag``): fixtures for multicast tests.

Fixtures (see docs/lab.md):

- ``mdiag_lab``: a module-scoped lab of 3 hosts around a snooping bridge with an IGMPv3
  querier and short timers (:meth:`BridgeConfig.fast`), built under a unique prefix
  ``md<pid>x<n>`` and always torn down. Skips without root on a laptop, fails under CI=true.
- ``mdiag_lab_factory``: ``make(hosts=2, bridge=BridgeConfig(...))`` builds further labs for one
  test; every lab it made is torn down afterwards.

Other layers add their fixtures by importing them below (one import line each).
"""

from __future__ import annotations

import itertools
import os
from collections.abc import Callable, Iterator
from typing import Any

import pytest

_counter = itertools.count(1)
_swept = False


def unique_prefix() -> str:
    """A lab prefix unique to this process and call: ``md<pid>x<n>``."""
    return f"md{os.getpid()}x{next(_counter)}"


def _make_lab(hosts: int, bridge: Any = None, ipv6: bool = False) -> Any:
    from mdiag.adapters.lab import BridgeConfig, Lab
    from mdiag.testing.requirements import need_root, unavailable

    need_root()
    global _swept
    if not _swept:  # labs left by test runs that were killed (their pid is gone)
        from mdiag.adapters.lab import sweep_stale

        sweep_stale()
        _swept = True
    lab = Lab(prefix=unique_prefix(), hosts=hosts, bridge=bridge or BridgeConfig.fast(), ipv6=ipv6)
    try:
        lab.up()
    except Exception as exc:  # no namespaces in this container, etc.
        lab.down()
        unavailable(f"cannot build a namespace lab: {exc}")
    return lab


@pytest.fixture(scope="module")
def mdiag_lab() -> Iterator[Any]:
    """A 3-host lab (bridge querier v3, snooping on, fast timers), torn down after the module."""
    lab = _make_lab(3)
    try:
        yield lab
    finally:
        lab.down()


@pytest.fixture(scope="module")
def mdiag_lab6() -> Iterator[Any]:
    """A 3-host dual-stack lab (IGMPv3 and MLDv2 querier, snooping on, fast timers), torn down
    after the module."""
    lab = _make_lab(3, ipv6=True)
    try:
        yield lab
    finally:
        lab.down()


@pytest.fixture
def mdiag_lab_factory() -> Iterator[Callable[..., Any]]:
    """``make(hosts=2, bridge=None, ipv6=False)`` -> a fresh lab (dual-stack with ``ipv6``);
    all are torn down after the test."""
    made: list[Any] = []

    def make(hosts: int = 2, bridge: Any = None, ipv6: bool = False) -> Any:
        lab = _make_lab(hosts, bridge, ipv6)
        made.append(lab)
        return lab

    try:
        yield make
    finally:
        for lab in made:
            lab.down()


# Fixtures from other layers are imported here, one line each:
from mdiag.testing.sniffer import igmp_sniffer  # noqa: E402,F401  (active probing: what crossed an interface)
