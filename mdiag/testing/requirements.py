"""Skip-or-fail gates for tests that need root, namespaces or system tools.

On a laptop a missing piece skips the test with the reason; under CI (``CI=true``)
the same gap fails loudly, because CI is where the real parts must run.
"""

from __future__ import annotations

import os
import shutil

import pytest


def under_ci() -> bool:
    return os.environ.get("CI", "").lower() in {"1", "true", "yes"}


def unavailable(reason: str) -> None:
    """Skip (laptop) or fail (CI) with ``reason``."""
    if under_ci():
        pytest.fail(f"CI=true but {reason}", pytrace=False)
    pytest.skip(reason)


def need_root() -> None:
    if os.geteuid() != 0:
        unavailable("needs root (network namespaces, raw sockets)")
    for tool in ("ip", "bridge"):
        if shutil.which(tool) is None:
            unavailable(f"needs '{tool}' from iproute2")


def need_tool(name: str, package: str | None = None) -> str:
    path = shutil.which(name)
    if path is None:
        unavailable(f"needs '{name}' (Debian package {package or name})")
    return path  # type: ignore[return-value]


def need_chromium() -> str:
    """Headless Chromium for the browser tests of the HTML report."""
    from mdiag.adapters.browser import BROWSERS

    for name in BROWSERS:
        path = shutil.which(name)
        if path is not None:
            return path
    unavailable("needs Chromium (Debian package chromium) for the browser test")
    raise AssertionError("unreachable")


def need_prometheus() -> tuple[str, str]:
    """The Prometheus server and promtool (Debian package prometheus): (server, promtool)."""
    return need_tool("prometheus", "prometheus"), need_tool("promtool", "prometheus")
