"""Soak: memory stays flat where issue 9 found it growing without end (run by hand, slow).

Plain script (not collected by pytest). Each check runs ``python -m mdiag`` as a process and
reads its peak RSS (``ru_maxrss`` of the child from ``os.wait4``), beside the size of what it
was fed, and prints them side by side. A check fails when the peak passes its ceiling.

- decode of a million-message capture on stdin, table and ``--json`` (issue: ~1 KB per message);
- collisions --limit 1000000 on 224.0.0.0/4, table and JSON (issue: ~8 KB per row, 2.4 GB);
- the endless files (``/dev/zero``, ``/dev/urandom``) of every bounded reader;
- listen of 16,384 groups for 1 s on lo: the wall time beside the promised second.

Run: .venv/bin/python tests/benchmarks/bench_abuse.py [--messages N] [--rows N]
"""

from __future__ import annotations

import argparse
import os
import struct
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
MIB = 1024 * 1024
PACKET = bytes.fromhex("46c000200000400001029e3ec6120a0aef010101940400001600fafdef010101")


def run(argv: list[str], *, feed: bytes | None = None, stdin: object = subprocess.DEVNULL) -> tuple[int, int, float]:
    """(status, peak RSS in bytes, seconds) of ``python -m mdiag ARGV`` with output discarded."""
    start = time.perf_counter()
    process = subprocess.Popen([sys.executable, "-m", "mdiag", *argv], cwd=ROOT,
                               stdin=subprocess.PIPE if feed is not None else stdin,
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    if feed is not None:
        assert process.stdin is not None

        def write() -> None:
            try:
                process.stdin.write(feed)  # type: ignore[union-attr]
                process.stdin.close()  # type: ignore[union-attr]
            except OSError:
                pass

        threading.Thread(target=write, daemon=True).start()
    _, status, usage = os.wait4(process.pid, 0)
    process.returncode = os.waitstatus_to_exitcode(status)
    return process.returncode, usage.ru_maxrss * 1024, time.perf_counter() - start


def capture(messages: int) -> bytes:
    header = struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, 101)
    record = struct.pack("<IIII", 0, 0, len(PACKET), len(PACKET)) + PACKET
    return header + record * messages


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=1_000_000)
    parser.add_argument("--rows", type=int, default=1_000_000)
    args = parser.parse_args()
    failed = False
    print(f"{'check':58} {'status':>6} {'peak RSS':>10} {'ceiling':>9} {'time':>8}")

    def report(name: str, result: tuple[int, int, float], ceiling: int) -> None:
        nonlocal failed
        status, peak, seconds = result
        ok = peak <= ceiling
        failed |= not ok
        print(f"{name:58} {status:>6} {peak / MIB:>8.1f} MB {ceiling / MIB:>6.0f} MB {seconds:>7.1f}s"
              + ("" if ok else "  FAIL"))

    data = capture(args.messages)
    print(f"(capture of {args.messages:,} messages: {len(data) / MIB:.0f} MB on stdin)")
    report(f"decode - ({args.messages:,} messages, table)", run(["decode", "-"], feed=data), 120 * MIB)
    report(f"decode - --json ({args.messages:,} messages)", run(["decode", "-", "--json"], feed=data), 120 * MIB)
    report(f"collisions 224.0.0.0/4 --limit {args.rows:,}", run(["collisions", "224.0.0.0/4", "--limit",
                                                                 str(args.rows)]), 150 * MIB)
    report(f"collisions 224.0.0.0/4 --limit {args.rows // 5:,} --json",
           run(["collisions", "224.0.0.0/4", "--limit", str(args.rows // 5), "--json"]), 150 * MIB)
    with tempfile.TemporaryDirectory() as scratch:
        capture_path = os.path.join(scratch, "c.pcap")
        with open(capture_path, "wb") as handle:
            handle.write(capture(10))
        for name, argv in [
            ("collisions --file /dev/zero", ["collisions", "--file", "/dev/zero"]),
            ("collisions --file /dev/urandom", ["collisions", "--file", "/dev/urandom"]),
            ("mac --file /dev/urandom", ["mac", "239.1.1.1", "--file", "/dev/urandom"]),
            ("decode /dev/urandom", ["decode", "/dev/urandom"]),
            ("analyze --expect-file /dev/zero", ["analyze", "--expect-file", "/dev/zero", capture_path]),
            ("replay --expect-mdb /dev/zero", ["replay", capture_path, "--iface", "nosuch0", "--bridge", "br0",
                                              "--expect-mdb", "/dev/zero"]),
        ]:
            report(name, run(argv), 120 * MIB)
        with open("/dev/zero", "rb") as zero:
            report("classify - < /dev/zero", run(["classify", "-"], stdin=zero), 120 * MIB)
    start = time.perf_counter()
    status, peak, _ = run(["listen", "239.200.0.0-239.200.63.255", "--iface", "lo", "--duration", "1",
                           "--port", "47990"])
    wall = time.perf_counter() - start
    print(f"{'listen of 16,384 groups, --duration 1 (wall, with start-up)':58} {status:>6} "
          f"{peak / MIB:>8.1f} MB {'':>9} {wall:>7.1f}s  (the issue measured 10.4 s)")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
