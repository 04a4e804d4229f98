"""Rates, durations and the pacing schedule."""

from __future__ import annotations

import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from mdiag.core.rate import Pacing, Rate, packet_budget, parse_duration, parse_rate
from mdiag.errors import InputError


@pytest.mark.parametrize("text, unit, value", [
    ("1000pps", "pps", 1000), ("2.5kpps", "pps", 2500), ("1Mpps", "pps", 1e6),
    ("10mbit", "bps", 10e6), ("10Mbps", "bps", 10e6), ("800kbit", "bps", 800e3),
    ("1gbit/s", "bps", 1e9), (" 5 pps ", "pps", 5), (".5kpps", "pps", 500),
])
def test_parse_rate(text, unit, value):
    rate = parse_rate(text)
    assert (rate.unit, rate.value) == (unit, pytest.approx(value))


def test_bit_rate_to_packets_counts_udp_payload_like_iperf():
    assert parse_rate("9.6mbit").pps(1200) == pytest.approx(1000)
    assert parse_rate("1000pps").bits_per_second(1200) == pytest.approx(9.6e6)
    assert str(parse_rate("10mbit")) == "10mbit" and str(parse_rate("2kpps")) == "2000pps"


def test_max_is_unlimited():
    rate = parse_rate("max")
    assert rate.unlimited and math.isinf(rate.pps(1200)) and str(rate) == "max"


@pytest.mark.parametrize("text, message", [
    ("1000", "add a unit"), ("fast", "not a rate"), ("0pps", "positive"), ("-5pps", "not a rate"),
    ("10 furlongs", "not a rate"),
])
def test_bad_rates(text, message):
    with pytest.raises(InputError, match=message):
        parse_rate(text)


def test_absurd_rate_is_refused():
    with pytest.raises(InputError, match="packets/s limit"):
        parse_rate("100gbit").pps(32)


@pytest.mark.parametrize("text, seconds", [("10", 10), ("10s", 10), ("500ms", 0.5), ("2m", 120), ("1h", 3600)])
def test_parse_duration(text, seconds):
    assert parse_duration(text) == pytest.approx(seconds)


@pytest.mark.parametrize("text", ["0s", "soon", "-1s", "8d", "30d"])
def test_bad_durations(text):
    with pytest.raises(InputError):
        parse_duration(text)


def test_pacing_schedule_is_absolute():
    p = Pacing(1000, burst=8)
    assert p.due(0, 0) == 1                     # packet 0 is due at the start
    assert p.due(999_999, 1) == 0               # packet 1 at exactly 1 ms
    assert p.due(1_000_000, 1) == 1
    assert p.due(50_000_000, 1) == 8            # 50 ms late: catch up in bursts of 8
    assert p.next_due_ns(5) == 5_000_000


@given(st.floats(min_value=1, max_value=1e6), st.integers(min_value=0, max_value=10**10))
def test_following_the_schedule_never_runs_ahead(pps, elapsed_ns):
    p = Pacing(pps, burst=10**9)
    sent = p.due(elapsed_ns, 0)
    # after sending everything due, the next packet is due strictly later than now
    assert p.next_due_ns(sent) > elapsed_ns or math.isclose(p.next_due_ns(sent), elapsed_ns, abs_tol=1)
    assert sent == math.floor(elapsed_ns * pps / 1e9) + 1


def test_packet_budget():
    assert packet_budget(1000, 2.5, None) == 2500
    assert packet_budget(1000, None, 7) == 7
    assert packet_budget(math.inf, 3, None) is None
    with pytest.raises(InputError):
        packet_budget(1000, None, 0)


def test_rate_validation():
    with pytest.raises(InputError):
        Rate(-1, "pps")
    with pytest.raises(InputError):
        Rate(1, "furlongs")
    with pytest.raises(InputError):
        Pacing(0)
