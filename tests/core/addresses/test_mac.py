"""Ethernet mapping (RFC 1112 6.4, RFC 2464 7): vectors, aliases, reverse lookup."""

import pytest
from hypothesis import given
from hypothesis import strategies as st

from mdiag.core.addresses import (
    AddressError,
    IPv4Group,
    Mac,
    MacError,
    aliases,
    groups_for_mac,
    is_flooded_alias,
    multicast_mac,
    shared_macs,
)

VECTORS = [
    ("239.1.2.3", "01:00:5e:01:02:03"),
    ("225.1.2.3", "01:00:5e:01:02:03"),
    ("239.129.2.3", "01:00:5e:01:02:03"),
    ("234.129.2.3", "01:00:5e:01:02:03"),
    ("224.0.0.22", "01:00:5e:00:00:16"),
    ("239.255.255.250", "01:00:5e:7f:ff:fa"),
    ("224.128.64.32", "01:00:5e:00:40:20"),
    ("224.0.64.32", "01:00:5e:00:40:20"),
    ("224.0.0.0", "01:00:5e:00:00:00"),
    ("239.255.255.255", "01:00:5e:7f:ff:ff"),
    ("ff02::1", "33:33:00:00:00:01"),
    ("ff02::1:ff12:3456", "33:33:ff:12:34:56"),
    ("ff05::1:3", "33:33:00:01:00:03"),
]


@pytest.mark.parametrize(("group", "mac"), VECTORS)
def test_mapping_vectors(group, mac):
    assert str(multicast_mac(group)) == mac


ipv4_groups = st.integers(0xE0000000, 0xEFFFFFFF)


@given(ipv4_groups)
def test_mac_keeps_exactly_the_low_23_bits(value):
    mac = multicast_mac(value).value
    assert mac >> 23 == 0x01005E000000 >> 23
    assert mac & 0x7FFFFF == value & 0x7FFFFF
    # flipping any of the 5 lost bits keeps the MAC; flipping a kept bit changes it
    for bit in range(23, 28):
        assert multicast_mac(value ^ (1 << bit)).value == mac
    for bit in range(23):
        assert multicast_mac(value ^ (1 << bit)).value != mac


@given(ipv4_groups)
def test_alias_set_has_32_distinct_groups_with_one_mac(value):
    group = IPv4Group(value)
    alias_set = aliases(group)
    assert len(alias_set) == len(set(alias_set)) == 32
    assert group in alias_set
    assert {multicast_mac(g) for g in alias_set} == {multicast_mac(group)}
    assert list(alias_set) == sorted(alias_set)
    assert groups_for_mac(multicast_mac(group)) == alias_set


def test_reverse_lookup_example():
    groups = [str(g) for g in groups_for_mac("01:00:5e:00:40:20")]
    assert len(groups) == 32
    assert "224.0.64.32" in groups and "224.128.64.32" in groups and "239.128.64.32" in groups


@pytest.mark.parametrize("text", ["01:00:5e:00:40:20", "01-00-5E-00-40-20", "0100.5e00.4020",
                                  "01005e004020", "1:0:5e:0:40:20"])
def test_mac_forms(text):
    assert str(Mac.parse(text)) == "01:00:5e:00:40:20"


@pytest.mark.parametrize(("text", "fragment"), [
    ("00:11:22:33:44:55", "not a multicast MAC"),
    ("01:00:5e:80:00:01", "outside the IPv4 multicast range"),
    ("01:80:c2:00:00:00", "not an IP multicast MAC"),
    ("33:33:00:00:00:01", "IPv6 multicast MAC"),
    ("01:00:5e:00:40", "not a MAC address"),
    ("01:00:5e:00:40:zz", "not a MAC address"),
    ("zz", "12 hex digits"),
])
def test_reverse_lookup_refusals(text, fragment):
    with pytest.raises(MacError) as info:
        groups_for_mac(text)
    assert fragment in info.value.message


def test_ipv6_has_no_alias_list():
    with pytest.raises(AddressError, match="2\\*\\*88"):
        aliases("ff02::1")


@pytest.mark.parametrize(("group", "flooded"), [
    ("225.0.0.1", True), ("239.128.0.5", True), ("230.0.0.255", True), ("239.0.0.0", True),
    ("224.128.0.1", True), ("224.0.0.1", False), ("239.0.1.0", False), ("239.128.1.5", False),
    ("224.0.1.1", False),
])
def test_flooded_alias(group, flooded):
    assert is_flooded_alias(group) is flooded


def test_flooded_alias_space_is_31_blocks_of_256():
    # 32 /24 blocks share 224.0.0.x MACs; minus 224.0.0.0/24 itself
    count = sum(is_flooded_alias(v | low) for v in range(0xE0000000, 0xF0000000, 1 << 23) for low in range(256))
    assert count == 31 * 256


def test_shared_macs_small_sets():
    result = shared_macs(["239.1.2.3", "225.1.2.3", "239.1.2.4", "239.1.2.3"])
    assert list(result) == [Mac.parse("01:00:5e:01:02:03")]
    assert [str(g) for g in result[Mac.parse("01:00:5e:01:02:03")]] == ["225.1.2.3", "239.1.2.3"]
