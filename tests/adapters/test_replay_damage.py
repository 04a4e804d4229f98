"""Replay planning reports what the capture reader found damaged (issue 9 item 15)."""

from __future__ import annotations

import struct
from pathlib import Path

import pytest

from mdiag.adapters.replay import plan

PCAPS = Path(__file__).resolve().parents[2] / "pcaps"


@pytest.mark.parametrize("cut, frames", [
    (lambda d: d[:-5], None),  # the last record cut short
    (lambda d: d[:24] + struct.pack("<IIII", 0, 0, 0xFFFFFFFF, 0xFFFFFFFF) + d[40:], 0),  # caplen 2^32-1
    (lambda d: d[:30], 0),  # a record header cut short
])
def test_damage_is_part_of_the_plan(tmp_path, cut, frames):
    data = (PCAPS / "v2-join.pcap").read_bytes()
    whole = tmp_path / "whole.pcap"
    whole.write_bytes(data)
    damaged = tmp_path / "damaged.pcap"
    damaged.write_bytes(cut(data))
    assert plan(str(whole), speed=None).damage == ()
    result = plan(str(damaged), speed=None)
    assert result.damage and all(isinstance(line, str) and line for line in result.damage)
    if frames is not None:
        assert result.frames == frames
    assert result.to_json()["damage"] == list(result.damage)
