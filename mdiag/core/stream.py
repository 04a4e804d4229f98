"""The test-stream payload format and the receiver's per-stream statistics.

Every datagram of an ``mdiag send`` stream starts with a 32-byte header, network byte order::

    offset size  field
       0     4   magic b"MDGS"
       4     1   version (1)
       5     1   flags: bit 0 END (the stream is over; sequence = packets sent)
       6     2   header length (32; receivers skip to it, so later versions may grow it)
       8     4   stream id (random per run: tells two senders on one group apart)
      12     8   sequence number, 0-based
      20     8   send time, ns since the Unix epoch (sender's CLOCK_REALTIME)
      28     4   clock id: first 4 bytes of the sender's kernel boot id (0 = unknown);
                 equal ids mean sender and receiver read the same clock
    32..         filler up to the datagram size

The statistics follow the usual definitions: loss and reordering as in RFC 4737 (a packet is
reordered when its sequence number is below one already seen), duplicates as in RFC 5560,
interarrival jitter as in RFC 3550 section 6.4.1 / A.8 (``J += (|D| - J) / 16`` over
transit-time differences, independent of any clock offset), one-way latency only when sender
and receiver share a clock. Nothing here reads a clock: receive times are passed in.
"""

from __future__ import annotations

import struct
from array import array
from dataclasses import dataclass, replace
from typing import Any

MAGIC = b"MDGS"
VERSION = 1
HEADER = struct.Struct("!4sBBHIQQI")
HEADER_SIZE = HEADER.size  # 32
#: Offsets of the fields a sender rewrites per packet.
SEQ_TIME = struct.Struct("!QQ")
SEQ_TIME_OFFSET = 12
FLAG_END = 0x01
#: Duplicates are recognised within this many sequence numbers of the newest (power of two).
#: 8 bytes each per stream: receivers of many streams pass a smaller window.
DEFAULT_WINDOW = 1 << 16
SMALL_WINDOW = 1 << 11


class StreamFormatError(ValueError):
    """The bytes are not an mdiag test-stream datagram (the message says why)."""


@dataclass(frozen=True, slots=True)
class StreamHeader:
    """A decoded test-stream header."""

    stream_id: int
    sequence: int
    send_ns: int
    clock_id: int = 0
    flags: int = 0
    header_length: int = HEADER_SIZE
    version: int = VERSION

    def __post_init__(self) -> None:
        if not 0 <= self.stream_id <= 0xFFFFFFFF:
            raise StreamFormatError(f"stream id {self.stream_id} does not fit 32 bits")
        if not 0 <= self.sequence <= 0xFFFFFFFFFFFFFFFF:
            raise StreamFormatError(f"sequence {self.sequence} does not fit 64 bits")
        if not 0 <= self.send_ns <= 0xFFFFFFFFFFFFFFFF:
            raise StreamFormatError(f"send time {self.send_ns} does not fit 64 bits")
        if not 0 <= self.clock_id <= 0xFFFFFFFF:
            raise StreamFormatError(f"clock id {self.clock_id} does not fit 32 bits")
        if self.header_length < HEADER_SIZE:
            raise StreamFormatError(f"header length {self.header_length} is below {HEADER_SIZE}")

    @property
    def is_end(self) -> bool:
        return bool(self.flags & FLAG_END)

    def pack(self) -> bytes:
        return HEADER.pack(MAGIC, self.version, self.flags, self.header_length, self.stream_id,
                           self.sequence, self.send_ns, self.clock_id)


def is_stream(data: bytes | bytearray | memoryview) -> bool:
    """True when ``data`` starts like a test-stream datagram (magic and minimum length)."""
    return len(data) >= HEADER_SIZE and bytes(data[:4]) == MAGIC


def decode_header(data: bytes | bytearray | memoryview) -> StreamHeader:
    """Decode the header at the start of ``data``; :class:`StreamFormatError` if it is not one."""
    if len(data) < HEADER_SIZE:
        raise StreamFormatError(f"{len(data)} bytes is shorter than the {HEADER_SIZE}-byte header")
    magic, version, flags, hlen, sid, seq, ts, clock = HEADER.unpack_from(data, 0)
    if magic != MAGIC:
        raise StreamFormatError(f"magic {magic!r} is not {MAGIC!r}")
    if version != VERSION:
        raise StreamFormatError(f"version {version} is not supported (this mdiag reads {VERSION})")
    if hlen < HEADER_SIZE or hlen > len(data):
        raise StreamFormatError(f"header length {hlen} is outside {HEADER_SIZE}..{len(data)}")
    return StreamHeader(sid, seq, ts, clock, flags, hlen, version)


def template(size: int, stream_id: int, clock_id: int = 0) -> bytearray:
    """A ``size``-byte datagram with the header filled in and sequence/time zero.

    Senders keep one template and rewrite sequence and time in place with
    ``SEQ_TIME.pack_into(buf, SEQ_TIME_OFFSET, seq, now_ns)``. The filler is a repeating
    byte pattern, so a corrupted payload is visible in a capture.
    """
    if size < HEADER_SIZE:
        raise StreamFormatError(f"a test-stream datagram needs at least {HEADER_SIZE} bytes, not {size}")
    buf = bytearray(size)
    HEADER.pack_into(buf, 0, MAGIC, VERSION, 0, HEADER_SIZE, stream_id, 0, 0, clock_id)
    for i in range(HEADER_SIZE, size):
        buf[i] = i & 0xFF
    return buf


def end_marker(stream_id: int, sent: int, send_ns: int, clock_id: int = 0) -> bytes:
    """The END datagram: tells receivers the stream is over after ``sent`` packets."""
    return StreamHeader(stream_id, sent, send_ns, clock_id, FLAG_END).pack()


@dataclass(frozen=True, slots=True)
class StreamReport:
    """Statistics of one stream (group, sender, stream id) at one moment. Times in ns."""

    group: str
    sender: str
    stream_id: int
    received: int
    lost: int
    duplicated: int
    reordered: int
    first_sequence: int | None
    last_sequence: int | None
    expected: int
    ended: bool
    jitter_ns: float
    latency_min_ns: int | None
    latency_avg_ns: float | None
    latency_max_ns: int | None
    join_to_first_ns: int | None
    first_recv_ns: int | None
    last_recv_ns: int | None
    bytes: int

    @property
    def loss_ratio(self) -> float:
        return self.lost / self.expected if self.expected else 0.0

    def counted_from_zero(self) -> StreamReport:
        """The same stream with loss counted from sequence 0: every datagram before the first one
        seen counts as lost (the receiver was joined before the sender started, so the head of the
        stream should have arrived)."""
        head = self.first_sequence or 0
        return replace(self, lost=self.lost + head, expected=self.expected + head)

    def to_json(self) -> dict[str, Any]:
        def ms(value: float | None) -> float | None:
            return None if value is None else round(value / 1e6, 3)

        return {
            "group": self.group, "sender": self.sender, "stream_id": self.stream_id,
            "received": self.received, "lost": self.lost, "loss_ratio": round(self.loss_ratio, 6),
            "duplicated": self.duplicated, "reordered": self.reordered,
            "expected": self.expected, "ended": self.ended,
            "first_sequence": self.first_sequence, "last_sequence": self.last_sequence,
            "jitter_ms": ms(self.jitter_ns),
            "latency_ms": None if self.latency_min_ns is None else {
                "min": ms(self.latency_min_ns), "avg": ms(self.latency_avg_ns),
                "max": ms(self.latency_max_ns)},
            "join_to_first_ms": ms(self.join_to_first_ns),
            "bytes": self.bytes,
        }


_NO_MIN = 1 << 63
_NO_MAX = -(1 << 63)


class StreamStats:
    """Accumulates one stream's statistics, packet by packet (RFC 4737 / RFC 3550 A.8).

    ``observe`` is the hot path of a receiver: a handful of integer operations per packet.
    Duplicates are recognised within ``window`` sequence numbers of the newest one; an
    older packet is counted as reordered (it cannot be told from a duplicate any more).
    """

    __slots__ = ("group", "sender", "stream_id", "join_ns", "_mask", "_slots", "received",
                 "duplicated", "reordered", "lowest", "highest", "end_total", "jitter",
                 "_last_transit", "lat_min", "lat_max", "lat_sum", "first_recv_ns",
                 "last_recv_ns", "bytes", "same_clock")

    def __init__(self, group: str, sender: str, stream_id: int, *, join_ns: int | None = None,
                 same_clock: bool = False, window: int = DEFAULT_WINDOW) -> None:
        if window < 2 or window & (window - 1):
            raise ValueError(f"window must be a power of two >= 2, not {window}")
        self.group = group
        self.sender = sender
        self.stream_id = stream_id
        self.join_ns = join_ns
        self.same_clock = same_clock
        self._mask = window - 1
        # a compact array, not a list: no per-slot objects for the garbage collector to walk
        self._slots = array("q", [-1]) * window
        self.received = 0
        self.duplicated = 0
        self.reordered = 0
        self.lowest = -1
        self.highest = -1
        self.end_total: int | None = None
        self.jitter = 0.0
        self._last_transit = 0
        self.lat_min = _NO_MIN
        self.lat_max = _NO_MAX
        self.lat_sum = 0
        self.first_recv_ns: int | None = None
        self.last_recv_ns: int | None = None
        self.bytes = 0

    def observe(self, seq: int, send_ns: int, recv_ns: int, size: int = 0) -> bool:
        """Count one data packet; returns False when it was a duplicate.

        The in-order path (the common one) touches as few attributes as possible: this runs
        for every datagram a receiver gets.
        """
        highest = self.highest
        if seq > highest:
            if highest < 0:  # the first packet
                self.lowest = seq
                self.first_recv_ns = recv_ns
                self._last_transit = recv_ns - send_ns
            self.highest = seq
        else:
            if highest - seq <= self._mask and self._slots[seq & self._mask] == seq:
                self.duplicated += 1
                return False
            self.reordered += 1
            if seq < self.lowest:
                self.lowest = seq
        self._slots[seq & self._mask] = seq
        self.received += 1
        self.bytes += size
        self.last_recv_ns = recv_ns
        transit = recv_ns - send_ns
        d = transit - self._last_transit
        self.jitter += ((d if d >= 0 else -d) - self.jitter) * 0.0625  # RFC 3550 A.8: 1/16
        self._last_transit = transit
        if self.same_clock:
            if transit < self.lat_min:
                self.lat_min = transit
            if transit > self.lat_max:
                self.lat_max = transit
            self.lat_sum += transit
        return True

    def end(self, total: int) -> None:
        """The sender's END marker: ``total`` packets (sequence 0..total-1) were sent."""
        self.end_total = total

    @property
    def expected(self) -> int:
        """Packets that should have arrived since the first one seen (RFC 4737 style)."""
        if self.received == 0:
            return 0
        top = self.highest + 1
        if self.end_total is not None and self.end_total > top:
            top = self.end_total
        return top - self.lowest

    @property
    def lost(self) -> int:
        return max(0, self.expected - self.received)

    def report(self) -> StreamReport:
        latency = self.same_clock and self.received > 0
        join_to_first = (self.first_recv_ns - self.join_ns
                         if self.first_recv_ns is not None and self.join_ns is not None else None)
        return StreamReport(
            group=self.group, sender=self.sender, stream_id=self.stream_id,
            received=self.received, lost=self.lost, duplicated=self.duplicated,
            reordered=self.reordered,
            first_sequence=self.lowest if self.received else None,
            last_sequence=self.highest if self.received else None,
            expected=self.expected, ended=self.end_total is not None, jitter_ns=self.jitter,
            latency_min_ns=self.lat_min if latency else None,
            latency_avg_ns=self.lat_sum / self.received if latency else None,
            latency_max_ns=self.lat_max if latency else None,
            join_to_first_ns=join_to_first, first_recv_ns=self.first_recv_ns,
            last_recv_ns=self.last_recv_ns, bytes=self.bytes)
