"""Benchmark: what `mdiag monitor` costs on a busy link, beside `tcpdump -w` on the same link (root).

A lab bridge (namespace P-br, device br0: it sees every report and, in promiscuous mode, all
data) is watched by `mdiag monitor --quiet --metrics` and, phase by phase, by `tcpdump -w` with
the same capture filter. Load comes from lab hosts:

* IGMP: h1 sends IGMPv3 reports at 1,000 messages/s (joins and leaves of rotating groups from
  rotating host addresses, crafted by mdiag's own frame builder, sent on an AF_PACKET socket);
* data: h2 runs `mdiag send` at 100,000 packets/s (32-byte datagrams), the rate asked of the
  monitor (what the link really carried is measured and the CPU scaled to it);
* soak: churning groups (2,000 new groups/s, each joined then left) for --soak seconds, after
  which the monitor's resident memory and tracked state are read (the caps must hold it flat).

Printed per phase: CPU (% of one core) of the monitor and of tcpdump, the ratio, frames each
saw and kernel drops; normalised as CPU per 1,000 IGMP messages/s and per 100k data packets/s.

Run: sudo .venv/bin/python tests/benchmarks/bench_monitor.py [--seconds 8] [--soak 60]
"""

from __future__ import annotations

import argparse
import os
import re
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request

from mdiag.adapters.lab import BridgeConfig, Lab

FRAMES = 'mdiag_capture_frames_total{interface="br0"}'
DROPS = 'mdiag_capture_kernel_drops_total{interface="br0"}'
FILTER = ("igmp or (udp and dst net 224.0.0.0/4) or (ip6 and dst net ff00::/8)")
TICK = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid: int) -> float:
    with open(f"/proc/{pid}/stat") as stat:
        fields = stat.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICK


def rss_mb(pid: int) -> float:
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return 0.0


def scrape(port: int) -> dict[str, float]:
    body = urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=10).read().decode()
    out: dict[str, float] = {}
    for line in body.splitlines():
        match = re.match(r"^(mdiag_capture_frames_total|mdiag_capture_kernel_drops_total|"
                         r"mdiag_monitor_tracked|process_resident_memory_bytes)(\{[^}]*\})? (\S+)$", line)
        if match:
            key = match.group(1) + (match.group(2) or "")
            out[key] = float(match.group(3))
    return out


def frames(port: int) -> float:
    return scrape(port)[FRAMES]


def send_igmp(rate: float, seconds: float, groups: int, churn: bool) -> int:
    """Runs in a forked child inside h1: IGMPv3 reports at ``rate``/s (TO_EX then TO_IN of a
    rotating group from a rotating host address); returns how many were sent."""
    from ipaddress import IPv4Address

    from mdiag.adapters.rawsock import RawSocket
    from mdiag.core.igmp import GroupRecord, V3Report, build_frame
    from mdiag.core.igmp.ipv4 import IPv4Header
    from mdiag.core.igmp.messages import RecordType

    frames_ = []
    count = groups if churn else 512
    for n in range(count):
        group = IPv4Address(f"239.{100 + (n >> 16) % 100}.{(n >> 8) & 255}.{n & 255}")
        host = IPv4Address(f"198.18.{1 + n % 200}.{1 + (n // 200) % 250}")
        header = IPv4Header(src=host, dst=IPv4Address("224.0.0.22"), ttl=1, router_alert=True)
        for record in (RecordType.CHANGE_TO_EXCLUDE_MODE, RecordType.CHANGE_TO_INCLUDE_MODE):
            frames_.append(build_frame(V3Report([GroupRecord(record, group)]), header))
    sent = 0
    with RawSocket("lab0", None) as sock:
        start = time.monotonic()
        while True:
            elapsed = time.monotonic() - start
            if elapsed >= seconds:
                break
            due = int(elapsed * rate)
            while sent < due:
                sock.send(frames_[sent % len(frames_)])
                sent += 1
            time.sleep(0.002)
    return sent


def tcpdump_start(lab: Lab, path: str) -> subprocess.Popen[str]:
    proc = subprocess.Popen(["ip", "netns", "exec", lab.bridge_netns, "tcpdump", "-i", "br0", "-w", path,
                             "-s", "262144", "-B", "4096", FILTER],
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    time.sleep(1.0)
    return proc


def tcpdump_stop(proc: subprocess.Popen[str]) -> tuple[int, int]:
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=20)
    captured = re.search(r"(\d+) packets? captured", err)
    dropped = re.search(r"(\d+) packets? dropped by kernel", err)
    return int(captured.group(1)) if captured else -1, int(dropped.group(1)) if dropped else -1


def phase(name: str, lab: Lab, monitor: subprocess.Popen[str], port: int, tmp: str, load, seconds: float,
          per: float, unit: str) -> None:
    """Run ``load`` with both capturing; CPU is counted until the monitor has read everything
    that was queued (it may lag behind the load), per frame each tool handled."""
    dump = tcpdump_start(lab, os.path.join(tmp, f"{name}.pcap"))
    m0, t0, f0, w0 = cpu_seconds(monitor.pid), cpu_seconds(dump.pid), frames(port), time.monotonic()
    load()
    wall = time.monotonic() - w0
    last = frames(port)
    while True:                      # wait until the monitor has caught up
        time.sleep(1.0)
        now = frames(port)
        if now == last:
            break
        last = now
    m1, t1 = cpu_seconds(monitor.pid), cpu_seconds(dump.pid)
    captured, dropped = tcpdump_stop(dump)
    seen = last - f0
    drops = scrape(port)[DROPS]
    mon = (m1 - m0) / seen * per * 100 if seen else float("nan")      # % of a core per `per` units/s
    dmp = (t1 - t0) / captured * per * 100 if captured > 0 else float("nan")
    ratio = f"{mon / dmp:.1f}x" if dmp else "tcpdump used less than one clock tick"
    print(f"{name:5} {seen / wall:10,.0f} {unit}/s | monitor {mon:6.1f}% of a core per {per:,.0f} {unit}/s "
          f"({seen:,.0f} frames, kernel drops {drops:,.0f}) | tcpdump -w {dmp:5.1f}% ({captured:,} frames, "
          f"dropped {dropped:,}) | monitor/tcpdump {ratio}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=8.0, help="length of each load phase")
    parser.add_argument("--soak", type=float, default=60.0, help="length of the churn soak")
    parser.add_argument("--data-rate", default="100kpps")
    args = parser.parse_args()
    if os.geteuid() != 0:
        sys.exit("run as root (namespaces, raw sockets)")
    lab = Lab(prefix=f"mdb{os.getpid() % 100000}", hosts=2, bridge=BridgeConfig.fast(membership_interval=30.0))
    lab.up()
    monitor = None
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    try:
        with tempfile.TemporaryDirectory() as tmp:
            monitor = subprocess.Popen([sys.executable, "-m", "mdiag", "monitor", "--netns", lab.bridge_netns,
                                        "--iface", "br0", "--quiet", "--metrics", f"127.0.0.1:{port}",
                                        "--duration", "3600"], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                                       text=True)
            for _ in range(40):
                try:
                    frames(port)
                    break
                except (OSError, KeyError):
                    time.sleep(0.25)
            print(f"mdiag monitor vs tcpdump -w on br0 ({os.cpu_count()} CPUs; {args.seconds:g} s per phase)")
            phase("igmp", lab, monitor, port, tmp,
                  lambda: lab.call("h1", send_igmp, 1000.0, args.seconds, 0, False, timeout=args.seconds + 30),
                  args.seconds, 1000, "msgs")
            phase("data", lab, monitor, port, tmp,
                  lambda: lab.run("h2", [sys.executable, "-m", "mdiag", "send", "239.77.0.1", "--iface", "lab0",
                                         "--rate", args.data_rate, "--size", "32", "--duration",
                                         f"{args.seconds:g}s"], timeout=args.seconds + 30),
                  args.seconds, 100_000, "pkts")
            before = scrape(port)
            rss0 = rss_mb(monitor.pid)
            import threading

            samples: list[float] = []
            done = threading.Event()

            def sample() -> None:
                while not done.wait(args.soak / 6):
                    samples.append(rss_mb(monitor.pid))

            sampler = threading.Thread(target=sample, daemon=True)
            sampler.start()
            sent = lab.call("h1", send_igmp, 2000.0, args.soak, max(1000, int(args.soak * 1000)), True,
                            timeout=args.soak + 120)
            done.set()
            sampler.join()
            last = -1.0
            while (now := frames(port)) != last:      # until the monitor has caught up
                last = now
                time.sleep(1.0)
            after = scrape(port)
            tracked = {k.split('what="')[1].rstrip('"}'): int(v) for k, v in after.items()
                       if k.startswith("mdiag_monitor_tracked")}
            print(f"soak  {sent:,} churn messages in {args.soak:g} s ({sent // 2:,} distinct groups joined and "
                  f"left): monitor RSS {rss0:.1f} MB -> " + " -> ".join(f"{x:.1f}" for x in samples)
                  + f" -> {rss_mb(monitor.pid):.1f} MB, tracked {tracked}, "
                  f"frames {after[FRAMES] - before[FRAMES]:,.0f}, kernel drops {after[DROPS] - before[DROPS]:,.0f}")
    finally:
        if monitor is not None and monitor.poll() is None:
            monitor.send_signal(signal.SIGTERM)
            try:
                monitor.communicate(timeout=20)
            except subprocess.TimeoutExpired:
                monitor.kill()
        lab.down()


if __name__ == "__main__":
    main()
