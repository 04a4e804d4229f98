"""Doctor verdicts for a planned IPv6 group: the MLD checks, from facts passed in."""

from __future__ import annotations

import pytest

from mdiag.core.preflight import IPV6_MEMBERSHIP_BYTES, HostFacts, Status, evaluate, overall

GOOD6 = dict(iface="lab0", exists=True, interfaces=("lo", "lab0"), up=True, multicast=True,
             family=6, group="ff15::1", route_probe="ff15::1", route_iface="lab0",
             route_prefix="ff00::/8", ipv6=("fd00:c612::12/64", "fe80::c6ff:fe12:c/64"),
             ipv6_disabled=False, optmem_max=131072)


def verdicts(**changes):
    return {v.check: v for v in evaluate(HostFacts(**{**GOOD6, **changes}))}


def test_a_healthy_ipv6_interface_passes_with_the_mld_checks():
    v = verdicts()
    assert overall(list(v.values())) == Status.OK
    assert list(v) == ["interface", "multicast-flag", "ipv6-address", "route", "max-memberships",
                       "rp-filter", "mld-version", "multicast-all"]
    assert "IPV6_MULTICAST_ALL" in v["multicast-all"].message


def test_disabled_ipv6_stops_after_saying_so():
    v = verdicts(ipv6_disabled=True)
    assert list(v) == ["interface", "multicast-flag", "ipv6-address"]
    assert v["ipv6-address"].status == Status.FAIL
    assert v["ipv6-address"].fix == "sysctl -w net.ipv6.conf.lab0.disable_ipv6=0"


@pytest.mark.parametrize("changes, check, status, text", [
    ({"ipv6": ("fd00:c612::12/64",)}, "ipv6-address", Status.FAIL, "no IPv6 link-local address"),
    ({"route_iface": None}, "route", Status.WARN, "ENETUNREACH"),
    ({"route_iface": "eth0", "route_prefix": "ff00::/8"}, "route", Status.WARN, "IPV6_MULTICAST_IF"),
    ({"planned_groups": 131072 // IPV6_MEMBERSHIP_BYTES + 1}, "max-memberships", Status.WARN, "ENOMEM"),
    ({"planned_groups": 1000}, "max-memberships", Status.OK, "about 2,340"),
    ({"optmem_max": None}, "max-memberships", Status.INFO, "cannot be read"),
    ({"sources": tuple(f"fd00::{i:x}" for i in range(1, 66))}, "max-msf", Status.WARN, "source 65"),
    ({"sources": ("fd00::1",)}, "max-msf", Status.OK, "mld_max_msf = 64"),
    ({"force_mld_version": 1, "sources": ("fd00::1",)}, "mld-version", Status.FAIL, "forced to v1"),
    ({"force_mld_version": 1, "group": "ff15::1"}, "mld-version", Status.INFO, "forced to v1"),
    ({"force_mld_version": 2}, "mld-version", Status.OK, "MLDv1-only querier"),
    ({"group": "ff3e::8000:1"}, "ssm-source", Status.WARN, "ff3x::/32"),
    ({"port": 5001, "wildcard_port_sockets": 1}, "multicast-all", Status.WARN, "[::]:5001"),
    ({"mc_forwarding6": 1}, "mc-forwarding", Status.INFO, "MLD state"),
])
def test_each_ipv6_check(changes, check, status, text):
    v = verdicts(**changes)[check]
    assert v.status == status
    assert text in v.message


def test_ipv4_facts_are_judged_as_before():
    v = {x.check: x for x in evaluate(HostFacts(iface="lab0", exists=True, up=True, multicast=True,
                                                 ipv4=("198.18.0.12/24",), route_iface="lab0"))}
    assert "ipv4-address" in v and "igmp-version" in v and "mld-version" not in v
