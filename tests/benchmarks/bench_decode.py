"""Benchmark: the fast IGMP decoder beside Scapy and tshark, on the same capture, in one run.

Plain script (not collected by pytest). Writes a 200,000-frame capture (mixed IGMPv2
reports and leaves, IGMPv3 reports with 0-2 sources, v2/v3 queries; see
mdiag.testing.pcapgen.bulk_frames) to a temporary directory, then measures:
- mdiag's fast decoder (decode_ipv4 on the packets in memory) and end to end (capture
  reader + link layer + decode_ipv4), each with the payload memo on (default) and off;
- Scapy's dissection (``Ether(frame)``) and mdiag's scapy adapter on a sample;
- ``tshark -r FILE -Y igmp`` on the whole file (output discarded).
Goal: the fast decoder >= 150,000 messages/s, with the payload memo on and with it off.
Prints rates and ratios; exit 1 if missed.

Run: .venv/bin/python tests/benchmarks/bench_decode.py [--frames N] [--scapy-sample N]
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from mdiag.adapters.capture import open_capture  # noqa: E402
from mdiag.core import linklayer  # noqa: E402
from mdiag.core.igmp import MalformedPacket, decode_ipv4, wire  # noqa: E402
from mdiag.testing import pcapgen  # noqa: E402

GOAL = 150_000


def end_to_end(path: Path, memo: bool) -> float:
    """Messages/s for capture reader + link layer + decode_ipv4 (best of 3 runs)."""
    wire.set_payload_memo(memo)
    locate = linklayer.locate_ipv4
    ok = linklayer.OK
    best = 0.0
    for _ in range(3):
        count = 0
        start = time.perf_counter()
        with open_capture(path) as capture:
            for _n, _t, linktype, _i, buf, first, caplen, _o, _off in capture.records():
                located = locate(linktype, buf, first, caplen)
                if located.status != ok:
                    continue
                try:
                    decode_ipv4(buf[located.ip:first + caplen])
                except MalformedPacket:
                    pass
                count += 1
        best = max(best, count / (time.perf_counter() - start))
    wire.set_payload_memo(True)
    return best


def decode_only(packets: list[bytes], memo: bool) -> float:
    """Messages/s for decode_ipv4 alone on packets already in memory (best of 3 runs)."""
    wire.set_payload_memo(memo)
    best = 0.0
    for _ in range(3):
        start = time.perf_counter()
        for packet in packets:
            decode_ipv4(packet)
        best = max(best, len(packets) / (time.perf_counter() - start))
    wire.set_payload_memo(True)
    return best


def packets_of(path: Path) -> list[bytes]:
    out = []
    with open_capture(path) as capture:
        for _n, _t, linktype, _i, buf, first, caplen, _o, _off in capture.records():
            located = linklayer.locate_ipv4(linktype, buf, first, caplen)
            out.append(buf[located.ip:first + caplen])
    return out


def scapy_rates(path: Path, sample: int) -> tuple[float, float]:
    from scapy.layers.l2 import Ether

    from mdiag.adapters import scapy_igmp

    frames = []
    with open_capture(path) as capture:
        for frame in capture:
            frames.append(frame.data)
            if len(frames) >= sample:
                break
    start = time.perf_counter()
    for data in frames:
        Ether(data)
    dissect = len(frames) / (time.perf_counter() - start)
    start = time.perf_counter()
    for data in frames:
        scapy_igmp.parse_frame(data)
    adapter = len(frames) / (time.perf_counter() - start)
    return dissect, adapter


def tshark_rate(path: Path, frames: int) -> float | None:
    tshark = shutil.which("tshark")
    if tshark is None:
        return None
    start = time.perf_counter()
    subprocess.run([tshark, "-n", "-r", str(path), "-Y", "igmp"], stdout=subprocess.DEVNULL,
                   stderr=subprocess.DEVNULL, check=True)
    return frames / (time.perf_counter() - start)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--frames", type=int, default=200_000)
    parser.add_argument("--scapy-sample", type=int, default=5_000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="mdiag-bench-") as tmp:
        path = Path(tmp) / "bulk.pcap"
        start = time.perf_counter()
        pcapgen.write_bulk(str(path), args.frames)
        print(f"generated {args.frames} frames in {time.perf_counter() - start:.1f} s ({path.stat().st_size} bytes)")
        packets = packets_of(path)
        rate = decode_only(packets, memo=True)
        rate_off = decode_only(packets, memo=False)
        e2e = end_to_end(path, memo=True)
        e2e_off = end_to_end(path, memo=False)
        dissect, adapter = scapy_rates(path, args.scapy_sample)
        tshark = tshark_rate(path, args.frames)
    rows = [("mdiag decode_ipv4, payload memo on (default)", rate), ("mdiag decode_ipv4, memo off", rate_off),
            ("mdiag end to end: reader + link layer + decode (memo on)", e2e),
            ("mdiag end to end, memo off", e2e_off),
            (f"scapy Ether() dissection ({args.scapy_sample} sample)", dissect),
            (f"mdiag scapy adapter parse_frame ({args.scapy_sample} sample)", adapter)]
    if tshark is not None:
        rows.append(("tshark -r FILE -Y igmp (whole file, end to end)", tshark))
    print(f"{'decoder (best of 3 for mdiag)':58s} {'messages/s':>12s}")
    for name, value in rows:
        print(f"{name:58s} {value:12,.0f}")
    print(f"ratio decode/scapy dissection: {rate / dissect:.1f}x (memo off {rate_off / dissect:.1f}x)")
    if tshark is not None:
        print(f"ratio end to end/tshark: {e2e / tshark:.1f}x (memo off {e2e_off / tshark:.1f}x); "
              f"decode only/tshark {rate / tshark:.1f}x")
    # The goal holds without the payload memo too: a capture of all-distinct payloads
    # must not fall below it.
    met = rate >= GOAL and rate_off >= GOAL
    print(f"goal: decoder >= {GOAL:,} messages/s with the memo on and off: {'met' if met else 'MISSED'} "
          f"({rate:,.0f} / {rate_off:,.0f}; end to end {e2e:,.0f} / {e2e_off:,.0f})")
    return 0 if met else 1


if __name__ == "__main__":
    sys.exit(main())
