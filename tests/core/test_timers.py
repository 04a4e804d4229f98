"""Timer arithmetic against the RFC formulas (RFC 3376 / RFC 9776 section 8)."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from mdiag.core.timers import DEFAULT, Profile, TimerSet


def test_rfc3376_defaults():
    t = DEFAULT
    assert t.profile is Profile.RFC3376
    assert t.group_membership_interval == 260          # 2 * 125 + 10
    assert t.other_querier_present_interval == 255     # 2 * 125 + 10 / 2
    assert t.startup_query_interval == 31.25           # 125 / 4
    assert t.startup_query_count == 2
    assert t.last_member_query_time == 2               # 1 * 2
    assert t.older_version_querier_present_timeout == 260
    assert t.older_host_present_interval == 260
    assert t.version1_router_present_timeout == 400


def test_rfc9776_differs_only_in_gmi():
    a, b = TimerSet(), TimerSet(profile=Profile.RFC9776)
    assert b.group_membership_interval == 270          # 2 * 125 + 2 * 10
    for name in ("other_querier_present_interval", "startup_query_interval", "last_member_query_time",
                 "older_host_present_interval", "older_version_querier_present_timeout"):
        assert getattr(a, name) == getattr(b, name)
    assert b.to_json()["profile"] == "rfc9776"


@given(st.integers(1, 7), st.integers(1, 31744), st.integers(1, 255), st.integers(1, 255))
def test_formulas(rv, qi, qri_tenths, lmqi_tenths):
    qri, lmqi = qri_tenths / 10, lmqi_tenths / 10
    for profile in Profile:
        t = TimerSet(profile, rv, qi, qri, lmqi)
        extra = 2 * qri if profile is Profile.RFC9776 else qri
        assert t.group_membership_interval == pytest.approx(rv * qi + extra)
        assert t.other_querier_present_interval == pytest.approx(rv * qi + qri / 2)
        assert t.last_member_query_time == pytest.approx(lmqi * rv)
        assert t.startup_query_interval == pytest.approx(qi / 4)


def test_adopt_querier_values():
    t = DEFAULT.adopt(qrv=3, qqi=60, max_resp_time=5)
    assert (t.robustness, t.query_interval, t.query_response_interval) == (3, 60, 5)
    assert t.group_membership_interval == 185
    assert DEFAULT.adopt(qrv=0, qqi=0) is DEFAULT  # 0 means "not given" (RFC 3376 4.1.6, 4.1.7)


@pytest.mark.parametrize("kwargs", [{"robustness": 0}, {"query_interval": 0},
                                    {"query_response_interval": -1}, {"last_member_query_count": 0}])
def test_invalid(kwargs):
    with pytest.raises(ValueError):
        TimerSet(**kwargs)


def test_profile_parse():
    assert Profile.parse("RFC-9776") is Profile.RFC9776
    assert Profile.parse("3376") is Profile.RFC3376
    with pytest.raises(ValueError):
        Profile.parse("rfc2236")


def test_older_version_querier_present_timeout_by_profile():
    # heard an IGMPv2 query with a Max Response Time of 5 s
    assert TimerSet().older_version_querier_present_timeout_after(5) == 260          # 2*125 + QRI 10
    assert TimerSet(profile=Profile.RFC9776).older_version_querier_present_timeout_after(5) == 255
    assert TimerSet(profile=Profile.RFC9776).older_version_querier_present_timeout_after(None) == 260


def test_mld_names_and_profiles_are_igmps():
    from mdiag.core.timers import Profile, TimerSet

    assert Profile.parse("rfc3810") is Profile.RFC3376 and Profile.parse("RFC 9777") is Profile.RFC9776
    assert Profile.RFC9776.rfc(6) == "RFC 9777" and Profile.RFC3376.rfc(6) == "RFC 3810"
    t = TimerSet()  # RFC 3810 9 defaults: MALI 260 s, LLQT 2 s, older host present 260 s
    assert (t.multicast_address_listening_interval, t.last_listener_query_time,
            t.older_version_host_present_timeout, t.other_querier_present_interval) == (260.0, 2.0, 260.0, 255.0)
