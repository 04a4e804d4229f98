"""Bounded collection of findings: the first occurrence per key, plus a count.

A capture with a million bad checksums must not hold a million Finding values.
State machines record through :meth:`FindingLog.add` with a de-duplication key;
the first finding for a key is kept (with its time and frame) and later ones only
bump its ``repeats`` counter, reported in the finding's ``context["count"]``.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Iterator

from mdiag.core.findings import Finding, Severity

__all__ = ["FindingLog"]


class FindingLog:
    """Keeps at most ``limit`` distinct findings (first occurrence per key)."""

    __slots__ = ("_first", "_count", "limit", "dropped", "on_new")

    def __init__(self, limit: int = 10_000, *, on_new: Callable[[Finding], None] | None = None) -> None:
        self._first: dict[Hashable, Finding] = {}
        self._count: dict[Hashable, int] = {}
        self.limit = limit
        #: Called with each finding kept (the first of its key) as it is added.
        self.on_new = on_new
        #: Distinct findings not kept because the limit was reached.
        self.dropped = 0

    def add(self, finding: Finding, key: Hashable | None = None) -> bool:
        """Record ``finding``; returns True when it is the first for its key."""
        if key is None:
            key = (finding.code, finding.message)
        count = self._count.get(key)
        if count is not None:
            self._count[key] = count + 1
            return False
        if len(self._first) >= self.limit:
            self.dropped += 1
            return False
        self._first[key] = finding
        self._count[key] = 1
        if self.on_new is not None:
            self.on_new(finding)
        return True

    def bump(self, key: Hashable) -> bool:
        """Count one more occurrence of an already kept key; False when the key is new
        (then build the Finding and :meth:`add` it). Saves building a Finding per repeat."""
        count = self._count.get(key)
        if count is None:
            return False
        self._count[key] = count + 1
        return True

    def update(self, finding: Finding, key: Hashable, *, repeat: bool = True) -> bool:
        """Record one more occurrence of ``key`` carrying the latest values: the kept
        finding takes ``finding``'s message and context but keeps the time and frame of
        the first occurrence (when it started). With ``repeat`` False it is the same
        occurrence told again with more facts (not counted twice). Returns True when the
        key is new."""
        first = self._first.get(key)
        if first is None:
            return self.add(finding, key)
        if repeat:
            self._count[key] += 1
        self._first[key] = Finding(finding.code, finding.severity, finding.message, finding.rfc,
                                   finding.offset, first.time, first.frame, finding.context)
        return False

    def seen(self, key: Hashable) -> bool:
        return key in self._count

    def __len__(self) -> int:
        return len(self._first)

    def __iter__(self) -> Iterator[Finding]:
        """Findings in time order, each with ``context["count"]`` when repeated."""
        return iter(self.merged())

    def merged(self, *others: FindingLog) -> list[Finding]:
        """The findings of this log and ``others`` in time order, each with
        ``context["count"]`` when repeated."""
        out = []
        for log in (self, *others):
            out.extend(log._counted())
        out.sort(key=lambda f: (f.time if f.time is not None else -1.0, f.frame or 0,
                                -int(f.severity), f.code))
        return out

    def _counted(self) -> list[Finding]:
        out = []
        for key, finding in self._first.items():
            count = self._count[key]
            if count > 1:
                context = dict(finding.context)
                context["count"] = count
                finding = Finding(finding.code, finding.severity, finding.message, finding.rfc,
                                  finding.offset, finding.time, finding.frame, context)
            out.append(finding)
        return out

    def forget(self, before: float) -> int:
        """Drop the findings first seen before ``before`` (their keys too: a repeat counts
        as new again), as a long-running monitor does to stay bounded. Findings without
        a time stay. Returns how many were dropped."""
        old = [key for key, finding in self._first.items()
               if finding.time is not None and finding.time < before]
        for key in old:
            del self._first[key]
            del self._count[key]
        return len(old)

    def worst(self) -> Severity | None:
        return max((f.severity for f in self._first.values()), default=None)
