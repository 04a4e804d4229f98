"""Benchmark: timing resolution of active measurements, side by side in one run (needs root).

A 1,000 packets/s stream crosses the lab bridge from h1 to h2 for a few seconds. On h2 the same
packets are timestamped three ways at once:

* mdiag's capture socket (kernel SO_TIMESTAMPNS, what `mdiag delay` / `discover` use),
* the clock read in Python right after each recv (what mcfirst/omping-style tools do),
* tcpdump (libpcap, nanosecond precision), the reference peer.

The sender (a separate process) writes its send time into each payload; receive stamp minus send
stamp is the one-way latency on one clock. Its spread (p99 minus median) is the timestamping
error of each method, printed idle and with two busy Python threads in the measuring process (a
tool doing work while it measures). Ratios: python clock / kernel, and mdiag / tcpdump. The target (issue 6): resolution better than 1 ms at 1,000 packets/s.

Also measured: replay timing at original spacing (1,000 frames 1 ms apart), lateness of each
frame against its due time.

Run: sudo .venv/bin/python tests/benchmarks/bench_active.py
"""

from __future__ import annotations

import os
import shutil
import signal
import statistics
import struct
import subprocess
import sys
import tempfile
import threading
import time

from mdiag.adapters import rawsock
from mdiag.adapters.netns import entered
from mdiag.adapters.capture import open_capture
from mdiag.adapters.lab import BridgeConfig, Lab
from mdiag.adapters.replay import replay
from mdiag.adapters.sockets import Join, Receiver, Sender, random_stream_id
from mdiag.core import stream as stream_format
from mdiag.core.rate import Pacing

GROUP, PORT, RATE, SECONDS = "239.9.9.9", 5009, 1000.0, 4.0


def spread(pairs: list[tuple[int, int]]) -> tuple[float, float, int]:
    """One-way latency (receive stamp - send stamp carried in the payload, same host clock):
    (median in µs, p99 - median in µs, samples). The spread is the timestamping error."""
    lat = sorted((rx - tx) / 1000 for rx, tx in pairs)
    median = lat[len(lat) // 2]
    return median, lat[int(0.99 * (len(lat) - 1))] - median, len(lat)


def _send_stream(group: str, port: int, rate: float, seconds: float) -> int:
    """Runs in a forked child inside h1's namespace (its own process: no GIL shared)."""
    with Sender(group, port, "lab0", loop=False) as tx:
        result = tx.send_stream(size=64, pacing=Pacing(rate, burst=4), budget=None, duration=seconds,
                                stream_id=random_stream_id())
    return result.sent


def _stamp(frame: bytes) -> int | None:
    """The send time a test-stream datagram carries (mdiag.core.stream), or None."""
    payload = frame[42:]
    if len(payload) < stream_format.HEADER_SIZE or not stream_format.is_stream(payload):
        return None
    return int(stream_format.SEQ_TIME.unpack_from(payload, stream_format.SEQ_TIME_OFFSET)[1])


def busy(stop: threading.Event) -> None:
    x = 0
    while not stop.is_set():
        for i in range(20000):
            x += i * i  # holds the GIL like a tool decoding while it measures


def measure(lab: Lab, load: bool, workdir: str) -> dict[str, tuple[float, float, int]]:
    h2 = lab.host("h2")
    pcap = os.path.join(workdir, f"tcpdump-{int(load)}.pcap")
    tcpdump = subprocess.Popen(["ip", "netns", "exec", h2.netns, "tcpdump", "-i", h2.iface, "-w", pcap,
                                "--time-stamp-precision", "nano", "-U", "-q",
                                f"udp and dst host {GROUP}"], stderr=subprocess.DEVNULL)
    with entered(h2.netns):
        cap = rawsock.RawSocket(h2.iface, rawsock.igmp_or_udp_to(GROUP, PORT))
        member = Receiver([Join(GROUP)], h2.iface, PORT)
    member.join()
    time.sleep(1.0)  # tcpdump up, membership registered
    cap.drain()
    stop = threading.Event()
    workers = [threading.Thread(target=busy, args=(stop,), daemon=True) for _ in range(2 if load else 0)]
    for w in workers:
        w.start()
    sender = threading.Thread(target=lab.call, args=("h1", _send_stream, GROUP, PORT, RATE, SECONDS),
                              kwargs={"timeout": SECONDS + 10}, daemon=True)
    sender.start()
    kernel, user = [], []
    for c in cap.capture(time.monotonic() + SECONDS + 0.5):
        now = time.time_ns()
        tx = None if c.outgoing else _stamp(c.frame)
        if tx is not None:
            user.append((now, tx))
            kernel.append((c.ts_ns, tx))
    sender.join()
    stop.set()
    for w in workers:
        w.join()
    time.sleep(0.3)
    tcpdump.send_signal(signal.SIGINT)
    tcpdump.wait(10)
    member.close()
    cap.close()
    with open_capture(pcap) as capture:
        peer = [(f.time_ns, tx) for f in capture if f.time_ns is not None and (tx := _stamp(f.data)) is not None]
    return {"mdiag kernel": spread(kernel), "python clock": spread(user), "tcpdump": spread(peer)}


def replay_timing(lab: Lab, workdir: str) -> tuple[float, float, int]:
    frame = bytes.fromhex("01005e090909020000000001" "0800"
                          "46c000200000400001023161c0a8010aef01020394040000" "1600f8faef010203")
    path = os.path.join(workdir, "spaced.pcap")
    with open(path, "wb") as fh:
        fh.write(struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, 1))
        for i in range(1000):
            fh.write(struct.pack("<IIII", i // 1000, (i % 1000) * 1000, len(frame), len(frame)) + frame)
    lates: list[float] = []
    real_clock = time.perf_counter
    with entered(lab.host("h1").netns):
        sock = rawsock.RawSocket("lab0", None)
    due_start = [0.0]

    def send(data: bytes) -> None:
        sock.send(data)
        lates.append(real_clock())

    try:
        start = real_clock()
        due_start[0] = start
        result = replay(path, send, speed=1.0)
    finally:
        sock.close()
    offsets = sorted(abs((t - start) - i / 1000) * 1e6 for i, t in enumerate(lates))
    return result.late_max * 1e6, offsets[int(0.99 * (len(offsets) - 1))], result.frames


def main() -> int:
    if os.geteuid() != 0 or shutil.which("tcpdump") is None:
        print("needs root and tcpdump", file=sys.stderr)
        return 3
    lab = Lab(prefix=f"md{os.getpid()}b", hosts=2, bridge=BridgeConfig.fast(flood_unregistered=False))
    lab.up()
    try:
        with tempfile.TemporaryDirectory() as workdir:
            for load in (False, True):
                results = measure(lab, load, workdir)
                print(f"== 1,000 packets/s for {SECONDS:g} s, {'2 busy threads' if load else 'idle'}")
                for name, (median, sp, n) in results.items():
                    print(f"  {name:<13} latency median {median:8.1f} us   p99 spread {sp:8.1f} us   ({n} packets)")
                k, u, t = results["mdiag kernel"], results["python clock"], results["tcpdump"]
                print(f"  ratio python-clock / mdiag-kernel spread: {u[1] / max(k[1], 0.001):.1f}x; "
                      f"mdiag-kernel / tcpdump spread: {k[1] / max(t[1], 0.001):.2f}x; "
                      f"resolution target < 1000 us: {'met' if k[1] < 1000 else 'NOT met'}")
            late_max, p99, frames = replay_timing(lab, workdir)
            print(f"== replay 1x, {frames} frames 1 ms apart: max lateness {late_max:.0f} us, "
                  f"p99 offset from schedule {p99:.0f} us")
    finally:
        lab.down()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
