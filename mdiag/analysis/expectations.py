"""CI expectations: ``--expect`` assertions evaluated against a :class:`Report`.

Syntax (docs/analyze.md has the full table)::

    [vlan=N:][group=G:]KEY[OP VALUE]

``OP`` is one of ``= == != >= <= > <``. Durations take ``ms``, ``s`` or ``m``
(a bare number is seconds). Keys that name a limit (``max-...``) read ``=`` as
"at most". Examples::

    querier=198.18.0.1            the querier throughout (from its first query to the end)
    querier@end=198.18.0.1        the querier at the end of the capture
    querier@any=198.18.0.1        the querier at some time
    igmp-version=3                the querier's IGMP version
    max-leave-latency=3s          every leave ended within 3 s
    no-findings>=warning          no finding of severity warning or worse
    no-finding=querier-gap        no finding with this code
    group=239.1.1.1:members>=2    at least two hosts are members at the end
    vlan=10:querier=198.18.0.1    the same, on VLAN 10 only
    mld-querier=fe80::1           the elected MLD querier (IPv6 segments)
    mld-version=2                 the MLD querier's version
    group=ff05::1:3:members>=1    an IPv6 group (or group=[ff05::1:3]:members>=1)

Segment keys judge the IGMP segments; their ``mld-`` twins the MLD ones (each
address family of a segment is its own report, as routers keep them apart).

Parsing problems raise :class:`ExpectationError` (an InputError: exit status 2)
naming the expectation and what to write instead.
"""

from __future__ import annotations

import operator
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from ipaddress import AddressValueError, IPv4Address, IPv6Address, ip_address
from typing import Any

from mdiag.analysis.report import GroupReport, Report, SegmentReport
from mdiag.core.findings import Severity
from mdiag.core.querier import QUERIER_WHEN, QUERIER_WHEN_TEXT, querier_held, querier_story
from mdiag.errors import InputError

__all__ = ["Expectation", "ExpectationError", "Result", "evaluate", "parse", "parse_file", "KEYS"]


class ExpectationError(InputError):
    """An expectation cannot be understood."""


_OPS: dict[str, Callable[[Any, Any], bool]] = {
    ">=": operator.ge, "<=": operator.le, "!=": operator.ne, "==": operator.eq,
    "=": operator.eq, ">": operator.gt, "<": operator.lt,
}
_SPLIT = re.compile(r"^([a-z0-9-]+)(?:@([a-z-]+))?\s*(>=|<=|!=|==|=|>|<)\s*(.*)$")
#: When a ``querier`` expectation must hold, and how each qualifier reads (one rule in core,
#: shared with ``mdiag querier --expect``).
WHEN, _WHEN_TEXT = QUERIER_WHEN, QUERIER_WHEN_TEXT

# key -> (kind of value, scope, help). Scope: "capture", "segment" or "group".
KEYS: dict[str, tuple[str, str, str]] = {
    "querier": ("address", "segment", "the elected querier ('none' for none): throughout, from the first "
                "query to the end (querier@end=IP: at the end; querier@any=IP: at some time)"),
    "queriers": ("int", "segment", "routers (not 0.0.0.0 proxies) that sent general queries"),
    "igmp-version": ("int", "segment", "IGMP version of the elected querier"),
    "elections": ("int", "segment", "changes of elected querier (the first election counts)"),
    "gaps": ("int", "segment", "periods without a general query longer than OQPI"),
    "mld-querier": ("address6", "segment", "the elected MLD querier throughout, as querier "
                                           "(mld-querier@end=IP, mld-querier@any=IP)"),
    "mld-queriers": ("int", "segment", "MLD routers (link-local, not ::) that sent general queries"),
    "mld-version": ("int", "segment", "MLD version of the elected MLD querier (1 or 2)"),
    "mld-elections": ("int", "segment", "changes of elected MLD querier"),
    "mld-gaps": ("int", "segment", "periods without an MLD general query longer than OQPI"),
    "max-leave-latency": ("duration", "capture", "longest time from a leave to the end of membership"),
    "max-join-latency": ("duration", "capture", "longest time from a first join to the group's first data"),
    "groups": ("int", "capture", "groups that had members at some point"),
    "findings": ("int", "capture", "number of findings (any severity)"),
    "no-findings": ("severity", "capture", "no finding at or above this severity (use >=)"),
    "no-finding": ("code", "capture", "no finding with this code"),
    "finding": ("code", "capture", "at least one finding with this code"),
    "frames": ("int", "capture", "frames in the capture"),
    "igmp-messages": ("int", "capture", "IGMP messages decoded"),
    "mld-messages": ("int", "capture", "MLD messages decoded"),
    "members": ("int", "group", "hosts that are members at the end of the capture"),
    "state": ("word", "group", "include, exclude, absent (left/expired) or never (data only)"),
    "joined": ("bool", "group", "the group had members at some point (yes/no)"),
    "reporting-hosts": ("int", "group", "hosts that reported the group"),
    "leaves": ("int", "group", "leaves seen for the group"),
    "leave-latency": ("duration", "group", "longest leave-to-expiry time of the group"),
    "join-latency": ("duration", "group", "time from the first join to the first data packet"),
    "packets": ("int", "group", "multicast data packets to the group"),
    "senders": ("int", "group", "hosts that sent data to the group"),
    "compatibility-mode": ("int", "group", "group compatibility mode at the end (IGMP 1, 2 or 3; MLD 1 or 2)"),
}
#: Keys whose values can only be in a range: anything else can never pass, so it is a usage error.
_RANGES: dict[str, tuple[int, int]] = {"igmp-version": (1, 3), "compatibility-mode": (1, 3)}
_LIMIT_KEYS = {"max-leave-latency", "leave-latency", "max-join-latency", "join-latency"}


@dataclass(frozen=True, slots=True)
class Expectation:
    """One parsed expectation."""

    text: str
    key: str
    op: str
    value: Any
    vlan: int | None = None
    group: IPv4Address | IPv6Address | None = None
    #: for ``querier``: "throughout" (the default), "at-end" or "any-time"
    when: str = "throughout"


@dataclass(frozen=True, slots=True)
class Result:
    """The verdict of one expectation on one capture."""

    expectation: Expectation
    passed: bool
    actual: str
    detail: str

    def to_json(self) -> dict[str, Any]:
        return {"expectation": self.expectation.text, "passed": self.passed,
                "actual": self.actual, "detail": self.detail}


def _duration(text: str) -> float:
    match = re.fullmatch(r"\s*([0-9]*\.?[0-9]+)\s*(ms|s|m|min)?\s*", text)
    if not match:
        raise ValueError(f"{text!r} is not a duration (write 3s, 250ms, 1m or a number of seconds)")
    value = float(match.group(1))
    unit = match.group(2) or "s"
    return value / 1000 if unit == "ms" else value * 60 if unit in ("m", "min") else value


def _value(kind: str, text: str) -> Any:
    text = text.strip()
    if kind == "int":
        if not re.fullmatch(r"[0-9]+", text):
            raise ValueError(f"{text!r} is not a whole number")
        return int(text)
    if kind == "duration":
        return _duration(text)
    if kind == "address":
        if text.lower() == "none":
            return None
        try:
            return IPv4Address(text)
        except (AddressValueError, ValueError):
            raise ValueError(f"{text!r} is not an IPv4 address (or 'none')") from None
    if kind == "address6":
        if text.lower() == "none":
            return None
        try:
            return IPv6Address(text)
        except (AddressValueError, ValueError):
            raise ValueError(f"{text!r} is not an IPv6 address (or 'none')") from None
    if kind == "severity":
        return Severity.parse(text)
    if kind == "bool":
        low = text.lower()
        if low in ("yes", "true", "1"):
            return True
        if low in ("no", "false", "0"):
            return False
        raise ValueError(f"{text!r} is not yes or no")
    if kind == "word":
        low = text.lower()
        if low not in ("include", "exclude", "absent", "never"):
            raise ValueError(f"{text!r} is not include, exclude, absent or never")
        return low
    if kind == "code":
        if not re.fullmatch(r"[a-z0-9-]+", text):
            raise ValueError(f"{text!r} is not a finding code (lower-case, hyphenated)")
        return text
    raise AssertionError(kind)


def parse(text: str) -> Expectation:
    """Parse one expectation; raises ExpectationError with a one-line explanation."""
    original = text.strip()
    rest = original
    vlan: int | None = None
    group: IPv4Address | IPv6Address | None = None
    try:
        while True:
            if rest.startswith("vlan=") and ":" in rest:
                head, rest = rest[5:].split(":", 1)
                if not head.isdigit() or not 0 <= int(head) <= 4095:
                    raise ValueError(f"VLAN {head!r} is not 0..4095")
                vlan = int(head)
                continue
            if rest.startswith("group=") and ":" in rest:
                head, rest = _split_group(rest[6:])
                try:
                    group = ip_address(head)
                except ValueError:
                    raise ValueError(f"{head!r} is not a group address (IPv4 or IPv6)") from None
                if not group.is_multicast:
                    raise ValueError(f"{head} is not a multicast group")
                continue
            break
        match = _SPLIT.match(rest)
        qualifier = None
        if match:
            key, qualifier, op, raw = match.groups()
        elif rest in ("joined",):
            key, op, raw = rest, "=", "yes"
        else:
            raise ValueError("expected KEY OP VALUE, e.g. querier=198.18.0.1 or "
                             "group=239.1.1.1:members>=2")
        if key not in KEYS:
            raise ValueError(f"unknown key {key!r} (keys: {', '.join(KEYS)})")
        when = "throughout"
        if qualifier is not None:
            if key not in ("querier", "mld-querier"):
                raise ValueError(f"only querier and mld-querier take a time qualifier (@end, @any, "
                                 f"@throughout), not {key}")
            if qualifier not in WHEN:
                raise ValueError(f"@{qualifier}: write querier@end, querier@any or querier@throughout")
            when = WHEN[qualifier]
        kind, scope, _ = KEYS[key]
        if scope == "group" and group is None:
            raise ValueError(f"{key} needs a group: write group=G:{key}{op}{raw}")
        if scope != "group" and group is not None:
            raise ValueError(f"{key} is not a per-group key; drop the group= prefix")
        if key in _LIMIT_KEYS and op in ("=", "=="):
            op = "<="
        if key == "no-findings" and op in ("=", "=="):
            op = ">="
        if kind in ("address", "word", "bool", "code") and op not in ("=", "==", "!="):
            raise ValueError(f"{key} compares with = or != only")
        if key in ("no-finding", "finding") and op != "=":
            raise ValueError(f"write {key}=CODE")
        if key == "no-findings" and op != ">=":
            raise ValueError("write no-findings>=SEVERITY (info, warning or error)")
        value = _value(kind, raw)
        if key in _RANGES and not _RANGES[key][0] <= value <= _RANGES[key][1]:
            low, high = _RANGES[key]
            raise ValueError(f"{key} is {low}..{high}, not {value}")
    except ValueError as exc:
        raise ExpectationError(f"expectation {original!r}: {exc}") from None
    return Expectation(original, key, op, value, vlan, group, when)


def _split_group(text: str) -> tuple[str, str]:
    """``G:REST`` into G and REST; an IPv6 G holds colons, so G is ``[G]`` or the longest
    prefix before a colon that is an address followed by a key."""
    if text.startswith("["):
        head, sep, rest = text[1:].partition("]:")
        if sep:
            return head, rest
    cuts = [i for i, c in enumerate(text) if c == ":"]
    for i in reversed(cuts):
        head, rest = text[:i], text[i + 1:]
        try:
            ip_address(head)
        except ValueError:
            continue
        if _SPLIT.match(rest) or rest == "joined" or rest.startswith(("vlan=", "group=")):
            return head, rest
    return text.split(":", 1)[0], text.split(":", 1)[1]


def parse_file(lines: Iterable[str], name: str) -> list[Expectation]:
    """Parse an expectation file: one per line, ``#`` comments, blank lines ignored."""
    out = []
    for number, line in enumerate(lines, 1):
        text = line.split("#", 1)[0].strip()
        if not text:
            continue
        try:
            out.append(parse(text))
        except ExpectationError as exc:
            raise ExpectationError(f"{name}:{number}: {exc.message}") from None
    return out


def _segments(report: Report, exp: Expectation) -> list[SegmentReport]:
    segs = report.segments
    if exp.vlan is not None:
        segs = [s for s in segs if exp.vlan in s.segment.vlans]
    return segs


def _fmt(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.3f}s" if value < 10 else f"{value:.1f}s"
    if value is None:
        return "none"
    if isinstance(value, bool):
        return "yes" if value else "no"
    return str(value)


def evaluate(report: Report, expectations: Iterable[Expectation]) -> list[Result]:
    """Judge each expectation against ``report``."""
    return [_evaluate(report, exp) for exp in expectations]


def _compare(exp: Expectation, actual: Any) -> bool:
    if actual is None and exp.value is not None and not isinstance(exp.value, str):
        return False
    return _OPS[exp.op](actual, exp.value)


def _evaluate(report: Report, exp: Expectation) -> Result:
    key = exp.key
    want = f"{key} {exp.op} {_fmt(exp.value)}"
    if KEYS[key][1] == "segment":
        family = 6 if key.startswith("mld-") else 4
        segs = [s for s in _segments(report, exp) if s.family == family and (s.igmp_messages or s.querier)]
        if not segs:
            return Result(exp, False, "no segment",
                          f"no segment with {'MLD' if family == 6 else 'IGMP'}{_vlan(exp)} in the capture")
        failures = []
        actuals = []
        if key in ("querier", "mld-querier"):
            want = f"{key} {_WHEN_TEXT.get(exp.when, exp.when)} {exp.op} {_fmt(exp.value)}"
        for seg in segs:
            if key in ("querier", "mld-querier"):
                ok, story = _querier_held(seg, exp)
                actuals.append(f"{seg.name}: {story}")
                if not ok:
                    failures.append(f"{seg.name} had {story}")
                continue
            actual = _segment_value(seg, key)
            actuals.append(f"{seg.name}: {_fmt(actual)}")
            if not _compare(exp, actual):
                failures.append(f"{seg.name} has {_fmt(actual)}")
        actual_text = "; ".join(actuals)
        if failures:
            return Result(exp, False, actual_text, f"expected {want}, but " + "; ".join(failures))
        return Result(exp, True, actual_text, f"{want} on {len(segs)} segment(s)")
    if KEYS[key][1] == "group":
        found = [(s, g) for s in _segments(report, exp) for g in s.groups if g.group == exp.group]
        if not found:
            missing: Any = {"state": "never", "joined": False}.get(key, 0 if KEYS[key][0] == "int" else None)
            ok = missing is not None and _compare(exp, missing)
            return Result(exp, ok, _fmt(missing), f"{exp.group} never seen{_vlan(exp)}"
                          + ("" if ok else f"; expected {want}"))
        failures = []
        actuals = []
        for seg, group in found:
            actual = _group_value(group, key)
            actuals.append(f"{seg.name}: {_fmt(actual)}")
            if not _compare(exp, actual):
                failures.append(f"{exp.group} on {seg.name} has {_fmt(actual)}")
        if failures:
            return Result(exp, False, "; ".join(actuals), f"expected {want}, but " + "; ".join(failures))
        return Result(exp, True, "; ".join(actuals), f"{exp.group}: {want}")
    # capture scope
    findings = report.findings
    if exp.vlan is not None:
        names = {s.name for s in _segments(report, exp)}
        findings = [f for f in findings if f.context.get("segment") in names]
    if key == "no-findings":
        bad = [f for f in findings if f.severity >= exp.value]
        if bad:
            codes = sorted({f.code for f in bad})
            first = bad[0]
            return Result(exp, False, f"{len(bad)} finding(s): {', '.join(codes)}",
                          f"expected no finding at {exp.value} or worse; first: [{first.code}] {first.message}"
                          + (f" (frame {first.frame})" if first.frame else ""))
        return Result(exp, True, "0", f"no finding at {exp.value} or worse")
    if key in ("no-finding", "finding"):
        hits = [f for f in findings if f.code == exp.value]
        ok = not hits if key == "no-finding" else bool(hits)
        detail = (f"[{hits[0].code}] {hits[0].message}" if hits else f"no {exp.value} finding")
        return Result(exp, ok, str(len(hits)), detail)
    actual = _capture_value(report, key, findings)
    ok = _compare(exp, actual)
    return Result(exp, ok, _fmt(actual), (f"{want}" if ok else f"expected {want}, got {_fmt(actual)}"))


def _vlan(exp: Expectation) -> str:
    return f" on VLAN {exp.vlan}" if exp.vlan is not None else ""


def _querier_held(seg: SegmentReport, exp: Expectation) -> tuple[bool, str]:
    """Whether the querier expectation holds on ``seg`` (at the end, throughout its
    querier spans, or at some time) and the querier story as text."""
    spans = seg.querier_spans
    story = querier_story(spans)
    want = str(exp.value) if exp.value is not None else None
    held = querier_held(spans, seg.querier, want, exp.when)
    if exp.when == "at-end":
        story = f"{seg.querier or 'none'} at the end" + (f" ({story})" if len(spans) > 1 else "")
    return (held if exp.op in ("=", "==") else not held), story


def _segment_value(seg: SegmentReport, key: str) -> Any:
    key = key.removeprefix("mld-")
    if key == "querier":
        return ip_address(seg.querier) if seg.querier else None
    if key == "queriers":
        return sum(1 for r in seg.routers if not r.proxy and r.general_queries)
    if key in ("igmp-version", "version"):
        return seg.querier_version
    if key == "elections":
        return len(seg.elections)
    if key == "gaps":
        return len(seg.gaps)
    raise AssertionError(key)


def _group_value(group: GroupReport, key: str) -> Any:
    if key == "members":
        return len(group.members)
    if key == "state":
        return group.state
    if key == "joined":
        return bool(group.detail.get("joins"))
    if key == "reporting-hosts":
        return len(group.reporting_hosts)
    if key == "leaves":
        return group.leaves
    if key == "leave-latency":
        return group.max_leave_latency
    if key == "join-latency":
        return group.join_latency
    if key == "packets":
        return group.data.packets if group.data else 0
    if key == "senders":
        return len(group.data.senders) if group.data else 0
    if key == "compatibility-mode":
        return group.compatibility_mode
    raise AssertionError(key)


def _capture_value(report: Report, key: str, findings: list[Any]) -> Any:
    if key == "max-leave-latency":
        values = report.leave_latencies()
        return max(values) if values else 0.0
    if key == "max-join-latency":
        values = report.join_latencies()
        return max(values) if values else 0.0
    if key == "groups":
        return len({g.group for _, g in report.all_groups() if g.detail.get("joins")})
    if key == "findings":
        return len(findings)
    if key == "frames":
        return report.counters.get("frames", 0)
    if key == "igmp-messages":
        return report.counters.get("igmp", 0)
    if key == "mld-messages":
        return report.counters.get("mld", 0)
    raise AssertionError(key)
