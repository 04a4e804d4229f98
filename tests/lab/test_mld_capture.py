"""Real kernel MLD, recorded and analysed: a Linux bridge (its own namespace, IPv6 on) is the
MLDv2 querier; namespace hosts join with IPV6_JOIN_GROUP and MCAST_JOIN_SOURCE_GROUP, one of
them forced to MLDv1 (net.ipv6.conf.lab0.force_mld_version=1); ``mdiag analyze`` must tell
the story that was scripted. ULA and link-local addresses only, every join inside a lab
namespace.

Where to capture: the bridge sends its general queries once per port and once up its own
device, and its address-specific queries only out of the port that left, while host reports
enter at their port and are passed up to the bridge device as well. So tcpdump records
``-i any`` in the bridge's namespace (Linux cooked v2: interface and direction of each
frame) and the test keeps what a SPAN port would show, each frame once: what hosts sent
(inbound on a port), the general queries as they left the first port, and every
address-specific query as it left its port; those become Ethernet frames (MAC addresses from
the cooked header and the RFC 2464 mapping)."""

from __future__ import annotations

import json
import signal
import struct
import subprocess
import time
from pathlib import Path

import pytest

from mdiag.adapters.capture import open_capture
from mdiag.adapters.lab import BRIDGE, BRIDGE_MAC, BridgeConfig, link_local
from mdiag.adapters.pcap_writer import PcapWriter
from mdiag.adapters.sockets import Join, Receiver
from mdiag.core import mld
from mdiag.testing.requirements import need_tool

pytestmark = pytest.mark.lab

ASM, SSM, V1 = "ff05::1:3", "ff3e::1:1", "ff05::1:4"


def _wait(what, predicate, timeout=8.0):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        value = predicate()
        if value:
            return value
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


OUTGOING = 4  # sll_pkttype PACKET_OUTGOING


def span_view(cooked: Path, out: Path, ifindex: dict[str, int]) -> int:
    """Each frame once, as a SPAN port on the bridge would show it (see the module docstring)."""
    first_port, bridge = ifindex["p1"], ifindex[BRIDGE]
    kept = 0
    with open_capture(cooked) as capture, PcapWriter(out, force=True) as writer:
        for frame in capture:
            data = frame.data
            protocol, _, index, _, pkttype, halen = struct.unpack_from("!HHIHBB", data)
            packet = data[20:]
            if protocol == 0x86DD:
                dst = b"\x33\x33" + packet[36:40]
                query = len(packet) > 72 and packet[6] == 0 and packet[48] == 130
                specific = query and any(packet[56:72])
            elif protocol == 0x0800:
                dst = b"\x01\x00\x5e" + bytes((packet[17] & 0x7F,)) + packet[18:20]
                query = len(packet) > 24 and packet[9] == 2 and packet[(packet[0] & 15) * 4] == 0x11
                specific = query and any(packet[(packet[0] & 15) * 4 + 4:(packet[0] & 15) * 4 + 8])
            else:
                continue
            outgoing = pkttype == OUTGOING
            if not ((not outgoing and index != bridge)                      # sent by a host
                    or (outgoing and query and (index == first_port or specific))):
                continue
            writer.write(dst + data[12:12 + min(halen, 6)] + struct.pack("!H", protocol) + packet, frame.time_ns)
            kept += 1
    return kept


def test_bridge_mldv2_querier_and_kernel_hosts_tell_the_scripted_story(mdiag_lab_factory, tmp_path, cli):
    tcpdump = need_tool("tcpdump")
    lab = mdiag_lab_factory(hosts=3, ipv6=True, bridge=BridgeConfig.fast(mld_version=2))
    source = lab.host("h1").address6            # the SSM source h2 asks for (a ULA address)
    h1, h2, h3 = (lab.host(n).link_local for n in ("h1", "h2", "h3"))
    querier = link_local(BRIDGE_MAC)
    lab.run("h3", ["sysctl", "-w", "net.ipv6.conf.lab0.force_mld_version=1"], check=True)
    # MLDv2 work the kernel scheduled before the switch (retransmitted state-change reports of
    # the solicited-node joins, a pending general-query response) still goes out as MLDv2:
    # let it drain (a query interval of 2 s plus the 1 s response time) before the story starts.
    time.sleep(3.2)
    links = json.loads(lab.run_bridge(["ip", "-j", "link", "show"]).stdout)
    ifindex = {link["ifname"]: link["ifindex"] for link in links}
    cooked, pcap = tmp_path / "cooked.pcap", tmp_path / "mld.pcap"
    capture = subprocess.Popen(["ip", "netns", "exec", lab.bridge_netns, tcpdump, "-i", "any", "-y", "LINUX_SLL2",
                                "-w", str(cooked), "-U", "-c", "20000", "ip6 or igmp"],
                               stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    receivers = []
    try:
        _wait("tcpdump to listen", lambda: cooked.exists() and cooked.stat().st_size >= 24)
        for host, join in (("h1", Join(ASM)), ("h2", Join(SSM, source)), ("h3", Join(V1))):
            with lab.inside(host):
                receiver = Receiver([join], "lab0", 7200)
            receivers.append(receiver)
            receiver.join()
        for group, host in ((ASM, "h1"), (SSM, "h2"), (V1, "h3")):
            lab.wait_member(group, host, timeout=8)
        time.sleep(4.5)                          # two query cycles (QI 2 s): hosts answer the querier
        for receiver in (receivers[0], receivers[2]):   # h1 leaves ASM (TO_IN), h3 sends an MLDv1 done
            receiver.leave()
        _wait("the leaves to end", lambda: not lab.members(ASM) and not lab.members(V1))
        time.sleep(2.3)                          # the next general query closes the capture after them
    finally:
        for receiver in receivers:
            receiver.close()
        capture.send_signal(signal.SIGINT)
        try:
            capture.wait(10)
        except subprocess.TimeoutExpired:
            capture.kill()
            capture.wait(5)

    assert span_view(cooked, pcap, ifindex) > 20
    result = cli("analyze", str(pcap), "--json", "--fail-on", "never", "--expect", f"mld-querier={querier}",
                 "--expect", "mld-version=2", "--expect", f"group={SSM}:members=1")
    assert result.status == 0, result.stdout + result.stderr
    [analysis] = result.json()["analyses"]
    [seg] = [s for s in analysis["segments"] if s["family"] == 6]
    assert seg["querier"] == querier and seg["querier_version"] == 2
    assert [r["address"] for r in seg["routers"] if not r["proxy"]] == [querier]
    groups = {g["group"]: g for g in seg["groups"]}
    # h1: any-source join (IPV6_JOIN_GROUP -> MLDv2 EXCLUDE {}), then left: TO_IN({}) and the
    # bridge's address-specific queries end it
    assert h1 in groups[ASM]["reporting_hosts"] and groups[ASM]["leaves"] >= 1
    assert groups[ASM]["state"] == "absent" and groups[ASM]["max_leave_latency"] < 2.0
    # h2: source-specific join (MCAST_JOIN_SOURCE_GROUP -> INCLUDE {source}), still a member
    assert groups[SSM]["state"] == "include" and groups[SSM]["sources"] == [source]
    assert groups[SSM]["members"] == [h2]
    # h3: forced to MLDv1: MLDv1 reports put the address in MLDv1 compatibility; its done ends it
    assert groups[V1]["versions"] == [1] and groups[V1]["state"] == "absent" and groups[V1]["leaves"] >= 1
    assert groups[V1]["leave_details"][0]["kind"] == "done"
    compat = [f["context"] for f in analysis["findings"] if f["code"] == "compat-older-host"]
    assert {"host": h3, "group": V1} in [{"host": c["host"], "group": c["group"]} for c in compat]
    # every MLD frame the kernel sent decodes cleanly, with good ICMPv6 checksums
    decoded = cli("decode", str(pcap), "--json", "--fail-on", "never").json()["inputs"][0]["messages"]
    mld_rows = [m for m in decoded if m.get("family") == 6]
    assert mld_rows and all(m["checksum_ok"] for m in mld_rows)
    assert {m["kind"] for m in mld_rows} >= {"mld2-query", "mld2-report", "mld1-report", "mld1-done",
                                            "mld2-group-query"}
    # what the kernel hosts sent is clean; the Linux bridge's address-specific queries are not:
    # it sends them from its ULA address when the address has a wider scope than the link
    # (RFC 3810 5.1.14 wants link-local; routers ignore them), and to ff02::1 in MLDv1
    # compatibility (RFC 3810 5.1.15 wants the queried address) -- real findings, kept
    hosts = [m for m in mld_rows if m["ip"]["src"] in (h1, h2, h3)]
    assert hosts and not [f for m in hosts for f in m["findings"]]
    bridge = {f["code"] for m in mld_rows if m["ip"]["src"] not in (h1, h2, h3) for f in m["findings"]}
    assert bridge <= {"mld-source-not-link-local", "wrong-destination"}
    assert json.dumps(analysis)  # the whole analysis is JSON-clean
    assert mld.address(querier).is_link_local
