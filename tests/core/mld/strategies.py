"""Hypothesis strategies for every MLD model (shared by the property and differential tests)."""

from __future__ import annotations

from hypothesis import strategies as st

from mdiag.core.mld import (
    IPv6Header,
    Mld1Done,
    Mld1Query,
    Mld1Report,
    Mld2Query,
    Mld2Report,
    MldRecord,
    UnknownMld,
)

addresses = st.one_of(st.integers(0, 2**128 - 1), st.sampled_from([0, 1, 0xFF02 << 112 | 1, 0xFE80 << 112 | 5]))
link_local = st.integers(0, 2**64 - 1).map(lambda iid: 0xFE80 << 112 | iid)
groups = st.one_of(st.integers(0xFF00 << 112, 2**128 - 1), addresses,
                   st.sampled_from([0xFF02 << 112 | 0x16, 0xFF3E << 112 | 0x100002, 0xFF02 << 112 | 1]))
sources = st.lists(addresses, max_size=4).map(tuple)
byte = st.integers(0, 255)
word = st.integers(0, 0xFFFF)

mld1_queries = st.builds(Mld1Query, word, groups, word, byte)
mld1_reports = st.builds(Mld1Report, groups, word, word, byte)
mld1_dones = st.builds(Mld1Done, groups, word, word, byte)
mld2_queries = st.builds(Mld2Query, word, groups, st.booleans(), st.integers(0, 7), byte, sources, word,
                         st.integers(0, 15), byte)
records = st.builds(MldRecord, st.one_of(st.integers(1, 6), byte), groups, sources,
                    st.integers(0, 2).map(lambda n: bytes(range(4 * n))))
mld2_reports = st.builds(Mld2Report, st.lists(records, max_size=4).map(tuple), byte, word)
unknowns = st.builds(lambda t, rest: UnknownMld(bytes([t]) + rest), st.sampled_from([151, 152, 153]),
                     st.binary(min_size=3, max_size=30))

messages = st.one_of(mld1_queries, mld1_reports, mld1_dones, mld2_queries, mld2_reports, unknowns)

headers = st.builds(IPv6Header, src=st.one_of(link_local, addresses), dst=addresses, hop_limit=byte,
                    traffic_class=byte, flow_label=st.integers(0, 0xFFFFF), router_alert=st.booleans())
