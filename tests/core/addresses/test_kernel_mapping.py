"""The Linux kernel as an independent oracle for the MAC mapping (RFC 1112 6.4, RFC 2464 7).

Inside a throw-away network namespace (veth pair, nothing leaves it), one process joins a set of
IPv4 and IPv6 groups; ``ip maddr show`` then lists the link-layer addresses the kernel programmed
(``ip_eth_mc_map`` / ``ipv6_eth_mc_map``) with a user count per MAC. That multiset must equal the
one mdiag computes, aliases (239.1.2.3 / 239.129.2.3, 224.0.0.1 / 225.0.0.1) included.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from collections import Counter

import pytest

from mdiag.core.addresses import multicast_mac, parse_group
from mdiag.testing.requirements import need_root

pytestmark = pytest.mark.lab

GROUPS_V4 = [
    "224.0.0.251", "224.0.1.129", "225.0.0.1", "225.128.0.1", "230.0.0.255", "232.1.1.1", "232.129.1.1",
    "233.22.30.5", "234.192.0.2", "239.0.0.0", "239.1.2.3", "239.129.2.3", "239.128.0.5", "239.127.255.255",
    "239.255.255.250", "239.255.255.255", "224.128.64.32", "224.0.64.32", "238.255.0.1",
]
GROUPS_V6 = ["ff3e::8000:1", "ff38::8000:1", "ff05::1:3", "ff0e::101", "ff7e:140:2001:db8::1234",
             "ff02::1:ff12:3456", "ff15::abcd:ef01"]

JOINER = r"""
import socket, struct, subprocess, sys
v4, v6 = sys.argv[1].split(","), sys.argv[2].split(",")
idx = socket.if_nametoindex("v0")
sockets = []
for start in range(0, len(v4), 10):  # stay under net.ipv4.igmp_max_memberships (20) per socket
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    for g in v4[start:start + 10]:
        s.setsockopt(socket.IPPROTO_IP, socket.IP_ADD_MEMBERSHIP,
                     socket.inet_aton(g) + socket.inet_aton("0.0.0.0") + struct.pack("=i", idx))
    sockets.append(s)
s6 = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM)
for g in v6:
    s6.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_JOIN_GROUP,
                  socket.inet_pton(socket.AF_INET6, g) + struct.pack("=I", idx))
sys.stdout.write(subprocess.run(["ip", "maddr", "show", "dev", "v0"], capture_output=True, text=True,
                                check=True).stdout)
"""


def _ip(*args: str) -> None:
    subprocess.run(["ip", *args], check=True, capture_output=True, timeout=10)


def test_kernel_programs_the_macs_mdiag_computes():
    need_root()
    ns = f"md{os.getpid()}addr"
    try:
        try:
            _ip("netns", "add", ns)
            _ip("-n", ns, "link", "add", "v0", "type", "veth", "peer", "name", "v1")
            _ip("-n", ns, "link", "set", "v0", "up")
            _ip("-n", ns, "link", "set", "v1", "up")
        except subprocess.CalledProcessError as exc:
            from mdiag.testing.requirements import unavailable

            unavailable(f"cannot build a network namespace here: {exc.stderr.decode().strip()}")
        out = subprocess.run(["ip", "netns", "exec", ns, sys.executable, "-c", JOINER,
                              ",".join(GROUPS_V4), ",".join(GROUPS_V6)],
                             capture_output=True, text=True, timeout=30, check=True).stdout
    finally:
        subprocess.run(["ip", "netns", "del", ns], capture_output=True, timeout=10)

    links: Counter[str] = Counter()
    groups: list[str] = []
    for line in out.splitlines():
        match = re.match(r"\s+link\s+(\S+)(?:\s+users\s+(\d+))?", line)
        if match:
            links[match.group(1)] = int(match.group(2) or 1)
        match = re.match(r"\s+inet6?\s+(\S+)", line)
        if match:
            groups.append(match.group(1))
    # every group the kernel holds (ours plus its own 224.0.0.1, ff02::1, ff01::1, solicited-node)
    assert set(GROUPS_V4) | set(GROUPS_V6) <= set(groups)
    expected = Counter(str(multicast_mac(parse_group(g))) for g in groups if not g.startswith("ff01:"))
    # interface-local ff01::/16 groups never reach the wire, so the kernel programs no MAC for them
    assert links == expected
    assert links["01:00:5e:01:02:03"] == 2 and links["01:00:5e:00:00:01"] >= 3  # 224.0.0.1, 225.0.0.1, 225.128.0.1
