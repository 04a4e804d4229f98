"""The AF_PACKET adapter on a veth pair between two throwaway namespaces."""

from __future__ import annotations

import os
import subprocess
import time

import pytest

from mdiag.adapters import rawsock
from mdiag.adapters.netns import entered
from mdiag.errors import InputError
from mdiag.testing.requirements import need_root

pytestmark = pytest.mark.lab

# IGMPv2 report for 239.1.2.3 from 192.168.1.10 (igmp.md section 7, example 2).
REPORT = bytes.fromhex(
    "01005e010203" "020000000001" "0800"
    "46c000200000400001023161c0a8010aef01020394040000" "1600f8faef010203")


def _udp_frame(group: str = "239.1.2.3", port: int = 5000) -> bytes:
    import socket
    import struct
    ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 28, 0, 0x4000, 1, 17, 0,
                     socket.inet_aton("192.168.1.10"), socket.inet_aton(group))
    udp = struct.pack("!HHHH", 4000, port, 8, 0)
    return bytes.fromhex("01005e010203020000000001" "0800") + ip + udp


def _wait_carrier(links: tuple[tuple[str, str], ...], timeout: float = 10.0) -> None:
    """Wait (bounded) until both veth ends have carrier: a frame sent before that is dropped,
    and on a loaded machine bringing a veth pair up takes a noticeable time."""
    deadline = time.monotonic() + timeout
    for ns, dev in links:
        while True:
            out = subprocess.run(["ip", "-n", ns, "-o", "link", "show", dev],
                                 capture_output=True, text=True).stdout
            if "LOWER_UP" in out:
                break
            if time.monotonic() > deadline:
                pytest.fail(f"veth {ns}:{dev} has no carrier after {timeout} s: {out.strip()}")
            time.sleep(0.02)


@pytest.fixture(scope="module")
def veth():
    need_root()
    a, b = f"md{os.getpid()}ra", f"md{os.getpid()}rb"
    try:
        for ns in (a, b):
            subprocess.run(["ip", "netns", "add", ns], check=True)
        subprocess.run(["ip", "-n", a, "link", "add", "v0", "type", "veth", "peer", "name", "v1",
                        "netns", b], check=True)
        for ns, dev in ((a, "v0"), (b, "v1")):
            subprocess.run(["ip", "-n", ns, "link", "set", dev, "up"], check=True)
        _wait_carrier(((a, "v0"), (b, "v1")))
        yield a, b
    finally:
        for ns in (a, b):
            subprocess.run(["ip", "netns", "del", ns], stderr=subprocess.DEVNULL)


@pytest.mark.parametrize("kernel", [True, False], ids=["bpf", "python"])
def test_send_and_capture_filtered_with_kernel_timestamps(veth, kernel):
    a, b = veth
    with entered(b):
        cap = rawsock.RawSocket("v1", rawsock.IGMP, use_kernel_filter=kernel)
    with entered(a):
        tx = rawsock.RawSocket("v0", None)
    with cap, tx:
        assert cap.kernel_filter is kernel
        before = time.time_ns()
        tx.send(_udp_frame())  # not IGMP: filtered out
        tx.send(REPORT)
        got = cap.recv(2.0)
        after = time.time_ns()
        assert got is not None and got.frame == REPORT and not got.outgoing
        assert before <= got.ts_ns <= after
        assert cap.recv(0.05) is None
        if not kernel:
            assert cap.dropped_by_python >= 1  # the UDP frame (and any IPv6 noise)


def test_group_filter_keeps_igmp_and_that_groups_udp_only(veth):
    a, b = veth
    flt = rawsock.igmp_or_udp_to("239.1.2.3", 5000)
    with entered(b):
        cap = rawsock.RawSocket("v1", flt)
    with entered(a):
        tx = rawsock.RawSocket("v0", None)
    with cap, tx:
        for frame in (_udp_frame("239.9.9.9"), _udp_frame(port=6000), _udp_frame(), REPORT):
            tx.send(frame)
        frames = [c.frame for c in cap.capture(time.monotonic() + 0.3)]
    assert frames == [_udp_frame(), REPORT]
    assert all(flt.match(f) for f in frames)
    assert not flt.match(_udp_frame("239.9.9.9"))


def test_outgoing_frames_are_marked(veth):
    a, _ = veth
    with entered(a):
        cap = rawsock.RawSocket("v0", rawsock.IGMP)
        tx = rawsock.RawSocket("v0", None)
    with cap, tx:
        tx.send(REPORT)
        got = cap.recv(2.0)
    assert got is not None and got.outgoing


def test_unknown_interface_lists_the_real_ones(veth):
    a, _ = veth
    with entered(a), pytest.raises(InputError, match="interfaces: .*v0"):
        rawsock.RawSocket("nope0")


def test_bad_filter_expression_is_input_error():
    if not rawsock.libpcap_available():
        pytest.skip("libpcap not installed")
    with pytest.raises(InputError, match="not valid"):
        rawsock.compile_bpf("igmp and and")
    assert rawsock.compile_bpf("igmp")  # a few instructions


def test_unknown_namespace_is_input_error():
    need_root()
    with pytest.raises(InputError, match="ip netns list"):
        with entered(f"md{os.getpid()}none"):
            pass
