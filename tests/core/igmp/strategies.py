"""Hypothesis strategies for every IGMP model (shared by the property and differential tests)."""

from __future__ import annotations

from hypothesis import strategies as st

from mdiag.core.igmp import (
    GroupRecord,
    IPv4Header,
    UnknownMessage,
    V1Query,
    V1Report,
    V2Leave,
    V2Query,
    V2Report,
    V3Query,
    V3Report,
)

addresses = st.integers(0, 2**32 - 1)
groups = st.one_of(st.integers(0xE0000000, 0xEFFFFFFF), addresses)
sources = st.lists(addresses, max_size=6).map(tuple)
byte = st.integers(0, 255)

v1_queries = st.builds(V1Query, groups)
v1_reports = st.builds(V1Report, groups, byte)
v2_reports = st.builds(V2Report, groups, byte)
v2_leaves = st.builds(V2Leave, groups, byte)
v2_queries = st.builds(V2Query, st.integers(1, 255), groups)
v3_queries = st.builds(V3Query, byte, groups, st.booleans(), st.integers(0, 7), byte, sources, st.integers(0, 15))
records = st.builds(GroupRecord, st.one_of(st.integers(1, 6), byte), groups, sources,
                    st.integers(0, 3).map(lambda n: bytes(range(4 * n))))
v3_reports = st.builds(V3Report, st.lists(records, max_size=5).map(tuple), byte, st.integers(0, 0xFFFF))
# Unknown types: anything but the modelled ones, at least 8 bytes.
unknowns = st.builds(lambda t, rest: UnknownMessage(bytes([t]) + rest),
                     byte.filter(lambda t: t not in (0x11, 0x12, 0x16, 0x17, 0x22)),
                     st.binary(min_size=7, max_size=40))

messages = st.one_of(v1_queries, v1_reports, v2_reports, v2_leaves, v2_queries, v3_queries, v3_reports, unknowns)

headers = st.builds(IPv4Header, src=addresses, dst=addresses, ttl=byte, tos=byte, df=st.booleans(),
                    router_alert=st.booleans(), identification=st.integers(0, 0xFFFF))
