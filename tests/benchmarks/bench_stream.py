#!/usr/bin/env python3
"""Benchmark: mdiag send -> mdiag listen against iperf2, side by side in one run, in the lab.

1. Throughput at 1200-byte datagrams between two lab namespaces: iperf2 (`iperf -u -b 10G
   -l 1200`, multicast) first, then `mdiag send --rate max` -> `mdiag listen`, then mdiag
   paced at the packet rate iperf2 delivered. Prints received packets/s, loss, and the ratio
   mdiag/iperf2 (target: >= 0.8 with no more loss than iperf2 at that rate).
2. Many groups: `mdiag listen` on 1,000 groups while `mdiag send` streams 10 packets/s to
   each; prints the receiver's CPU use in steady state (target: < 25% of one core) and loss.

Both for IPv4 (239.77.0.1) and IPv6 (ff3e::77:1, iperf2 with `-V`) in one dual-stack lab, the
IPv6 rows beside the IPv4 ones, with the IPv6/IPv4 ratio of each tool (``--family 4|6`` for one).
Needs root (namespaces) and iperf (Debian package iperf). Not collected by pytest.
Usage: python tests/benchmarks/bench_stream.py [--seconds 5] [--family 4|6|both]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import time

from mdiag.adapters.lab import BridgeConfig, Lab, LabError

GROUPS = {4: "239.77.0.1", 6: "ff3e::77:1"}
#: first and last group of the 1,000-group run per family
MANY = {4: ("239.78.0.1", "239.78.3.232"), 6: ("ff3e::78:1", "ff3e::78:3e8")}
SIZE = 1200


def wait_member(lab: Lab, host: str, group: str, timeout: float = 10.0) -> None:
    try:
        lab.wait_member(group, host, timeout)
    except LabError as exc:
        raise SystemExit(str(exc)) from None


def iperf_run(lab: Lab, seconds: float, family: int) -> dict[str, float]:
    group = GROUPS[family]
    v6 = ["-V"] if family == 6 else []
    server = lab.popen("h2", ["iperf", "-s", "-u", *v6, "-B", f"{group}%lab0", "-l", str(SIZE), "-p", "5101",
                              "-y", "C", "-t", str(int(seconds + 4))],
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        wait_member(lab, "h2", group)
        target = f"{group}%lab0" if family == 6 else group
        client = lab.run("h1", ["iperf", "-c", target, *v6, "-u", "-b", "10G", "-l", str(SIZE), "-p", "5101",
                                "-T", "1", "-t", str(seconds), "-y", "C"], timeout=seconds + 15)
        if client.returncode != 0:
            raise SystemExit(f"iperf client failed: {client.stderr.strip()}")
        out, _ = server.communicate(timeout=seconds + 15)
    finally:
        if server.poll() is None:
            server.kill()
            server.communicate()
    rows = [line.split(",") for line in out.splitlines() if line.count(",") >= 12]
    if not rows:
        raise SystemExit(f"no iperf server report:\n{out}")
    row = rows[-1]
    start, end = (float(x) for x in row[6].split("-"))
    lost, total = int(row[10]), int(row[11])
    received = total - lost
    # The server's interval normally equals the client's sending time. On a loaded machine it
    # has been seen to span the server's whole wait (10.2 s for a 3 s send), which would
    # understate iperf2's rate three times over: then the client's own interval is the measure.
    elapsed = end - start
    sent_rows = [line.split(",") for line in client.stdout.splitlines() if line.count(",") >= 8]
    if sent_rows:
        c_start, c_end = (float(x) for x in sent_rows[0][6].split("-"))
        if elapsed > (c_end - c_start) * 1.1 + 0.2:
            print(f"(iperf2 server interval {elapsed:.2f} s exceeds the client's {c_end - c_start:.2f} s "
                  "of sending: the client's is used)")
            elapsed = c_end - c_start
    return {"received": received, "lost": lost, "sent": total, "seconds": elapsed,
            "pps": received / elapsed, "loss": lost / total if total else 0.0}


def mdiag_run(lab: Lab, seconds: float, rate: str, port: int, family: int) -> dict[str, float]:
    group = GROUPS[family]
    listener = lab.popen("h2", lab.mdiag_argv("listen", group, "--iface", "lab0", "--port", str(port),
                                              "--duration", str(seconds + 10), "--until-end", "--json",
                                              "--quiet"),
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        wait_member(lab, "h2", group)
        sent = lab.run("h1", lab.mdiag_argv("send", group, "--iface", "lab0", "--port", str(port),
                                            "--rate", rate, "--size", str(SIZE), "--duration", f"{seconds}s",
                                            "--json"), timeout=seconds * 2 + 15)
        if sent.returncode != 0:
            raise SystemExit(f"mdiag send failed: {sent.stderr.strip()}")
        out, err = listener.communicate(timeout=seconds + 20)
    finally:
        if listener.poll() is None:
            listener.kill()
            listener.communicate()
    doc = json.loads(out)
    send = json.loads(sent.stdout)
    (stream,) = doc["streams"]
    # The listener was joined before the first datagram, so loss is everything sent and not
    # received: listen's own count starts at the first sequence it saw (RFC 4737), which would
    # hide datagrams lost at the head of the stream.
    lost = max(stream["lost"], send["sent"] - stream["received"])
    return {"received": stream["received"], "lost": lost, "sent": send["sent"],
            "seconds": send["elapsed_s"], "pps": stream["received"] / send["elapsed_s"],
            "loss": lost / send["sent"] if send["sent"] else 0.0, "send_pps": send["pps"]}


def cpu_seconds(pid: int) -> float:
    with open(f"/proc/{pid}/stat") as handle:
        fields = handle.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def many_groups(lab: Lab, pps_per_group: int, seconds: float, family: int) -> dict[str, float]:
    first, last = MANY[family]
    group_range = f"{first}-{last}"
    listener = lab.popen("h2", lab.mdiag_argv("listen", group_range, "--iface", "lab0", "--port", "5103",
                                              "--duration", str(seconds + 12), "--until-end", "--json",
                                              "--quiet"),
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        wait_member(lab, "h2", last, timeout=20)
        sender = lab.popen("h1", lab.mdiag_argv("send", group_range, "--iface", "lab0", "--port", "5103",
                                                "--rate", f"{pps_per_group}pps", "--size", "200",
                                                "--duration", f"{seconds}s", "--quiet"),
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        time.sleep(2.0)  # steady state: every group has started
        c0, t0 = cpu_seconds(listener.pid), time.monotonic()
        time.sleep(seconds - 3.0)
        c1, t1 = cpu_seconds(listener.pid), time.monotonic()
        sender.communicate(timeout=seconds * 2 + 10)
        out, err = listener.communicate(timeout=seconds + 20)
    finally:
        for proc in (listener,):
            if proc.poll() is None:
                proc.kill()
                proc.communicate()
    doc = json.loads(out)
    streams = doc["streams"]
    return {"groups_receiving": sum(1 for g in doc["groups"] if g["datagrams"]),
            "streams": len(streams), "received": sum(s["received"] for s in streams),
            "lost": sum(s["lost"] for s in streams), "cpu": (c1 - c0) / (t1 - t0)}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--only", choices=("throughput", "groups"), default=None)
    parser.add_argument("--family", choices=("4", "6", "both"), default="both",
                        help="IPv4, IPv6 or both side by side (default)")
    args = parser.parse_args()
    if os.geteuid() != 0:
        print("bench_stream: needs root for the namespace lab; skipped")
        return 0
    if shutil.which("iperf") is None:
        print("bench_stream: needs iperf (Debian package iperf); skipped")
        return 0
    families = [4, 6] if args.family == "both" else [int(args.family)]
    lab = Lab(prefix=f"mdb{os.getpid()}", hosts=2, bridge=BridgeConfig.fast(), ipv6=6 in families)
    lab.up()
    results: dict[int, dict[str, dict[str, float]]] = {f: {} for f in families}
    try:
        for family in families:
            r = results[family]
            if args.only != "groups":
                r["ip"] = iperf_run(lab, args.seconds, family)
                r["md"] = mdiag_run(lab, args.seconds, "max", 5102, family)
                r["paced"] = mdiag_run(lab, args.seconds, f"{int(r['ip']['pps'])}pps", 5104, family)
            if args.only != "throughput":
                r["many"] = many_groups(lab, 10, max(8.0, args.seconds + 3), family)
    finally:
        lab.down()

    def line(name: str, r: dict[str, float]) -> str:
        return (f"{name:<32} {r['pps']:>12,.0f} pps received   loss {r['loss'] * 100:6.2f}%"
                f"   ({r['received']:,} of {r['sent']:,} in {r['seconds']:.2f} s)")

    for family in families:
        r = results[family]
        if "ip" in r:
            throughput_report(r["ip"], r["md"], r["paced"], line, family)
        if "many" in r:
            many = r["many"]
            print(f"== IPv{family}: 1,000 groups at 10 packets/s each, one mdiag listen")
            print(f"groups receiving {many['groups_receiving']}/1000, streams {many['streams']}, "
                  f"received {many['received']:,}, lost {many['lost']:,}, receiver CPU "
                  f"{many['cpu'] * 100:.1f}% of one core (target < 25%)")
    if len(families) == 2 and "ip" in results[4] and "ip" in results[6]:
        v4, v6 = results[4], results[6]
        print("== IPv6 beside IPv4 (same run, same lab)")
        print(f"iperf2 -V / iperf2: {v6['ip']['pps'] / v4['ip']['pps']:.2f}x packets/s; "
              f"mdiag IPv6 / IPv4: {v6['md']['pps'] / v4['md']['pps']:.2f}x; "
              f"mdiag/iperf2 IPv4 {v4['md']['pps'] / v4['ip']['pps']:.2f}x, "
              f"IPv6 {v6['md']['pps'] / v6['ip']['pps']:.2f}x")
    return 0


def throughput_report(ip: dict[str, float], md: dict[str, float], paced: dict[str, float], line: object,
                      family: int = 4) -> None:
    print(f"== IPv{family} throughput to {GROUPS[family]}, {SIZE}-byte datagrams, h1 -> bridge -> h2 (same run)")
    print(line("iperf2 -u -b 10G" + (" -V" if family == 6 else ""), ip))  # type: ignore[operator]
    print(line("mdiag send --rate max", md))  # type: ignore[operator]
    print(line(f"mdiag send --rate {int(ip['pps'])}pps", paced))  # type: ignore[operator]
    ratio = md["pps"] / ip["pps"]
    print(f"ratio mdiag/iperf2 packets/s: {ratio:.2f}x (target >= 0.80); "
          f"loss mdiag max {md['loss'] * 100:.2f}% / at iperf2's rate {paced['loss'] * 100:.2f}% "
          f"vs iperf2 {ip['loss'] * 100:.2f}%")


if __name__ == "__main__":
    sys.exit(main())
