"""Send rates, durations and the pacing schedule of a test stream.

Rates are given as packets per second (``1000pps``, ``2.5kpps``) or as bits per second of
UDP payload (``10mbit``, ``1.5Gbit``, ``800kbps``), like iperf2's ``-b``: a bit rate becomes a
packet rate for a given datagram size. Decimal prefixes (k = 1000), as network rates are.

The schedule is absolute: packet ``n`` (0-based) is due at ``start + n / pps``. A sender that
falls behind catches up in bounded bursts instead of drifting, so the long-run rate is exact
and short-run bursts never exceed ``burst`` packets.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

from mdiag.errors import InputError

#: Largest UDP payload over IPv4 (65535 - 20 IP - 8 UDP).
MAX_UDP_PAYLOAD = 65507
#: A rate above this is refused (no host sends more, and it guards typos like 10gpps).
MAX_PPS = 10_000_000.0

_RATE_RE = re.compile(r"^\s*(\d+(?:\.\d+)?|\.\d+)\s*([kmg]?)\s*(pps|bit|bps|b/s|bit/s)\s*$", re.I)
_DURATION_RE = re.compile(r"^\s*(\d+(?:\.\d+)?|\.\d+)\s*(ms|s|m|h|)\s*$", re.I)
_SCALE = {"": 1.0, "k": 1e3, "m": 1e6, "g": 1e9}
_DURATION_SCALE = {"ms": 0.001, "s": 1.0, "": 1.0, "m": 60.0, "h": 3600.0}


@dataclass(frozen=True, slots=True)
class Rate:
    """A send rate: packets per second, or bits per second of UDP payload.

    ``unlimited`` means "as fast as the host can send" (``max``).
    """

    value: float
    unit: str  # "pps", "bps" or "max"

    def __post_init__(self) -> None:
        if self.unit not in ("pps", "bps", "max"):
            raise InputError(f"rate unit must be pps, bps or max, not {self.unit!r}")
        if self.unit != "max" and not (self.value > 0 and math.isfinite(self.value)):
            raise InputError(f"a rate must be positive, not {self.value}")

    @property
    def unlimited(self) -> bool:
        return self.unit == "max"

    def pps(self, size: int) -> float:
        """Packets per second for ``size``-byte datagrams (inf when unlimited)."""
        if size < 1:
            raise InputError(f"datagram size must be at least 1 byte, not {size}")
        if self.unit == "max":
            return math.inf
        pps = self.value if self.unit == "pps" else self.value / (8.0 * size)
        if pps > MAX_PPS:
            raise InputError(f"{self} at {size} bytes is {pps:,.0f} packets/s, above the "
                             f"{MAX_PPS:,.0f} packets/s limit; use a lower rate or 'max'")
        return pps

    def bits_per_second(self, size: int) -> float:
        """UDP payload bit rate for ``size``-byte datagrams."""
        if self.unit == "bps":
            return self.value
        return self.pps(size) * 8.0 * size

    def __str__(self) -> str:
        if self.unit == "max":
            return "max"
        if self.unit == "pps":
            return f"{_g(self.value)}pps"
        for prefix, scale in (("g", 1e9), ("m", 1e6), ("k", 1e3)):
            if self.value >= scale:
                return f"{_g(self.value / scale)}{prefix}bit"
        return f"{_g(self.value)}bit"


def _g(value: float) -> str:
    return f"{value:.6g}"


def parse_rate(text: str) -> Rate:
    """Parse ``1000pps``, ``2.5kpps``, ``10mbit``, ``10Mbps``, ``1gbit/s`` or ``max``.

    A bare number is refused: ``1000`` could be packets or bits, and guessing wrong by a
    factor of 9,600 is worse than asking.
    """
    raw = text.strip()
    if raw.lower() in ("max", "unlimited"):
        return Rate(0.0, "max")
    match = _RATE_RE.match(raw)
    if not match:
        hint = " (add a unit: 1000pps or 10mbit)" if re.fullmatch(r"\s*[\d.]+\s*", raw) else ""
        raise InputError(f"{text!r} is not a rate{hint}; use e.g. 1000pps, 2kpps, 10mbit, 1gbit or max")
    number, prefix, unit = match.groups()
    value = float(number) * _SCALE[prefix.lower()]
    if value <= 0:
        raise InputError(f"{text!r}: a rate must be positive")
    return Rate(value, "pps" if unit.lower() == "pps" else "bps")


def parse_duration(text: str) -> float:
    """Parse ``10``, ``10s``, ``500ms``, ``2m`` or ``1h`` into seconds (positive)."""
    match = _DURATION_RE.match(text)
    if not match:
        raise InputError(f"{text!r} is not a duration; use e.g. 10s, 500ms or 2m")
    number, unit = match.groups()
    seconds = float(number) * _DURATION_SCALE[unit.lower()]
    if seconds <= 0:
        raise InputError(f"{text!r}: a duration must be positive")
    if seconds > 7 * 86400:
        raise InputError(f"{text!r}: a duration is at most a week")
    return seconds


@dataclass(frozen=True, slots=True)
class Pacing:
    """The absolute send schedule: packet ``n`` is due ``n / pps`` seconds after the start.

    ``burst`` caps how many packets go out back to back when the sender is late.
    """

    pps: float
    burst: int = 64

    def __post_init__(self) -> None:
        if not self.pps > 0:
            raise InputError(f"pacing needs a positive packet rate, not {self.pps}")
        if self.burst < 1:
            raise InputError(f"burst must be at least 1, not {self.burst}")

    @property
    def interval_ns(self) -> float:
        return 1e9 / self.pps if math.isfinite(self.pps) else 0.0

    def due(self, elapsed_ns: int, sent: int) -> int:
        """How many packets to send now, ``elapsed_ns`` after the start with ``sent`` gone.

        Packet ``n`` is due at ``n * interval``: by ``elapsed`` the first
        ``floor(elapsed * pps / 1e9) + 1`` packets are due. Capped at ``burst``.
        """
        if not math.isfinite(self.pps):
            return self.burst
        owed = int(elapsed_ns * self.pps // 1_000_000_000) + 1 - sent
        if owed <= 0:
            return 0
        return owed if owed < self.burst else self.burst

    def next_due_ns(self, sent: int) -> int:
        """Time after the start (ns) at which packet number ``sent`` is due."""
        if not math.isfinite(self.pps):
            return 0
        return math.ceil(sent * 1e9 / self.pps)


def packet_budget(pps: float, duration: float | None, count: int | None) -> int | None:
    """How many packets a stream sends: ``count``, or ``pps * duration``; None = until stopped."""
    if count is not None:
        if count < 1:
            raise InputError(f"--count must be at least 1, not {count}")
        return count
    if duration is not None and math.isfinite(pps):
        return max(1, math.ceil(pps * duration))
    return None
