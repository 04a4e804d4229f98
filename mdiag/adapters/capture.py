"""Streaming capture reader: pcap and pcapng, plain or compressed, file or stdin.

This is the only module of mdiag that reads capture files. It never decodes
packets: it hands out records (bytes plus where and when they were seen) and
the problems it met, in constant memory whatever the size of the file.

Public API::

    with open_capture("trace.pcapng") as cap:     # or "-" for stdin
        for frame in cap:                          # Frame (a NamedTuple)
            frame.number      # 1-based frame number in the file
            frame.time_ns     # exact capture time in integer nanoseconds (None: SPB)
            frame.time        # the same as float seconds (property)
            frame.linktype    # LINKTYPE_* of the interface (1 Ethernet, 113 SLL, ...)
            frame.interface   # interface index (pcap: always 0; pcapng: per IDB,
                              # numbered across all sections of the file)
            frame.data        # captured bytes (bytes)
            frame.orig_len    # length on the wire
            frame.offset      # byte offset of the record in the (decompressed) file
        cap.problems          # list[Finding]: truncated / corrupt / unknown blocks
        cap.format            # "pcap" | "pcapng"
        cap.compression       # None | "gzip" | "bzip2" | "xz"
        cap.interfaces        # list[Interface] (linktype, snaplen, name, tsresol)
        cap.on_block = fn     # optional: fn(bytes_read, frames_read) at every block read

Fast path for analysers (no object per frame)::

    for (number, time_ns, linktype, iface, buf, start, caplen, orig_len,
         offset) in cap.records():
        ...  # the frame's bytes are buf[start:start + caplen]; buf is bytes

Reading is done in large blocks with ``struct.unpack_from``; ``buf`` is the
current block and must not be kept after the next record is requested (copy the
slice you need).

Problems keep what was read: a truncated last record, a corrupt record or block
length (reading stops there: there is no way to resynchronise safely) and
unknown pcapng blocks are reported as :class:`~mdiag.core.findings.Finding`
values carrying the frame number and the file byte offset (``Finding.offset``
is the byte offset in the decompressed capture stream for these codes). Only a
stream that is not a capture at all raises :class:`~mdiag.errors.InputError`
(exit status 2); a missing or unreadable file also raises ``InputError``.

Formats: pcap in both byte orders with microsecond (a1b2c3d4) and nanosecond
(a1b23c4d) timestamps; pcapng with several sections and interfaces, Enhanced,
Simple and (obsolete) Packet Blocks, per-interface link type, ``if_tsresol``
and ``if_tsoffset``; gzip, bzip2 and xz compression recognised by magic bytes.
"""

from __future__ import annotations

import bz2
import gzip
import io
import lzma
import os
import struct
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from types import TracebackType
from typing import Any, BinaryIO, NamedTuple

from mdiag.core.findings import Finding, Severity
from mdiag.errors import InputError

__all__ = [
    "BLOCK_SIZE",
    "Capture",
    "Frame",
    "Interface",
    "open_capture",
    "open_stream",
]

#: Bytes read from the stream at a time.
BLOCK_SIZE = 1 << 20
#: A record longer than this is treated as a corrupt length (pcap's own limit
#: for the largest link types is 256 KiB; leave generous room for jumbo captures).
MAX_RECORD = 16 << 20

_PCAP_MAGICS = {
    b"\xd4\xc3\xb2\xa1": ("<", 1000),       # little-endian, microseconds
    b"\xa1\xb2\xc3\xd4": (">", 1000),       # big-endian, microseconds
    b"\x4d\x3c\xb2\xa1": ("<", 1),          # little-endian, nanoseconds
    b"\xa1\xb2\x3c\x4d": (">", 1),          # big-endian, nanoseconds
}
_PCAPNG_SHB = b"\x0a\x0d\x0d\x0a"
_GZIP = b"\x1f\x8b"
_BZIP2 = b"BZh"
_XZ = b"\xfd7zXZ\x00"


class Frame(NamedTuple):
    """One captured frame (see the module docstring)."""

    number: int
    time_ns: int | None
    linktype: int
    interface: int
    data: bytes
    orig_len: int
    offset: int

    @property
    def time(self) -> float | None:
        """Capture time in float seconds (``None`` for a Simple Packet Block)."""
        return None if self.time_ns is None else self.time_ns / 1e9

    @property
    def truncated(self) -> bool:
        """True when the capture kept fewer bytes than were on the wire (snaplen)."""
        return len(self.data) < self.orig_len


@dataclass(frozen=True, slots=True)
class Interface:
    """A capture interface: pcap has one, pcapng one per Interface Description Block."""

    linktype: int
    snaplen: int
    name: str | None = None
    #: Multiplier and divisor turning a raw timestamp into nanoseconds.
    ts_mul: int = 1000
    ts_div: int = 1
    #: if_tsoffset in nanoseconds.
    ts_offset_ns: int = 0
    #: the interface's IPv4 networks from pcapng if_IPv4addr options ("198.18.0.0/24")
    ipv4_networks: tuple[str, ...] = ()

    @property
    def resolution(self) -> str:
        """Human-readable timestamp resolution (e.g. "1us", "1ns")."""
        if self.ts_div == 1:
            return {1: "1ns", 1000: "1us", 1_000_000: "1ms", 1_000_000_000: "1s"}.get(
                self.ts_mul, f"{self.ts_mul}ns")
        return f"{self.ts_mul}/{self.ts_div}ns"

    def to_json(self) -> dict[str, object]:
        return {"linktype": self.linktype, "snaplen": self.snaplen, "name": self.name,
                "resolution": self.resolution, "ipv4_networks": list(self.ipv4_networks)}


def _problem(code: str, message: str, *, frame: int | None, offset: int,
             severity: Severity = Severity.WARNING) -> Finding:
    return Finding(code, severity, f"{message} (frame {frame}, byte offset {offset})"
                   if frame is not None else f"{message} (byte offset {offset})",
                   rfc=None, offset=offset, frame=frame,
                   context={"file_offset": offset})


#: Largest if_tsoffset taken (about 1000 years): beyond it no clock could have meant it.
_MAX_TSOFFSET = 1 << 35


def _tsresol(value: int) -> tuple[int, int]:
    """pcapng if_tsresol -> (mul, div) so that ns = ts * mul // div."""
    exponent = value & 0x7F
    if value & 0x80:  # negative power of two
        return 1_000_000_000, 1 << exponent
    if exponent <= 9:
        return 10 ** (9 - exponent), 1
    return 1, 10 ** (exponent - 9)


class Capture:
    """An open capture stream; use :func:`open_capture` to get one."""

    def __init__(self, stream: BinaryIO, *, name: str, close: bool = True,
                 compression: str | None = None) -> None:
        self.name = name
        self._stream = stream
        self._close = close
        self.compression = compression
        self.problems: list[Finding] = []
        self.interfaces: list[Interface] = []
        self.frames_read = 0
        #: Bytes consumed so far (decompressed), for progress display.
        self.bytes_read = 0
        #: Called as ``on_block(bytes_read, frames_read)`` each time a block is read.
        self.on_block: Callable[[int, int], None] | None = None
        head = self._peek(4)
        if len(head) < 4:
            raise InputError(f"{name}: not a capture file (only {len(head)} bytes); "
                             "give a pcap or pcapng file")
        if head in _PCAP_MAGICS:
            self.format = "pcap"
        elif head == _PCAPNG_SHB:
            self.format = "pcapng"
        else:
            raise InputError(f"{name}: not a pcap or pcapng capture (starts with {head.hex()}); "
                             "give a capture written by tcpdump, tshark, dumpcap or mdiag")
        self._started = False
        self._view: memoryview | None = None   # reused read buffer (see _refill)

    # -- context manager -----------------------------------------------------
    def __enter__(self) -> Capture:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close()

    def close(self) -> None:
        if self._close:
            self._stream.close()

    # -- iteration -------------------------------------------------------------
    def __iter__(self) -> Iterator[Frame]:
        for number, time_ns, linktype, iface, buf, start, caplen, orig, offset in self.records():
            yield Frame(number, time_ns, linktype, iface, buf[start:start + caplen], orig, offset)

    def records(self, multicast_udp: dict[bytes, list[int]] | None = None,
                ) -> Iterator[tuple[int, int | None, int, int, bytes, int, int, int, int]]:
        """Fast path: yield raw record tuples (see the module docstring). Once only.

        With ``multicast_udp`` (a dict), frames that are IPv4 without options,
        unfragmented UDP to 224.0.0.0/4 on interface 0, in untagged Ethernet, Linux
        cooked SLL/SLL2 or raw IP, are not yielded but counted in
        place, keyed by the 8 bytes source + destination address (prefixed by the
        4-byte interface index for SLL2):
        ``[packets, bytes on the wire, first time ns, last time ns]``
        (complete when the iteration ends). They still use up frame numbers; the
        first frame (and the rest of the first block read) is always yielded, so a
        caller learns the capture's start time. This
        keeps bulk multicast data at a few byte comparisons per frame with no object
        per frame, which is what lets ``mdiag analyze`` run near raw reading speed.
        """
        if self._started:
            raise RuntimeError("a capture can be iterated once")
        self._started = True
        if self.format == "pcap":
            return self._pcap_records(multicast_udp)
        return self._pcapng_records(multicast_udp)

    # -- buffered reading ------------------------------------------------------
    def _peek(self, n: int) -> bytes:
        peek = getattr(self._stream, "peek", None)
        if peek is not None:
            data = peek(n)[:n]
            if len(data) >= n:
                return bytes(data)
        # Stream without a usable peek: wrap it so the bytes are not lost.
        buffered = io.BufferedReader(_Prepend(b"", self._stream), buffer_size=BLOCK_SIZE)
        self._stream = buffered
        return bytes(buffered.peek(n)[:n])

    def _read(self, n: int) -> bytes:
        try:
            return self._stream.read(n)
        except (OSError, EOFError, lzma.LZMAError, zlib_error) as exc:
            # A damaged compressed stream: keep what was read, report the rest.
            self.problems.append(_problem(
                "capture-read-error", f"reading stopped: {exc}",
                frame=None, offset=self.bytes_read))
            return b""

    def _refill(self, buf: bytes, pos: int, want: int) -> bytes:
        """``buf[pos:]`` followed by up to ``want`` more bytes of the stream, as one new
        bytes object (fewer only at the end of the stream or after a read error).

        The bytes are read into one reused bytearray and copied out once: building
        each block as ``buf[pos:] + read(n)`` allocated two fresh megabyte objects per
        block, and the page faults that costs made the kernel time of reading a large
        capture about four times that of the reading itself.
        """
        rest = len(buf) - pos
        need = rest + want
        view = self._view
        if view is None or len(view) < need:
            view = self._view = memoryview(bytearray(max(need, BLOCK_SIZE)))
        view[:rest] = buf[pos:]
        got = rest
        readinto = self._readinto
        try:
            while got < need:
                n = readinto(view[got:need])
                if not n:
                    break
                got += n
        except (OSError, EOFError, lzma.LZMAError, zlib_error) as exc:
            # A damaged compressed stream: keep what was read, report the rest.
            self.problems.append(_problem(
                "capture-read-error", f"reading stopped: {exc}",
                frame=None, offset=self.bytes_read))
        return bytes(view[:got])

    def _readinto_by_read(self, view: memoryview) -> int:
        data = self._stream.read(len(view))
        view[:len(data)] = data
        return len(data)

    @property
    def _readinto(self) -> Callable[[memoryview], int]:
        readinto = getattr(self._stream, "readinto", None)
        return readinto if readinto is not None else self._readinto_by_read

    # -- pcap -----------------------------------------------------------------
    def _pcap_records(self, fast: dict[bytes, list[int]] | None,
                      ) -> Iterator[tuple[int, int | None, int, int, bytes, int, int, int, int]]:
        header = self._read(24)
        if len(header) < 24:
            raise InputError(f"{self.name}: pcap file header is cut short ({len(header)} of 24 "
                             "bytes); the file is not a usable capture")
        endian, mul = _PCAP_MAGICS[header[:4]]
        _major, _minor, _zone, _sigfigs, snaplen, linkfield = struct.unpack(endian + "HHiIII", header[4:])
        # The upper 16 bits of the link-type field may carry FCS information (the F bit
        # and FCS length, 0x04000001 for Ethernet with FCS): libpcap's LT_LINKTYPE masks
        # them off. Trailing FCS bytes are harmless here: IP says where a packet ends.
        linktype = linkfield & 0xFFFF
        self.interfaces.append(Interface(linktype, snaplen, None, mul, 1, 0))
        record = struct.Struct(endian + "IIII")
        unpack_from = record.unpack_from
        read = self._read
        # caplen can never exceed the file's snaplen; allow 256 KiB for writers that
        # leave snaplen at 65535 while capturing offloaded super-frames.
        limit = max(snaplen, 262144) if snaplen else MAX_RECORD
        if linktype not in _LINK_FAST:
            fast = None
        try:
            yield from self._pcap_loop(fast, unpack_from, read, limit, snaplen, linktype, mul)
        finally:
            if fast:
                _finish_fast(fast, 1_000_000_000, mul)

    def _pcap_loop(self, fast: dict[bytes, list[int]] | None, unpack_from: Any, read: Any, limit: int,
                   snaplen: int, linktype: int, mul: int,
                   ) -> Iterator[tuple[int, int | None, int, int, bytes, int, int, int, int]]:
        key = _ETH_IPV4_IHL5
        buf = read(BLOCK_SIZE)
        base = 24            # file offset of buf[0]
        pos = 0
        size = len(buf)
        number = 0
        out: list[tuple[int, int | None, int, int, bytes, int, int, int, int]] = []
        while True:
            # Bulk of the work: every complete, plausible record of this block, in a
            # plain function (a generator frame costs a quarter more per record).
            # (the first block is always yielded whole, so the caller sees frame 1's time)
            if linktype == 1:
                pos, number = _pcap_run(buf, pos, size, number, base, fast if number else None,
                                        out.append, unpack_from, limit, mul, linktype)
            else:
                pos, number = _pcap_run_cooked(buf, pos, size, number, base, fast if number else None,
                                               out.append, unpack_from, limit, mul, linktype)
            if out:
                yield from out
                out.clear()
            if pos + 16 > size:
                buf = self._refill(buf, pos, BLOCK_SIZE)
                base += pos
                pos = 0
                size = len(buf)
                self.bytes_read = base
                if self.on_block is not None:
                    self.on_block(base, number)
                if size < 16:
                    if size:
                        self.problems.append(_problem(
                            "capture-truncated-record",
                            f"the last record header is cut short ({size} of 16 bytes)",
                            frame=number + 1, offset=base))
                    break
            sec, frac, caplen, orig = unpack_from(buf, pos)
            if caplen > limit:
                self.problems.append(_problem(
                    "capture-corrupt-length",
                    f"record length {caplen} is impossible (snaplen {snaplen}); "
                    "reading stopped here",
                    frame=number + 1, offset=base + pos, severity=Severity.ERROR))
                break
            end = pos + 16 + caplen
            if end > size:
                buf = self._refill(buf, pos, max(BLOCK_SIZE, end - size))
                base += pos
                end -= pos
                pos = 0
                size = len(buf)
                self.bytes_read = base
                if self.on_block is not None:
                    self.on_block(base, number)
                if end > size:
                    self.problems.append(_problem(
                        "capture-truncated-record",
                        f"the last record is cut short ({size - 16} of {caplen} bytes)",
                        frame=number + 1, offset=base))
                    break
            number += 1
            if fast is not None and number > 1 and linktype == 1:
                s = pos + 16
                # caplen first: a short last record must not be indexed past its end
                if (caplen >= 34 and buf[s + 12:s + 15] == key and buf[s + 23] == 17
                        and 224 <= buf[s + 30] <= 239 and not (buf[s + 20] & 0x3F or buf[s + 21])):
                    pair = buf[s + 26:s + 34]
                    stats = fast.get(pair)
                    if stats is None:
                        fast[pair] = [_FAST_ONE + orig, sec, frac, sec, frac]
                    else:
                        stats[0] += _FAST_ONE + orig
                        stats[3] = sec
                        stats[4] = frac
                    pos = end
                    continue
            yield (number, sec * 1_000_000_000 + frac * mul, linktype, 0, buf,
                   pos + 16, caplen, orig, base + pos)
            pos = end
        self.frames_read = number
        self.bytes_read = base + pos

    # -- pcapng ---------------------------------------------------------------
    def _pcapng_records(self, fast: dict[bytes, list[int]] | None,
                        ) -> Iterator[tuple[int, int | None, int, int, bytes, int, int, int, int]]:
        try:
            yield from self._pcapng_loop(fast)
        finally:
            if fast:
                _finish_fast(fast, 1, 0)

    def _pcapng_loop(self, fast: dict[bytes, list[int]] | None,
                     ) -> Iterator[tuple[int, int | None, int, int, bytes, int, int, int, int]]:
        key = _ETH_IPV4_IHL5
        read = self._read
        buf = read(BLOCK_SIZE)
        if len(buf) < 28:
            raise InputError(f"{self.name}: pcapng section header is cut short ({len(buf)} of 28 "
                             "bytes); the file is not a usable capture")
        base = 0
        pos = 0
        size = len(buf)
        number = 0
        endian = "<"
        head = struct.Struct("<II")
        epb = struct.Struct("<IIIII")
        opb = struct.Struct("<HHIIII")
        u32 = struct.Struct("<I")
        section_ifaces: list[int] = []   # local interface id -> global index
        ifaces = self.interfaces
        # local interface id -> (global index, linktype, ts_mul, ts_div, ts_offset_ns)
        section_info: list[tuple[int, int, int, int, int]] = []
        out: list[tuple[int, int | None, int, int, bytes, int, int, int, int]] = []
        while True:
            # Runs of well-formed Enhanced Packet Blocks go through a plain function.
            pos, number = _pcapng_run(buf, pos, size, number, base, fast if number else None,
                                      out.append, head, epb, u32, section_info)
            if out:
                yield from out
                out.clear()
            if pos + 12 > size:
                buf = self._refill(buf, pos, BLOCK_SIZE)
                base += pos
                pos = 0
                size = len(buf)
                self.bytes_read = base
                if self.on_block is not None:
                    self.on_block(base, number)
                if size < 12:
                    if size:
                        self.problems.append(_problem(
                            "capture-truncated-record",
                            f"the last block is cut short ({size} bytes)",
                            frame=number + 1, offset=base))
                    break
            btype_raw = buf[pos:pos + 4]
            if btype_raw == _PCAPNG_SHB:
                bom = buf[pos + 8:pos + 12]
                if bom == b"\x4d\x3c\x2b\x1a":
                    endian = "<"
                elif bom == b"\x1a\x2b\x3c\x4d":
                    endian = ">"
                else:
                    if number == 0 and not ifaces:
                        raise InputError(f"{self.name}: pcapng section header has an unknown "
                                         f"byte-order magic {bom.hex()}; not a usable capture")
                    self.problems.append(_problem(
                        "capture-corrupt-length", "section header with a bad byte-order magic; "
                        "reading stopped here", frame=number + 1, offset=base + pos,
                        severity=Severity.ERROR))
                    break
                head = struct.Struct(endian + "II")
                epb = struct.Struct(endian + "IIIII")
                opb = struct.Struct(endian + "HHIIII")
                u32 = struct.Struct(endian + "I")
                section_ifaces = []
                section_info = []
            btype, blen = head.unpack_from(buf, pos)
            if blen < 12 or blen % 4 or blen > MAX_RECORD:
                self.problems.append(_problem(
                    "capture-corrupt-length",
                    f"block length {blen} is impossible; reading stopped here",
                    frame=number + 1, offset=base + pos, severity=Severity.ERROR))
                break
            end = pos + blen
            if end > size:
                buf = self._refill(buf, pos, max(BLOCK_SIZE, end - size))
                base += pos
                end -= pos
                pos = 0
                size = len(buf)
                self.bytes_read = base
                if self.on_block is not None:
                    self.on_block(base, number)
                if end > size:
                    self.problems.append(_problem(
                        "capture-truncated-record",
                        f"the last block is cut short ({size} of {blen} bytes)",
                        frame=number + 1, offset=base))
                    break
            if u32.unpack_from(buf, end - 4)[0] != blen:
                self.problems.append(_problem(
                    "capture-corrupt-length",
                    f"block length {blen} does not match its trailing copy; reading stopped here",
                    frame=number + 1, offset=base + pos, severity=Severity.ERROR))
                break
            if btype == 6:  # Enhanced Packet Block
                local, hi, lo, caplen, orig = epb.unpack_from(buf, pos + 8)
                if caplen > blen - 32:
                    self.problems.append(_problem(
                        "capture-corrupt-length",
                        f"packet length {caplen} exceeds its block ({blen} bytes); "
                        "frame skipped", frame=number + 1, offset=base + pos))
                    number += 1
                    pos = end
                    continue
                try:
                    gi = section_ifaces[local]
                except IndexError:
                    number += 1
                    self.problems.append(_problem(
                        "capture-unknown-interface",
                        f"packet refers to interface {local}, which was never described; "
                        "frame skipped", frame=number, offset=base + pos))
                    pos = end
                    continue
                iface = ifaces[gi]
                ts = (hi << 32) | lo
                if iface.ts_div == 1:
                    t = ts * iface.ts_mul + iface.ts_offset_ns
                else:
                    t = ts * iface.ts_mul // iface.ts_div + iface.ts_offset_ns
                number += 1
                if fast is not None and number > 1 and gi == 0 and iface.linktype == 1:
                    s = pos + 28
                    if (caplen >= 34 and buf[s + 12:s + 15] == key and buf[s + 23] == 17
                            and 224 <= buf[s + 30] <= 239 and not (buf[s + 20] & 0x3F or buf[s + 21])):
                        pair = buf[s + 26:s + 34]
                        stats = fast.get(pair)
                        if stats is None:
                            fast[pair] = [_FAST_ONE + orig, t, 0, t, 0]
                        else:
                            stats[0] += _FAST_ONE + orig
                            stats[3] = t
                        pos = end
                        continue
                yield (number, t, iface.linktype, gi, buf, pos + 28, caplen, orig, base + pos)
            elif btype == 3:  # Simple Packet Block: interface 0, no timestamp
                orig = u32.unpack_from(buf, pos + 8)[0]
                number += 1
                if not section_ifaces:
                    self.problems.append(_problem(
                        "capture-unknown-interface",
                        "simple packet block before any interface description; frame skipped",
                        frame=number, offset=base + pos))
                    pos = end
                    continue
                gi = section_ifaces[0]
                iface = ifaces[gi]
                caplen = min(orig, blen - 16)
                if iface.snaplen:
                    caplen = min(caplen, iface.snaplen)
                yield (number, None, iface.linktype, gi, buf, pos + 12, caplen, orig, base + pos)
            elif btype == 1:  # Interface Description Block
                linktype, _reserved, snaplen = struct.unpack_from(endian + "HHI", buf, pos + 8)
                mul, div, offset_ns, name = 1000, 1, 0, None
                networks: list[str] = []
                for code, value in _options(buf, pos + 16, end - 4, endian):
                    if code == 9 and value:
                        mul, div = _tsresol(value[0])
                    elif code == 14 and len(value) >= 8:
                        offset_s = struct.unpack(endian + "q", value[:8])[0]
                        if abs(offset_s) <= _MAX_TSOFFSET:
                            offset_ns = offset_s * 1_000_000_000
                        else:  # beyond any clock: a damaged or hostile block, not a time
                            self.problems.append(_problem(
                                "capture-bad-tsoffset",
                                f"interface {len(section_ifaces)} has if_tsoffset {offset_s} s, beyond "
                                f"±{_MAX_TSOFFSET} s; ignored", frame=None, offset=base + pos))
                    elif code == 2:
                        name = value.rstrip(b"\x00").decode("utf-8", "replace")
                    elif code == 4 and len(value) >= 8:   # if_IPv4addr: address and netmask
                        networks.append(_ipv4_network(value[:4], value[4:8]))
                section_ifaces.append(len(ifaces))
                section_info.append((len(ifaces), linktype, mul, div, offset_ns))
                ifaces.append(Interface(linktype, snaplen, name, mul, div, offset_ns,
                                        tuple(n for n in networks if n)))
            elif btype == 2:  # obsolete Packet Block
                local, _drops, hi, lo, caplen, orig = opb.unpack_from(buf, pos + 8)
                number += 1
                if local >= len(section_ifaces) or caplen > blen - 32:
                    self.problems.append(_problem(
                        "capture-unknown-interface",
                        f"packet block refers to interface {local} or has a bad length; "
                        "frame skipped", frame=number, offset=base + pos))
                    pos = end
                    continue
                gi = section_ifaces[local]
                iface = ifaces[gi]
                t = (((hi << 32) | lo) * iface.ts_mul) // iface.ts_div + iface.ts_offset_ns
                yield (number, t, iface.linktype, gi, buf, pos + 28, caplen, orig, base + pos)
            # Other blocks (SHB handled above, NRB 4, ISB 5, DSB, custom, ...) carry
            # no packets and are skipped by their length.
            pos = end
        self.frames_read = number
        self.bytes_read = base + pos


_ETH_IPV4_IHL5 = b"\x08\x00\x45"
#: pcap record header + the Ethernet/IPv4 bytes the multicast-data test reads (see _pcap_run).
_PCAP_WHOLE_LE = struct.Struct("<IIII12x3s5x2sxB2x8s")
_PCAP_WHOLE_BE = struct.Struct(">IIII12x3s5x2sxB2x8s")
#: Flags/fragment-offset bytes of an unfragmented packet (MF clear, offset 0; DF and
#: the reserved bit may be anything).
_UNFRAGMENTED = frozenset((b"\x00\x00", b"\x40\x00", b"\x80\x00", b"\xc0\x00"))
_EPB_ETH = {e: struct.Struct(e + "IIIIIII12x3s5x2sxB2x8s") for e in "<>"}


def _pcap_run(buf: bytes, pos: int, size: int, number: int, base: int,
              fast: dict[bytes, list[int]] | None, emit: Callable[[Any], None], unpack_from: Any,
              limit: int, mul: int, linktype: int) -> tuple[int, int]:
    """Walk the complete records of ``buf`` from ``pos``; stop at the first record that
    is incomplete or implausible (the caller reports or refills). Plain multicast UDP
    goes into ``fast``, everything else to ``emit``. Returns (pos, number).

    This loop is the hot path of ``mdiag analyze``: every operation in it costs about
    a tenth of a second per million frames, hence the two variants and the packed
    counter (packets in the high bits, bytes in the low 40 bits, see _FAST_ONE)."""
    if fast is None:
        while pos + 16 <= size:
            sec, frac, caplen, orig = unpack_from(buf, pos)
            s = pos + 16
            end = s + caplen
            if end > size or caplen > limit:
                break
            number += 1
            emit((number, sec * 1_000_000_000 + frac * mul, linktype, 0, buf, s, caplen, orig, base + pos))
            pos = end
        return pos, number
    key = _ETH_IPV4_IHL5
    one = _FAST_ONE
    get = fast.get
    # One unpack gives the record header and every frame byte the test needs:
    # EtherType + version/IHL, flags/fragment offset, protocol, source + group.
    # Near the end of the block (fewer than 50 bytes) the caller takes over.
    whole = (_PCAP_WHOLE_LE if unpack_from.__self__.format[0] == "<" else _PCAP_WHOLE_BE).unpack_from
    unfragmented = _UNFRAGMENTED
    while pos + 50 <= size:
        sec, frac, caplen, orig, eth, frag, proto, pair = whole(buf, pos)
        s = pos + 16
        end = s + caplen
        if end > size or caplen > limit:
            break
        number += 1
        # (when caplen < 34 the other fields are the next record's bytes: caplen decides)
        if eth == key and proto == 17 and 224 <= pair[4] <= 239 and caplen >= 34 and frag in unfragmented:
            stats = get(pair)
            if stats is None:
                fast[pair] = [one + orig, sec, frac, sec, frac]
            else:
                stats[0] += one + orig
                stats[3] = sec
                stats[4] = frac
        else:
            emit((number, sec * 1_000_000_000 + frac * mul, linktype, 0, buf, s, caplen, orig, base + pos))
        pos = end
    return pos, number


def _pcapng_run(buf: bytes, pos: int, size: int, number: int, base: int,
                fast: dict[bytes, list[int]] | None, emit: Callable[[Any], None], head: Any, epb: Any,
                u32: Any, section_info: list[tuple[int, int, int, int, int]]) -> tuple[int, int]:
    """Walk consecutive, complete, well-formed Enhanced Packet Blocks from ``pos``;
    anything else (other blocks, damage, a block past the buffer) is left to the
    caller. Returns (pos, number)."""
    key = _ETH_IPV4_IHL5
    known = len(section_info)
    # Block header, EPB fields and the Ethernet/IPv4 bytes the multicast-data test reads
    # (meaningful for untagged Ethernet frames of at least 34 bytes) in one unpack;
    # the last 62 bytes of the buffer are left to the caller.
    whole = _EPB_ETH[head.format[0]].unpack_from
    unfragmented = _UNFRAGMENTED
    while pos + 62 <= size:
        btype, blen, local, hi, lo, caplen, orig, eth, frag, proto, addrs = whole(buf, pos)
        end = pos + blen
        if btype != 6 or blen < 32 or blen & 3 or end > size or u32.unpack_from(buf, end - 4)[0] != blen:
            break
        if caplen > blen - 32 or local >= known:
            break
        gi, linktype, mul, div, offset = section_info[local]
        t = (((hi << 32) | lo) * mul if div == 1 else ((hi << 32) | lo) * mul // div) + offset
        number += 1
        s = pos + 28
        if fast is not None and gi == 0:
            pair = None
            if linktype == 1:
                if (caplen >= 34 and eth == key and proto == 17 and 224 <= addrs[4] <= 239
                        and frag in unfragmented):
                    pair = addrs
            elif linktype in _LINK_FAST:
                eo, io, ko = _LINK_FAST[linktype]
                i = s + io
                if (caplen >= io + 20 and buf[i] == 0x45 and buf[i + 9] == 17 and 224 <= buf[i + 16] <= 239
                        and (eo is None or buf[s + eo:s + eo + 2] == b"\x08\x00")
                        and not (buf[i + 6] & 0x3F or buf[i + 7])):
                    pair = buf[i + 12:i + 20] if ko is None else buf[s + ko:s + ko + 4] + buf[i + 12:i + 20]
            if pair is not None:
                stats = fast.get(pair)
                if stats is None:
                    fast[pair] = [_FAST_ONE + orig, t, 0, t, 0]
                else:
                    stats[0] += _FAST_ONE + orig
                    stats[3] = t
                pos = end
                continue
        emit((number, t, linktype, gi, buf, s, caplen, orig, base + pos))
        pos = end
    return pos, number


#: Link types whose plain multicast data the reader counts itself:
#: linktype -> (EtherType/protocol offset or None for raw IP, IPv4 offset,
#: interface-index offset or None). Keys of ``multicast_udp`` are the 8 address
#: bytes, prefixed by the 4-byte interface index for Linux cooked v2.
_LINK_FAST: dict[int, tuple[int | None, int, int | None]] = {
    1: (12, 14, None),        # Ethernet (untagged)
    113: (14, 16, None),      # Linux cooked SLL
    276: (0, 20, 4),          # Linux cooked SLL2 (tcpdump -i any)
    101: (None, 0, None), 228: (None, 0, None), 12: (None, 0, None), 14: (None, 0, None),
}


def _pcap_run_cooked(buf: bytes, pos: int, size: int, number: int, base: int,
                     fast: dict[bytes, list[int]] | None, emit: Callable[[Any], None], unpack_from: Any,
                     limit: int, mul: int, linktype: int) -> tuple[int, int]:
    """:func:`_pcap_run` for Linux cooked and raw-IP captures (see ``_LINK_FAST``)."""
    eo, io, ko = _LINK_FAST.get(linktype, (None, 0, None))
    if fast is None:
        return _pcap_run(buf, pos, size, number, base, None, emit, unpack_from, limit, mul, linktype)
    one = _FAST_ONE
    get = fast.get
    ipv4 = b"\x08\x00"
    minimum = io + 20
    while pos + 16 <= size:
        sec, frac, caplen, orig = unpack_from(buf, pos)
        s = pos + 16
        end = s + caplen
        if end > size or caplen > limit:
            break
        number += 1
        i = s + io
        if (caplen >= minimum and buf[i] == 0x45 and buf[i + 9] == 17 and 224 <= buf[i + 16] <= 239
                and (eo is None or buf[s + eo:s + eo + 2] == ipv4)
                and not (buf[i + 6] & 0x3F or buf[i + 7])):
            pair = buf[i + 12:i + 20] if ko is None else buf[s + ko:s + ko + 4] + buf[i + 12:i + 20]
            stats = get(pair)
            if stats is None:
                fast[pair] = [one + orig, sec, frac, sec, frac]
            else:
                stats[0] += one + orig
                stats[3] = sec
                stats[4] = frac
        else:
            emit((number, sec * 1_000_000_000 + frac * mul, linktype, 0, buf, s, caplen, orig, base + pos))
        pos = end
    return pos, number


#: One packet in the packed fast-path counter (bytes use the low 40 bits: 1 TB per pair).
_FAST_ONE = 1 << 40
_FAST_BYTES = _FAST_ONE - 1


def _finish_fast(fast: dict[bytes, list[int]], scale: int, mul: int) -> None:
    """Unpack [counter, first s, first frac, last s, last frac] into
    [packets, bytes, first ns, last ns]."""
    for pair, stats in fast.items():
        if len(stats) == 5:
            counter, fs, ff, ls, lf = stats
            fast[pair] = [counter >> 40, counter & _FAST_BYTES, fs * scale + ff * mul, ls * scale + lf * mul]


def _ipv4_network(address: bytes, mask: bytes) -> str:
    """The network of a pcapng if_IPv4addr option ("" when the mask is not a netmask)."""
    import ipaddress

    try:
        return str(ipaddress.IPv4Network(f"{ipaddress.IPv4Address(address)}/{ipaddress.IPv4Address(mask)}",
                                         strict=False))
    except ValueError:
        return ""


def _options(buf: bytes, pos: int, end: int, endian: str) -> Iterator[tuple[int, bytes]]:
    """Yield (code, value) of a pcapng option list, stopping at opt_endofopt."""
    hdr = struct.Struct(endian + "HH")
    while pos + 4 <= end:
        code, length = hdr.unpack_from(buf, pos)
        if code == 0:
            return
        value = buf[pos + 4:pos + 4 + length]
        yield code, value
        pos += 4 + ((length + 3) & ~3)


try:  # zlib is part of every CPython build that has gzip
    from zlib import error as zlib_error
except ImportError:  # pragma: no cover
    zlib_error = OSError  # type: ignore[misc,assignment]


class _Prepend(io.RawIOBase):
    """A raw stream that first returns ``head`` then reads ``rest``."""

    def __init__(self, head: bytes, rest: BinaryIO) -> None:
        self._head = head
        self._rest = rest

    def readable(self) -> bool:
        return True

    def readinto(self, b: bytearray | memoryview) -> int:  # type: ignore[override]
        if self._head:
            n = min(len(b), len(self._head))
            b[:n] = self._head[:n]
            self._head = self._head[n:]
            return n
        data = self._rest.read(len(b))
        n = len(data)
        b[:n] = data
        return n


def open_stream(stream: BinaryIO, *, name: str = "<stream>", close: bool = False) -> Capture:
    """Open a capture from an already open binary stream (compression detected by magic)."""
    src: Any = stream
    if not hasattr(src, "peek"):
        src = io.BufferedReader(_Prepend(b"", stream), buffer_size=BLOCK_SIZE)
    head = bytes(src.peek(6)[:6])
    compression = None
    if head.startswith(_GZIP):
        compression = "gzip"
        src = gzip.GzipFile(fileobj=src, mode="rb")
    elif head.startswith(_BZIP2):
        compression = "bzip2"
        src = bz2.BZ2File(src, mode="rb")
    elif head.startswith(_XZ):
        compression = "xz"
        src = lzma.LZMAFile(src, mode="rb")
    if compression is not None:
        src = io.BufferedReader(src, buffer_size=BLOCK_SIZE)
        try:
            src.peek(4)
        except (OSError, EOFError, lzma.LZMAError, zlib_error) as exc:
            raise InputError(f"{name}: {compression}-compressed but unreadable ({exc})") from None
    return Capture(src, name=name, close=close, compression=compression)


def open_capture(path: str | os.PathLike[str], *, stdin: BinaryIO | None = None) -> Capture:
    """Open a capture by path, or ``"-"`` for standard input.

    Raises :class:`InputError` (exit 2) when the file is missing, unreadable or
    not a capture. Use as a context manager.
    """
    text = os.fspath(path)
    if text == "-":
        source = stdin if stdin is not None else sys.stdin.buffer
        return open_stream(source, name="stdin", close=False)
    try:
        raw = open(text, "rb", buffering=BLOCK_SIZE)  # noqa: SIM115 - closed by Capture
    except FileNotFoundError:
        raise InputError(f"{text}: no such file; give the path of a pcap or pcapng capture") from None
    except IsADirectoryError:
        raise InputError(f"{text}: is a directory; give the path of a pcap or pcapng capture") from None
    except PermissionError:
        raise InputError(f"{text}: permission denied; check the file's permissions") from None
    except OSError as exc:
        raise InputError(f"{text}: cannot open ({exc.strerror})") from None
    try:
        return open_stream(raw, name=text, close=True)
    except BaseException:
        raw.close()
        raise
