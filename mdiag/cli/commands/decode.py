"""mdiag decode: decode IGMP and MLD from hex strings, files of hex lines, or pcap/pcapng captures.

One row per IGMP or MLD message: where it was, IP source and destination, version and
type, group, times in seconds, v3 / MLDv2 query parameters, records and sources, and the
findings (bad checksums, wrong TTL or hop limit or destination, missing Router Alert...).
IPv6 packets are walked through their extension headers to ICMPv6.
Several inputs are all answered; a bad one gets its own error line.
"""

from __future__ import annotations

import argparse
import os
from dataclasses import dataclass, field
from typing import Any

from mdiag.cli import options
from mdiag.cli.environment import Environment
from mdiag.errors import ExitStatus, MdiagError, UsageError

HELP = "decode IGMP and MLD messages from hex, hex files or pcap/pcapng captures, with findings"

_CAPTURE_MAGICS = (b"\xd4\xc3\xb2\xa1", b"\xa1\xb2\xc3\xd4", b"\x4d\x3c\xb2\xa1", b"\xa1\xb2\x3c\x4d",
                   b"\x0a\x0d\x0d\x0a")
_HEX_CHARS = set("0123456789abcdefABCDEF")
_MAX_DETAIL_LINES = 50


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("inputs", nargs="*", metavar="INPUT",
                        help="hex string, file of hex lines, or pcap/pcapng capture (default or '-': stdin)")
    parser.add_argument("--layer", choices=("auto", "ether", "ip", "igmp", "mld"), default="auto",
                        help="what hex input starts with (default auto: Ethernet, IPv4, IPv6 or IGMP by its "
                             "bytes; mld: an ICMPv6 MLD message, whose checksum needs the IPv6 header)")
    parser.add_argument("--codes", action="store_true",
                        help="also show raw Max Resp Code and QQIC bytes beside the seconds")
    parser.add_argument("--json", action="store_true", help="print JSON (schema in docs/decode.md)")
    options.add_fail_on(parser, default="warning", seen="a finding (or an undecodable IGMP or MLD packet)",
                        why="decode is the lint for single packets, and a warning there is a packet "
                            "a peer may read differently")


@dataclass
class Row:
    where: str
    decoded: Any = None  # Decoded
    malformed: Any = None  # MalformedPacket
    time: float | None = None
    frame: int | None = None
    #: the packet was cut by the capture's snap length, not sent broken: what was captured
    #: ({"captured", "ip_length", "source", "destination"}); ``malformed`` says where it ends
    cut: dict[str, Any] | None = None


#: Skipped lines of a hex file kept for warnings (the rest are counted).
_MAX_WARNINGS = 20


@dataclass
class InputResult:
    """What one input held, apart from its rows (those are streamed to the output)."""

    name: str
    source: str  # hex | hexfile | capture | error
    messages: int = 0
    decoded: int = 0
    frames: int = 0
    not_igmp: int = 0  # frames that are neither IGMP nor MLD
    unsupported_link: int = 0   # frames of a link type mdiag does not read
    cut: int = 0                # packets the capture's snap length cut short
    mld: int = 0  # MLD messages among the decoded ones
    problems: list[Any] = field(default_factory=list)  # hex lines skipped (first few), or capture damage
    problems_dropped: int = 0
    capture_findings: list[Any] = field(default_factory=list)  # the capture reader's Findings
    error: str | None = None

    def problem(self, text: str) -> None:
        if len(self.problems) < _MAX_WARNINGS:
            self.problems.append(text)
        else:
            self.problems_dropped += 1


def _is_capture(head: bytes) -> bool:
    """pcap (both byte orders, us/ns), pcapng, or gzip/bzip2/xz-compressed data."""
    return head[:4] in _CAPTURE_MAGICS or head[:2] == b"\x1f\x8b" or head[:3] == b"BZh" or head[:6] == b"\xfd7zXZ\x00"


def _looks_hex(text: str) -> bool:
    cleaned = _clean_hex(text)
    return bool(cleaned) and len(cleaned) % 2 == 0 and set(cleaned) <= _HEX_CHARS


def _clean_hex(text: str) -> str:
    text = text.strip()
    if text.lower().startswith("0x"):
        text = text[2:]
    for sep in (" ", ":", "\t", "-", "\n", "\r"):
        text = text.replace(sep, "")
    return text


#: what an IPv6 header's next header names before MLD: ICMPv6 or any extension header
#: (Hop-by-Hop, Routing, Fragment, AH, Destination Options, Mobility, HIP, Shim6), so
#: hex auto-detection hands the packet to the chain walker and never to the IGMP decoder
_IPV6_FIRST_HEADERS = frozenset((58, 0, 43, 44, 51, 60, 135, 139, 140))


def _decode_bytes(data: bytes, layer: str) -> Any:
    """Decoded for one hex packet; raises MalformedPacket."""
    from mdiag.core import igmp, linklayer, mld

    if layer == "auto":
        if len(data) >= 34 and data[12:14] in (b"\x08\x00", b"\x86\xdd", b"\x81\x00", b"\x88\xa8", b"\x91\x00"):
            layer = "ether"
        elif len(data) >= 20 and data[0] >> 4 == 4 and (data[0] & 15) >= 5 and data[9] == 2:
            layer = "ip"
        elif len(data) >= 40 and data[0] >> 4 == 6 and data[6] in _IPV6_FIRST_HEADERS:
            layer = "ip"
        else:
            layer = "igmp"
    if layer == "igmp":
        return igmp.decode_igmp(data)
    if layer == "mld":
        return mld.decode_icmp6(data)
    if layer == "ip":
        return mld.decode_ipv6(data) if data[:1] and data[0] >> 4 == 6 else igmp.decode_ipv4(data)
    located = linklayer.locate_ipv4(linklayer.LINKTYPE_ETHERNET, data, 0, len(data))
    if located.status == linklayer.OK:
        return igmp.decode_ipv4(data[located.ip:])
    located = linklayer.locate_ipv6(linklayer.LINKTYPE_ETHERNET, data, 0, len(data))
    if located.status == linklayer.OK:
        return mld.decode_ipv6(data[located.ip:])
    raise igmp.MalformedPacket(12, "an Ethernet frame carrying IPv4 or IPv6", "no IP packet found")


def _hex_row(where: str, text: str, layer: str) -> Row:
    from mdiag.core.igmp import MalformedPacket

    try:
        data = bytes.fromhex(_clean_hex(text))
    except ValueError:
        raise MdiagError(f"{where}: {text.strip()[:40]!r} is not hex bytes") from None
    try:
        return Row(where, decoded=_decode_bytes(data, layer))
    except MalformedPacket as exc:
        return Row(where, malformed=exc)


#: Longest hex line read: a 64 KiB frame written as spaced hex, with room to spare.
MAX_HEX_LINE = 256 * 1024


def _hex_lines(result: InputResult, handle: Any, name: str, layer: str, label: str) -> Any:
    """Rows of a file or stream of hex lines, read by the bounded text reader (a line over
    256 KiB, a NUL byte or bytes that are not UTF-8 end the input with one error)."""
    from mdiag.adapters.textinput import TextLimits, lines_of

    limits = TextLimits("a file of hex lines", max_line=MAX_HEX_LINE)
    for number, line in enumerate(lines_of(handle, name, limits), 1):
        text = line.split("#", 1)[0].strip()
        if not text:
            continue
        where = f"{label}:{number}"
        if not _looks_hex(text):
            result.problem(f"{where}: not hex bytes ({text[:40]!r}); line skipped")
            continue
        yield _hex_row(where, text, layer)


def _cut_by_capture(packet: bytes) -> dict[str, Any] | None:
    """What a packet the capture's snap length cut short still tells (None when the IP
    header says the packet is whole: then the sender sent it broken)."""
    import ipaddress

    if len(packet) >= 20 and packet[0] >> 4 == 4:
        from mdiag.core.igmp import complete_records
        from mdiag.core.igmp.view import record_dicts

        total = int.from_bytes(packet[2:4], "big")
        if total <= len(packet):
            return None
        cut: dict[str, Any] = {"captured": len(packet), "ip_length": total,
                               "source": str(ipaddress.IPv4Address(packet[12:16])),
                               "destination": str(ipaddress.IPv4Address(packet[16:20]))}
        hlen = (packet[0] & 0x0F) * 4
        report, _kept, announced = complete_records(packet[hlen:]) if hlen >= 20 else (None, 0, 0)
        if report is not None:
            # the group records captured whole, as tcpdump and tshark show them (RFC 3376 4.2)
            cut.update(kind=report.kind, records_announced=announced, records=record_dicts(report.records))
            cut["report"] = report
        return cut
    if len(packet) >= 40 and packet[0] >> 4 == 6:
        total = 40 + int.from_bytes(packet[4:6], "big")
        if total <= len(packet):
            return None
        return {"captured": len(packet), "ip_length": total,
                "source": str(ipaddress.IPv6Address(packet[8:24])),
                "destination": str(ipaddress.IPv6Address(packet[24:40]))}
    return {"captured": len(packet), "ip_length": None, "source": None, "destination": None}


def _capture_rows(result: InputResult, path: str, stdin: Any = None) -> Any:
    from mdiag.adapters.capture import open_capture, open_stream
    from mdiag.core import igmp, linklayer, mld

    opened = open_capture(path) if stdin is None else open_stream(stdin, name=path, close=False)
    unknown: dict[int, list[int | None]] = {}   # link type -> [frames, first frame, its offset]
    ok, not_ipv4 = linklayer.OK, linklayer.NOT_IPV4
    with opened as capture:
        for number, time_ns, linktype, _iface, buf, start, caplen, orig, off in capture.records():
            result.frames += 1
            located = linklayer.locate_ipv4(linktype, buf, start, caplen)
            if located.status == linklayer.UNKNOWN_LINKTYPE:
                seen = unknown.setdefault(linktype, [0, number, off])
                seen[0] = (seen[0] or 0) + 1
                result.unsupported_link += 1
                continue
            if located.status == ok:
                if buf[located.ip + 9] != 2:
                    result.not_igmp += 1
                    continue
                decode: Any = igmp.decode_ipv4
            elif located.status == not_ipv4:
                located = linklayer.locate_ipv6(linktype, buf, start, caplen)
                if located.status != ok:
                    result.not_igmp += 1
                    continue
                decode = mld.decode_ipv6
            else:
                result.not_igmp += 1
                continue
            packet = buf[located.ip:start + caplen]
            t = None if time_ns is None else time_ns / 1e9
            try:
                yield Row(f"frame {number}", decoded=decode(packet), time=t, frame=number)
            except (igmp.NotIgmp, mld.NotMld):
                result.not_igmp += 1
            except igmp.MalformedPacket as exc:
                yield Row(f"frame {number}", malformed=exc, time=t, frame=number,
                          cut=_cut_by_capture(packet) if orig > caplen else None)
        problems = list(capture.problems)
        problems += [linklayer.unknown_linktype_finding(lt, first or 0, offset, frames)
                     for lt, (frames, first, offset) in sorted(unknown.items())]
        result.problems.extend(f.message for f in problems)
        result.capture_findings.extend(problems)


def _stream_rows(stream: Any, name: str, args: argparse.Namespace, result: InputResult) -> Any:
    """Rows of a stream that can be read only once (stdin, a pipe): sniff its head, then stream it."""
    import io

    if isinstance(stream, io.TextIOBase):  # an injected text stream (tests): hex lines only
        result.source = "hexfile"
        yield from _hex_lines(result, stream, name, args.layer, name)
        return
    if not hasattr(stream, "peek"):
        stream = io.BufferedReader(stream)
    head = bytes(stream.peek(6)[:6])
    if _is_capture(head):
        result.source = "capture"
        yield from _capture_rows(result, name, stdin=stream)  # streamed: captures of any size
        return
    result.source = "hexfile"
    yield from _hex_lines(result, stream, name, args.layer, name)
    if not result.messages:
        raise MdiagError(f"{name}: no capture and no hex lines to decode")


def _input_rows(name: str, label: str, args: argparse.Namespace, env: Environment,
                result: InputResult) -> Any:
    """The rows of one input, as they are read; sets ``result.source`` first."""
    if name == "-":
        yield from _stream_rows(env.stdin_binary, "stdin", args, result)
        return
    if not name.strip():
        raise MdiagError("an empty argument: give a capture, a file of hex lines or hex like 1600f8faef010203")
    if os.path.exists(name):
        if os.path.isdir(name):
            raise MdiagError(f"{name}: is a directory; give a capture, a file of hex lines or a hex string")
        try:
            handle = open(name, "rb")  # noqa: SIM115 - closed below
        except OSError as exc:
            raise MdiagError(f"{name}: cannot read ({exc.strerror})") from None
        with handle:
            if not os.path.isfile(name):  # a pipe, /dev/stdin or <(process substitution): read it once
                yield from _stream_rows(handle, name, args, result)
                return
            try:
                head = handle.read(6)
                handle.seek(0)
            except OSError as exc:
                raise MdiagError(f"{name}: cannot read ({exc.strerror})") from None
            if not _is_capture(head):
                result.source = "hexfile"
                yield from _hex_lines(result, handle, name, args.layer, os.path.basename(name))
                if not result.messages and not result.problems:
                    raise MdiagError(f"{name}: neither a capture nor a file of hex lines (it is empty)")
                if not result.messages:
                    raise MdiagError(f"{name}: neither a pcap/pcapng capture nor a file of hex lines")
                return
        result.source = "capture"
        yield from _capture_rows(result, name)
        return
    if _looks_hex(name):
        result.source = "hex"
        yield _hex_row(label, name, args.layer)
        return
    raise MdiagError(f"{name}: no such file, and not a hex string "
                     "(give a capture, a file of hex lines or hex like 1600f8faef010203)")


def _isatty(stream: Any) -> bool:
    try:
        return bool(stream.isatty())
    except (AttributeError, ValueError, OSError):
        return False


def run(args: argparse.Namespace, env: Environment) -> ExitStatus:
    """Decode every input, streaming its rows to the table or JSON as they are read (memory
    stays bounded for any number of messages); the status is decided along the way and
    kept when the reader goes away (``| head``)."""
    from mdiag.core.findings import Severity

    if not args.inputs and _isatty(env.stdin):
        raise UsageError("give a hex string, a file of hex lines or a capture, or pipe one in "
                         "(e.g. mdiag decode trace.pcap)")
    inputs = args.inputs or ["-"]
    if inputs.count("-") > 1:
        raise UsageError("standard input ('-') can be read only once; give it once")
    threshold = args.fail_on   # a Severity, or None for never (options.add_fail_on)
    sink: _Sink = _JsonSink(env) if args.json else _TableSink(args, env, timed=_may_have_times(inputs))
    results: list[InputResult] = []
    problem = False
    for index, name in enumerate(inputs, 1):
        result = InputResult("stdin" if name == "-" else name, "error")
        results.append(result)
        sink.begin(result)
        try:
            for row in _input_rows(name, f"arg {index}" if len(inputs) > 1 else "hex", args, env, result):
                result.messages += 1
                if row.cut is not None:   # the capture's doing: a warning, not an error
                    result.cut += 1
                    problem = problem or options.fails(threshold, [Severity.WARNING])
                elif row.malformed is not None:
                    problem = problem or threshold is not None
                else:
                    result.decoded += 1
                    if getattr(row.decoded, "family", 4) == 6:
                        result.mld += 1
                    problem = problem or options.fails(threshold, (f.severity for f in row.decoded.findings))
                sink.row(result, row, several=len(inputs) > 1)
        except MdiagError as exc:
            result.error = exc.message
        problem = problem or options.fails(threshold, (f.severity for f in result.capture_findings))
        sink.end(result)
    sink.finish()
    for result in results:
        if result.error:
            env.error(result.error)
        elif result.source == "hexfile":
            for line in result.problems:
                env.warn(line)
            if result.problems_dropped:
                env.warn(f"{result.name}: {result.problems_dropped} more lines skipped")
    if any(result.error for result in results):
        return ExitStatus.BAD_INPUT
    return ExitStatus.PROBLEM_FOUND if problem else ExitStatus.OK


def _may_have_times(inputs: list[str]) -> bool:
    """Whether the table gets a time column: some input is (or may be, when it is a stream
    that cannot be sniffed twice) a capture."""
    for name in inputs:
        if name == "-" or (os.path.exists(name) and not os.path.isfile(name)):
            return True
        if os.path.isfile(name):
            try:
                with open(name, "rb") as handle:
                    if _is_capture(handle.read(6)):
                        return True
            except OSError:
                continue
    return False


class _Sink:
    def begin(self, result: InputResult) -> None: ...
    def row(self, result: InputResult, row: Row, *, several: bool) -> None: ...
    def end(self, result: InputResult) -> None: ...
    def finish(self) -> None: ...


#: Rows held to size the table's columns before the first line is written: up to this many
#: rows the table is tabulate's; beyond, it is streamed with the widths of these rows.
_SAMPLE_ROWS = 2000
_HEADERS = ["where", "time", "src", "dst", "message", "group", "max resp", "v3/mld2 query",
            "records / sources", "findings"]


class _TableSink(_Sink):
    def __init__(self, args: argparse.Namespace, env: Environment, *, timed: bool) -> None:
        self.args = args
        self.env = env
        self.timed = timed
        self.first_time: float | None = None
        self.sample: list[list[str]] | None = []
        self.stream: Any = None
        self.details: list[str] = []
        self.details_dropped = 0
        self.summaries: list[str] = []
        self.headers = _HEADERS if timed else [h for h in _HEADERS if h != "time"]

    def row(self, result: InputResult, row: Row, *, several: bool) -> None:
        from mdiag.core.mld.view import for_message

        where = f"{result.name} {row.where}" if several and result.source != "hex" else row.where
        if row.time is not None and self.first_time is None:
            self.first_time = row.time
        when = f"{row.time - self.first_time:.3f}" if row.time is not None and self.first_time is not None else ""
        if row.cut is not None:
            cut = row.cut
            length = f" of {cut['ip_length']}" if cut["ip_length"] else ""
            captured = f"{cut['captured']}{length} IP bytes captured"
            if "report" in cut:
                records = cut["records"]
                captured = (f"{for_message(cut['report']).details(cut['report'])} ({len(records)} of "
                            f"{cut['records_announced']} records whole; {captured})"
                            if records else f"0 of {cut['records_announced']} records whole; {captured}")
            cells = [where, when, cut["source"] or "", cut["destination"] or "",
                     f"{cut['kind']} (cut by capture)" if "kind" in cut else "cut by capture", "", "",
                     "", captured, "capture-snaplen-cut"]
            self._detail(f"{where}: capture-snaplen-cut: cut by the capture's snap length ({cut['captured']}"
                         f"{length} IP bytes captured): the capture's doing, not the sender's; capture "
                         "with -s 0")
        elif row.malformed is not None:
            exc = row.malformed
            cells = [where, when, "", "", "malformed", "", "", "",
                     f"byte {exc.offset}: expected {exc.expected}", "undecodable"]
            self._detail(f"{where}: {exc.message}")
        else:
            d = row.decoded
            m = d.message
            view = for_message(m)
            codes = self.args.codes
            cells = [where, when, str(d.src) if d.ip else "", str(d.dst) if d.ip else "",
                     m.kind, view.group_text(m), view.max_resp(m, codes), view.query_params(m, codes),
                     view.details(m), ", ".join(f.code for f in d.findings)]
            for f in d.findings:
                self._detail(f"{where}: {f.code}: {f.message}" + (f" [{f.rfc}]" if f.rfc else ""))
        if not self.timed:
            del cells[1]
        if self.sample is not None:
            self.sample.append(cells)
            if len(self.sample) > _SAMPLE_ROWS:
                from mdiag.cli.render import StreamTable

                self.stream = StreamTable.sized_by(self.headers, self.env.stdout, self.sample)
                self.stream.rows(self.sample)
                self.sample = None
        else:
            self.stream.rows((cells,))

    def _detail(self, line: str) -> None:
        if len(self.details) < _MAX_DETAIL_LINES:
            self.details.append(line)
        else:
            self.details_dropped += 1

    def end(self, result: InputResult) -> None:
        if result.source != "capture":
            return
        malformed = result.messages - result.decoded - result.cut
        mld = result.mld
        self.summaries.append(f"{result.name}: {result.frames:,} frames, {result.decoded - mld:,} IGMP messages"
                              + (f", {mld:,} MLD messages" if mld else "")
                              + (f", {malformed:,} undecodable" if malformed else "")
                              + (f", {result.cut:,} cut by the capture's snap length" if result.cut else "")
                              + f", {result.not_igmp:,} not IGMP" + (" or MLD" if mld else "")
                              + (f", {result.unsupported_link:,} of an unsupported link type"
                                 if result.unsupported_link else ""))
        self.summaries.extend(f"{result.name}: capture problem: {problem}" for problem in result.problems)

    def finish(self) -> None:
        from mdiag.cli.render import sanitize, table

        out = self.env.stdout
        if self.sample:
            table(self.sample, self.headers, out)
        for line in self.details:
            print(sanitize(line), file=out)
        if self.details_dropped:
            print(f"... {self.details_dropped} more findings (use --json for all)", file=out)
        for line in self.summaries:
            print(sanitize(line), file=out)


class _JsonSink(_Sink):
    """The document of docs/decode.md, written as it grows: one message at a time."""

    def __init__(self, env: Environment) -> None:
        import json

        from mdiag.cli.render import JSON_SCHEMA_VERSION

        self.out = env.stdout
        self.dumps = json.dumps
        self.inputs = 0
        self.messages = 0
        self.out.write('{\n  "schema": %d,\n  "command": "decode",\n  "inputs": [' % JSON_SCHEMA_VERSION)

    def _value(self, value: Any, level: int) -> str:
        return self.dumps(value, indent=2).replace("\n", "\n" + "  " * level)

    def begin(self, result: InputResult) -> None:
        self.messages = 0
        self.opened = False

    def _open(self, result: InputResult) -> None:
        """The input's first keys, once its kind is known (at its first row, or at its end)."""
        self.out.write((",\n" if self.inputs else "\n") + "    {\n      \"input\": " + self.dumps(result.name)
                       + ',\n      "source": ' + self.dumps(result.source))
        self.inputs += 1
        self.opened = True

    def row(self, result: InputResult, row: Row, *, several: bool) -> None:
        from mdiag.core.mld.view import for_message

        entry: dict[str, Any] = {"where": row.where}
        if row.frame is not None:
            entry["frame"] = row.frame
        if row.time is not None:
            entry["time"] = row.time
        if row.cut is not None:
            entry["cut_by_capture"] = {k: v for k, v in row.cut.items() if k != "report"}
        elif row.malformed is not None:
            entry["malformed"] = {"offset": row.malformed.offset, "expected": row.malformed.expected,
                                  "message": row.malformed.message}
        else:
            entry.update(for_message(row.decoded.message).decoded_dict(row.decoded))
        if not self.opened:
            self._open(result)
        if not self.messages:
            self.out.write(',\n      "messages": [\n        ')
        else:
            self.out.write(",\n        ")
        self.messages += 1
        self.out.write(self._value(entry, 4))

    def end(self, result: InputResult) -> None:
        out = self.out
        if not self.opened:
            self._open(result)
        if self.messages:
            out.write("\n      ]")
        elif not result.error:
            out.write(',\n      "messages": []')
        if result.error:
            out.write(',\n      "error": ' + self.dumps(result.error))
        if result.source == "capture":
            out.write(f',\n      "frames": {result.frames},\n      "not_igmp": {result.not_igmp},'
                      f'\n      "unsupported_link": {result.unsupported_link}')
        if result.problems and not result.error:
            problems = list(result.problems)
            if result.problems_dropped:
                problems.append(f"{result.problems_dropped} more lines skipped")
            out.write(',\n      "problems": ' + self._value(problems, 3))
        out.write("\n    }")

    def finish(self) -> None:
        self.out.write("\n  ]\n}\n" if self.inputs else "]\n}\n")
