"""Benchmark: the MLD decoder beside the IGMP decoder and tshark, on captures of the same mix.

Plain script (not collected by pytest). Writes two captures of N frames each with the same
mix of messages (mdiag.testing.pcapgen.bulk_frames for IGMP, pcapgen_mld.bulk_frames for
MLD: v1 reports, leaves/dones, v2/v3 reports with 0-2 sources, queries), then measures:
- ``decode_ipv6`` and ``decode_ipv4`` on the packets in memory, payload memo on and off;
- end to end: capture reader + link layer + decoder;
- (all rates per CPU second: the machine may be shared)
- ``tshark -r FILE -Y "icmpv6.type in {130,131,132,143}"`` / ``-Y igmp`` on the whole files (output discarded).
Goal: MLD decoding at the IGMP decoder's speed (ratio >= 0.8 memo on and off). Exit 1 if missed.

Run: .venv/bin/python tests/benchmarks/bench_mld.py [--frames N]
"""

from __future__ import annotations

import argparse
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from mdiag.adapters.capture import open_capture  # noqa: E402
from mdiag.adapters.pcap_writer import PcapWriter  # noqa: E402
from mdiag.core import igmp, linklayer, mld  # noqa: E402
from mdiag.testing import pcapgen, pcapgen_mld  # noqa: E402

GOAL = 0.8


def packets_of(path: Path, locate) -> list[bytes]:
    out = []
    with open_capture(path) as capture:
        for _n, _t, linktype, _i, buf, first, caplen, _o, _off in capture.records():
            located = locate(linktype, buf, first, caplen)
            out.append(buf[located.ip:first + caplen])
    return out


def decode_only(packets: list[bytes], decode, wire, memo: bool) -> float:
    wire.set_payload_memo(memo)
    best = 0.0
    for _ in range(7):
        start = time.process_time()
        for packet in packets:
            decode(packet)
        best = max(best, len(packets) / (time.process_time() - start))
    wire.set_payload_memo(True)
    return best


def end_to_end(path: Path, locate, decode) -> float:
    best = 0.0
    ok = linklayer.OK
    for _ in range(3):
        count = 0
        start = time.process_time()
        with open_capture(path) as capture:
            for _n, _t, linktype, _i, buf, first, caplen, _o, _off in capture.records():
                located = locate(linktype, buf, first, caplen)
                if located.status == ok:
                    decode(buf[located.ip:first + caplen])
                    count += 1
        best = max(best, count / (time.process_time() - start))
    return best


def tshark_rate(path: Path, display_filter: str, frames: int) -> float | None:
    tshark = shutil.which("tshark")
    if tshark is None:
        return None
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    subprocess.run([tshark, "-n", "-r", str(path), "-Y", display_filter], stdout=subprocess.DEVNULL,
                   stderr=subprocess.DEVNULL, check=True)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return frames / (after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--frames", type=int, default=200_000)
    parser.add_argument("--no-tshark", action="store_true")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="mdiag-bench-") as tmp:
        v4, v6 = Path(tmp) / "igmp.pcap", Path(tmp) / "mld.pcap"
        pcapgen.write_bulk(str(v4), args.frames)
        with PcapWriter(v6) as writer:
            for time_ns, frame in pcapgen_mld.bulk_frames(args.frames):
                writer.write(frame, time_ns)
        p4 = packets_of(v4, linklayer.locate_ipv4)
        p6 = packets_of(v6, linklayer.locate_ipv6)
        rates = {
            "mld memo": decode_only(p6, mld.decode_ipv6, mld.wire, True),
            "igmp memo": decode_only(p4, igmp.decode_ipv4, igmp.wire, True),
            "mld no memo": decode_only(p6, mld.decode_ipv6, mld.wire, False),
            "igmp no memo": decode_only(p4, igmp.decode_ipv4, igmp.wire, False),
            "mld e2e": end_to_end(v6, linklayer.locate_ipv6, mld.decode_ipv6),
            "igmp e2e": end_to_end(v4, linklayer.locate_ipv4, igmp.decode_ipv4),
        }
        t6 = None if args.no_tshark else tshark_rate(v6, "icmpv6.type in {130,131,132,143}", args.frames)
        t4 = None if args.no_tshark else tshark_rate(v4, "igmp", args.frames)
    print(f"{args.frames:,} frames each, same mix; messages per CPU second (best of 7 in memory, 3 end to end)")
    print(f"{'':42s} {'MLD':>12s} {'IGMP':>12s} {'MLD/IGMP':>9s}")
    for label, key in (("decoder, payload memo on (default)", "memo"), ("decoder, memo off", "no memo"),
                       ("end to end: reader + link layer + decoder", "e2e")):
        m, i = rates[f"mld {key}"], rates[f"igmp {key}"]
        print(f"{label:42s} {m:12,.0f} {i:12,.0f} {m / i:9.2f}")
    if t6 is not None and t4 is not None:
        print(f"{'tshark -Y icmpv6.type (MLD) / -Y igmp':42s} {t6:12,.0f} {t4:12,.0f} {t6 / t4:9.2f}")
        print(f"mdiag MLD end to end / tshark MLD: {rates['mld e2e'] / t6:.1f}x")
    met = all(rates[f"mld {k}"] >= GOAL * rates[f"igmp {k}"] for k in ("memo", "no memo"))
    print(f"goal: MLD decoding >= {GOAL:.0%} of the IGMP decoder's rate, memo on and off: {'met' if met else 'MISSED'}")
    return 0 if met else 1


if __name__ == "__main__":
    sys.exit(main())
