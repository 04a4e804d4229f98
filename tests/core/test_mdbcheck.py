"""Expected-MDB file format and comparison with `bridge -j mdb show` output."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from mdiag.core.mdbcheck import (MdbEntry, MdbFileError, actual_entries, compare, parse_expected,
                                 render_expected)

# Shapes seen from `bridge -j -d -s mdb show` (iproute2 6.x), flattened by the lab adapter.
V2_ENTRY = {"index": 5, "port": "p1", "grp": "239.1.1.1", "state": "temp", "flags": [], "timer": "4.10"}
V3_EXCLUDE = {"index": 5, "port": "p2", "grp": "239.1.1.1", "state": "temp", "filter_mode": "exclude",
              "protocol": "kernel", "timer": "4.10"}
V3_SG = {"index": 5, "port": "p3", "grp": "232.1.1.1", "src": "198.18.0.5", "state": "temp",
         "filter_mode": "include", "protocol": "kernel", "timer": "4.10"}
V3_INCLUDE_STAR = {"index": 5, "port": "p3", "grp": "232.1.1.1", "state": "temp", "filter_mode": "include",
                   "source_list": [{"address": "198.18.0.5", "timer": "4.10"}], "protocol": "kernel"}
V6 = {"index": 5, "port": "p1", "grp": "ff02::1:ff00:1", "state": "temp"}


V6_SG = {"index": 5, "port": "p2", "grp": "ff3e::1:1", "src": "fd00::100", "state": "temp",
         "filter_mode": "include", "protocol": "kernel"}
V6_ASM = {"index": 5, "port": "p1", "grp": "ff05::1:3", "state": "temp", "filter_mode": "exclude"}


def test_actual_entries_normalise_v2_v3_and_mld():
    got = actual_entries([V2_ENTRY, V3_EXCLUDE, V3_SG, V3_INCLUDE_STAR, V6, V6_SG, V6_ASM, {"port": "p1"}])
    assert got == {MdbEntry("239.1.1.1", "p1"), MdbEntry("239.1.1.1", "p2"),
                   MdbEntry("232.1.1.1", "p3", "198.18.0.5"), MdbEntry("ff02::1:ff00:1", "p1"),
                   MdbEntry("ff3e::1:1", "p2", "fd00::100"), MdbEntry("ff05::1:3", "p1")}


@pytest.mark.parametrize("text, ok, unexpected", [
    # an IPv4 expectation judges IPv4 entries only
    ("239.1.1.1 p1\n239.1.1.1 p2\n232.1.1.1 p3 198.18.0.5\n", True, []),
    # an IPv6 one judges IPv6 entries, but not the link's ff02::/16 housekeeping
    ("FF05:0::1:3 p1\nff3e::1:1 p2 fd00:0::100\n", True, []),
    ("ff05::1:3 p1\n", False, ["ff3e::1:1"]),
    # listing a link-scope group brings them all in
    ("ff05::1:3 p1\nff3e::1:1 p2 fd00::100\nff02::1:ff00:2 p1\n", False, ["ff02::1:ff00:1"]),
    # an empty exact expectation: every family, still without ff02::/16
    ("exact\n", False, ["232.1.1.1", "239.1.1.1", "239.1.1.1", "ff05::1:3", "ff3e::1:1"]),
])
def test_families_and_link_scope_in_comparisons(text, ok, unexpected):
    actual = actual_entries([V2_ENTRY, V3_EXCLUDE, V3_SG, V6, V6_SG, V6_ASM])
    result = compare(parse_expected(text), actual)
    assert result.ok is ok
    assert sorted(e.group for e in result.unexpected) == sorted(unexpected)


def test_ipv6_entries_need_matching_families():
    with pytest.raises(ValueError, match="different families"):
        MdbEntry("ff3e::1", "p1", "198.18.0.1")
    assert MdbEntry("FF3E:0::1", "p1", "FD00::1").line() == "ff3e::1         p1 fd00::1"


def test_port_renaming():
    assert actual_entries([V2_ENTRY], port_names={"p1": "h1"}) == {MdbEntry("239.1.1.1", "h1")}


@pytest.mark.parametrize("text, present, absent, exact", [
    ("239.1.1.1 p1\n", {("239.1.1.1", "p1", None)}, set(), True),
    ("# c\nsubset\n\n232.1.1.1 p3 198.18.0.5  # SSM\n- 239.1.1.1 p2\n",
     {("232.1.1.1", "p3", "198.18.0.5")}, {("239.1.1.1", "p2", None)}, False),
    ("exact\n", set(), set(), True),
])
def test_parse_expected(text, present, absent, exact):
    exp = parse_expected(text)
    assert exp.present == {MdbEntry(*e) for e in present}
    assert exp.absent == {MdbEntry(*e) for e in absent}
    assert exp.exact is exact


@pytest.mark.parametrize("text, message", [
    ("239.1.1.1\n", "line 1: expected 'GROUP PORT"),
    ("10.0.0.1 p1\n", "line 1: 10.0.0.1 is not a multicast group"),
    ("239.1.1.1 p1 nonsense\n", "line 1: source 'nonsense'"),
    ("239.1.1.1 p1\nsubset\n", "line 2: 'subset' must be the first"),
    ("239.1.1.1 p1\n- 239.1.1.1 p1\n", "both present and absent"),
    ("239.1.1 p1\n", "line 1: group '239.1.1'"),
])
def test_parse_errors_name_the_line(text, message):
    with pytest.raises(MdbFileError, match=message):
        parse_expected(text)


def test_compare_exact_and_subset():
    actual = actual_entries([V2_ENTRY, V3_EXCLUDE])
    exact = compare(parse_expected("239.1.1.1 p1\n232.1.1.1 p3 198.18.0.5\n"), actual)
    assert not exact.ok
    assert exact.missing == (MdbEntry("232.1.1.1", "p3", "198.18.0.5"),)
    assert exact.unexpected == (MdbEntry("239.1.1.1", "p2"),)
    assert {f.code for f in exact.findings} == {"mdb-missing", "mdb-unexpected"}
    subset = compare(parse_expected("subset\n239.1.1.1 p1\n"), actual)
    assert subset.ok and subset.matched == (MdbEntry("239.1.1.1", "p1"),)
    absent = compare(parse_expected("subset\n- 239.1.1.1 p2\n"), actual)
    assert absent.unexpected == (MdbEntry("239.1.1.1", "p2"),)


entries = st.builds(MdbEntry, st.sampled_from(["239.1.1.1", "232.1.1.1", "224.0.1.1"]),
                    st.sampled_from(["p1", "p2", "eth0"]),
                    st.sampled_from([None, "198.18.0.5", "10.0.0.1"]))


@given(st.frozensets(entries, max_size=12))
def test_rendered_expectation_matches_itself_exactly(actual):
    result = compare(parse_expected(render_expected(actual)), actual)
    assert result.ok and set(result.matched) == set(actual)
