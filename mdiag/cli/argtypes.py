"""argparse value types shared by the commands: one spelling of durations everywhere."""

from __future__ import annotations

import argparse
from collections.abc import Callable

from mdiag.errors import InputError


def seconds(high: float, *, allow_zero: bool = False) -> Callable[[str], float]:
    """A duration (``2``, ``2s``, ``500ms``, ``1m``) in seconds, at most ``high``.

    Zero is accepted only with ``allow_zero``; argparse turns the error into one line.
    """

    def parse(text: str) -> float:
        from mdiag.core.rate import parse_duration

        if allow_zero and text.strip().lower().rstrip("ms").strip() in {"0", "0.0"}:
            return 0.0
        try:
            value = parse_duration(text.strip())
        except InputError as exc:
            raise argparse.ArgumentTypeError(exc.message) from None
        if value > high:
            raise argparse.ArgumentTypeError(f"{text} is longer than the {high:g} s this option allows")
        return value

    parse.__name__ = "duration"  # argparse names the type in its messages
    return parse
