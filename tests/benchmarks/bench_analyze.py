"""Benchmark of ``mdiag analyze`` (plain script, not collected by pytest).

Measured side by side in one run on the same generated files under /tmp
(deleted afterwards):

1. a mixed capture (1% IGMP, the rest multicast UDP data, ~1.2 KB frames), and a dual-stack
   copy where one frame in ``--ipv6-every`` is IPv6 (MLD, neighbour discovery, IPv6 data):
   - a bare Python loop reading the record headers with struct (the floor),
   - ``mdiag analyze FILE --json`` (goal: at most 2x the bare loop),
   - ``tshark -r FILE -Y igmp`` (goal: mdiag at least 10x faster),
   - peak RSS of mdiag at a tenth of the size and at full size (goal: < 200 MB, flat);
2. an IGMP-only capture (goal: >= 150,000 messages/s).

    python tests/benchmarks/bench_analyze.py                    # 100,000 frames (~120 MB)
    python tests/benchmarks/bench_analyze.py --frames 1000000   # the issue's 1.2 GB run
    python tests/benchmarks/bench_analyze.py --baseline /tmp/old  # also time the mdiag/ of
                                                                  # another checkout, same file

Every tool runs in its own process; wall time and peak RSS come from wait4().
"""

from __future__ import annotations

import argparse
import os
import shutil
import struct
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from mdiag.core.igmp import (  # noqa: E402
    GroupRecord,
    V2Leave,
    V2Query,
    V2Report,
    V3Query,
    V3Report,
    build_frame,
)
from mdiag.core.igmp.ipv4 import IPv4Header  # noqa: E402
from ipaddress import IPv4Address  # noqa: E402

PAYLOAD = 1150


def _udp_frame(src: int, group: int, payload: int = PAYLOAD) -> bytes:
    dst_mac = bytes([1, 0, 0x5E]) + (group & 0x7FFFFF).to_bytes(3, "big")
    total = 28 + payload
    ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, total, 0, 0x4000, 8, 17, 0,
                     src.to_bytes(4, "big"), group.to_bytes(4, "big"))
    return (dst_mac + bytes.fromhex("020000000099") + b"\x08\x00" + ip
            + struct.pack("!HHHH", 40000, 5000, 8 + payload, 0) + bytes(payload))


def _igmp_frames() -> list[bytes]:
    base = int(IPv4Address("198.18.0.10"))
    frames = []
    for i in range(64):
        host = str(IPv4Address(base + (i % 16)))
        group = f"239.1.{i % 8}.{i % 32}"
        kind = i % 4
        if kind == 0:
            msg = V2Report(group)
        elif kind == 1:
            msg = V3Report((GroupRecord(4, group), GroupRecord(5, "232.1.1.1", ("198.18.1.100",))))
        elif kind == 2:
            msg = V2Leave(group)
        else:
            msg = V3Report((GroupRecord(2, group),))
        frames.append(build_frame(msg, IPv4Header(src=IPv4Address(host), dst=_dst(msg))))
    frames.append(build_frame(V3Query.build(), IPv4Header(src=IPv4Address("198.18.0.1"),
                                                          dst=IPv4Address("224.0.0.1"))))
    frames.append(build_frame(V2Query(10, "239.1.0.0"), IPv4Header(src=IPv4Address("198.18.0.1"),
                                                                  dst=IPv4Address("239.1.0.0"))))
    return frames


def _dst(msg: object) -> IPv4Address:
    from mdiag.core.igmp import default_destination
    return default_destination(msg)  # type: ignore[arg-type]


def _ipv6_frames() -> list[bytes]:
    """IPv6 as a dual-stack LAN carries it: MLDv2/MLDv1 reports, neighbour solicitations and
    multicast UDP to ff05:: groups (the same sizes as the IPv4 data)."""
    from mdiag.core.mld import Mld1Report, Mld2Query, Mld2Report, MldRecord
    from mdiag.testing.pcapgen_mld import mld_frame, neighbour_solicitation, udp6_frame

    frames = [mld_frame(Mld2Query.build(), "fe80::1")]
    for i in range(16):
        host = f"fe80::{0x10 + i:x}"
        frames.append(mld_frame(Mld2Report((MldRecord(2, f"ff05::1:{i % 8:x}"),)), host))
        frames.append(mld_frame(Mld1Report(f"ff05::2:{i % 4:x}"), host))
        frames.append(neighbour_solicitation(host, "fe80::1"))
    frames += [udp6_frame(f"fd00::{0x100 + s:x}", f"ff05::3:{g:x}", bytes(PAYLOAD - 20))
               for s in range(4) for g in range(25)]
    return frames


def generate(path: Path, frames: int, igmp_every: int, ipv6_every: int = 0) -> int:
    """Write a pcap of ``frames`` frames; every ``igmp_every``-th is IGMP (1: all), and with
    ``ipv6_every`` every so many others are IPv6 (MLD, neighbour discovery, IPv6 data)."""
    igmp = _igmp_frames()
    ipv6 = _ipv6_frames() if ipv6_every else []
    data = [_udp_frame(int(IPv4Address("198.18.1.100")) + s, int(IPv4Address("239.2.0.0")) + g)
            for s in range(4) for g in range(25)]
    header = struct.Struct("<IIII")
    size = 0
    with open(path, "wb") as out:
        out.write(struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 262144, 1))
        chunk = bytearray()
        t = 1_700_000_000_000_000  # microseconds
        for i in range(frames):
            t += 1000
            if igmp_every == 1 or i % igmp_every == 0:
                frame = igmp[i % len(igmp)] if igmp_every != 1 else igmp[(i // 7) % len(igmp)]
            elif ipv6_every and i % ipv6_every == 1:
                frame = ipv6[(i // ipv6_every) % len(ipv6)]
            else:
                frame = data[i % len(data)]
            chunk += header.pack(t // 1_000_000, t % 1_000_000, len(frame), len(frame))
            chunk += frame
            if len(chunk) > 8 << 20:
                out.write(chunk)
                size += len(chunk)
                chunk.clear()
        out.write(chunk)
        size += len(chunk) + 24
    return size


BARE_LOOP = r"""
import struct, sys
unpack = struct.Struct("<IIII").unpack
n = 0
with open(sys.argv[1], "rb") as f:
    f.read(24)
    read = f.read
    while True:
        h = read(16)
        if len(h) < 16:
            break
        sec, usec, incl, orig = unpack(h)
        read(incl)
        n += 1
print(n)
"""


class Run:
    """Wall seconds, CPU seconds (user + system) and peak RSS (MB) of one process.

    On a shared machine the wall time depends on what else runs; the CPU time much
    less, so ratios are printed for both.
    """

    def __init__(self, wall: float, cpu: float, rss: float) -> None:
        self.wall, self.cpu, self.rss = wall, cpu, rss

    def __str__(self) -> str:
        return f"{self.wall:7.2f} s wall {self.cpu:7.2f} s cpu"


def measure(argv: list[str], cwd: Path = ROOT) -> Run:
    """Run ``argv`` in ``cwd`` (``python -m mdiag`` imports the mdiag/ found there)."""
    start = time.perf_counter()
    env = dict(os.environ, PYTHONPATH=str(cwd))
    proc = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, cwd=cwd, env=env)
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - start
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode not in (0, 1):
        raise SystemExit(f"{argv[:4]} failed with status {proc.returncode}")
    return Run(wall, usage.ru_utime + usage.ru_stime, usage.ru_maxrss / 1024)


def drop_cache_read(path: Path) -> None:
    """Read the file once so every tool starts from a warm page cache."""
    with open(path, "rb") as f:
        while f.read(16 << 20):
            pass


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--frames", type=int, default=100_000,
                        help="frames in the mixed capture (issue target: 1000000, ~1.2 GB)")
    parser.add_argument("--igmp-frames", type=int, default=200_000,
                        help="frames in the IGMP-only capture (default 200000)")
    parser.add_argument("--no-tshark", action="store_true", help="skip the tshark comparison")
    parser.add_argument("--ipv6-every", type=int, default=10, metavar="N",
                        help="also time a dual-stack copy of the mixed capture where every N-th frame is "
                             "IPv6 (MLD, neighbour discovery, IPv6 multicast data); 0 skips it (default 10)")
    parser.add_argument("--baseline", metavar="DIR",
                        help="a directory holding another version's mdiag/ package (e.g. from "
                             "`git archive main mdiag | tar -x -C DIR`): timed side by side on the same file")
    args = parser.parse_args()
    python = sys.executable
    mdiag = [python, "-m", "mdiag", "analyze", "--json", "--fail-on", "never"]
    tmp = Path(tempfile.mkdtemp(prefix="mdiag-bench-", dir="/tmp"))
    try:
        big = tmp / "mixed.pcap"
        small = tmp / "mixed-small.pcap"
        only = tmp / "igmp.pcap"
        t = time.perf_counter()
        size = generate(big, args.frames, 100)
        generate(small, max(args.frames // 10, 1000), 100)
        generate(only, args.igmp_frames, 1)
        print(f"generated {args.frames:,} frames ({size / 1e9:.2f} GB), a tenth-size copy and "
              f"{args.igmp_frames:,} IGMP frames in {time.perf_counter() - t:.1f} s")
        drop_cache_read(big)

        bare = measure([python, "-c", BARE_LOOP, str(big)])
        ours = measure(mdiag + [str(big)])
        small_run = measure(mdiag + [str(small)])
        print(f"bare struct header loop     {bare}")
        print(f"mdiag analyze               {ours}   {ours.wall / bare.wall:.2f}x wall, "
              f"{ours.cpu / bare.cpu:.2f}x cpu of the bare loop (goal <= 2x)")
        if args.baseline:
            base = measure(mdiag + [str(big)], cwd=Path(args.baseline))
            print(f"baseline mdiag analyze      {base}   {base.wall / bare.wall:.2f}x wall, "
                  f"{base.cpu / bare.cpu:.2f}x cpu of the bare loop ({args.baseline})")
        if args.ipv6_every:
            dual = tmp / "mixed-dual-stack.pcap"
            generate(dual, args.frames, 100, args.ipv6_every)
            drop_cache_read(dual)
            bare6 = measure([python, "-c", BARE_LOOP, str(dual)])
            ours6 = measure(mdiag + [str(dual)])
            print(f"dual-stack copy (1 frame in {args.ipv6_every} IPv6): bare loop {bare6}; mdiag analyze "
                  f"{ours6}   {ours6.wall / bare6.wall:.2f}x wall, {ours6.cpu / bare6.cpu:.2f}x cpu")
            if args.baseline:
                base6 = measure(mdiag + [str(dual)], cwd=Path(args.baseline))
                print(f"baseline on the dual-stack copy {base6}   {base6.wall / bare6.wall:.2f}x wall, "
                      f"{base6.cpu / bare6.cpu:.2f}x cpu (counts IPv6 as non-IPv4 without reading it)")
            dual.unlink()
        tshark = shutil.which("tshark")
        if tshark and not args.no_tshark:
            theirs = measure([tshark, "-n", "-r", str(big), "-Y", "igmp"])
            print(f"tshark -r FILE -Y igmp      {theirs}   mdiag is {theirs.wall / ours.wall:.1f}x faster "
                  f"wall, {theirs.cpu / ours.cpu:.1f}x cpu (goal >= 10x)")
        else:
            print("tshark not installed: comparison skipped")
        print(f"peak RSS mdiag              {small_run.rss:7.1f} MB at {max(args.frames // 10, 1000):,} "
              f"frames, {ours.rss:.1f} MB at {args.frames:,} (goal < 200 MB, flat)")

        drop_cache_read(only)
        igmp_run = measure(mdiag + [str(only)])
        startup = measure([python, "-m", "mdiag", "analyze", "--help"])
        wall_rate = args.igmp_frames / max(igmp_run.wall - startup.wall, 1e-9)
        cpu_rate = args.igmp_frames / max(igmp_run.cpu - startup.cpu, 1e-9)
        print(f"IGMP-only capture           {igmp_run}   {wall_rate:,.0f} messages/s wall, "
              f"{cpu_rate:,.0f}/s cpu (start-up excluded; goal >= 150,000/s)")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
