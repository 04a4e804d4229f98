"""Incident captures: the last N MB of relevant frames, and a pcap around each error.

:class:`FrameRing` keeps the most recent captured frames up to a byte budget (the
frames themselves plus a fixed overhead each), so memory stays bounded whatever
the traffic. :class:`IncidentRecorder` watches the findings: on one at or above
the trigger severity it writes the ring (the frames *before* the finding) to a new
pcap in the incident directory and keeps appending the frames that follow for
``after`` seconds, so the file holds the story around the finding. Findings during
an open incident join it (no second file). Files are never overwritten: a name
that exists gets a numbered suffix; past ``max_files`` incidents in one run,
further ones are counted, not written.

The pcap writer is :class:`mdiag.adapters.pcap_writer.PcapWriter` (passed in, so
tests may give another); times are epoch nanoseconds passed in.
"""

from __future__ import annotations

import os
import re
from collections import deque
from collections.abc import Callable
from datetime import datetime, timezone
from typing import Any

from mdiag.errors import MdiagError

__all__ = ["FRAME_OVERHEAD", "FrameRing", "Incident", "IncidentRecorder"]

#: Bytes counted per kept frame besides its data (the tuple, the bytes header).
FRAME_OVERHEAD = 96


class FrameRing:
    """The most recent frames whose sizes (plus :data:`FRAME_OVERHEAD` each) fit ``max_bytes``."""

    __slots__ = ("max_bytes", "size", "_frames", "evicted")

    def __init__(self, max_bytes: int) -> None:
        if max_bytes < 1:
            raise ValueError("the ring needs at least one byte")
        self.max_bytes = max_bytes
        self.size = 0
        self.evicted = 0
        self._frames: deque[tuple[int, bytes, int]] = deque()

    def add(self, time_ns: int, frame: bytes, orig_len: int) -> None:
        self._frames.append((time_ns, frame, orig_len))
        self.size += len(frame) + FRAME_OVERHEAD
        frames = self._frames
        while self.size > self.max_bytes and frames:
            _, old, _ = frames.popleft()
            self.size -= len(old) + FRAME_OVERHEAD
            self.evicted += 1

    def __len__(self) -> int:
        return len(self._frames)

    def frames(self) -> list[tuple[int, bytes, int]]:
        """``(time_ns, frame, wire length)``, oldest first."""
        return list(self._frames)


class Incident:
    """One incident file being written."""

    __slots__ = ("path", "writer", "until_ns", "codes", "frames_before", "frames_after", "started_ns")

    def __init__(self, path: str, writer: Any, started_ns: int, until_ns: int, code: str) -> None:
        self.path = path
        self.writer = writer
        self.started_ns = started_ns
        self.until_ns = until_ns
        self.codes = [code]
        self.frames_before = 0
        self.frames_after = 0


def _safe(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "-", text)[:60] or "finding"


class IncidentRecorder:
    """Writes a pcap around each triggering finding (see the module docstring).

    ``on_written(incident)`` runs when an incident file is complete.
    """

    def __init__(self, directory: str, ring: FrameRing, *, after: float = 10.0, max_files: int = 100,
                 writer: Callable[..., Any] | None = None,
                 on_written: Callable[[Incident], None] | None = None) -> None:
        if writer is None:
            from mdiag.adapters.pcap_writer import PcapWriter

            writer = PcapWriter
        self.directory = directory
        self.ring = ring
        self.after_ns = int(after * 1e9)
        self.max_files = max_files
        self.writer = writer
        self.on_written = on_written
        self.current: Incident | None = None
        self.written = 0
        self.skipped = 0
        #: writes that failed (disk full...) and the last reason
        self.errors = 0
        self.last_error: str | None = None

    def add(self, time_ns: int, frame: bytes, orig_len: int) -> None:
        """A captured frame: into the ring, and into the open incident."""
        current = self.current
        if current is not None:
            if time_ns > current.until_ns:
                self.close()
            else:
                try:
                    current.writer.write(frame, time_ns, orig_len)
                    current.frames_after += 1
                except OSError as exc:
                    self._failed(exc)
        self.ring.add(time_ns, frame, orig_len)

    def _failed(self, exc: BaseException) -> None:
        """A write failed (disk full...): the incident ends here, the monitor goes on."""
        self.errors += 1
        self.last_error = getattr(exc, "message", None) or getattr(exc, "strerror", None) or str(exc)
        incident = self.current
        self.current = None
        if incident is not None:
            try:
                incident.writer.close()
            except OSError:
                pass

    def trigger(self, now_ns: int, code: str) -> Incident | None:
        """A finding at ``now_ns``: start an incident file (or join the open one).
        Returns the new incident, None when it joined one or the cap was reached."""
        current = self.current
        if current is not None and now_ns <= current.until_ns:
            if code not in current.codes and len(current.codes) < 32:
                current.codes.append(code)
            return None
        self.close()
        if self.written >= self.max_files:
            self.skipped += 1
            return None
        stamp = datetime.fromtimestamp(now_ns / 1e9, timezone.utc).strftime("%Y%m%dT%H%M%SZ")
        base = os.path.join(self.directory, f"incident-{stamp}-{_safe(code)}")
        path = base + ".pcap"
        number = 1
        while os.path.exists(path):
            number += 1
            path = f"{base}-{number}.pcap"
        try:
            writer = self.writer(path)
        except (OSError, MdiagError) as exc:
            self._failed(exc)
            self.skipped += 1
            return None
        incident = Incident(path, writer, now_ns, now_ns + self.after_ns, code)
        self.current = incident
        self.written += 1
        try:
            for time_ns, frame, orig_len in self.ring.frames():
                writer.write(frame, time_ns, orig_len)
                incident.frames_before += 1
        except OSError as exc:
            self._failed(exc)
            return None
        return incident

    def tick(self, now_ns: int) -> None:
        """Close the open incident once its after-window has passed (no frame needed)."""
        if self.current is not None and now_ns > self.current.until_ns:
            self.close()

    def close(self) -> None:
        incident = self.current
        if incident is None:
            return
        self.current = None
        try:
            incident.writer.close()
        except OSError as exc:
            self.current = incident
            self._failed(exc)
            return
        if self.on_written is not None:
            self.on_written(incident)
