"""Per-round delays as a strip plot: one row per series (join, leave, zap; per
receiver), a dot per round at its delay, and the p50 and p95 as lines (nearest rank,
as the text output and JSON give them)."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from html import escape

__all__ = ["Series", "percentile", "strip_svg"]


@dataclass(frozen=True, slots=True)
class Series:
    """``values``: (round number, delay in milliseconds or None when not measured)."""

    label: str
    kind: str            # join | leave | zap | other (the dot colour)
    values: tuple[tuple[int, float | None], ...]

    @property
    def measured(self) -> list[float]:
        return [v for _, v in self.values if v is not None]


def percentile(values: Sequence[float], share: float) -> float | None:
    """Nearest-rank percentile (``share`` 0..1) of ``values``."""
    if not values:
        return None
    ordered = sorted(values)
    rank = max(1, math.ceil(share * len(ordered)))
    return ordered[rank - 1]


def _nice_max(value: float) -> float:
    if value <= 0:
        return 1.0
    power = 10 ** math.floor(math.log10(value))
    for factor in (1, 2, 2.5, 5, 10):
        if value <= factor * power:
            return factor * power
    return 10 * power


LEFT = 170
PLOT = 560
ROW = 44


def strip_svg(series: Sequence[Series]) -> str:
    """The strip plot as inline SVG (scales to the page width, keeps its proportions)."""
    peak = _nice_max(max((v for s in series for v in s.measured), default=1.0) * 1.05)
    width = LEFT + PLOT + 20
    height = 30 + ROW * max(len(series), 1) + 26
    parts = []
    ticks = [peak * i / 5 for i in range(6)]
    for t in ticks:
        x = LEFT + t / peak * PLOT
        parts.append(f'<line class="grid" x1="{x:.1f}" x2="{x:.1f}" y1="24" y2="{height - 26}"/>'
                     f'<text x="{x:.1f}" y="{height - 8}" text-anchor="middle">{t:g}</text>')
    parts.append(f'<text x="{LEFT + PLOT:.0f}" y="16" text-anchor="end">delay, ms</text>')
    for row, s in enumerate(series):
        y0 = 30 + row * ROW
        mid = y0 + ROW / 2
        missing = sum(1 for _, v in s.values if v is None)
        parts.append(f'<text x="{LEFT - 8}" y="{mid + (0 if missing else 4):.1f}" text-anchor="end">'
                     f'{escape(s.label)}</text>')
        if missing:
            parts.append(f'<text class="missing" x="{LEFT - 8}" y="{mid + 14:.1f}" text-anchor="end">'
                         f'{missing} not measured</text>')
        parts.append(f'<line class="rowline" x1="{LEFT}" x2="{LEFT + PLOT}" y1="{y0 + ROW:.1f}" y2="{y0 + ROW:.1f}"/>')
        for index, (number, value) in enumerate(s.values):
            if value is None:
                continue
            x = LEFT + min(value, peak) / peak * PLOT
            jitter = ((index * 7) % 11 - 5) * 2.2     # spread equal values apart, deterministic
            parts.append(f'<circle class="{escape(s.kind)}" cx="{x:.1f}" cy="{mid + jitter:.1f}" r="4">'
                         f'<title>{escape(s.label)} round {number}: {value:.3f} ms</title></circle>')
        for name, share in (("p50", 0.5), ("p95", 0.95)):
            value = percentile(s.measured, share)
            if value is None:
                continue
            x = LEFT + value / peak * PLOT
            parts.append(f'<line class="{name}" x1="{x:.1f}" x2="{x:.1f}" y1="{y0 + 4:.1f}" y2="{y0 + ROW - 4:.1f}">'
                         f'<title>{escape(s.label)} {name}: {value:.3f} ms</title></line>'
                         f'<text class="{name}-label" x="{x + 3:.1f}" y="{y0 + 11 if name == "p50" else y0 + ROW - 5:.1f}">'
                         f'{name} {value:.3g}</text>')
    return (f'<svg class="strip" xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" '
            f'width="100%" style="max-width:{width * 1.4:.0f}px" role="img" aria-label="per-round delays">'
            + "".join(parts) + "</svg>")
