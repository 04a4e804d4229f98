"""Captures written by real tools from real kernel IGMP, inside a private network namespace.

A namespace ``md<pid>c`` gets two veth pairs, ``mdva``/``mdvb`` and ``mdvc``/``mdvd``
(the second forced to IGMPv2). A socket joins 239.1.2.3 on ``mdva`` (the kernel sends
IGMPv3 TO_EX({}) then TO_IN({})) and 239.1.2.4 on ``mdvc`` (IGMPv2 report and leave)
while ``tcpdump -i any`` (Linux cooked v2), ``tcpdump -i mdvb --time-stamp-precision=nano``
(Ethernet, nanosecond pcap) and ``dumpcap -i mdvb -i mdvd`` (pcapng with two
interfaces) record it. Nothing leaves the namespace, which is deleted in a finally
block. (VLAN-tagged captures come from the test generator: this kernel has neither
8021q nor bridge VLAN filtering.)
"""

from __future__ import annotations

import os
import select
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from mdiag.adapters.capture import open_capture
from mdiag.analysis.pipeline import analyze
from mdiag.testing.requirements import need_root, need_tool

pytestmark = pytest.mark.lab

JOIN = r"""
import socket, struct, time
def join(group, local):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.setsockopt(socket.IPPROTO_IP, socket.IP_ADD_MEMBERSHIP,
                 socket.inet_aton(group) + socket.inet_aton(local))
    return s
a = join("239.1.2.3", "198.18.5.1")
b = join("239.1.2.4", "198.18.6.1")   # on mdvc, forced to IGMPv2
tx = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
tx.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_IF, socket.inet_aton("198.18.5.1"))
for i in range(5):
    tx.sendto(b"x" * 100, ("239.1.2.3", 5000))   # out of mdva only (TTL 1, inside the namespace)
time.sleep(0.6)
a.close(); b.close()        # closing drops the memberships: the kernel sends leaves
time.sleep(0.6)
"""


def _run(*argv: str) -> None:
    subprocess.run(argv, check=True, capture_output=True, timeout=20)


@pytest.fixture(scope="module")
def captures(tmp_path_factory):
    need_root()
    tcpdump = need_tool("tcpdump")
    dumpcap = need_tool("dumpcap", "tshark")
    ns = f"md{os.getpid()}c"
    out = tmp_path_factory.mktemp("real")
    inside = ["ip", "netns", "exec", ns]
    procs: list[subprocess.Popen] = []
    try:
        _run("ip", "netns", "add", ns)
        _run(*inside, "ip", "link", "set", "lo", "up")
        _run(*inside, "ip", "link", "add", "mdva", "type", "veth", "peer", "name", "mdvb")
        _run(*inside, "ip", "link", "add", "mdvc", "type", "veth", "peer", "name", "mdvd")
        for dev in ("mdva", "mdvb", "mdvc", "mdvd"):
            _run(*inside, "ip", "link", "set", dev, "up")
        _run(*inside, "ip", "addr", "add", "198.18.5.1/24", "dev", "mdva")
        _run(*inside, "ip", "addr", "add", "198.18.6.1/24", "dev", "mdvc")
        _run(*inside, "sysctl", "-qw", "net.ipv4.conf.mdvc.force_igmp_version=2")
        _run(*inside, "sysctl", "-qw", "net.ipv4.conf.all.igmpv3_unsolicited_report_interval=100")
        _run(*inside, "sysctl", "-qw", "net.ipv4.conf.all.igmpv2_unsolicited_report_interval=100")
        tools = {
            "sll2": [tcpdump, "-U", "-n", "-i", "any", "-w", str(out / "sll2.pcap"), "igmp or udp"],
            "sll": [tcpdump, "-U", "-n", "-i", "any", "-y", "LINUX_SLL", "-w", str(out / "sll.pcap"),
                    "igmp"],
            "nano": [tcpdump, "-U", "-n", "-i", "mdvb", "--time-stamp-precision=nano",
                     "-w", str(out / "nano.pcap")],
            "pcapng": [dumpcap, "-q", "-i", "mdvb", "-i", "mdvd", "-w", str(out / "both.pcapng")],
        }
        for argv in tools.values():
            procs.append(subprocess.Popen([*inside, *argv], stdout=subprocess.DEVNULL,
                                          stderr=subprocess.PIPE))
        for proc in procs:   # tcpdump says "listening on", dumpcap "Capturing on" once attached
            ready, _, _ = select.select([proc.stderr], [], [], 10)
            assert ready, "a capture tool did not start within 10 s"
            proc.stderr.readline()
        time.sleep(0.2)
        subprocess.run([*inside, sys.executable, "-c", JOIN], check=True, timeout=20)
        time.sleep(0.5)
    finally:
        for proc in procs:
            proc.send_signal(signal.SIGINT)
        for proc in procs:
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
        subprocess.run(["ip", "netns", "del", ns], capture_output=True, timeout=20)
    return out


def _analyze(path: Path):
    with open_capture(path) as c:
        return c, analyze(c)


def _groups(report):
    return {(str(s.segment), str(g.group)): g for s in report.segments for g in s.groups}


def test_tcpdump_any_is_sll2_with_interface_segments(captures):
    c, report = _analyze(captures / "sll2.pcap")
    assert c.interfaces[0].linktype == 276
    groups = {group: g for (_, group), g in _groups(report).items()}
    v3, v2 = groups["239.1.2.3"], groups["239.1.2.4"]
    assert v3.reporting_hosts == ("198.18.5.1",) and v3.leaves >= 1
    assert v3.detail["versions"] == [3]
    assert v2.reporting_hosts == ("198.18.6.1",) and v2.detail["versions"] == [2] and v2.leaves >= 1
    segments = {str(s.segment) for s in report.segments}
    assert all("ifindex" in name for name in segments) and len(segments) >= 2
    data = [g.data.packets for s in report.segments for g in s.groups
            if str(g.group) == "239.1.2.3" and g.data is not None]
    assert data and all(n == 5 for n in data)   # sent on mdva, received on mdvb: per interface


def test_tcpdump_ethernet_nanoseconds(captures):
    c, report = _analyze(captures / "nano.pcap")
    assert c.interfaces[0].linktype == 1 and c.interfaces[0].resolution == "1ns"
    g = _groups(report)[("if0", "239.1.2.3")]
    assert g.reporting_hosts == ("198.18.5.1",) and g.detail["versions"] == [3]
    assert report.counters["non_ipv4"] >= 1          # the kernel's IPv6 MLD and ND frames


def test_dumpcap_pcapng_two_interfaces(captures):
    c, report = _analyze(captures / "both.pcapng")
    assert c.format == "pcapng" and len(c.interfaces) == 2
    groups = _groups(report)
    assert ("if0", "239.1.2.3") in groups and ("if1", "239.1.2.4") in groups
    assert groups[("if1", "239.1.2.4")].detail["versions"] == [2]
    assert {s.label for s in report.segments} >= {"if0 (mdvb)", "if1 (mdvd)"}   # pcapng if_name


def test_tcpdump_any_linux_sll_v1(captures):
    c, report = _analyze(captures / "sll.pcap")
    assert c.interfaces[0].linktype == 113
    groups = {group: g for (_, group), g in _groups(report).items()}
    assert groups["239.1.2.3"].reporting_hosts == ("198.18.5.1",)
    assert groups["239.1.2.4"].detail["versions"] == [2]
    assert {str(s.segment) for s in report.segments} == {"if0"}   # SLL v1 has no interface index
