"""IANA classification: every block boundary, sub-scopes, well-known names, IPv6 scope and flags."""

import pytest
from hypothesis import given
from hypothesis import strategies as st

from mdiag.core.addresses import classify, is_admin_scoped, is_link_local, is_ssm, parse_ipv4
from mdiag.core.addresses.registry import ADMIN_SUBSCOPES, IPV4_BLOCKS, block_of

# (first, last, block key, coarse scope): RFC 5771 section 3 registry
BLOCKS = [
    ("224.0.0.0", "224.0.0.255", "local-network-control", "link-local"),
    ("224.0.1.0", "224.0.1.255", "internetwork-control", "global"),
    ("224.0.2.0", "224.0.255.255", "ad-hoc-1", "global"),
    ("224.1.0.0", "224.1.255.255", "reserved-224-1", "global"),
    ("224.2.0.0", "224.2.255.255", "sdp-sap", "global"),
    ("224.3.0.0", "224.4.255.255", "ad-hoc-2", "global"),
    ("224.5.0.0", "224.251.255.255", "reserved-224-5", "global"),
    ("224.252.0.0", "224.255.255.255", "dis-transient", "global"),
    ("225.0.0.0", "231.255.255.255", "reserved-225", "global"),
    ("232.0.0.0", "232.255.255.255", "ssm", "global"),
    ("233.0.0.0", "233.251.255.255", "glop", "global"),
    ("233.252.0.0", "233.255.255.255", "ad-hoc-3", "global"),
    ("234.0.0.0", "234.255.255.255", "unicast-prefix", "global"),
    ("235.0.0.0", "238.255.255.255", "reserved-235", "global"),
    ("239.0.0.0", "239.255.255.255", "admin-scoped", "admin-scoped"),
]


@pytest.mark.parametrize(("first", "last", "key", "scope"), BLOCKS)
def test_block_boundaries(first, last, key, scope):
    for text in (first, last):
        result = classify(text)
        assert result.block_key == key, text
        assert result.scope == scope, text
    first_value, last_value = parse_ipv4(first), parse_ipv4(last)
    if first_value > 0xE0000000:
        assert classify(first_value - 1).block_key != key
    if last_value < 0xEFFFFFFF:
        assert classify(last_value + 1).block_key != key


def test_registry_table_is_the_same_as_the_test_table():
    assert [b.key for b in IPV4_BLOCKS] == [row[2] for row in BLOCKS]


def test_blocks_tile_224_slash_4_without_gaps():
    assert IPV4_BLOCKS[0].first == 0xE0000000 and IPV4_BLOCKS[-1].last == 0xEFFFFFFF
    for before, after in zip(IPV4_BLOCKS, IPV4_BLOCKS[1:]):
        assert after.first == before.last + 1
    assert ADMIN_SUBSCOPES[0].first == parse_ipv4("239.0.0.0") and ADMIN_SUBSCOPES[-1].last == 0xEFFFFFFF
    for before, after in zip(ADMIN_SUBSCOPES, ADMIN_SUBSCOPES[1:]):
        assert after.first == before.last + 1


@given(st.integers(0xE0000000, 0xEFFFFFFF))
def test_every_address_in_exactly_one_block(value):
    holders = [b for b in IPV4_BLOCKS if b.first <= value <= b.last]
    assert len(holders) == 1
    assert block_of(value) is holders[0]
    assert classify(value).block_key == holders[0].key


@pytest.mark.parametrize(("key", "range_text"), [
    ("local-network-control", "224.0.0.0/24"), ("ad-hoc-1", "224.0.2.0-224.0.255.255"),
    ("ssm", "232.0.0.0/8"), ("glop", "233.0.0.0-233.251.255.255"), ("ad-hoc-3", "233.252.0.0/14"),
    ("dis-transient", "224.252.0.0/14"), ("admin-scoped", "239.0.0.0/8"),
])
def test_block_range_text(key, range_text):
    assert next(b for b in IPV4_BLOCKS if b.key == key).range_text == range_text


# RFC 2365 sub-scopes of 239/8: first and last address of each
SUBSCOPES = [
    ("239.0.0.0", "239.191.255.255", "organization-local-expansion"),
    ("239.192.0.0", "239.195.255.255", "organization-local"),
    ("239.196.0.0", "239.252.255.255", "unassigned"),
    ("239.253.0.0", "239.254.255.255", "local-expansion"),
    ("239.255.0.0", "239.255.255.255", "local"),
]


@pytest.mark.parametrize(("first", "last", "key"), SUBSCOPES)
def test_admin_subscope_boundaries(first, last, key):
    assert classify(first).sub_scope == key
    assert classify(last).sub_scope == key


@pytest.mark.parametrize(("group", "name"), [
    ("224.0.0.1", "all systems on this subnet"), ("224.0.0.2", "all routers on this subnet"),
    ("224.0.0.5", "OSPF all routers"), ("224.0.0.6", "OSPF designated routers"), ("224.0.0.9", "RIPv2 routers"),
    ("224.0.0.13", "all PIM routers"), ("224.0.0.18", "VRRP"), ("224.0.0.22", "IGMPv3 routers (v3 reports)"),
    ("224.0.0.106", "all snoopers (multicast router discovery)"), ("224.0.0.107", "PTP peer delay"),
    ("224.0.0.251", "mDNS"), ("224.0.0.252", "LLMNR"), ("224.0.1.1", "NTP"),
    ("224.0.1.39", "Cisco RP announce"), ("224.0.1.40", "Cisco RP discovery"), ("224.0.1.129", "PTP primary"),
    ("224.0.1.130", "PTP alternate 1"), ("224.0.1.132", "PTP alternate 3"), ("224.0.1.187", "all CoAP nodes"),
    ("224.2.127.254", "SAPv1 announcements"), ("224.0.1.75", "SIP"), ("224.0.23.12", "KNXnet/IP (EIBnet/IP)"),
    ("239.255.255.250", "SSDP (Local Scope)"), ("239.255.255.255", "SAP (Session Announcement Protocol) (Local Scope)"),
    ("239.255.255.253", "SLPv2 discovery (Local Scope)"), ("239.195.255.255", "SAP (Session Announcement Protocol) (Organization-Local Scope)"),
    ("233.252.0.7", "MCAST-TEST-NET (documentation)"),
    ("ff02::1", "all nodes"), ("ff02::2", "all routers"), ("ff02::d", "all PIM routers"),
    ("ff02::16", "all MLDv2-capable routers (MLDv2 reports)"), ("ff02::fb", "mDNSv6 (link-local)"),
    ("ff05::101", "NTP (site-local)"), ("ff02::1:ff00:1", "solicited-node (neighbor discovery)"),
])
def test_well_known_names(group, name):
    assert classify(group).name == name


def test_unnamed_groups_have_no_name():
    assert classify("239.1.2.3").name is None
    assert classify("224.0.0.3").name is None


def test_glop_encodes_the_as_number():
    result = classify("233.22.30.5")
    assert result.details["glop_as"] == 5662
    assert "AS 5662" in " ".join(result.facts)
    assert classify("233.251.255.1").details["glop_as"] == 0xFBFF


def test_unicast_prefix_based():
    result = classify("234.192.0.2")
    assert result.details["unicast_prefix"] == "192.0.2.0/24"


def test_relative_offsets():
    assert classify("239.255.255.250").details["relative_offset"] == 5
    assert classify("239.255.255.0").details["relative_offset"] == 255
    assert "relative_offset" not in classify("239.255.254.255").details
    assert "relative_offset" not in classify("239.191.255.255").details  # expansion space has none


@pytest.mark.parametrize(("group", "fragment"), [
    ("224.0.0.5", "never routed"),
    ("232.1.1.1", "source-specific (S,G) join"),
    ("225.1.1.1", "reserved by IANA"),
    ("239.1.1.1", "admin-scope boundary"),
    ("239.128.0.5", "shares its MAC with 224.0.0.5"),
    ("225.0.0.1", "snooping switches flood it"),
    ("233.252.0.1", "documentation only"),
    ("239.254.1.1", "Local Scope growth"),
    ("ff02::1", "never routed"),
    ("ff01::1", "stays on the host"),
    ("ff3e::1234", "MLDv2 source-specific"),
    ("ff08::1", "organization-local scope boundary"),
    ("ff00::1", "reserved scope"),
    ("ff0e::1", "shares 33:33:00:00:00:01 with ff02::1"),
])
def test_forwarding_consequence(group, fragment):
    assert fragment in classify(group).consequence


@pytest.mark.parametrize(("group", "scope", "sub_scope", "flags"), [
    ("ff02::1", "link-local", "link-local", (False, False, False)),
    ("ff01::1", "interface-local", "interface-local", (False, False, False)),
    ("ff05::2", "admin-scoped", "site-local", (False, False, False)),
    ("ff0e::101", "global", "global", (False, False, False)),
    ("ff1e::1234", "global", "global", (False, False, True)),
    ("ff3e::8000:1", "global", "global", (False, True, True)),
    ("ff7e:140:2001:db8::1234", "global", "global", (True, True, True)),
    ("ff06::1", "admin-scoped", "unassigned", (False, False, False)),
])
def test_ipv6_scope_and_flags(group, scope, sub_scope, flags):
    result = classify(group)
    assert result.scope == scope
    assert result.sub_scope == sub_scope
    assert tuple(result.details["flags"][f] for f in "RPT") == flags


def test_ipv6_embedded_rp_and_unicast_prefix():
    rp = classify("ff7e:140:2001:db8::1234")
    assert rp.block_key == "ipv6-embedded-rp"
    assert rp.details["rp"] == "2001:db8::1"
    prefix = classify("ff38:40:2001:db8::1")
    assert prefix.block_key == "ipv6-unicast-prefix"
    assert prefix.details["unicast_prefix"] == "2001:db8::/64"
    assert classify("ff3e::1").block_key == "ipv6-ssm"


@pytest.mark.parametrize(("group", "ssm", "link_local", "admin"), [
    ("232.0.0.0", True, False, False), ("232.255.255.255", True, False, False),
    ("231.255.255.255", False, False, False), ("233.0.0.0", False, False, False),
    ("224.0.0.255", False, True, False), ("224.0.1.0", False, False, False),
    ("239.0.0.0", False, False, True), ("ff3e::1", True, False, False),
    ("ff35::1", True, False, True), ("ff3e:40:2001:db8::1", False, False, False),
    ("ff02::1", False, True, False), ("ff01::2", False, True, False),
])
def test_predicates(group, ssm, link_local, admin):
    assert is_ssm(group) is ssm
    assert is_link_local(group) is link_local
    assert is_admin_scoped(group) is admin


def test_predicates_fast_int_path():
    assert is_ssm(0xE8010101) and not is_ssm(0xE9010101)
    assert is_link_local(0xE0000016) and not is_link_local(0xE0000116)


def test_classification_json_is_serialisable():
    import json

    for text in ("239.255.255.250", "233.22.30.5", "ff7e:140:2001:db8::1234"):
        body = classify(text).to_json()
        assert json.loads(json.dumps(body))["group"] == text
