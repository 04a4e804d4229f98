"""Large captures for the report's level-of-detail checks and its benchmark."""

from __future__ import annotations

from ipaddress import IPv4Address
from pathlib import Path

from mdiag.core.igmp import V2Query, V2Report
from tests.analysis.builders import igmp, udp, write_pcap


def many_groups(path: Path, groups: int = 10_000) -> None:
    """``groups`` groups, one host and one data packet each, two reports 129 s apart, and a
    general query every 125 s (the querier's ticks)."""
    frames = [(q * 125.0, igmp(V2Query(), "198.18.0.1")) for q in range(9)]
    for i in range(groups):
        group = f"239.{1 + i // 65536}.{(i // 256) % 256}.{i % 256}"
        host = f"198.18.{10 + i // 250}.{1 + i % 250}"
        frames.append((1.0 + i * 0.01, igmp(V2Report(group=IPv4Address(group)), host)))
        frames.append((1.0 + i * 0.01 + 0.5, udp("198.18.1.100", group, payload=100)))
        frames.append((130.0 + i * 0.01, igmp(V2Report(group=IPv4Address(group)), host)))
    frames.sort(key=lambda f: f[0])
    write_pcap(path, frames)


def many_packets(path: Path, packets: int = 1_000_000, rate: float = 1000.0) -> None:
    """One group with ``packets`` data packets at ``rate`` per second, its host reporting and
    the querier querying every 125 s."""
    frame = udp("198.18.1.100", "239.1.1.1", payload=100)
    report = igmp(V2Report(group=IPv4Address("239.1.1.1")), "198.18.0.10")
    query = igmp(V2Query(), "198.18.0.1")
    span = packets / rate
    frames = [(i / rate, frame) for i in range(packets)]
    frames += [(t * 125.0, query) for t in range(int(span // 125) + 1)]
    frames += [(t * 125.0 + 2, report) for t in range(int(span // 125) + 1)]
    frames.sort(key=lambda f: f[0])
    write_pcap(path, frames)


def many_reports(path: Path, reports: int = 1_000_000, hosts: int = 1000, groups: int = 100) -> None:
    """``reports`` IGMPv2 reports: ``hosts`` hosts, each member of ``groups`` // 10 groups,
    reporting one group every 0.01 s in turn (a busy access segment), with a querier."""
    frames = []
    step = 1000.0 / reports * hosts      # each host's report interval, spread over 1,000 s
    per_host = {h: [igmp(V2Report(group=IPv4Address(f"239.2.{(h + k * 10) % groups // 256}.{(h + k * 10) % groups % 256}")),
                         f"198.18.{10 + h // 250}.{1 + h % 250}") for k in range(groups // 10)]
                for h in range(hosts)}
    for i in range(reports):
        h = i % hosts
        frames.append((i * step / hosts, per_host[h][(i // hosts) % len(per_host[h])]))
    frames += [(q * 125.0, igmp(V2Query(), "198.18.0.1")) for q in range(9)]
    frames.sort(key=lambda f: f[0])
    write_pcap(path, frames)
