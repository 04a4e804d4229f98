"""IGMP and MLD timer arithmetic with a named profile (RFC 3376 / 9776 section 8,
RFC 3810 / 9777 section 9).

MLDv2's timers are IGMPv3's under other names (RFC 3810 9): the Multicast Address
Listening Interval is the Group Membership Interval, the Last Listener Query
Interval/Count/Time are the Last Member ones, and the Older Version Host Present
Timeout is the Older Host Present Interval; RFC 9777 changes them exactly as
RFC 9776 does. So one :class:`TimerSet` serves both families: ``rfc3376`` is also
``rfc3810``, ``rfc9776`` also ``rfc9777``, and the MLD names are aliases.

Every derived value is a property computed from the four configured variables,
so a result can always say which profile and which inputs produced it. Times are
float seconds.

The profiles differ only where the two RFCs differ:

=====================================  =====================  ==========================
value                                  ``rfc3376``             ``rfc9776``
=====================================  =====================  ==========================
Group Membership Interval (8.4)        RV * QI + QRI           RV * QI + 2 * QRI
Older Version Querier Present          RV * QI + QRI           RV * QI + the Max Response
Timeout (8.12)                                                 Time of the older query
                                                               (RFC 3376 erratum 4375)
=====================================  =====================  ==========================

Everything else (Other Querier Present Interval, startup, last member, older
host present) has the same formula in both. RFC 2236 8.9 fixes the IGMPv2
"Version 1 Router Present Timeout" at 400 s.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, replace
from typing import Any

__all__ = ["DEFAULT", "Profile", "TimerSet"]


class Profile(enum.Enum):
    """Which RFC's timer formulas a result uses."""

    RFC3376 = "rfc3376"
    RFC9776 = "rfc9776"

    @classmethod
    def parse(cls, text: str) -> Profile:
        """``rfc3376`` or ``rfc9776``, or their MLD twins ``rfc3810`` and ``rfc9777``."""
        key = text.strip().lower().replace(" ", "").replace("-", "")
        key = _MLD_TWINS.get(key.removeprefix("rfc"), key)
        for member in cls:
            if key in (member.value, member.value.removeprefix("rfc")):
                return member
        raise ValueError(f"unknown timer profile {text!r} (use rfc3376 or rfc9776; for MLD rfc3810 or rfc9777)")

    def rfc(self, family: int = 4) -> str:
        """The RFC these formulas come from for IGMP (``family`` 4) or MLD (6)."""
        if family == 6:
            return "RFC 9777" if self is Profile.RFC9776 else "RFC 3810"
        return "RFC 9776" if self is Profile.RFC9776 else "RFC 3376"

    def __str__(self) -> str:
        return self.value


@dataclass(frozen=True, slots=True)
class TimerSet:
    """The configured IGMP variables and every interval derived from them.

    ``robustness`` (RV, 8.1), ``query_interval`` (QI, 8.2), ``query_response_interval``
    (QRI, 8.3, the Max Response Time of general queries), ``last_member_query_interval``
    (LMQI, 8.8) and ``last_member_query_count`` (LMQC, 8.9, defaults to RV).
    """

    profile: Profile = Profile.RFC3376
    robustness: int = 2
    query_interval: float = 125.0
    query_response_interval: float = 10.0
    last_member_query_interval: float = 1.0
    last_member_query_count: int | None = None

    def __post_init__(self) -> None:
        if not isinstance(self.profile, Profile):
            object.__setattr__(self, "profile", Profile.parse(str(self.profile)))
        if not 1 <= self.robustness <= 255:
            # RFC 3376 8.1: MUST NOT be 0 (a QRV of 0 in a query means "use the default").
            raise ValueError(f"robustness variable must be 1..255, not {self.robustness}")
        if self.query_interval <= 0:
            raise ValueError(f"query interval must be positive, not {self.query_interval}")
        if self.query_response_interval <= 0:
            raise ValueError(f"query response interval must be positive, not {self.query_response_interval}")
        if self.last_member_query_interval <= 0:
            raise ValueError(f"last member query interval must be positive, not {self.last_member_query_interval}")
        if self.last_member_query_count is not None and self.last_member_query_count < 1:
            raise ValueError(f"last member query count must be >= 1, not {self.last_member_query_count}")

    # -- derived (RFC 3376 / 9776 section 8) ------------------------------------
    @property
    def group_membership_interval(self) -> float:
        """GMI (8.4): when a router decides there are no more members."""
        if self.profile is Profile.RFC9776:
            return self.robustness * self.query_interval + 2 * self.query_response_interval
        return self.robustness * self.query_interval + self.query_response_interval

    @property
    def other_querier_present_interval(self) -> float:
        """OQPI (8.5): RV * QI + QRI / 2."""
        return self.robustness * self.query_interval + self.query_response_interval / 2

    @property
    def startup_query_interval(self) -> float:
        """8.6: QI / 4."""
        return self.query_interval / 4

    @property
    def startup_query_count(self) -> int:
        """8.7: RV."""
        return self.robustness

    @property
    def lmqc(self) -> int:
        """Last Member Query Count (8.9): RV unless configured."""
        return self.last_member_query_count if self.last_member_query_count is not None else self.robustness

    @property
    def last_member_query_time(self) -> float:
        """LMQT (8.11): LMQI * LMQC."""
        return self.last_member_query_interval * self.lmqc

    @property
    def older_version_querier_present_timeout(self) -> float:
        """8.12: RV * QI + QRI (QI of the last query heard)."""
        return self.robustness * self.query_interval + self.query_response_interval

    def older_version_querier_present_timeout_after(self, max_resp_time: float | None) -> float:
        """8.12 after hearing an older-version query with this Max Response Time.

        RFC 3376 takes the Query Interval "in the last Query received", which an
        IGMPv1/v2 query does not carry, plus QRI; erratum 4375 (the RFC 9776 profile)
        takes QI plus the Max Response Time of that last query.
        """
        if self.profile is Profile.RFC9776 and max_resp_time is not None:
            return self.robustness * self.query_interval + max_resp_time
        return self.older_version_querier_present_timeout

    @property
    def older_host_present_interval(self) -> float:
        """8.13: RV * QI + QRI."""
        return self.robustness * self.query_interval + self.query_response_interval

    # -- MLD names (RFC 3810 9.4, 9.8, 9.9, 9.13) -----------------------------
    @property
    def multicast_address_listening_interval(self) -> float:
        """MALI (RFC 3810 9.4): the Group Membership Interval under MLD's name."""
        return self.group_membership_interval

    @property
    def last_listener_query_time(self) -> float:
        """LLQT (RFC 3810 9.14): the Last Member Query Time under MLD's name."""
        return self.last_member_query_time

    @property
    def older_version_host_present_timeout(self) -> float:
        """RFC 3810 9.13: RV * QI + QRI."""
        return self.older_host_present_interval

    @property
    def version1_router_present_timeout(self) -> float:
        """RFC 2236 8.9: fixed at 400 s."""
        return 400.0

    # -- adoption ---------------------------------------------------------------
    def adopt(self, *, qrv: int | None = None, qqi: float | None = None,
              max_resp_time: float | None = None) -> TimerSet:
        """The timers a router runs after hearing the querier's values.

        RFC 3376 4.1.6 / 4.1.7: non-queriers adopt QRV and QQI from the most recent
        query; 0 means "not given" and keeps the current value. A general query's Max
        Response Time is the Query Response Interval in force.
        """
        changes: dict[str, Any] = {}
        if qrv:
            changes["robustness"] = qrv
        if qqi:
            changes["query_interval"] = float(qqi)
        if max_resp_time:
            changes["query_response_interval"] = float(max_resp_time)
        if not changes:
            return self
        if all(getattr(self, k) == v for k, v in changes.items()):
            return self
        return replace(self, **changes)

    def to_json(self) -> dict[str, Any]:
        return {
            "profile": self.profile.value,
            "robustness": self.robustness,
            "query_interval": self.query_interval,
            "query_response_interval": self.query_response_interval,
            "last_member_query_interval": self.last_member_query_interval,
            "last_member_query_count": self.lmqc,
            "group_membership_interval": self.group_membership_interval,
            "other_querier_present_interval": self.other_querier_present_interval,
            "startup_query_interval": self.startup_query_interval,
            "startup_query_count": self.startup_query_count,
            "last_member_query_time": self.last_member_query_time,
            "older_version_querier_present_timeout": self.older_version_querier_present_timeout,
            "older_host_present_interval": self.older_host_present_interval,
        }


DEFAULT = TimerSet()

_MLD_TWINS = {"3810": "rfc3376", "9777": "rfc9776"}
