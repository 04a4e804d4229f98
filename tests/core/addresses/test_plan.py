"""Plan entries: forms, labels, comments, and problems that name the line."""

import pytest
from hypothesis import given
from hypothesis import strategies as st

from mdiag.core.addresses import AddressError
from mdiag.core.addresses.plan import Entry, EntryProblem, parse_arguments, parse_entry, parse_plan, parse_range
from mdiag.core.addresses.group import format_ipv4
from mdiag.core.addresses.group import parse_ipv4 as ip


@pytest.mark.parametrize(("token", "first", "last"), [
    ("239.1.1.1", "239.1.1.1", "239.1.1.1"),
    ("239.1.1.1-239.1.1.50", "239.1.1.1", "239.1.1.50"),
    ("239.1.1.1-50", "239.1.1.1", "239.1.1.50"),
    ("239.1.255.250-239.2.0.5", "239.1.255.250", "239.2.0.5"),
    ("239.1.0.0/16", "239.1.0.0", "239.1.255.255"),
    ("239.1.2.3/32", "239.1.2.3", "239.1.2.3"),
    ("224.0.0.0/4", "224.0.0.0", "239.255.255.255"),
])
def test_range_forms(token, first, last):
    assert parse_range(token) == (ip(first), ip(last))


@pytest.mark.parametrize(("token", "first", "last"), [
    ("ff3e::8000:1", "ff3e::8000:1", "ff3e::8000:1"),
    ("ff3e::8000:1-ff3e::8000:ff", "ff3e::8000:1", "ff3e::8000:ff"),
    ("ff3e::/96", "ff3e::", "ff3e::ffff:ffff"),
    ("ff05::1:3/128", "ff05::1:3", "ff05::1:3"),
])
def test_ipv6_range_forms(token, first, last):
    import ipaddress

    assert parse_range(token) == (int(ipaddress.IPv6Address(first)), int(ipaddress.IPv6Address(last)))
    entry = parse_entry(f"{token} label")
    assert entry.version == 6 and entry.label == "label"
    assert entry.to_json()["first"] == first


@pytest.mark.parametrize(("token", "fragment"), [
    ("239.1.1.1/16", "host bits set (did you mean 239.1.0.0/16?)"),
    ("239.1.0.0/33", "prefix length '33' is not 0-32"),
    ("0.0.0.0/0", "wider than 224.0.0.0/4"),
    ("239.1.1.9-239.1.1.1", "below its start"),
    ("239.1.1.1-300", "not an octet"),
    ("10.0.0.0/8", "10.0.0.0 is not multicast"),
    ("239.1.1.1-10.0.0.1", "10.0.0.1 is not multicast"),
    ("239.1.1", "is not an address"),
    ("ff3e::1/64", "wider than a /96"),
    ("ff3e::1/120", "has host bits set (did you mean ff3e::/120?)"),
    ("ff3e::1-ff3f::1", "spans more than one /96"),
    ("ff3e::9-ff3e::1", "below its start"),
    ("fe80::/120", "is not multicast"),
    ("zz::/96", "is not an IPv6 block"),
])
def test_range_refusals(token, fragment):
    with pytest.raises(AddressError) as info:
        parse_range(token)
    assert fragment in info.value.message


@pytest.mark.parametrize(("line", "token", "label"), [
    ("239.1.1.1", "239.1.1.1", None),
    ("239.1.1.1   BBC One HD", "239.1.1.1", "BBC One HD"),
    ("239.1.1.1\tBBC One HD", "239.1.1.1", "BBC One HD"),
    ("239.1.1.1,BBC One, HD", "239.1.1.1", "BBC One, HD"),
    ("239.1.1.1;Kids", "239.1.1.1", "Kids"),
    ("239.1.1.1 - 239.1.1.9 Radio", "239.1.1.1-239.1.1.9", "Radio"),
    ("239.1.1.1 - Channel", "239.1.1.1", "- Channel"),
    ("239.1.1.1=BBC One, HD", "239.1.1.1", "BBC One, HD"),
    ("239.1.1.1 A=B", "239.1.1.1", "A=B"),
    ("239.1.0.0/30=pool", "239.1.0.0/30", "pool"),
])
def test_entry_labels(line, token, label):
    entry = parse_entry(line)
    assert entry.text == token and entry.label == label


def test_plan_lines_comments_and_problems():
    lines = [
        "# plan\n",
        "\n",
        "239.1.1.1  Channel #5   # trailing comment\n",
        "239.1.1\n",
        "  239.2.0.0/30 pool\r\n",
        b"239.3.3.3 caf\xc3\xa9\n",
        b"239.4.4.4 \xff\xfe\n",
        "\ufeff239.5.5.5\n",
    ]
    items = list(parse_plan(lines, "plan.txt"))
    entries = [i for i in items if isinstance(i, Entry)]
    problems = [i for i in items if isinstance(i, EntryProblem)]
    assert [e.label for e in entries] == ["Channel #5", "pool", "café", None]
    assert entries[0].origin == "plan.txt line 3" and entries[0].line == 3
    assert [p.line for p in problems] == [4, 7]
    assert problems[0].message.startswith("plan.txt line 4: '239.1.1' is not an address")
    assert "line 7: not UTF-8" in problems[1].message


def test_arguments_take_equals_labels():
    items = list(parse_arguments(["239.1.1.1=News", "239.2.0.0/16", "bad"]))
    assert items[0].label == "News" and items[0].origin == "argument 1"
    assert items[1].size == 65536
    assert isinstance(items[2], EntryProblem) and items[2].origin == "argument 3"


@given(st.integers(0xE0000000, 0xEFFFFFFF), st.integers(0, 300),
       st.sampled_from(["", " News", "\tNews 24", ",News, 24", ";x", "=Sport 1"]))
def test_written_entries_parse_back(first, size, label_part):
    last = min(first + size, 0xEFFFFFFF)
    token = format_ipv4(first) if first == last else f"{format_ipv4(first)}-{format_ipv4(last)}"
    entry = parse_entry(token + label_part)
    assert (entry.first, entry.last) == (first, last)
    expected = label_part.lstrip(" \t,;=").strip() or None
    assert entry.label == expected


def test_entry_validates_interval():
    with pytest.raises(AddressError):
        Entry(ip("239.1.1.2"), ip("239.1.1.1"), "x")
