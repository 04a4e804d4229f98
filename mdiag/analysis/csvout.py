"""CSV output of ``mdiag analyze --csv``: one row per (capture, segment, family, group);
``family`` is 4 (IGMP) or 6 (MLD).

Columns are documented in docs/analyze.md and only ever gain new ones at the end.
"""

from __future__ import annotations

import csv
from collections.abc import Iterable
from typing import TextIO

from mdiag.analysis.report import Report

__all__ = ["COLUMNS", "write_csv"]

COLUMNS = ["capture", "segment", "querier", "querier_version", "group", "mac", "state", "members",
           "reporting_hosts", "first_join", "last_report", "leaves", "max_leave_latency", "expires",
           "compatibility_mode", "packets", "bytes", "senders", "join_latency", "family", "member_addresses"]


def _num(value: float | None) -> str:
    return "" if value is None else f"{value:.6f}".rstrip("0").rstrip(".")


def write_csv(reports: Iterable[Report], out: TextIO) -> None:
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(COLUMNS)
    for report in reports:
        for seg in report.segments:
            for g in seg.groups:
                data = g.data
                writer.writerow([
                    report.name, str(seg.segment), seg.querier or "", seg.querier_version or "",
                    str(g.group), g.mac, g.state, len(g.members), len(g.reporting_hosts),
                    _num(g.first_join), _num(g.last_report), g.leaves, _num(g.max_leave_latency),
                    _num(g.expires), g.compatibility_mode or "",
                    data.packets if data else 0, data.bytes if data else 0,
                    " ".join(sorted(data.senders)) if data else "",
                    _num(g.join_latency), seg.family, " ".join(g.members),
                ])
