"""The sweep audit against a brute-force reference, and its bounds."""

from collections import Counter, defaultdict

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mdiag.core.addresses.audit import audit
from mdiag.core.addresses.plan import Entry, parse_entry, parse_plan


def brute(entries):
    """Reference: expand every group (only for small plans)."""
    seen = Counter()
    labels = defaultdict(set)
    for e in entries:
        for v in range(e.first, e.last + 1):
            seen[v] += 1
            if e.label is not None and e.first == e.last:
                labels[v].add(e.label)
    by_mac = defaultdict(set)  # IPv4: 01:00:5e + low 23 bits; IPv6: 33:33 + low 32 bits
    for v in seen:
        by_mac[("v6", v & 0xFFFFFFFF) if v > 0xFFFFFFFF else ("v4", v & 0x7FFFFF)].add(v)
    colliding = {m: g for m, g in by_mac.items() if len(g) > 1}

    def link_local_v6(v):
        return (v >> 112) & 0xF in (1, 2)

    flooded = sorted(v for v in seen if (v <= 0xFFFFFFFF and v & 0x7FFFFF < 256 and v >> 8 != 0xE00000)
                     or (v > 0xFFFFFFFF and v & 0xFFFFFFFF == 1 and not link_local_v6(v)))
    link_local = sorted(v for v in seen if (v <= 0xFFFFFFFF and v >> 8 == 0xE00000)
                        or (v > 0xFFFFFFFF and link_local_v6(v)))
    covering = defaultdict(set)
    for index, e in enumerate(entries):
        for v in range(e.first, e.last + 1):
            covering[v].add(index)
    pairs = Counter()
    for members in colliding.values():
        here = set()
        for g1 in members:
            for g2 in members:
                if g1 < g2:
                    here.update((min(a, b), max(a, b)) for a in covering[g1] for b in covering[g2])
        pairs.update(here)
    dups = [v for v, n in seen.items() if n > 1]
    conflicting = [v for v in dups if len(labels[v]) > 1]
    return {
        "groups": len(seen),
        "colliding_macs": len(colliding),
        "colliding_groups": sum(len(g) for g in colliding.values()),
        "flooded_groups": len(flooded),
        "link_local_groups": len(link_local),
        "duplicate_groups": len(dups),
        "conflicting_groups": len(conflicting),
        "first_collisions": sorted((0 if k[0] == "v4" else 1, k[1]) for k in colliding)[:10],
        "first_flooded": flooded[:10],
        "pairs": pairs,
    }


# Entries inside a few windows that alias each other (and 224.0.0.x / ff02::1), so collisions are frequent.
BASES = [0xE0000000, 0xE0800000, 0xEF000000, 0xEF800000, 0xE8000000, 0xEF000100,
         0xFF02 << 112, 0xFF0E << 112, 0xFF3E << 112, (0xFF3E << 112) | (1 << 40)]


@st.composite
def plans(draw):
    entries = []
    for index in range(draw(st.integers(0, 8))):
        base = draw(st.sampled_from(BASES))
        start = base + draw(st.integers(0, 400))
        size = draw(st.one_of(st.just(1), st.integers(1, 300)))
        label = draw(st.sampled_from([None, "A", "B"]))
        entries.append(Entry(start, start + size - 1, f"e{index}", label, f"line {index + 1}"))
    return entries


@settings(max_examples=150, deadline=None)
@given(plans(), st.integers(0, 6))
def test_sweep_matches_brute_force(entries, limit):
    report = audit(entries, limit)
    expected = brute(entries)
    for key in ("groups", "colliding_macs", "colliding_groups", "flooded_groups", "link_local_groups",
                "duplicate_groups", "conflicting_groups"):
        assert getattr(report, key) == expected[key], key
    assert [(0 if r.mac.is_ipv4_multicast else 1, r.mac.value & 0xFFFFFFFF & (0x7FFFFF if r.mac.is_ipv4_multicast
             else 0xFFFFFFFF)) for r in report.collisions] == expected["first_collisions"][:limit]
    for row in report.collisions:
        assert {g.group.mac for g in row.groups} == {row.mac} and len(row.groups) >= 2
    assert len(report.flooded) == min(limit, expected["flooded_groups"])
    assert {r.group.group.value for r in report.flooded} <= set(
        v for e in entries for v in range(e.first, e.last + 1))
    assert report.pair_count == len(expected["pairs"])
    assert [p.macs for p in report.entry_pairs] == sorted(expected["pairs"].values(), reverse=True)[:limit]
    for pair in report.entry_pairs:
        assert expected["pairs"][(entries.index(pair.a), entries.index(pair.b))] == pair.macs
    assert report.problem_found == bool(expected["colliding_macs"] or expected["flooded_groups"]
                                        or expected["link_local_groups"] or expected["conflicting_groups"])


def test_whole_slash_8_is_counted_not_listed():
    report = audit([parse_entry("239.0.0.0/8")], limit=10)
    assert report.groups == 1 << 24
    assert report.colliding_macs == 1 << 23
    assert report.colliding_groups == 1 << 24
    assert report.flooded_groups == 512
    assert len(report.collisions) == 10 and len(report.flooded) == 10
    assert [str(g.group) for g in report.collisions[0].groups] == ["239.0.0.0", "239.128.0.0"]


def test_all_of_224_slash_4():
    report = audit([parse_entry("224.0.0.0/4")], limit=1)
    assert report.groups == 1 << 28
    assert report.colliding_macs == 1 << 23
    assert len(report.collisions[0].groups) == 32
    assert report.link_local_groups == 256
    assert report.flooded_groups == 31 * 256


def test_mixed_ranges_and_singles_are_exact():
    entries = [parse_entry("239.1.0.0/16 pool"), parse_entry("239.129.1.1 odd one"),
               parse_entry("239.1.1.1 in the pool too")]
    report = audit(entries)
    assert report.groups == 65537
    assert report.colliding_macs == 1 and report.colliding_groups == 2
    assert [g.text() for g in report.collisions[0].groups] == [
        "239.1.1.1 (pool, in the pool too)", "239.129.1.1 (odd one)"]
    assert report.duplicate_groups == 1 and report.conflicting_groups == 0  # a channel inside its pool
    assert {f.code for f in report.findings} == {"mac-collision", "duplicate-entry"}
    clash = audit([parse_entry("239.1.1.1 Sport"), parse_entry("239.1.1.1 News"), parse_entry("239.1.1.0/24 pool")])
    assert clash.conflicting_groups == 1 and clash.duplicate_groups == 1


def test_clean_plan():
    report = audit([parse_entry("239.192.1.1-239.192.1.200"), parse_entry("232.1.1.1")])
    assert not report.problem_found
    assert [f.code for f in report.findings] == ["ssm-groups"]
    assert report.to_json()["clean"] is True


def test_reserved_blocks_warn():
    report = audit([parse_entry("225.1.2.0/24")])
    assert [f.code for f in report.findings] == ["reserved-block"]
    assert not report.problem_found


def test_example_channel_plan_finds_the_planted_mistakes():
    from pathlib import Path

    path = Path(__file__).parents[3] / "docs" / "examples" / "channel-plan.txt"
    items = list(parse_plan(path.read_text().splitlines()))
    assert all(isinstance(i, Entry) for i in items)
    report = audit(items)
    assert report.colliding_macs == 3 and report.flooded_groups == 1
    assert str(report.flooded[0].group.group) == "239.128.0.5"
    assert report.problem_found


def test_limit_zero_lists_nothing_but_counts():
    report = audit([parse_entry("239.0.0.0/8")], limit=0)
    assert report.collisions == () and report.flooded == () and report.colliding_macs == 1 << 23


def test_negative_limit_refused():
    with pytest.raises(ValueError):
        audit([], -1)


def test_empty_plan_is_clean():
    report = audit([])
    assert report.groups == 0 and not report.problem_found


def test_pathological_overlap_stays_fast_and_says_pairs_are_partial():
    entries = [parse_entry(f"239.0.0.0/8 copy {i}") for i in range(400)]
    report = audit(entries, limit=3)
    assert report.colliding_macs == 1 << 23 and report.duplicate_groups == 1 << 24
    assert report.pairs_complete is False
    assert audit(entries[:2]).pairs_complete is True
