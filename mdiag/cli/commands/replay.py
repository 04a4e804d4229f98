"""``mdiag replay``: play a capture into a link, then check the snooping bridge's MDB.

Frames keep their original spacing (``--speed 1x``), scaled (``--speed 10x``) or go
back to back (``--speed max``); ``--only igmp`` and ``--rewrite-src-mac`` as in
tcpreplay. ``--expect-mdb FILE`` compares the Linux bridge's multicast database
afterwards with the expected entries; exit 1 on a difference (docs/active.md).
"""

from __future__ import annotations

import argparse
from typing import Any

from mdiag.cli import options
from mdiag.cli.environment import Environment
from mdiag.errors import ExitStatus, InputError, UsageError

HELP = "replay a capture onto an interface (timed or max speed) and assert the bridge's resulting MDB"

#: More frames than this in any one second of replay is a flood and needs --force.
FLOOD_LIMIT = 1000  # as mdiag.probes.replay (shown in --help)
MAX_DURATION = 3600.0


def _speed(text: str) -> float | None:
    raw = text.strip().lower()
    if raw == "max":
        return None
    try:
        value = float(raw[:-1] if raw.endswith("x") else raw)
    except ValueError:
        raise argparse.ArgumentTypeError(f"--speed {text!r}: use 1x, 10x, 0.5x or max") from None
    if not 0.001 <= value <= 1_000_000:
        raise argparse.ArgumentTypeError(f"--speed {text}: the factor must be 0.001..1000000")
    return value


#: durations: 2, 2s, 500ms, 1m (mdiag.cli.options)
_SECONDS = options.duration(600.0, allow_zero=True)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("capture", metavar="CAPTURE", help="pcap or pcapng file (- for stdin is not supported)")
    options.add_iface(parser, required=False, help="interface to send on; required unless --lab-host")
    parser.add_argument("--lab-host", type=options.lab_host, metavar="HOST",
                        help="send from this host of the running mdiag lab (its lab0), bridge = the lab's")
    parser.add_argument("--lab-prefix", type=options.lab_prefix, metavar="P",
                        help="lab name prefix (default mdlab)")
    parser.add_argument("--speed", type=_speed, default=1.0, metavar="1x|Nx|max",
                        help="original spacing (1x, default), scaled (10x, 0.5x), or back to back (max)")
    parser.add_argument("--only", choices=("igmp", "mld"),
                        help="send only the membership frames: IGMP and MLD (either name)")
    parser.add_argument("--frames", type=int, metavar="N", help="replay only the first N frames of the capture")
    options.deprecated(parser, "--count", "--frames", dest="frames", type=int)
    parser.add_argument("--rewrite-src-mac", metavar="MAC",
                        help="replace every Ethernet source address (or 'iface' for the interface's own)")
    parser.add_argument("--bridge", type=options.iface, metavar="BR", help="Linux bridge whose MDB to read afterwards")
    parser.add_argument("--bridge-netns", type=options.netns, metavar="NS", help="network namespace of --bridge")
    parser.add_argument("--settle", type=_SECONDS, default=0.2, metavar="T",
                        help="wait this long after the last frame before reading the MDB (default 0.2 s)")
    parser.add_argument("--expect-mdb", metavar="FILE",
                        help="expected MDB entries (format in docs/active.md); exit 1 on a difference")
    parser.add_argument("--save-mdb", metavar="FILE", help="write the resulting MDB as an expected-MDB file")
    parser.add_argument("--show-mdb", action="store_true", help="print the resulting MDB")
    parser.add_argument("--force", action="store_true",
                        help=f"allow flooding rates (more than {FLOOD_LIMIT} frames in a second, or "
                             "--speed max on a bigger capture) and overwriting --save-mdb")
    parser.add_argument("--json", action="store_true", help="JSON output (schema in docs/active.md)")


def _mac(text: str) -> bytes:
    from mdiag.core.igmp.frame import mac_bytes

    try:
        raw = mac_bytes(text)
    except ValueError as exc:
        raise UsageError(f"--rewrite-src-mac: {exc}") from None
    if raw[0] & 1:
        raise UsageError(f"--rewrite-src-mac {text}: a source MAC cannot be multicast")
    return raw


def run(args: argparse.Namespace, env: Environment) -> ExitStatus:
    from mdiag.core.mdbcheck import MdbFileError, parse_expected

    if args.capture == "-":
        raise UsageError("replay reads the capture twice (plan, then send): give a file, not stdin")
    if args.lab_host and (args.iface or args.netns):
        raise UsageError("give either --lab-host or --iface/--netns, not both")
    if not args.iface and not args.lab_host:
        raise UsageError("replay needs --iface IFACE (or --lab-host HOST): mdiag never picks an "
                         "interface on its own")
    bridge, bridge_netns, iface, netns = args.bridge, args.bridge_netns, args.iface, args.netns
    if args.lab_host:
        from mdiag.adapters.lab import BRIDGE

        lab = options.running_lab(args.lab_prefix)
        host = lab.host(args.lab_host)
        iface, netns = host.iface, host.netns
        bridge = bridge or BRIDGE
        bridge_netns = bridge_netns or lab.bridge_netns
    wants_mdb = bool(args.expect_mdb or args.save_mdb or args.show_mdb)
    if wants_mdb and not bridge:
        raise UsageError("--expect-mdb/--save-mdb/--show-mdb need --bridge BR (or --lab-host)")
    expectation = None
    if args.expect_mdb:
        from mdiag.adapters.textinput import MIB, TextInputError, TextLimits, read_lines

        limits = TextLimits("an expected-MDB file (format in docs/active.md)", max_line=4096, max_bytes=4 * MIB)
        try:
            text = "\n".join(read_lines(args.expect_mdb, limits, stdin=env.stdin_binary))
            expectation = parse_expected(text, name=args.expect_mdb)
        except TextInputError as exc:
            raise InputError(f"--expect-mdb {exc.message}") from None
        except MdbFileError as exc:
            raise InputError(str(exc)) from None
    if args.save_mdb:
        from mdiag.adapters.outfile import check_output

        check_output(args.save_mdb, force=args.force, option="--save-mdb")

    from mdiag.adapters.network import LiveNetwork
    from mdiag.probes import replay
    from mdiag.probes.network import Endpoint

    rewrite: bytes | str | None = None
    if args.rewrite_src_mac:
        rewrite = "iface" if args.rewrite_src_mac == "iface" else _mac(args.rewrite_src_mac)
    probe_options = replay.ReplayOptions(
        args.capture, Endpoint(iface, netns), speed=args.speed, only_igmp=args.only is not None,
        frames=args.frames, rewrite_src_mac=rewrite, bridge=Endpoint(bridge, bridge_netns) if bridge else None,
        read_mdb=wants_mdb, settle=args.settle, expectation=expectation, force=args.force)
    return _after(args, env, replay.run(probe_options, LiveNetwork()))


def _after(args: argparse.Namespace, env: Environment, report: Any) -> ExitStatus:
    the_plan, sent, entries, comparison = report.plan, report.sent, report.entries, report.comparison
    iface = report.options.at.iface
    bridge = report.options.bridge.iface if report.options.bridge else None
    bridge_netns = report.options.bridge.netns if report.options.bridge else None
    if args.save_mdb and entries is not None:
        from mdiag.adapters.outfile import open_output
        from mdiag.core.mdbcheck import render_expected

        with open_output(args.save_mdb, force=args.force, binary=False, option="--save-mdb") as fh:
            fh.write(render_expected(entries))
    # A damaged capture (cut short, a bad record length) was not replayed whole: whatever the
    # MDB shows then proves nothing about the capture, so the run fails (docs/active.md).
    damage, ok = report.damage, report.ok
    if args.json:
        from mdiag.cli.render import emit_json

        emit_json(report.to_json(), env.stdout, "replay")
    else:
        out = env.stdout
        speed = "max" if args.speed is None else f"{args.speed:g}x"
        from mdiag.cli.render import sanitize

        print(f"replayed {sent.frames} of {the_plan.frames + the_plan.skipped} frames "
              f"({sent.bytes} bytes) from {sanitize(args.capture)} on {iface} at {speed} in {sent.elapsed:.3f} s"
              + (f"; {sent.skipped} skipped" if sent.skipped else "")
              + (" (the readable part of a DAMAGED capture)" if damage else ""), file=out)
        for line in damage[:5]:
            print(f"capture damage: {sanitize(line)}", file=out)
        if len(damage) > 5:
            print(f"capture damage: {len(damage) - 5} more problems (--json lists them all)", file=out)
        for err in sent.errors[:5]:
            env.warn(err)
        if entries is not None and (args.show_mdb or comparison is not None):
            from mdiag.cli.render import table

            print(f"MDB of {bridge}" + (f" in {bridge_netns}" if bridge_netns else "") + ":", file=out)
            status = {}
            if comparison is not None:
                status = {e: "ok" for e in comparison.matched}
                status.update({e: "UNEXPECTED" for e in comparison.unexpected})
            rows = [[e.group, e.source or "*", e.port, status.get(e, "")] for e in entries]
            if comparison is not None:
                rows += [[e.group, e.source or "*", e.port, "MISSING"] for e in comparison.missing]
            headers = ["group", "source", "port"] + (["check"] if comparison is not None else [])
            table([r if comparison is not None else r[:3] for r in rows], headers, out)
        if comparison is not None:
            print(("MDB as expected" if comparison.ok else
                   f"MDB differs: {len(comparison.missing)} missing, {len(comparison.unexpected)} "
                   "unexpected"), file=out)
        if damage:
            print("FAIL: the capture is damaged, so the replay was partial"
                  + (" and the MDB check proves nothing" if comparison is not None else ""), file=out)
    return ExitStatus.OK if ok else ExitStatus.PROBLEM_FOUND
