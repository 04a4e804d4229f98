"""Write classic pcap files: create, append to an existing one, never clobber by accident.

The only writer of capture files in mdiag (reading is :mod:`mdiag.adapters.capture`).
Files are little-endian pcap 2.4 with microsecond timestamps unless asked for
nanoseconds; appending keeps whatever byte order and resolution the file has, and
refuses a file of another link type. An existing file is overwritten only with
``force=True``.
"""

from __future__ import annotations

import os
import struct
from types import TracebackType
from typing import Any, BinaryIO

from mdiag.errors import InputError

LINKTYPE_ETHERNET = 1
LINKTYPE_RAW = 101

_MAGIC_US = 0xA1B2C3D4
_MAGIC_NS = 0xA1B23C4D


class PcapExists(InputError):  # an OutputExists too (mdiag.adapters.outfile), kept for its callers
    """The output file exists; mdiag does not overwrite it without --force."""


class PcapWriter:
    """``with PcapWriter(path, force=..., append=...) as w: w.write(frame, time_ns)``."""

    def __init__(self, path: str | os.PathLike[str], *, linktype: int = LINKTYPE_ETHERNET,
                 snaplen: int = 262144, nanosecond: bool = False, force: bool = False,
                 append: bool = False, stream: BinaryIO | None = None) -> None:
        """``stream`` writes to an open binary stream (stdout) instead, named ``path`` in errors."""
        self.path = os.fspath(path)
        self.linktype = linktype
        self.count = 0
        #: When appending: records already in the file and the time of the last one.
        self.count_before = 0
        self.last_time_ns: int | None = None
        self._owned = stream is None
        self._output: Any = None
        if stream is not None:
            if append:
                raise InputError(f"{self.path}: cannot append to a stream; give an existing capture file")
            self._stream: BinaryIO = stream
        else:
            from mdiag.adapters.outfile import OutputExists, check_output, is_special, open_output

            exists = os.path.exists(self.path)
            if append and exists and not is_special(self.path) and not os.path.isdir(self.path) \
                    and os.path.getsize(self.path) > 0:
                try:
                    self._stream = open(self.path, "r+b")  # noqa: SIM115 - closed by close()
                except OSError as exc:
                    raise InputError(f"cannot write {self.path}: {exc.strerror or exc}") from None
                self._open_existing()
                return
            if append and exists and is_special(self.path):
                raise InputError(f"{self.path} is not a regular file; --append needs an existing capture file")
            hint = "add --force to overwrite it or --append to add to it"
            try:
                check_output(self.path, force=force or append, hint=hint)
            except OutputExists as exc:
                raise PcapExists(exc.message) from None
            if append and os.path.islink(self.path) and not exists:
                raise InputError(f"{self.path} is a symlink to nothing; --append needs an existing capture file")
            # A new file (or an empty one to append to) is written beside its name and renamed
            # into place when complete (mdiag.adapters.outfile: the rule for every output file).
            self._output = open_output(self.path, force=force or append, hint=hint)
            self._stream = self._output.__enter__()
        self._endian = "<"
        self._nanosecond = nanosecond
        self._stream.write(struct.pack("<IHHiIII", _MAGIC_NS if nanosecond else _MAGIC_US, 2, 4, 0, 0,
                                       snaplen, linktype))

    def _open_existing(self) -> None:
        header = self._stream.read(24)
        if len(header) < 24:
            self._stream.close()
            raise InputError(f"{self.path} is not a pcap file (too short); choose another name or --force")
        for endian in ("<", ">"):
            magic = struct.unpack(endian + "I", header[:4])[0]
            if magic in (_MAGIC_US, _MAGIC_NS):
                break
        else:
            self._stream.close()
            raise InputError(f"{self.path} is not a classic pcap file (pcapng cannot be appended to); "
                             "choose another name or --force")
        self._endian = endian
        self._nanosecond = magic == _MAGIC_NS
        linktype = struct.unpack(endian + "I", header[20:24])[0] & 0x0FFFFFFF
        if linktype != self.linktype:
            self._stream.close()
            raise InputError(f"{self.path} has link type {linktype}, not {self.linktype}; "
                             "write to another file")
        # Walk the record headers to learn the last timestamp, so appended records can
        # keep the capture in time order. A cut-short last record is refused: records
        # written after it could not be read back.
        record = struct.Struct(endian + "IIII")
        scale = 1 if self._nanosecond else 1000
        size = os.fstat(self._stream.fileno()).st_size
        position = 24
        while position < size:
            head = self._stream.read(16)
            if len(head) < 16 or position + 16 + record.unpack(head)[2] > size:
                self._stream.close()
                raise InputError(f"{self.path} ends with a cut-short record (at byte {position}); "
                                 "appending would make the rest unreadable: write to another file")
            seconds, fraction, caplen, _ = record.unpack(head)
            position += 16 + caplen
            self._stream.seek(position)
            self.last_time_ns = seconds * 1_000_000_000 + fraction * scale
            self.count_before += 1
        self._stream.seek(0, os.SEEK_END)

    def write(self, frame: bytes, time_ns: int, orig_len: int | None = None) -> None:
        """Append one record captured at ``time_ns`` (integer nanoseconds since the epoch)."""
        seconds, rest = divmod(int(time_ns), 1_000_000_000)
        fraction = rest if self._nanosecond else rest // 1000
        length = len(frame)
        self._stream.write(struct.pack(self._endian + "IIII", seconds, fraction, length,
                                       length if orig_len is None else orig_len))
        self._stream.write(frame)
        self.count += 1

    def close(self, failed: BaseException | None = None) -> None:
        """Finish the file (a new one appears complete); ``failed``: discard a new file instead."""
        if self._output is not None:
            output, self._output = self._output, None
            if failed is None:
                output.__exit__(None, None, None)
            else:
                output.__exit__(type(failed), failed, failed.__traceback__)
        elif self._owned:
            self._stream.close()
        else:
            self._stream.flush()

    def __enter__(self) -> PcapWriter:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close(exc)


def write_pcap(path: str | os.PathLike[str], frames: list[tuple[int, bytes]], *,
               linktype: int = LINKTYPE_ETHERNET, force: bool = False) -> int:
    """Write ``(time_ns, frame)`` pairs to a new file; returns the number written."""
    with PcapWriter(path, linktype=linktype, force=force) as writer:
        for time_ns, frame in frames:
            writer.write(frame, time_ns)
        return writer.count
