"""The untagged-Ethernet fast path of locate_ipv4 agrees with the general path."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from mdiag.core import linklayer as ll

ETHERTYPES = st.sampled_from([b"\x08\x00", b"\x08\x00", b"\x81\x00", b"\x86\xdd", b"\x08\x06", b"\x88\xa8"])
FIRST_IP_BYTE = st.sampled_from([0x45, 0x46, 0x4F, 0x60, 0x00, 0x44])


@st.composite
def frames(draw: st.DrawFn) -> tuple[bytes, int, int]:
    body = draw(st.binary(min_size=0, max_size=60))
    frame = bytearray(draw(st.binary(min_size=12, max_size=12)) + draw(ETHERTYPES) + bytes([draw(FIRST_IP_BYTE)]) + body)
    frame = frame[:draw(st.integers(0, len(frame)))]
    before = draw(st.binary(max_size=8))
    after = draw(st.binary(max_size=8))      # bytes of the next record in the same block
    return bytes(before + frame + after), len(before), len(frame)


@settings(max_examples=400, deadline=None)
@given(frames(), st.sampled_from([1, 1, 1, 113, 276, 101, 0]))
def test_fast_path_agrees_with_general_path(case, linktype):
    buf, start, length = case
    fast = ll.locate_ipv4(linktype, buf, start, length)
    general = ll._locate_general(linktype, buf, start, length)
    assert fast == general
    assert type(fast) is ll.Located


def test_plain_ethernet_ipv4_is_found_without_the_general_path(monkeypatch):
    monkeypatch.setattr(ll, "_locate_general", lambda *a: (_ for _ in ()).throw(AssertionError("slow path")))
    frame = bytes(range(6)) + bytes(range(6, 12)) + b"\x08\x00\x46" + bytes(23)
    located = ll.locate_ipv4(1, b"pad" + frame, 3, len(frame))
    assert located == (ll.OK, 17, (), bytes(range(6, 12)))
    assert located.src_mac == bytes(range(6, 12))
