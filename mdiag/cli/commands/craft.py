"""mdiag craft: build any IGMP or MLD message byte-exact, print it or write it to a pcap.

IGMP kinds: v1-query, v1-report, v2-query, v2-group-query, v2-report, v2-leave, v3-query,
v3-group-query, v3-group-source-query, v3-report and raw (any type as hex). MLD kinds
(IPv6): mld1-query, mld1-group-query, mld1-report, mld1-done, mld2-query,
mld2-group-query, mld2-group-source-query, mld2-report. Every IP and message default
(TTL/hop limit 1, TOS 0xc0, DF, Router Alert, destination, checksums) can be
overridden to test devices against bad input. Nothing is sent.
"""

from __future__ import annotations

import argparse
import os
import time
from typing import Any

from mdiag.cli import options
from mdiag.cli.environment import Environment
from mdiag.errors import ExitStatus, InputError, UsageError

HELP = "build any IGMPv1/v2/v3 or MLDv1/v2 message byte-exact: hex, scapy-style view or pcap (nothing is sent)"

KINDS = {
    "v1-query": "IGMPv1 general query (8 bytes, code 0)",
    "v1-report": "IGMPv1 report for --group",
    "v2-query": "IGMPv2 query: general, or group-specific with --group",
    "v2-group-query": "IGMPv2 group-specific query for --group",
    "v2-report": "IGMPv2 report for --group",
    "v2-leave": "IGMPv2 leave for --group (to 224.0.0.2)",
    "v3-query": "IGMPv3 query: general; group-specific with --group; group-and-source with --source",
    "v3-group-query": "IGMPv3 group-specific query for --group",
    "v3-group-source-query": "IGMPv3 group-and-source-specific query for --group and --source",
    "v3-report": "IGMPv3 report with --record TYPE:GROUP[:SRC,SRC[:AUXHEX]] (repeat)",
    "raw": "any IGMP type from --raw HEX (checksum fixed unless --checksum)",
    "mld1-query": "MLDv1 query: general, or address-specific with --group",
    "mld1-group-query": "MLDv1 address-specific query for --group",
    "mld1-report": "MLDv1 report for --group",
    "mld1-done": "MLDv1 done for --group (to ff02::2)",
    "mld2-query": "MLDv2 query: general; address-specific with --group; and source-specific with --source",
    "mld2-group-query": "MLDv2 address-specific query for --group",
    "mld2-group-source-query": "MLDv2 address-and-source-specific query for --group and --source",
    "mld2-report": "MLDv2 report with --record TYPE:GROUP[=SRC,SRC[=AUXHEX]] (repeat)",
}
MLD_KINDS = tuple(k for k in KINDS if k.startswith("mld"))


#: Default IP sources: the lab bridge, which is its querier, and the lab's first host
#: (docs/lab.md), so crafted frames replay as real ones there. 0.0.0.0 is kept for
#: testing devices on purpose: it marks a query as a snooping switch's proxy query
#: (RFC 4541 2.1.1) and loses every querier election.
QUERIER_SOURCE = "198.18.0.1"
HOST_SOURCE = "198.18.0.11"
#: The same roles for MLD: link-local sources, as RFC 3810 5.1.14 / 5.2.13 require.
MLD_QUERIER_SOURCE = "fe80::1"
MLD_HOST_SOURCE = "fe80::11"

#: Longest --interval: 100 000 copies an hour apart still fit the 32-bit pcap seconds.
MAX_INTERVAL = 3600.0


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.epilog = "kinds: " + "; ".join(f"{k}: {v}" for k, v in KINDS.items())
    parser.add_argument("kind", metavar="KIND", help="message kind: " + ", ".join(KINDS))
    msg = parser.add_argument_group("IGMP message")
    msg.add_argument("--group", "-g", help="group address (queries, reports, leaves)")
    msg.add_argument("--source", "-s", action="append", default=[], metavar="ADDR[,ADDR]",
                     help="source of a v3 group-and-source query (repeat or comma-separate)")
    msg.add_argument("--record", "-r", action="append", default=[], metavar="TYPE:GROUP[:SRCS[:AUX]]",
                     help="v3 report record; TYPE is is_in, is_ex, to_in, to_ex, allow, block or a number; "
                          "SRCS comma-separated; AUX hex aux data (repeat for more records). MLDv2: "
                          "TYPE:GROUP[=SRCS[=AUX]] (IPv6 addresses hold colons)")
    msg.add_argument("--mrt", type=float, metavar="SECONDS",
                     help="max response time (v2: 0.1-25.5 s, default 10; v3: up to 3174.4 s, rounded down "
                          "to a representable value as Linux does, default 10; MLDv1: up to 65.535 s in ms; "
                          "MLDv2: up to 8387.584 s, rounded down)")
    msg.add_argument("--mrc", type=_word, metavar="CODE",
                     help="raw Max Resp Code (IGMP: a byte; MLDv2: the 16-bit code; MLDv1: the delay in ms); "
                          "overrides --mrt")
    msg.add_argument("--qrv", type=int, default=2, help="v3 querier robustness variable 0-7 (default 2)")
    msg.add_argument("--qqi", type=int, metavar="SECONDS",
                     help="v3 querier query interval, up to 31744 s (default 125)")
    msg.add_argument("--qqic", type=_byte, metavar="CODE", help="raw QQIC byte (overrides --qqi)")
    msg.add_argument("--s-flag", action="store_true", help="v3 query: suppress router-side processing")
    msg.add_argument("--reserved", type=_byte, default=0, metavar="N",
                     help="value of the reserved bits (v3 query: 0-15 in byte 8; reports: byte 1)")
    msg.add_argument("--raw", metavar="HEX", help="raw IGMP message for kind raw")
    msg.add_argument("--checksum", type=_word, metavar="HEX", help="force the IGMP checksum (e.g. 0x1234)")
    msg.add_argument("--trailing", metavar="HEX", help="bytes after the message (covered by the checksum)")
    ip = parser.add_argument_group("IPv4/IPv6 and Ethernet (defaults follow RFC 2236 / 3376 / 2710 / 3810 "
                                   "and Linux)")
    ip.add_argument("--src", help=f"IP source (default {QUERIER_SOURCE} for queries, {HOST_SOURCE} for other "
                                  "messages: the lab's querier and first host; 0.0.0.0 makes a query a "
                                  "switch's proxy query)")
    ip.add_argument("--dst", help="IP destination (default: 224.0.0.1 general query, G group query and "
                                  "v1/v2 report, 224.0.0.2 leave, 224.0.0.22 v3 report)")
    ip.add_argument("--ttl", "--hop-limit", type=_byte, default=1, help="IP TTL / IPv6 hop limit (default 1)")
    ip.add_argument("--tos", "--traffic-class", type=_byte,
                    help="IP TOS byte (default 0xc0) / IPv6 traffic class (default 0)")
    ip.add_argument("--flow-label", type=_flow_label, help="IPv6 flow label (MLD kinds, default 0)")
    ip.add_argument("--hbh", metavar="HEX",
                    help="MLD: the Hop-by-Hop option bytes (default 05020000 0100: Router Alert + PadN; "
                         "padded to 8 bytes)")
    ip.add_argument("--no-df", action="store_true", help="clear the Don't Fragment flag")
    ip.add_argument("--no-router-alert", action="store_true",
                    help="leave out the Router Alert option (MLD: the whole Hop-by-Hop header)")
    ip.add_argument("--ip-id", type=_word, default=0, help="IP identification (default 0)")
    ip.add_argument("--ip-checksum", type=_word, metavar="HEX", help="force the IP header checksum")
    ip.add_argument("--src-mac", help="Ethernet source (default 02:00 + the IP source)")
    ip.add_argument("--dst-mac", help="Ethernet destination (default 01:00:5e + low 23 bits of --dst)")
    ip.add_argument("--vlan", type=int, help="add an 802.1Q tag with this VLAN ID")
    out = parser.add_argument_group("output (default: --hex)")
    out.add_argument("--hex", action="store_true", help="print the frame as hex (the default)")
    out.add_argument("--layer", choices=("frame", "ip", "igmp", "mld"), default="frame",
                     help="what --hex prints: whole Ethernet frame (default), IP packet or the IGMP / MLD "
                          "(ICMPv6) message")
    out.add_argument("--show", action="store_true", help="print a scapy-style view of every layer")
    out.add_argument("--json", action="store_true", help="print the decoded view and hex as JSON")
    out.add_argument("--pcap", metavar="FILE", help="write the frame(s) to a classic pcap file")
    out.add_argument("--append", action="store_true", help="with --pcap: add to an existing capture")
    out.add_argument("--force", action="store_true", help="with --pcap: overwrite an existing file")
    out.add_argument("--copies", type=int, default=1, metavar="N",
                     help="with --pcap: number of copies (default 1, max 100000)")
    options.deprecated(out, "--count", "--copies", dest="copies", type=int)
    out.add_argument("--interval", type=float, default=1.0, metavar="SECONDS",
                     help="with --pcap: time between copies (default 1 s)")


def _byte(text: str) -> int:
    return _int(text, 0xFF)


def _word(text: str) -> int:
    return _int(text, 0xFFFF)


def _flow_label(text: str) -> int:
    return _int(text, 0xFFFFF)


def _int(text: str, limit: int) -> int:
    try:
        value = int(text, 0)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number (decimal or 0x hex)") from None
    if not 0 <= value <= limit:
        raise argparse.ArgumentTypeError(f"{text} is outside 0..{limit}")
    return value


def _hex(text: str, what: str) -> bytes:
    cleaned = text.replace(" ", "").replace(":", "").removeprefix("0x")
    try:
        return bytes.fromhex(cleaned)
    except ValueError:
        raise InputError(f"{what} {text!r} is not hex bytes (e.g. 1300ffff00000000)") from None


def _addr(text: str | None, what: str) -> Any:
    from mdiag.core.igmp import address

    if text is None:
        raise UsageError(f"{what} is required for this kind (e.g. --group 239.1.1.1)")
    try:
        return address(text.strip())
    except ValueError:
        raise InputError(f"{what} {text!r} is not an IPv4 address (e.g. 239.1.1.1)") from None


def _sources(values: list[str]) -> list[Any]:
    out = []
    for value in values:
        for part in value.split(","):
            if part.strip():
                out.append(_addr(part, "source"))
    return out


#: Message options and the kinds they apply to (others refuse them rather than ignore them).
_MLD1_Q = ("mld1-query", "mld1-group-query")
_MLD2_Q = ("mld2-query", "mld2-group-query", "mld2-group-source-query")
_V3_Q = ("v3-query", "v3-group-query", "v3-group-source-query")
_APPLIES = {
    "group": ("v1-query", "v1-report", "v2-query", "v2-group-query", "v2-report", "v2-leave", *_V3_Q,
              *_MLD1_Q, "mld1-report", "mld1-done", *_MLD2_Q),
    "source": (*_V3_Q, *_MLD2_Q),
    "record": ("v3-report", "mld2-report"),
    "mrt": ("v2-query", "v2-group-query", *_V3_Q, *_MLD1_Q, *_MLD2_Q),
    "mrc": ("v2-query", "v2-group-query", *_V3_Q, *_MLD1_Q, *_MLD2_Q),
    "qqi": (*_V3_Q, *_MLD2_Q),
    "qqic": (*_V3_Q, *_MLD2_Q),
    "s_flag": (*_V3_Q, *_MLD2_Q),
    "raw": ("raw",),
    "reserved": ("v1-report", "v2-report", "v2-leave", *_V3_Q, "v3-report", "mld1-report", "mld1-done",
                 *_MLD2_Q, "mld2-report"),
    "flow_label": MLD_KINDS,
    "hbh": MLD_KINDS,
    "no_df": tuple(k for k in KINDS if k not in MLD_KINDS),
    "ip_id": tuple(k for k in KINDS if k not in MLD_KINDS),
    "ip_checksum": tuple(k for k in KINDS if k not in MLD_KINDS),
}
_DEFAULTS = {"source": [], "record": [], "s_flag": False, "reserved": 0, "no_df": False, "ip_id": 0}


def build_message(args: argparse.Namespace, env: Environment) -> Any:
    """The message model the options describe (raises InputError/UsageError)."""
    from mdiag.core import igmp
    from mdiag.core.igmp import floatcode

    kind = args.kind
    if kind not in KINDS:
        raise UsageError(f"unknown kind {kind!r}; use one of: {', '.join(KINDS)}")
    for option, kinds in _APPLIES.items():
        if kind not in kinds and getattr(args, option) != _DEFAULTS.get(option):
            raise UsageError(f"--{option.replace('_', '-')} does not apply to {kind}")
    if kind not in _APPLIES["qqi"] and args.qrv != 2:
        raise UsageError(f"--qrv does not apply to {kind}")
    if kind in MLD_KINDS:
        return _mld_message(args, env)
    if args.mrc is not None and args.mrc > 0xFF:
        raise InputError(f"--mrc {args.mrc} does not fit the 8-bit IGMP Max Resp Code (0..255)")
    if kind in ("v1-report", "v2-report", "v2-leave"):
        cls = {"v1-report": igmp.V1Report, "v2-report": igmp.V2Report, "v2-leave": igmp.V2Leave}[kind]
        return cls(_addr(args.group, "--group"), args.reserved)
    if kind == "v1-query":
        return igmp.V1Query(_addr(args.group, "--group") if args.group else igmp.ZERO_ADDRESS)
    if kind in ("v2-query", "v2-group-query"):
        group = _addr(args.group, "--group") if (args.group or kind == "v2-group-query") else igmp.ZERO_ADDRESS
        if args.mrc is not None:
            if args.mrc == 0:
                raise InputError("--mrc 0 makes an IGMPv1 query; use the kind v1-query")
            return igmp.V2Query(args.mrc, group)
        mrt = 10.0 if args.mrt is None else args.mrt
        try:
            return igmp.V2Query.from_seconds(mrt, group)
        except ValueError as exc:
            raise InputError(f"--mrt: {exc}") from None
    if kind in ("v3-query", "v3-group-query", "v3-group-source-query"):
        need_group = kind != "v3-query"
        group = _addr(args.group, "--group") if (args.group or need_group) else igmp.ZERO_ADDRESS
        sources = _sources(args.source)
        if kind == "v3-group-source-query" and not sources:
            raise UsageError("v3-group-source-query needs at least one --source")
        if args.mrc is not None:
            mrc = args.mrc
        else:
            mrt = 10.0 if args.mrt is None else args.mrt
            if not 0 <= mrt <= 3174.4:
                raise InputError(f"--mrt {mrt:g} s is outside 0..3174.4 s, the range of an IGMPv3 Max Resp Code")
            mrc = floatcode.mrc_from_seconds(mrt)
            actual = floatcode.CODE_VALUES[mrc] / 10
            if abs(actual - mrt) > 1e-9:
                env.warn(f"--mrt {mrt:g} s is not representable; using {actual:g} s (code 0x{mrc:02x}), "
                         "rounded down as Linux does")
        qqic = _qqic(args, env)
        if not 0 <= args.qrv <= 7:
            raise InputError(f"--qrv {args.qrv} is outside 0..7 (QRV is 3 bits; 0 means above 7)")
        if args.reserved > 15:
            raise InputError(f"--reserved {args.reserved} does not fit the 4 reserved bits of a v3 query")
        return igmp.V3Query(mrc, group, args.s_flag, args.qrv, qqic, tuple(sources), args.reserved)
    if kind == "v3-report":
        if not args.record:
            raise UsageError("v3-report needs at least one --record TYPE:GROUP[:SRC,SRC] "
                             "(e.g. --record to_ex:239.1.1.1)")
        return igmp.V3Report(tuple(_record(text) for text in args.record), args.reserved)
    # raw
    if not args.raw:
        raise UsageError("kind raw needs --raw HEX (e.g. --raw 13010000000000ff00000001)")
    raw = _hex(args.raw, "--raw")
    if len(raw) < 4:
        raise InputError("--raw needs at least 4 bytes (type, code, checksum)")
    return igmp.UnknownMessage(raw[:2] + igmp.internet_checksum(raw[:2] + b"\0\0" + raw[4:]).to_bytes(2, "big")
                               + raw[4:])


def _qqic(args: argparse.Namespace, env: Environment) -> int:
    """The QQIC byte: ``--qqic`` as given, or ``--qqi`` seconds (default 125) in the float code
    IGMPv3 and MLDv2 share (RFC 3376 4.1.7, RFC 3810 5.1.9), rounded down as Linux does."""
    from mdiag.core.floatcode import IGMP_CODE

    if args.qqic is not None:
        return int(args.qqic)
    qqi = 125 if args.qqi is None else args.qqi
    if not 0 <= qqi <= IGMP_CODE.max_value:
        raise InputError(f"--qqi {qqi} s is outside 0..31744 s, the range of QQIC")
    qqic = IGMP_CODE.encode(qqi)
    if IGMP_CODE.decode(qqic) != qqi:
        env.warn(f"--qqi {qqi} s is not representable; using {IGMP_CODE.decode(qqic)} s "
                 f"(code 0x{qqic:02x}), rounded down as Linux does")
    return qqic


def _record(text: str) -> Any:
    from mdiag.core import igmp

    parts = text.split(":")
    if len(parts) < 2 or len(parts) > 4:
        raise InputError(f"--record {text!r}: use TYPE:GROUP[:SRC,SRC[:AUXHEX]] (e.g. allow:232.1.1.1:198.18.0.5)")
    rtype = _record_type(igmp.RecordType, parts[0], text)
    group = _addr(parts[1], f"--record {text!r}: group")
    sources = _sources([parts[2]]) if len(parts) > 2 else []
    return igmp.GroupRecord(rtype, group, tuple(sources), _record_aux(parts, 3, text))


def _record_type(types: Any, head: str, text: str) -> Any:
    """A group record type (RFC 3376 4.2.12, RFC 3810 5.2.12) by name, or any number 0-255."""
    try:
        return types.parse(head)
    except ValueError:
        if head.isdigit() and 0 <= int(head) <= 255:
            return int(head)
        raise InputError(f"--record {text!r}: unknown record type {head!r} "
                         "(use is_in, is_ex, to_in, to_ex, allow, block or 0-255)") from None


def _record_aux(parts: list[str], index: int, text: str) -> bytes:
    """The record's auxiliary data (``parts[index]``, hex; none when absent): whole 32-bit words."""
    aux = _hex(parts[index], f"--record {text!r}: aux data") if len(parts) > index else b""
    if len(aux) % 4:
        raise InputError(f"--record {text!r}: aux data must be a multiple of 4 bytes")
    return aux


def default_source(message: Any) -> str:
    """The lab querier's address for a query (type 0x11), the first host's for anything else."""
    return QUERIER_SOURCE if getattr(message, "type", None) == 0x11 else HOST_SOURCE


def build_header(args: argparse.Namespace, message: Any) -> Any:
    from mdiag.core import igmp

    if getattr(message, "family", 4) == 6:
        return _mld_header(args, message)
    dst = _addr(args.dst, "--dst") if args.dst else igmp.default_destination(message)
    src = _addr(args.src, "--src") if args.src else _addr(default_source(message), "--src")
    return igmp.IPv4Header(src=src, dst=dst, ttl=args.ttl, tos=0xC0 if args.tos is None else args.tos,
                           df=not args.no_df, router_alert=not args.no_router_alert, identification=args.ip_id,
                           checksum=args.ip_checksum)


# --------------------------------------------------------------------------- MLD


def _addr6(text: str | None, what: str) -> Any:
    from mdiag.core import mld

    if text is None:
        raise UsageError(f"{what} is required for this kind (e.g. --group ff05::1:3)")
    try:
        return mld.address(text.strip())
    except ValueError:
        raise InputError(f"{what} {text!r} is not an IPv6 address (e.g. ff05::1:3)") from None


def _sources6(values: list[str]) -> list[Any]:
    return [_addr6(part, "source") for value in values for part in value.split(",") if part.strip()]


def _mld_message(args: argparse.Namespace, env: Environment) -> Any:
    """The MLD model the options describe (RFC 2710 3, RFC 3810 5)."""
    from mdiag.core import mld
    from mdiag.core.floatcode import MLD_MRC

    kind = args.kind
    if kind in ("mld1-report", "mld1-done"):
        cls = mld.Mld1Report if kind == "mld1-report" else mld.Mld1Done
        return cls(_addr6(args.group, "--group"), 0, args.reserved)
    group = _addr6(args.group, "--group") if (args.group or "group" in kind) else mld.UNSPECIFIED
    mrt = 10.0 if args.mrt is None else args.mrt
    if not mrt >= 0:  # also refuses nan
        raise InputError(f"--mrt {mrt:g} is not a time in seconds")
    if kind in _MLD1_Q:
        if args.mrc is not None:
            delay = args.mrc
        else:
            delay = int(round(mrt * 1000, 6))
            if delay > 0xFFFF:
                raise InputError(f"--mrt {mrt:g} s is above 65.535 s, the longest MLDv1 Maximum Response Delay")
        return mld.Mld1Query(delay, group)
    if kind == "mld2-report":
        if not args.record:
            raise UsageError("mld2-report needs at least one --record TYPE:GROUP[=SRC,SRC] "
                             "(e.g. --record to_ex:ff05::1:3)")
        if args.reserved:
            return mld.Mld2Report(tuple(_mld_record(text) for text in args.record), args.reserved)
        return mld.Mld2Report(tuple(_mld_record(text) for text in args.record))
    sources = _sources6(args.source)
    if kind == "mld2-group-source-query" and not sources:
        raise UsageError("mld2-group-source-query needs at least one --source")
    if args.mrc is not None:
        mrc = args.mrc
    else:
        ms = int(round(mrt * 1000, 6))
        if ms > MLD_MRC.max_value:
            raise InputError(f"--mrt {mrt:g} s is outside 0..8387.584 s, the range of an MLDv2 Maximum Response Code")
        mrc = MLD_MRC.encode(ms)
        if MLD_MRC.decode(mrc) != ms:
            env.warn(f"--mrt {mrt:g} s is not representable; using {MLD_MRC.decode(mrc) / 1000:g} s "
                     f"(code 0x{mrc:04x}), rounded down as Linux does")
    qqic = _qqic(args, env)
    if not 0 <= args.qrv <= 7:
        raise InputError(f"--qrv {args.qrv} is outside 0..7 (QRV is 3 bits; 0 means above 7)")
    if args.reserved > 15:
        raise InputError(f"--reserved {args.reserved} does not fit the 4 reserved bits of an MLDv2 query")
    return mld.Mld2Query(mrc, group, args.s_flag, args.qrv, qqic, tuple(sources), 0, args.reserved)


def _mld_record(text: str) -> Any:
    """``TYPE:GROUP[=SRC,SRC[=AUXHEX]]``: an MLDv2 record (``=``, since IPv6 addresses hold colons)."""
    from mdiag.core import mld

    head, _, rest = text.partition(":")
    parts = rest.split("=") if rest else []
    if not parts or len(parts) > 3:
        raise InputError(f"--record {text!r}: use TYPE:GROUP[=SRC,SRC[=AUXHEX]] (e.g. allow:ff3e::1=fd00::5)")
    rtype = _record_type(mld.RecordType, head, text)
    group = _addr6(parts[0], f"--record {text!r}: group")
    sources = _sources6([parts[1]]) if len(parts) > 1 else []
    return mld.MldRecord(rtype, group, tuple(sources), _record_aux(parts, 2, text))


def _mld_header(args: argparse.Namespace, message: Any) -> Any:
    from mdiag.core import mld

    dst = _addr6(args.dst, "--dst") if args.dst else mld.default_destination(message)
    default = MLD_QUERIER_SOURCE if message.type == 130 else MLD_HOST_SOURCE
    src = _addr6(args.src if args.src else default, "--src")
    hbh = _hex(args.hbh, "--hbh") if args.hbh is not None else None
    if hbh is not None and args.no_router_alert:
        raise UsageError("--hbh gives the Hop-by-Hop options; --no-router-alert leaves the header out: choose one")
    try:
        return mld.IPv6Header(src=src, dst=dst, hop_limit=args.ttl, traffic_class=args.tos or 0,
                              flow_label=args.flow_label or 0, router_alert=not args.no_router_alert,
                              hbh_options=hbh)
    except ValueError as exc:
        raise InputError(f"--hbh: {exc}") from None


def run(args: argparse.Namespace, env: Environment) -> ExitStatus:
    from mdiag.core import igmp
    from mdiag.core.igmp import view

    if args.copies < 1 or args.copies > 100_000:
        raise InputError(f"--copies {args.copies} is outside 1..100000")
    if not 0 <= args.interval <= MAX_INTERVAL:  # also refuses nan and inf
        raise InputError(f"--interval {args.interval:g} is outside 0..{MAX_INTERVAL:g} s")
    if (args.append or args.force or args.copies != 1) and not args.pcap:
        raise UsageError("--append, --force and --copies only apply with --pcap FILE")
    if args.append and args.force:
        raise UsageError("choose --append (add to the file) or --force (replace it), not both")
    if args.vlan is not None and not 0 <= args.vlan <= 4095:
        raise InputError(f"--vlan {args.vlan} is outside 0..4095")
    message = build_message(args, env)
    header = build_header(args, message)
    trailing = _hex(args.trailing, "--trailing") if args.trailing else b""
    mld = getattr(message, "family", 4) == 6
    if mld:
        from mdiag.core import mld as codec

        head_len = header.header_length
        body_len = len(codec.encode(message, header.src, header.dst, trailing=trailing))
        if head_len - 40 + body_len > 0xFFFF:
            raise InputError(f"the IPv6 payload would be {head_len - 40 + body_len} bytes, above the 65535 its "
                             "payload length carries: give fewer sources, records or trailing bytes (senders "
                             "split them across messages, RFC 3810 5.1.10, 5.2.15)")
    else:
        codec = igmp
        head_len = header.ihl * 4
        ip_length = head_len + len(igmp.encode(message, trailing=trailing))
        if ip_length > 0xFFFF:
            raise InputError(f"the IP packet would be {ip_length} bytes, above the 65535 an IPv4 total length "
                             "carries: give fewer sources, records or trailing bytes (senders split them across "
                             "messages, RFC 3376 4.1.8, 4.2.16)")
    try:
        frame = codec.build_frame(message, header, dst_mac=args.dst_mac, src_mac=args.src_mac,  # type: ignore[attr-defined]
                                  vlan=args.vlan, checksum=args.checksum, trailing=trailing)
    except ValueError as exc:
        raise InputError(str(exc)) from None
    eth_len = 18 if args.vlan is not None else 14
    packet = frame[eth_len:]
    if len(packet) > 1500:
        env.warn(f"the IP packet is {len(packet)} bytes, above a 1500-byte MTU: senders split such "
                 "reports and queries (RFC 3376 4.1.8, 4.2.16; RFC 3810 5.1.10, 5.2.15); it would be "
                 "fragmented or dropped")
    if args.pcap:
        from mdiag.adapters.pcap_writer import PcapWriter
        from mdiag.cli.render import sanitize

        to_stdout = args.pcap == "-"
        if to_stdout and (args.hex or args.show or args.json):
            raise UsageError("--pcap - writes the capture to standard output; leave out --hex, --show and --json")
        if to_stdout and args.append:
            raise UsageError("--pcap -: cannot append to standard output; give an existing capture file")
        stream = None
        if to_stdout:
            stream = getattr(env.stdout, "buffer", None)
            if stream is None:
                raise UsageError("--pcap -: standard output takes no binary data here; give a file name")
            env.stdout.flush()
        # The summary must not mix with capture bytes on a pipe (--pcap -, /dev/stdout, a FIFO).
        summary = env.stderr if to_stdout or (os.path.exists(args.pcap) and not os.path.isfile(args.pcap)) \
            else env.stdout
        start = time.time_ns()
        step = round(args.interval * 1e9)
        with PcapWriter("standard output" if to_stdout else args.pcap, force=args.force, append=args.append,
                        stream=stream) as writer:
            if writer.last_time_ns is not None:  # keep the capture in time order
                start = max(start, writer.last_time_ns + step)
            if (start + (args.copies - 1) * step) // 1_000_000_000 > 0xFFFFFFFF:
                raise InputError(f"{args.pcap}: the last copy would be stamped after 2106, past the 32-bit "
                                 "seconds of a pcap record; give a smaller --copies or --interval")
            for i in range(args.copies):
                writer.write(frame, start + i * step)
        print(f"wrote {args.copies} {message.kind} frame{'s' if args.copies > 1 else ''} "
              f"({len(frame)} bytes) to {'standard output' if to_stdout else sanitize(args.pcap)}", file=summary)
    if args.json:
        from mdiag.cli.render import emit_json

        if mld:
            body = {"kind": message.kind, "family": 6, "frame": frame.hex(), "ip": packet.hex(),
                    "mld": packet[head_len:].hex(), "decoded": codec.view.decoded_dict(codec.decode_ipv6(packet))}
        else:
            body = {"kind": message.kind, "family": 4, "frame": frame.hex(), "ip": packet.hex(),
                    "igmp": packet[head_len:].hex(), "decoded": view.decoded_dict(igmp.decode_ipv4(packet))}
        emit_json(body, env.stdout, "craft")
        return ExitStatus.OK
    if args.show:
        if mld:
            from mdiag.adapters import scapy_mld as adapter
        else:
            from mdiag.adapters import scapy_igmp as adapter  # type: ignore[no-redef]
        print(adapter.show(adapter.build_packet(message, header, dst_mac=args.dst_mac, src_mac=args.src_mac,
                                                vlan=args.vlan, checksum=args.checksum,
                                                trailing=trailing)).rstrip(), file=env.stdout)
    if args.hex or not (args.show or args.pcap):
        chosen = frame if args.layer == "frame" else packet if args.layer == "ip" else packet[head_len:]
        print(chosen.hex(), file=env.stdout)
    return ExitStatus.OK
