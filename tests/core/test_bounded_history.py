"""What a long-running monitor calls to stay bounded: MembershipTable.forget/trim and
FindingLog.forget."""

from __future__ import annotations

from ipaddress import IPv4Address

from mdiag.core.findinglog import FindingLog
from mdiag.core.findings import Finding, Severity
from mdiag.core.igmp import V2Leave, V2Report
from mdiag.core.membership import MembershipTable
from mdiag.core.timers import TimerSet

G = IPv4Address("239.1.1.1")
G_ALIAS = IPv4Address("239.129.1.1")    # same MAC as G


def test_forget_drops_a_group_and_its_place_among_mac_sharers() -> None:
    table = MembershipTable(TimerSet())
    table.report(0.0, 1, IPv4Address("198.18.0.11"), V2Report(G))
    assert table.forget(int(G)) and not table.forget(int(G))
    assert table.get(G) is None
    # G is no longer live: joining its MAC alias is not a mac-shared-groups finding
    table.report(1.0, 2, IPv4Address("198.18.0.12"), V2Report(G_ALIAS))
    assert [f.code for f in table.findings] == []


def test_trim_drops_silent_hosts_and_caps_history() -> None:
    table = MembershipTable(TimerSet())          # GMI 260 s
    for i in range(10):
        table.report(float(i), i, IPv4Address(f"198.18.0.{10 + i}"), V2Report(G))
    table.report(20.0, 20, IPv4Address("198.18.0.10"), V2Leave(G))
    state = table.get(G)
    assert state is not None and len(state.reporters) == 10
    dropped = table.trim(263.0, reporters=4, leaves=1)
    assert set(state.hosts) == {int(IPv4Address(f"198.18.0.{10 + i}")) for i in range(4, 10)}
    assert dropped == 4 and len(state.reporters) == 6   # current reporters stay, even past the cap
    dropped = table.trim(300.0, reporters=4, leaves=1)
    assert state.hosts == {} and len(state.reporters) == 4 and dropped == 2
    assert len(state.leaves) <= 1


def test_reports_are_counted_by_version_once_per_message() -> None:
    table = MembershipTable(TimerSet())
    table.report(0.0, 1, IPv4Address("198.18.0.11"), V2Report(G))
    table.report(1.0, 2, IPv4Address("198.18.0.11"), V2Leave(G))
    assert table.reports_by_version == {2: 2}


def test_findinglog_forget_makes_old_keys_new_again() -> None:
    seen = []
    log = FindingLog(on_new=seen.append)

    def finding(t: float | None) -> Finding:
        return Finding("querier-gap", Severity.WARNING, "gap", None, None, t, None, {})

    assert log.add(finding(1.0), "a") and log.add(finding(50.0), "b") and log.add(finding(None), "c")
    assert not log.add(finding(2.0), "a")
    assert log.forget(10.0) == 1
    assert [f.time for f in log] == [None, 50.0]
    assert log.add(finding(70.0), "a") and len(seen) == 4
