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

from mdiag.cli.environment import Environment
from mdiag.errors import ExitStatus, MdiagError, UsageError

HELP = "decode IGMP and MLD messages from hex, hex files or pcap/pcapng captures, with findings"

_CAPTURE_MAGICS = (b"\xd4\xc3\xb2\xa1", b"\xa1\xb2\xc3\xd4", b"\x4d\x3c\xb2\xa1", b"\xa1\xb2\x3c\x4d",
                   b"\x0a\x0d\x0d\x0a")
_HEX_CHARS = set("0123456789abcdefABCDEF")
_MAX_DETAIL_LINES = 50
#: Above this many rows the table is printed without tabulate (identical layout, much faster).
_TABULATE_ROWS = 2000


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("inputs", nargs="*", metavar="INPUT",
                        help="hex string, file of hex lines, or pcap/pcapng capture (default or '-': stdin)")
    parser.add_argument("--layer", choices=("auto", "ether", "ip", "igmp", "mld"), default="auto",
                        help="what hex input starts with (default auto: Ethernet, IPv4, IPv6 or IGMP by its "
                             "bytes; mld: an ICMPv6 MLD message, whose checksum needs the IPv6 header)")
    parser.add_argument("--codes", action="store_true",
                        help="also show raw Max Resp Code and QQIC bytes beside the seconds")
    parser.add_argument("--json", action="store_true", help="print JSON (schema in docs/decode.md)")
    parser.add_argument("--fail-on", choices=("info", "warning", "error", "never"), default="warning",
                        help="exit 1 when a finding of this severity or worse (or an undecodable IGMP or "
                             "MLD packet) is seen (default warning)")


@dataclass
class Row:
    where: str
    decoded: Any = None  # Decoded
    malformed: Any = None  # MalformedPacket
    time: float | None = None
    frame: int | None = None


@dataclass
class InputResult:
    name: str
    source: str  # hex | hexfile | capture
    rows: list[Row] = field(default_factory=list)
    frames: int = 0
    not_igmp: int = 0  # frames that are neither IGMP nor MLD
    unsupported_link: int = 0   # frames of a link type mdiag does not read
    problems: list[Any] = field(default_factory=list)  # hex lines skipped, or capture damage (text)
    capture_findings: list[Any] = field(default_factory=list)  # the capture reader's Findings
    error: str | None = None


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


def _decode_bytes(data: bytes, layer: str) -> Any:
    """Decoded for one hex packet; raises MalformedPacket."""
    from mdiag.core import igmp, linklayer, mld

    if layer == "auto":
        if len(data) >= 34 and data[12:14] in (b"\x08\x00", b"\x86\xdd", b"\x81\x00", b"\x88\xa8", b"\x91\x00"):
            layer = "ether"
        elif len(data) >= 20 and data[0] >> 4 == 4 and (data[0] & 15) >= 5 and data[9] == 2:
            layer = "ip"
        elif len(data) >= 40 and data[0] >> 4 == 6 and data[6] in (0, 58, 43, 60):
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


def _lines(handle: Any, name: str) -> Any:
    """Lines of a hex file or stream, one at a time; a line over 256 KiB (``/dev/zero``) is an error."""
    from mdiag.cli.commands.collisions import _bounded_lines, _LineTooLong

    try:
        for line in _bounded_lines(handle, name, MAX_HEX_LINE, what="a file of hex lines", done=None):
            yield line.rstrip("\r\n")
    except _LineTooLong as exc:
        raise MdiagError(str(exc)) from None


def _read_hex_lines(result: InputResult, lines: Any, layer: str, label: str) -> None:
    for number, line in enumerate(lines, 1):
        text = line.split("#", 1)[0].strip()
        if not text:
            continue
        where = f"{label}:{number}"
        if not _looks_hex(text):
            result.problems.append(f"{where}: not hex bytes ({text[:40]!r}); line skipped")
            continue
        result.rows.append(_hex_row(where, text, layer))


def _read_capture(result: InputResult, path: str, stdin: Any = None) -> None:
    from mdiag.adapters.capture import open_capture, open_stream
    from mdiag.core import igmp, linklayer, mld

    opened = open_capture(path) if stdin is None else open_stream(stdin, name=path, close=False)
    unknown: dict[int, list[int | None]] = {}   # link type -> [frames, first frame, its offset]
    ok, not_ipv4 = linklayer.OK, linklayer.NOT_IPV4
    with opened as capture:
        for number, time_ns, linktype, _iface, buf, start, caplen, _orig, off in capture.records():
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
                result.rows.append(Row(f"frame {number}", decoded=decode(packet), time=t, frame=number))
            except (igmp.NotIgmp, mld.NotMld):
                result.not_igmp += 1
            except igmp.MalformedPacket as exc:
                result.rows.append(Row(f"frame {number}", malformed=exc, time=t, frame=number))
        problems = list(capture.problems)
        problems += [linklayer.unknown_linktype_finding(lt, first or 0, offset, frames)
                     for lt, (frames, first, offset) in sorted(unknown.items())]
        result.problems.extend(f.message for f in problems)
        result.capture_findings.extend(problems)


def _read_stream(stream: Any, name: str, args: argparse.Namespace) -> InputResult:
    """Decode a stream that can be read only once (stdin, a pipe): sniff its head, then stream it."""
    import io

    if isinstance(stream, io.TextIOBase):  # an injected text stream (tests): hex lines only
        result = InputResult(name, "hexfile")
        _read_hex_lines(result, _lines(stream, name), args.layer, name)
        return result
    if not hasattr(stream, "peek"):
        stream = io.BufferedReader(stream)
    head = bytes(stream.peek(6)[:6])
    if _is_capture(head):
        result = InputResult(name, "capture")
        _read_capture(result, name, stdin=stream)  # streamed: captures of any size
        return result
    result = InputResult(name, "hexfile")
    text = io.TextIOWrapper(stream, encoding="utf-8", errors="replace")
    _read_hex_lines(result, _lines(text, name), args.layer, name)
    if not result.rows:
        raise MdiagError(f"{name}: no capture and no hex lines to decode")
    return result


def _read_input(name: str, label: str, args: argparse.Namespace, env: Environment) -> InputResult:
    if name == "-":
        return _read_stream(env.stdin_binary, "stdin", args)
    if not name.strip():
        raise MdiagError("an empty argument: give a capture, a file of hex lines or hex like 1600f8faef010203")
    if os.path.exists(name):
        if os.path.isdir(name):
            raise MdiagError(f"{name}: is a directory; give a capture, a file of hex lines or a hex string")
        if not os.path.isfile(name):  # a pipe, /dev/stdin or <(process substitution): read it once
            try:
                with open(name, "rb") as handle:
                    return _read_stream(handle, name, args)
            except OSError as exc:
                raise MdiagError(f"{name}: cannot read ({exc.strerror})") from None
        try:
            with open(name, "rb") as handle:
                head = handle.read(6)
        except OSError as exc:
            raise MdiagError(f"{name}: cannot read ({exc.strerror})") from None
        if _is_capture(head):
            result = InputResult(name, "capture")
            _read_capture(result, name)
            return result
        result = InputResult(name, "hexfile")
        with open(name, encoding="utf-8", errors="replace") as handle:
            _read_hex_lines(result, _lines(handle, name), args.layer, os.path.basename(name))
        if not result.rows and not result.problems:
            raise MdiagError(f"{name}: neither a capture nor a file of hex lines (it is empty)")
        if not result.rows:
            raise MdiagError(f"{name}: neither a pcap/pcapng capture nor a file of hex lines")
        return result
    if _looks_hex(name):
        result = InputResult(name, "hex")
        result.rows.append(_hex_row(label, name, args.layer))
        return result
    raise MdiagError(f"{name}: no such file, and not a hex string "
                     "(give a capture, a file of hex lines or hex like 1600f8faef010203)")


def _isatty(stream: Any) -> bool:
    try:
        return bool(stream.isatty())
    except (AttributeError, ValueError, OSError):
        return False


def run(args: argparse.Namespace, env: Environment) -> ExitStatus:
    from mdiag.core.findings import Severity

    if not args.inputs and _isatty(env.stdin):
        raise UsageError("give a hex string, a file of hex lines or a capture, or pipe one in "
                         "(e.g. mdiag decode trace.pcap)")
    inputs = args.inputs or ["-"]
    results: list[InputResult] = []
    bad_input = False
    for index, name in enumerate(inputs, 1):
        try:
            results.append(_read_input(name, f"arg {index}" if len(inputs) > 1 else "hex", args, env))
        except MdiagError as exc:
            bad_input = True
            results.append(InputResult(name, "error", error=exc.message))
    threshold = None if args.fail_on == "never" else Severity.parse(args.fail_on)
    problem = False
    for result in results:
        if threshold is not None and any(f.severity >= threshold for f in result.capture_findings):
            problem = True
        for row in result.rows:
            if row.malformed is not None:
                problem = problem or threshold is not None
            elif threshold is not None and any(f.severity >= threshold for f in row.decoded.findings):
                problem = True
    try:  # the status above stands even if the reader goes away (`| head` under pipefail)
        if args.json:
            _emit_json(results, env)
        else:
            _emit_table(results, args, env)
        env.stdout.flush()
    except BrokenPipeError:
        from mdiag.cli.commands.collisions import _silence_stdout

        _silence_stdout(env)
    for result in results:
        if result.error:
            env.error(result.error)
        elif result.source == "hexfile":
            for line in result.problems:
                env.warn(line)
    if bad_input:
        return ExitStatus.BAD_INPUT
    return ExitStatus.PROBLEM_FOUND if problem else ExitStatus.OK


def _emit_table(results: list[InputResult], args: argparse.Namespace, env: Environment) -> None:
    from mdiag.cli.render import table
    from mdiag.core.mld.view import for_message

    several = len(results) > 1
    rows: list[list[str]] = []
    details: list[str] = []
    first_time = next((r.time for res in results for r in res.rows if r.time is not None), None)
    any_time = first_time is not None
    for result in results:
        for row in result.rows:
            where = f"{result.name} {row.where}" if several and result.source != "hex" else row.where
            when = f"{row.time - first_time:.3f}" if row.time is not None and first_time is not None else ""
            if row.malformed is not None:
                exc = row.malformed
                cells = [where, when, "", "", "malformed", "", "", "",
                         f"byte {exc.offset}: expected {exc.expected}", "undecodable"]
                details.append(f"{where}: {exc.message}")
            else:
                d = row.decoded
                m = d.message
                view = for_message(m)
                cells = [where, when, str(d.src) if d.ip else "", str(d.dst) if d.ip else "",
                         m.kind, view.group_text(m), view.max_resp(m, args.codes), view.query_params(m, args.codes),
                         view.details(m), ", ".join(f.code for f in d.findings)]
                details.extend(f"{where}: {f.code}: {f.message}" + (f" [{f.rfc}]" if f.rfc else "")
                               for f in d.findings)
            if not any_time:
                del cells[1]
            rows.append(cells)
    headers = ["where", "time", "src", "dst", "message", "group", "max resp", "v3/mld2 query",
               "records / sources", "findings"]
    if not any_time:
        del headers[1]
    if len(rows) > _TABULATE_ROWS:
        _plain_table(rows, headers, env.stdout)  # same layout, a fraction of the time
    elif rows:
        table(rows, headers, env.stdout)
    for line in details[:_MAX_DETAIL_LINES]:
        print(line, file=env.stdout)
    if len(details) > _MAX_DETAIL_LINES:
        print(f"... {len(details) - _MAX_DETAIL_LINES} more findings (use --json for all)", file=env.stdout)
    for result in results:
        if result.source == "capture":
            decoded = sum(1 for r in result.rows if r.decoded is not None and r.decoded.family == 4)
            mld = sum(1 for r in result.rows if r.decoded is not None and r.decoded.family == 6)
            malformed = len(result.rows) - decoded - mld
            print(f"{result.name}: {result.frames} frames, {decoded} IGMP messages"
                  + (f", {mld} MLD messages" if mld else "")
                  + (f", {malformed} undecodable" if malformed else "")
                  + f", {result.not_igmp} not IGMP" + (" or MLD" if mld else "")
                  + (f", {result.unsupported_link} of an unsupported link type"
                     if result.unsupported_link else ""), file=env.stdout)
            for problem in result.problems:
                print(f"{result.name}: capture problem: {problem}", file=env.stdout)


def _plain_table(rows: list[list[str]], headers: list[str], out: Any) -> None:
    """tabulate's "simple" layout for single-line ASCII cells, streamed: for big captures."""
    widths = [len(h) + 2 for h in headers]  # tabulate pads headers by 2 (MIN_PADDING)
    for row in rows:
        for i, cell in enumerate(row):
            widths[i] = max(widths[i], len(cell))
    write = out.write
    write("  ".join(h.ljust(w) for h, w in zip(headers, widths)).rstrip() + "\n")
    write("  ".join("-" * w for w in widths) + "\n")
    for row in rows:
        write("  ".join(c.ljust(w) for c, w in zip(row, widths)).rstrip() + "\n")


def _emit_json(results: list[InputResult], env: Environment) -> None:
    from mdiag.cli.render import emit_json
    from mdiag.core.mld.view import for_message

    out = []
    for result in results:
        body: dict[str, Any] = {"input": result.name, "source": result.source}
        if result.error:
            body["error"] = result.error
            out.append(body)
            continue
        messages = []
        for row in result.rows:
            entry: dict[str, Any] = {"where": row.where}
            if row.frame is not None:
                entry["frame"] = row.frame
            if row.time is not None:
                entry["time"] = row.time
            if row.malformed is not None:
                entry["malformed"] = {"offset": row.malformed.offset, "expected": row.malformed.expected,
                                      "message": row.malformed.message}
            else:
                entry.update(for_message(row.decoded.message).decoded_dict(row.decoded))
            messages.append(entry)
        body["messages"] = messages
        if result.source == "capture":
            body["frames"] = result.frames
            body["not_igmp"] = result.not_igmp
            body["unsupported_link"] = result.unsupported_link
        if result.problems:
            body["problems"] = list(result.problems)
        out.append(body)
    emit_json({"inputs": out}, env.stdout, "decode")
