"""Fuzz run: the decoders never raise anything but MalformedPacket, for any bytes.

Plain script (not collected by pytest), a longer run than the hypothesis tests:
random byte strings, and valid packets of every kind mutated (bytes overwritten,
truncated, extended, length and count fields bent), fed to ``decode_ipv4``,
``decode_igmp`` and (on a sample) the scapy adapter. Seeded, so a failure is
reproducible; prints the first offending input as hex. Exit 1 on any other exception.

Run: .venv/bin/python tests/benchmarks/bench_fuzz.py [--seconds S] [--seed N]
"""

from __future__ import annotations

import argparse
import random
import sys
import time
import traceback
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from mdiag.adapters import scapy_igmp  # noqa: E402
from mdiag.core.igmp import (  # noqa: E402
    GroupRecord,
    IPv4Header,
    MalformedPacket,
    UnknownMessage,
    V1Query,
    V1Report,
    V2Leave,
    V2Query,
    V2Report,
    V3Query,
    V3Report,
    decode_igmp,
    decode_ipv4,
    encode_ipv4,
    wire,
)

SEEDS = [V1Query(), V1Report("239.1.1.1"), V2Query(100), V2Query(10, "239.1.1.1"), V2Report("239.1.1.1"),
         V2Leave("239.1.1.1"), V3Query(), V3Query(10, "232.1.1.1", True, 2, 125, ("198.18.0.5", "198.18.0.6")),
         V3Report((GroupRecord(4, "239.1.1.1"), GroupRecord(5, "232.1.1.1", ("198.18.0.5",), b"\0\0\0\1"))),
         UnknownMessage(bytes.fromhex("30140000007d0002"))]


def mutate(rng: random.Random, packet: bytes) -> bytes:
    data = bytearray(packet)
    for _ in range(rng.randint(1, 4)):
        choice = rng.random()
        if choice < 0.5 and data:
            data[rng.randrange(len(data))] = rng.randrange(256)
        elif choice < 0.65 and data:
            del data[rng.randrange(len(data)):]
        elif choice < 0.8:
            data += bytes(rng.randrange(256) for _ in range(rng.randint(1, 12)))
        elif len(data) > 36:
            # bend a length or count field: IP total length, v3 source/record counts
            where = rng.choice((2, 3, 24 + 10, 24 + 11, 24 + 6, 24 + 7, 24 + 10 + 0))
            if where < len(data):
                data[where] = rng.choice((0, 1, 2, 0x7F, 0xFF))
    return bytes(data)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--scapy-every", type=int, default=50, help="also run the scapy adapter on every Nth input")
    args = parser.parse_args()
    rng = random.Random(args.seed)
    valid = [encode_ipv4(m, IPv4Header(src="198.18.0.10", dst="224.0.0.1")) for m in SEEDS]
    deadline = time.monotonic() + args.seconds
    counts = {"inputs": 0, "decoded": 0, "malformed": 0, "scapy": 0}
    wire.set_payload_memo(False)  # every input goes through the parser
    while time.monotonic() < deadline:
        for _ in range(1000):
            if rng.random() < 0.2:
                data = bytes(rng.randrange(256) for _ in range(rng.randint(0, 64)))
            else:
                data = mutate(rng, rng.choice(valid))
            counts["inputs"] += 1
            for fn in (decode_ipv4, decode_igmp, lambda d: decode_igmp(d[24:])):
                try:
                    fn(data)
                    counts["decoded"] += 1
                except MalformedPacket:
                    counts["malformed"] += 1
                except Exception:  # noqa: BLE001 - this is what the fuzzer looks for
                    print(f"FAIL {getattr(fn, '__name__', 'decode_igmp[24:]')} on {data.hex()}")
                    traceback.print_exc()
                    return 1
            if counts["inputs"] % args.scapy_every == 0:
                counts["scapy"] += 1
                try:
                    scapy_igmp.parse_ip(data)
                except MalformedPacket:
                    pass
                except Exception:  # noqa: BLE001
                    print(f"FAIL scapy_igmp.parse_ip on {data.hex()}")
                    traceback.print_exc()
                    return 1
    rate = counts["inputs"] / args.seconds
    print(f"{counts['inputs']:,} inputs in {args.seconds:.0f} s ({rate:,.0f}/s), seed {args.seed}: "
          f"{counts['decoded']:,} decodes, {counts['malformed']:,} MalformedPacket, "
          f"{counts['scapy']:,} through scapy; no other exception")
    return 0


if __name__ == "__main__":
    sys.exit(main())
