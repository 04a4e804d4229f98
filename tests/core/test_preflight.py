"""Doctor verdicts from facts passed in."""

from __future__ import annotations

import pytest

from mdiag.core.findings import Severity
from mdiag.core.preflight import HostFacts, Status, evaluate, overall

GOOD = dict(iface="lab0", exists=True, interfaces=("lo", "lab0"), up=True, multicast=True,
            ipv4=("198.18.0.12/24",), route_iface="lab0", route_prefix="224.0.0.0/4")


def verdicts(**changes):
    return {v.check: v for v in evaluate(HostFacts(**{**GOOD, **changes}))}


def test_a_healthy_interface_passes():
    v = verdicts()
    assert overall(list(v.values())) == Status.OK
    assert set(v) == {"interface", "multicast-flag", "ipv4-address", "route", "max-memberships",
                      "rp-filter", "igmp-version", "multicast-all"}


def test_missing_interface_lists_the_others():
    (only,) = evaluate(HostFacts(iface="eth9", exists=False, interfaces=("lo", "lab0")))
    assert only.status == Status.FAIL and "lo, lab0" in only.fix


@pytest.mark.parametrize("changes, check, status, text", [
    ({"up": False}, "interface", Status.FAIL, "down"),
    ({"multicast": False}, "multicast-flag", Status.FAIL, "MULTICAST"),
    ({"multicast": False, "loopback": True}, "multicast-flag", Status.WARN, "loopback"),
    ({"ipv4": ()}, "ipv4-address", Status.WARN, "0.0.0.0"),
    ({"route_iface": None}, "route", Status.WARN, "ENETUNREACH"),
    ({"route_iface": "eth0", "route_prefix": "0.0.0.0/0"}, "route", Status.WARN, "via eth0"),
    ({"planned_groups": 1000}, "max-memberships", Status.WARN, "ENOBUFS at group 21"),
    ({"max_memberships": 0}, "max-memberships", Status.FAIL, "no socket"),
    ({"sources": tuple(f"10.0.0.{i}" for i in range(1, 12)),
      "source_routes": {f"10.0.0.{i}": "lab0" for i in range(1, 12)}}, "max-msf", Status.WARN, "source 11"),
    ({"rp_filter": 1, "sources": ("10.9.9.9",), "source_routes": {"10.9.9.9": "eth0"}},
     "rp-filter", Status.FAIL, "route via eth0"),
    ({"rp_filter": 2, "sources": ("10.9.9.9",), "source_routes": {"10.9.9.9": None}},
     "rp-filter", Status.FAIL, "no route"),
    ({"rp_filter": 1, "sources": ("10.9.9.9",), "source_routes": {"10.9.9.9": "lab0"}},
     "rp-filter", Status.OK, "pass"),
    ({"force_igmp_version": 2, "group": "232.1.1.1", "sources": ("10.0.0.1",),
      "source_routes": {"10.0.0.1": "lab0"}}, "igmp-version", Status.FAIL, "forced to v2"),
    ({"force_igmp_version": 2}, "igmp-version", Status.INFO, "forced to v2"),
    ({"igmp_version": "V2", "sources": ("10.0.0.1",), "source_routes": {"10.0.0.1": "lab0"}},
     "igmp-version", Status.FAIL, "older querier"),
    ({"group": "232.1.1.1"}, "ssm-source", Status.WARN, "SSM range"),
    ({"port": 5001, "wildcard_port_sockets": 2}, "multicast-all", Status.WARN, "0.0.0.0:5001"),
    ({"mc_forwarding": 1}, "mc-forwarding", Status.INFO, "routing daemon"),
])
def test_each_check(changes, check, status, text):
    v = verdicts(**changes)[check]
    assert v.status == status
    assert text in v.message


def test_a_policy_rule_gets_its_own_fix():
    v = verdicts(route_iface="lo", route_prefix="policy rule or table 177")["route"]
    assert v.status == Status.WARN and "via lo (policy rule or table 177), not lab0" in v.message
    assert v.fix is not None and "ip rule" in v.fix
    plain = verdicts(route_iface="eth0", route_prefix="0.0.0.0/0")["route"]
    assert plain.fix is not None and plain.fix.startswith("ip route add 224.0.0.0/4 dev lab0")


def test_problems_become_findings():
    v = verdicts(up=False)["interface"]
    finding = v.finding()
    assert finding.code == "doctor-interface" and finding.severity == Severity.ERROR
    assert "ip link set lab0 up" in finding.message
    assert verdicts()["route"].finding() is None
    assert v.to_json()["status"] == "fail"


def test_facts_are_validated():
    with pytest.raises(ValueError):
        HostFacts(iface="x", exists=True, rp_filter=5)
