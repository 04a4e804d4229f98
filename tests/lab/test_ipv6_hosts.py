"""IPv6 on real kernels: the dual-stack lab, MLD snooping, ASM/SSM/link-local joins and streams,
1,000 groups in one process, and the IPv6 limits explained (all inside lab namespaces)."""

from __future__ import annotations

import errno
import json
import socket
import threading
import time

import pytest

from mdiag.adapters import sockets
from mdiag.adapters.lab import BRIDGE_ADDRESS6, BRIDGE_MAC, link_local
from mdiag.adapters.sockets import Join, Receiver, Sender, StreamCollector
from mdiag.core.rate import Pacing
from tests.lab.test_streams import _finish, _listen

pytestmark = pytest.mark.lab




def test_dual_stack_lab_has_ula_and_link_local_addresses_and_no_tentative_ones(mdiag_lab6):
    h1 = mdiag_lab6.host("h1")
    assert (h1.address6, h1.link_local) == ("fd00:c612::11", "fe80::c6ff:fe12:b")
    out = mdiag_lab6.run("h1", ["ip", "-6", "-j", "addr", "show", "dev", "lab0"], check=True).stdout
    infos = json.loads(out)[0]["addr_info"]
    assert {a["local"] for a in infos} == {"fd00:c612::11", "fe80::c6ff:fe12:b"}
    assert not any(a.get("tentative") for a in infos)
    assert BRIDGE_ADDRESS6 in mdiag_lab6.run_bridge(["ip", "-6", "-br", "addr", "show", "dev", "br0"]).stdout
    # bridge ports are layer 2 only; the bridge itself answers MLD from its link-local address
    ports = mdiag_lab6.run_bridge(["ip", "-6", "-br", "addr", "show", "dev", "p1"]).stdout
    assert "fe80" not in ports
    assert mdiag_lab6.describe()["bridge"]["link_local"] == link_local(BRIDGE_MAC)


def test_asm_stream_through_the_mld_snooping_bridge(mdiag_lab6):
    group = "ff3e::8000:1"
    listener = _listen(mdiag_lab6, "h2", group, "--iface", "lab0", "--port", "7101", "--duration", "8",
                       "--until-end", "--json", "--max-loss", "0.5")
    mdiag_lab6.wait_member(group, "h2", timeout=5)
    assert "h3" not in mdiag_lab6.members(group)  # snooping: only the member is registered
    sent = mdiag_lab6.run("h1", mdiag_lab6.mdiag_argv("send", group, "--iface", "lab0", "--port", "7101",
                                                      "--count", "1000", "--rate", "4000pps", "--json"),
                          timeout=20)
    assert sent.returncode == 0, sent.stderr
    summary = json.loads(sent.stdout)
    assert summary["sent"] == 1000 and summary["source"].startswith("[fd00:c612::11]:")
    status, out, err = _finish(listener)
    assert status == 0, err
    doc = json.loads(out)
    (stream,) = doc["streams"]
    assert stream["sender"].startswith("[fd00:c612::11]:") and stream["group"] == group
    assert stream["received"] + stream["lost"] == 1000 and stream["lost"] <= 5
    assert (stream["duplicated"], stream["reordered"], stream["ended"]) == (0, 0, True)
    assert stream["latency_ms"] is not None and doc["groups"][0]["join_to_first_ms"] > 0


def test_ssm_join_receives_only_its_source(mdiag_lab6):
    group, port = "ff3e::8000:2", 7102
    with mdiag_lab6.inside("h3"):
        receiver = Receiver([Join(group, "fd00:c612::11")], "lab0", port)
    with receiver:
        entries = []
        for _ in range(100):  # the MLDv2 report lands in the MDB with its source
            entries = [e for e in mdiag_lab6.mdb() if e.get("grp") == group and e.get("port") == "p3"]
            if entries:
                break
            time.sleep(0.03)
        assert entries, "the bridge never registered the (S,G) join"
        assert any(e.get("src") == "fd00:c612::11" or
                   any(s.get("address") == "fd00:c612::11" for s in e.get("source_list", []) or [])
                   for e in entries)

        def send_from(host):
            with mdiag_lab6.inside(host):
                sender = Sender(group, port, "lab0", loop=False)
            with sender:
                result = sender.send_stream(size=64, pacing=Pacing(2000, burst=4), budget=100,
                                            duration=None, stream_id=sockets.random_stream_id())
                sender.send_end(result.stream_id, result.sent)

        collector = StreamCollector()
        thread = threading.Thread(target=lambda: (send_from("h1"), send_from("h2")), daemon=True)
        thread.start()
        receiver.receive(collector, until_ns=time.monotonic_ns() + 3_000_000_000,
                         stop=lambda: not thread.is_alive() and bool(collector.streams)
                         and all(s.end_total is not None for s in collector.streams))
        thread.join(5)
    senders = {s.report().sender.rpartition(":")[0] for s in collector.streams}
    assert senders == {"[fd00:c612::11]"}
    assert collector.streams[0].report().received == 100


def test_link_local_group_needs_and_uses_the_interface(mdiag_lab6, cli):
    group = "ff02::4242"
    listener = _listen(mdiag_lab6, "h2", f"{group}%lab0", "--iface", "lab0", "--port", "7103",
                       "--duration", "6", "--count", "3", "--json")
    mdiag_lab6.wait_member(group, "h2", timeout=5)
    sent = mdiag_lab6.run("h1", mdiag_lab6.mdiag_argv("send", group, "--iface", "lab0", "--port", "7103",
                                                      "--stdin"), input="a\nb\nc\n")
    assert sent.returncode == 0, sent.stderr
    assert "to [ff02::4242]:7103" in sent.stdout
    status, out, err = _finish(listener)
    assert status == 0, err
    plain = json.loads(out)["plain"]
    assert [p["text"] for p in plain] == ["a", "b", "c"]
    assert plain[0]["sender"].startswith("[fe80::c6ff:fe12:b]:")  # link-local group: link-local source
    wrong = mdiag_lab6.run("h2", mdiag_lab6.mdiag_argv("listen", f"{group}%eth9", "--iface", "lab0",
                                                       "--duration", "1"))
    assert wrong.returncode == 2 and "the zone %eth9 is not --iface lab0" in wrong.stderr


def test_a_thousand_ipv6_groups_in_one_process(mdiag_lab6):
    port = 7104
    groups = [f"ff3e::9:{i:x}" for i in range(1, 1001)]
    with mdiag_lab6.inside("h2"):
        receiver = Receiver([Join(g) for g in groups], "lab0", port)
    with receiver:
        assert len(receiver.members) == 1000
        mdiag_lab6.wait_member(groups[-1], "h2", timeout=10)
        with mdiag_lab6.inside("h1"):
            sender = Sender(groups, port, "lab0", loop=False)

        def blast():
            with sender:
                sender.send_stream(size=64, pacing=Pacing(20000, burst=16), budget=3000, duration=None,
                                   stream_id=sockets.random_stream_id())

        collector = StreamCollector(window=2048)
        thread = threading.Thread(target=blast, daemon=True)
        thread.start()
        receiver.receive(collector, until_ns=time.monotonic_ns() + 5_000_000_000,
                         stop=lambda: collector.data_packets >= 3000)
        thread.join(5)
        registered = sum(1 for g in groups[:50] if "h2" in mdiag_lab6.members(g))
    got = {s.group for s in collector.streams}
    assert len(got) == 1000, f"{1000 - len(got)} groups got nothing"
    assert collector.data_packets == 3000
    assert registered == 50


def test_ipv6_limits_are_explained(mdiag_lab6):
    with open("/proc/sys/net/ipv6/mld_max_msf") as handle:  # machine-wide: read, never written
        max_msf = int(handle.read())

    def too_many_sources():
        sock = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM)
        index = socket.if_nametoindex("lab0")
        try:
            for i in range(max_msf + 1):
                sock.setsockopt(socket.IPPROTO_IPV6, sockets.MCAST_JOIN_SOURCE_GROUP,
                                sockets.group_source_req(index, "ff3e::7:1", f"fd00:c612::{100 + i:x}"))
        except OSError as exc:
            return exc.errno, i, sockets.explain(exc, action="joining", group="ff3e::7:1", iface="lab0",
                                                 source="fd00:c612::1").message
        finally:
            sock.close()
        return None, 0, ""

    code, count, message = mdiag_lab6.call("h3", too_many_sources)
    assert (code, count) == (errno.ENOBUFS, max_msf)
    assert "net.ipv6.mld_max_msf (machine-wide, default 64)" in message
    assert "'sysctl -w net.ipv6.mld_max_msf=N'" in message

    def small_optmem():
        with open("/proc/sys/net/core/optmem_max", "w") as handle:
            handle.write("256")
        sock = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM)
        index = socket.if_nametoindex("lab0")
        try:
            for i in range(1, 200):
                sock.setsockopt(socket.IPPROTO_IPV6, sockets.IPV6_JOIN_GROUP,
                                sockets.ipv6_mreq(f"ff3e::6:{i:x}", index))
        except OSError as exc:
            return exc.errno, i, sockets.explain(exc, action="joining", group=f"ff3e::6:{i:x}",
                                                 iface="lab0").message
        finally:
            sock.close()
        return None, 0, ""

    code, count, message = mdiag_lab6.call("h3", small_optmem)
    assert code in (errno.ENOBUFS, errno.ENOMEM) and count > 1
    assert "net.core.optmem_max = 256 bytes" in message


def test_ipv6_in_an_ipv4_only_lab_is_one_clear_line(mdiag_lab):
    out = mdiag_lab.run("h2", mdiag_lab.mdiag_argv("listen", "ff3e::1", "--iface", "lab0", "--duration", "1"))
    assert out.returncode != 0
    assert "IPv6 is disabled on lab0 (net.ipv6.conf.lab0.disable_ipv6 = 1)" in out.stderr
    assert "Traceback" not in out.stderr and len(out.stderr.strip().splitlines()) == 1


def test_lab_cli_builds_dual_stack_with_an_mldv1_querier_and_shows_the_v6_mdb(cli):
    from mdiag.adapters.lab import Lab
    from mdiag.testing.plugin import unique_prefix

    prefix = unique_prefix()
    try:
        up = cli("lab", "up", "--lab-prefix", prefix, "--hosts", "2", "--fast", "--mld-version", "1")
        assert up.status == 0, up.stderr
        assert "fd00:c612::1" in up.stdout and "querier v3 + MLDv1" in up.stdout
        assert "fe80::c6ff:fe12:c" in up.stdout  # h2's link-local address in the hosts table
        lab = Lab.existing(prefix)
        assert lab is not None and lab.ipv6 and lab.bridge.mld_version == 1
        with lab.inside("h2"):
            receiver = Receiver([Join("ff3e::10:2")], "lab0", 7105)
        with receiver:
            lab.wait_member("ff3e::10:2", "h2", timeout=5)
            status = cli("lab", "status", "--lab-prefix", prefix)
            doc = cli("lab", "status", "--lab-prefix", prefix, "--json").json()
        assert "dual-stack" in status.stdout and "ff3e::10:2" in status.stdout
        assert doc["bridge_settings"]["mcast_mld_version"] == 1 and doc["lab"]["ipv6"] is True
        # the MLDv1 querier moves the host to MLDv1: its join is a v1 report, no filter mode
        entry = next(e for e in doc["mdb"] if e["grp"] == "ff3e::10:2")
        assert entry["port"] == "p2"
        again = cli("lab", "up", "--lab-prefix", prefix, "--hosts", "2", "--ipv4-only")
        assert again.status == 2 and "is up dual-stack: take it down first" in again.stderr
    finally:
        cli("lab", "down", "--lab-prefix", prefix)


def _write(path, value):
    with open(path, "w") as handle:
        handle.write(value)


def test_ifaces_groups_and_doctor_read_the_ipv6_side(mdiag_lab6, cli):
    with mdiag_lab6.inside("h3"):
        receiver = Receiver([Join("ff3e::8000:5", "fd00:c612::11"), Join("ff3e::8000:5", "fd00:c612::12"),
                             Join("ff15::5")], "lab0", 7106)
        with receiver:
            groups = cli("groups", "--iface", "lab0", "--json")
            table = cli("groups", "--iface", "lab0")
            ifaces = cli("ifaces", "lab0", "--json")
            good = cli("doctor", "--iface", "lab0", "--group", "ff3e::8000:5", "--source", "fd00:c612::11",
                       "--port", "7106", "--json")
        # forcing MLDv1 breaks source-specific joins: doctor says so (and puts it back)
        _write("/proc/sys/net/ipv6/conf/lab0/force_mld_version", "1")
        try:
            forced = cli("doctor", "--iface", "lab0", "--group", "ff3e::8000:5", "--source",
                         "fd00:c612::11", "--json")
            forced_ifaces = cli("ifaces", "lab0", "--json")
        finally:
            _write("/proc/sys/net/ipv6/conf/lab0/force_mld_version", "0")
    assert groups.status == 0, groups.stderr
    by_group = {m["group"]: m for m in groups.json()["memberships"] if m["family"] == 6}
    ssm = by_group["ff3e::8000:5"]
    assert ssm["mode"] == "include" and ssm["mac"] == "33:33:80:00:00:05"
    assert [s["source"] for s in ssm["sources"]] == ["fd00:c612::11", "fd00:c612::12"]
    assert by_group["ff15::5"]["mode"] == "exclude"
    assert "ff02::1:ff00:13" in by_group  # the kernel's own solicited-node join
    assert "ff31::8000:fffe" not in by_group  # the probe that reveals sources is not shown
    assert "fd00:c612::11, fd00:c612::12" in table.stdout and "MLD" in table.stdout
    (lab0,) = ifaces.json()["interfaces"]
    assert lab0["ipv6"] == ["fd00:c612::13/64", "fe80::c6ff:fe12:d/64"]
    assert (lab0["ipv6_disabled"], lab0["mld_version"], lab0["mld_groups"] >= 4) == (False, "auto", True)
    doc = good.json()
    assert good.status == 0 and doc["verdict"] == "ok", doc
    checks = {c["check"]: c for c in doc["checks"]}
    assert checks["route"]["message"] == "ff3e::8000:5 routes via lab0 (ff00::/8)"
    assert "mld_max_msf = 64" in checks["max-msf"]["message"]
    assert forced.status == 1
    assert {c["check"]: c["status"] for c in forced.json()["checks"]}["mld-version"] == "fail"
    assert forced_ifaces.json()["interfaces"][0]["mld_version"] == "v1"


def test_doctor_and_ifaces_in_an_ipv4_only_lab_say_ipv6_is_off(mdiag_lab, cli):
    with mdiag_lab.inside("h2"):
        doctor = cli("doctor", "--iface", "lab0", "--group", "ff3e::1", "--json")
        ifaces = cli("ifaces", "lab0", "--json")
    assert doctor.status == 1
    check = {c["check"]: c for c in doctor.json()["checks"]}["ipv6-address"]
    assert check["status"] == "fail" and "disable_ipv6 = 1" in check["message"]
    (lab0,) = ifaces.json()["interfaces"]
    assert lab0["ipv6_disabled"] is True and lab0["mld_version"] is None and lab0["ipv6"] == []
