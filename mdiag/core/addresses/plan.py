"""Parse channel-plan entries: single groups, ranges and CIDRs, each with an optional label.

One entry per line (or per command-line argument)::

    239.1.1.1                   a single group
    239.1.1.1  BBC One HD       a group with a label (rest of the line)
    239.1.1.1-239.1.1.50        an inclusive range (also 239.1.1.1-50: last octet)
    239.1.0.0/16  sports pool   a CIDR block (host bits must be zero)
    # comment                   blank lines and comments are skipped

The label may also follow a comma, semicolon, tab or ``=`` (``239.1.1.1=BBC``,
handy on the command line). Entries stream: a plan is never
expanded into groups, each entry stays one interval ``[first, last]``.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from mdiag.core.addresses.group import (
    IPV4_MULTICAST_FIRST,
    IPV4_MULTICAST_LAST,
    AddressError,
    format_ipv4,
    parse_ipv4,
)

_SPLIT = re.compile(r"[\s,;]+")
_COMMENT = re.compile(r"\s#(\s|$)")
_DASH_NUMBER = re.compile(r"-\s*\d")


@dataclass(frozen=True, slots=True)
class Entry:
    """One plan entry: the inclusive IPv4 interval it names, its label and where it came from."""

    first: int
    last: int
    text: str
    label: str | None = None
    origin: str = ""
    line: int | None = None

    def __post_init__(self) -> None:
        if self.first > 0xFFFFFFFF:
            if not (self.first <= self.last and self.first >> 120 == 0xFF and self.first >> 32 == self.last >> 32):
                raise AddressError(f"entry {self.text!r} is not an ascending interval inside one /96 of ff00::/8")
        elif not IPV4_MULTICAST_FIRST <= self.first <= self.last <= IPV4_MULTICAST_LAST:
            raise AddressError(f"entry {self.text!r} is not an ascending interval inside 224.0.0.0/4")

    @property
    def version(self) -> int:
        return 6 if self.first > 0xFFFFFFFF else 4

    @property
    def size(self) -> int:
        return self.last - self.first + 1

    @property
    def is_single(self) -> bool:
        return self.first == self.last

    def to_json(self) -> dict[str, object]:
        if self.version == 6:
            import ipaddress

            first, last = str(ipaddress.IPv6Address(self.first)), str(ipaddress.IPv6Address(self.last))
        else:
            first, last = format_ipv4(self.first), format_ipv4(self.last)
        body: dict[str, object] = {"entry": self.text, "first": first, "last": last, "size": self.size}
        if self.label is not None:
            body["label"] = self.label
        if self.origin:
            body["origin"] = self.origin
        return body


@dataclass(frozen=True, slots=True)
class EntryProblem:
    """A plan line or argument that could not be read; ``message`` is one line naming it."""

    origin: str
    text: str
    message: str
    line: int | None = None

    def to_json(self) -> dict[str, object]:
        body: dict[str, object] = {"origin": self.origin, "input": self.text, "error": self.message}
        if self.line is not None:
            body["line"] = self.line
        return body


def _multicast(value: int, token: str) -> int:
    if not IPV4_MULTICAST_FIRST <= value <= IPV4_MULTICAST_LAST:
        raise AddressError(f"{token} is not multicast (IPv4 multicast is 224.0.0.0/4)")
    return value


def parse_range(token: str) -> tuple[int, int]:
    """Parse ``A``, ``A-B``, ``A-N`` (last octet) or ``A/len`` into an inclusive interval."""
    token = token.strip()
    if not token:
        raise AddressError("empty entry")
    if ":" in token:
        return _parse_ipv6_range(token)
    if "/" in token:
        base_text, _, plen_text = token.partition("/")
        base = parse_ipv4(base_text)
        if not plen_text.isascii() or not plen_text.isdigit() or int(plen_text) > 32:
            raise AddressError(f"{token!r}: prefix length {plen_text!r} is not 0-32")
        plen = int(plen_text)
        size = 1 << (32 - plen)
        if base & (size - 1):
            fixed = format_ipv4(base & ~(size - 1) & 0xFFFFFFFF)
            raise AddressError(f"{token!r} has host bits set (did you mean {fixed}/{plen}?)")
        if plen < 4:
            raise AddressError(f"{token!r} is wider than 224.0.0.0/4, the IPv4 multicast space")
        first = _multicast(base, base_text)
        return first, first + size - 1
    if "-" in token:
        left, _, right = token.partition("-")
        first = _multicast(parse_ipv4(left), left.strip())
        right = right.strip()
        if right.isascii() and right.isdigit() and "." not in right:
            if len(right) > 1 and right[0] == "0" or int(right) > 255:
                raise AddressError(f"{token!r}: range end {right!r} is not an octet 0-255")
            last = (first & 0xFFFFFF00) | int(right)
        else:
            last = _multicast(parse_ipv4(right), right)
        if last < first:
            raise AddressError(f"{token!r}: range end {format_ipv4(last)} is below its start {format_ipv4(first)}")
        return first, last
    value = _multicast(parse_ipv4(token), token)
    return value, value


def _parse_ipv6_range(token: str) -> tuple[int, int]:
    """IPv6 group, ``A-B`` or ``prefix/len`` (len >= 96: the 33:33 MAC keeps the low 32 bits)."""
    import ipaddress

    from mdiag.core.addresses.group import IPv6Group

    if "/" in token:
        try:
            network = ipaddress.IPv6Network(token, strict=False)
        except ValueError as exc:
            raise AddressError(f"{token!r} is not an IPv6 block ({exc})") from None
        if network.prefixlen < 96:
            raise AddressError(f"{token!r} is wider than a /96: IPv6 blocks are audited up to 2^32 groups "
                               "(the 33:33 MAC keeps the low 32 bits, so a /96 already uses every MAC once)")
        if int(ipaddress.IPv6Address(token.partition("/")[0])) != int(network.network_address):
            raise AddressError(f"{token!r} has host bits set (did you mean {network}?)")
        first = IPv6Group(int(network.network_address)).value
        return first, first + network.num_addresses - 1
    if "-" in token:
        left, _, right = token.partition("-")
        first, last = IPv6Group.parse(left).value, IPv6Group.parse(right).value
        if last < first:
            raise AddressError(f"{token!r}: range end is below its start")
        if first >> 32 != last >> 32:
            raise AddressError(f"{token!r} spans more than one /96 (2^32 groups): split it")
        return first, last
    value = IPv6Group.parse(token).value
    return value, value


def parse_entry(text: str, origin: str = "", line: int | None = None) -> Entry:
    """Parse one entry (address/range/CIDR plus optional label). Raises :class:`AddressError`."""
    raw = text.strip()
    parts = _SPLIT.split(raw, maxsplit=1)
    token = parts[0]
    label: str | None = parts[1].strip() or None if len(parts) > 1 else None
    if "=" in token:  # 239.1.1.1=BBC One
        token, _, label_text = raw.partition("=")
        label = label_text.strip() or None
    elif label is not None and "-" not in token and _DASH_NUMBER.match(label):
        # "239.1.1.1 - 239.1.1.9" with spaces around the dash
        rest = _SPLIT.split(label[1:].strip(), maxsplit=1)
        token = f"{token}-{rest[0]}"
        label = rest[1].strip() or None if len(rest) > 1 else None
    first, last = parse_range(token)
    return Entry(first, last, token.strip(), label, origin, line)


def strip_comment(line: str) -> str:
    """Drop a ``#`` comment: at the start of the line or after whitespace (labels may hold '#5')."""
    stripped = line.strip()
    if stripped.startswith("#"):
        return ""
    match = _COMMENT.search(stripped)
    return stripped[: match.start()].strip() if match else stripped


def parse_plan(lines: Iterable[str | bytes], source: str = "") -> Iterator[Entry | EntryProblem]:
    """Stream entries from plan lines; unreadable lines become :class:`EntryProblem` values
    naming the line number, so one bad line never hides the good ones."""
    prefix = f"{source} " if source else ""
    for number, line in enumerate(lines, 1):
        origin = f"{prefix}line {number}"
        if isinstance(line, bytes):
            try:
                line = line.decode("utf-8")
            except UnicodeDecodeError as exc:
                yield EntryProblem(origin, repr(line[:40]), f"{origin}: not UTF-8 text ({exc.reason})", number)
                continue
        body = strip_comment(line.lstrip("\ufeff"))
        if not body:
            continue
        try:
            yield parse_entry(body, origin, number)
        except AddressError as exc:
            yield EntryProblem(origin, body, f"{origin}: {exc.message}", number)


def parse_arguments(arguments: Iterable[str]) -> Iterator[Entry | EntryProblem]:
    """Entries given on the command line (``ADDR``, ``A-B``, ``A/len``, ``ADDR=label``)."""
    for index, argument in enumerate(arguments, 1):
        try:
            yield parse_entry(argument, f"argument {index}")
        except AddressError as exc:
            yield EntryProblem(f"argument {index}", argument, exc.message)
