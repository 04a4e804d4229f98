"""verify's table writes per-round counts apart and with thousands separators (issue 10
item 14: ``991,989,991`` read as one number)."""

from __future__ import annotations

import argparse
import io
from types import SimpleNamespace

from mdiag.cli.commands import verify


def test_per_round_counts_read_as_counts():
    out = io.StringIO()
    result = {
        "source": None, "group": "239.1.2.3", "port": 5001, "rate": "1000pps", "repeat": 3, "hold_s": 1.0,
        "sender": {"host": "h1", "address": "198.18.0.11"},
        "receivers": [{"host": "h2", "delivered": True, "datagrams": [991, 1989, 991],
                       "join_delay_ms": {"samples": [1.0, 2.0, 3.0], "min": 1.0, "median": 2.0, "max": 3.0},
                       "leave_delay_ms": {"samples": [1.0], "min": 1.0, "median": 1.0, "max": 1.0},
                       "stopped_after_leave": True, "ok": True}],
        "non_members": [{"host": "h3", "datagrams_while_joined": 12345, "ok": False}],
        "notes": [], "problems": [], "interrupted": False, "rounds_done": 3, "ok": True,
    }
    verify._render(SimpleNamespace(stdout=out), argparse.Namespace(json=False), result)
    text = out.getvalue()
    assert "991 / 1,989 / 991" in text and "datagrams per round" in text and "12,345" in text
