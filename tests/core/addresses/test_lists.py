"""The one group/source list parser: IPv4 and IPv6 lists, ranges, zones, one line per bad item."""

import ipaddress

import pytest
from hypothesis import given
from hypothesis import strategies as st

from mdiag.core.addresses import classify, is_link_local
from mdiag.core.addresses.lists import (
    needs_zone,
    parse_group_list,
    parse_source_list,
    sources_for,
)

GOOD_GROUPS = [
    # (arguments, iface, expected groups)
    (["239.1.2.3"], None, ["239.1.2.3"]),
    (["239.1.0.1-239.1.0.3"], None, ["239.1.0.1", "239.1.0.2", "239.1.0.3"]),
    (["ff3e::8000:1"], None, ["ff3e::8000:1"]),
    (["FF3E:0:0::8000:1"], None, ["ff3e::8000:1"]),  # canonical text (RFC 5952)
    (["ff3e::8000:1-ff3e::8000:3"], None, ["ff3e::8000:1", "ff3e::8000:2", "ff3e::8000:3"]),
    (["239.1.1.1,ff15::1,239.1.1.1"], None, ["239.1.1.1", "ff15::1"]),  # mixed, deduplicated
    (["ff02::42"], "lab0", ["ff02::42"]),  # link-local: the interface comes from --iface
    (["ff02::42%lab0"], "lab0", ["ff02::42"]),
    (["ff02::42%lab0"], None, ["ff02::42%lab0"]),  # no --iface: the zone stays
    (["ff01::1:3"], "lo", ["ff01::1:3"]),  # interface-local needs it too
]


@pytest.mark.parametrize(("texts", "iface", "expected"), GOOD_GROUPS)
def test_group_lists(texts, iface, expected):
    assert parse_group_list(texts, iface=iface) == (expected, [])


BAD_GROUPS = [
    # (item, iface, fragment of its one error line)
    ("ff3e::8000:1x", None, "'ff3e::8000:1x' is not an address"),
    ("fd00::1", None, "fd00::1 is not a multicast group (IPv6 multicast is ff00::/8"),
    ("ff02::42", None, "ff02::42 is a link-local group: name its interface (ff02::42%IFACE or --iface IFACE)"),
    ("ff02::42%lab1", "lab0", "the zone %lab1 is not --iface lab0"),
    ("ff3e::1%lab0", "lab0", "only interface- and link-local groups (ff01::/16, ff02::/16) take a %zone"),
    ("ff02::1%", "lab0", "has an empty zone"),
    ("ff3e::3-ff3e::1", None, "the last address is below the first"),
    ("ff3e::1-ff3e::1:1", None, "has 65537 groups, more than 65536"),
    ("fd00::1-ff3e::1", None, "fd00::1 is not multicast (IPv6 multicast is ff00::/8)"),
    ("ff3e::1-239.1.1.1", None, "mixes IPv6 and IPv4"),
    ("ff3e::/96", None, "is a block, not one address"),
    ("239.1.1", None, "IPv4 needs four dotted octets, got 3"),
    ("10.0.0.1", None, "10.0.0.1 is not a multicast group (IPv4 multicast is 224.0.0.0/4"),
]


@pytest.mark.parametrize(("item", "iface", "fragment"), BAD_GROUPS)
def test_bad_groups_get_one_line_each(item, iface, fragment):
    groups, errors = parse_group_list([f"239.9.9.9,{item}"], iface=iface)
    assert groups == ["239.9.9.9"]
    assert len(errors) == 1 and "\n" not in errors[0]
    assert fragment in errors[0]


def test_range_limit_counts_ipv6_groups():
    assert parse_group_list(["ff3e::1-ff3e::1:1"])[1] == [
        "range ff3e::1-ff3e::1:1 has 65537 groups, more than 65536"]
    assert len(parse_group_list(["ff3e::1-ff3e::1:0"])[0]) == 65536
    groups, errors = parse_group_list(["ff3e::1:0-ff3e::1:3e7"])
    assert not errors and len(groups) == 1000


def test_unicast_allowed_for_baselines():
    assert parse_group_list(["fd00::5,198.18.0.2"], allow_unicast=True) == (["fd00::5", "198.18.0.2"], [])


GOOD_SOURCES = [
    (["198.18.0.1"], ["198.18.0.1"]),
    (["fd00::1,FD00:0::1"], ["fd00::1"]),
    (["fe80::1%lab0"], ["fe80::1"]),
    (["198.18.0.1", "fd00::2"], ["198.18.0.1", "fd00::2"]),
]


@pytest.mark.parametrize(("texts", "expected"), GOOD_SOURCES)
def test_source_lists(texts, expected):
    assert parse_source_list(texts) == (expected, [])


BAD_SOURCES = [
    ("ff3e::1", "--source ff3e::1 is a multicast address"),
    ("::", "--source :: is the unspecified address"),
    ("::ffff:198.18.0.1", "give the IPv4 source 198.18.0.1 with an IPv4 group"),
    ("239.1.1.1", "--source 239.1.1.1 is not a unicast sender address"),
    ("fd00::x", "--source fd00::x: 'fd00::x' is not an address"),
]


@pytest.mark.parametrize(("item", "line"), BAD_SOURCES)
def test_bad_sources(item, line):
    sources, errors = parse_source_list([item])
    assert sources == [] and len(errors) == 1
    assert line in errors[0]


def test_sources_follow_the_group_family():
    sources = ["198.18.0.1", "fd00::1", "fe80::2"]
    assert sources_for("232.1.1.1", sources) == ["198.18.0.1"]
    assert sources_for("ff3e::8000:1", sources) == ["fd00::1", "fe80::2"]


@given(st.integers(min_value=0xFF << 120, max_value=(1 << 128) - 1))
def test_any_ipv6_group_round_trips_and_zone_rule_matches_classification(value):
    text = str(ipaddress.IPv6Address(value))
    groups, errors = parse_group_list([text], iface="lab0")
    assert errors == [] and groups == [text]
    # the parser's "needs an interface" is the classifier's link-local scope
    assert needs_zone(value) == is_link_local(text) == (classify(text).scope in ("interface-local", "link-local"))
    if needs_zone(value):
        assert parse_group_list([text])[1]


@given(st.integers(min_value=0xE0000000, max_value=0xEFFFFFFF))
def test_any_ipv4_group_round_trips(value):
    text = str(ipaddress.IPv4Address(value))
    assert parse_group_list([text]) == ([text], [])
