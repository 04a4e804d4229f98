"""The namespace lab itself: build, addresses, idempotence, bridge settings, tear-down."""

from __future__ import annotations

import json

import pytest

from mdiag.adapters.lab import BRIDGE_ADDRESS, BridgeConfig, Lab
from mdiag.adapters.netns import list_names as list_netns
from mdiag.errors import InputError
from mdiag.testing.plugin import unique_prefix
from mdiag.testing.requirements import need_root

pytestmark = pytest.mark.lab


def test_hosts_have_addresses_and_reach_each_other(mdiag_lab):
    h1, h2 = mdiag_lab.host("h1"), mdiag_lab.host(2)
    assert h1.address == "198.18.0.11" and h2.address == "198.18.0.12"
    out = mdiag_lab.run("h1", ["ip", "-j", "addr", "show", h1.iface], check=True).stdout
    addrs = [a["local"] for a in json.loads(out)[0]["addr_info"] if a["family"] == "inet"]
    assert addrs == [h1.address]
    routes = mdiag_lab.run("h2", ["ip", "-j", "route", "show", "224.0.0.0/4"], check=True).stdout
    assert json.loads(routes)[0]["dev"] == h2.iface


def test_nothing_in_the_root_namespace(mdiag_lab):
    import socket

    names = {name for _, name in socket.if_nameindex()}
    # the lab's links live only inside its namespaces
    assert "lab0" not in names
    assert all(f"p{i}" not in names for i in range(1, 4))


def test_up_is_idempotent_and_bridge_settings_apply(mdiag_lab):
    again = Lab(prefix=mdiag_lab.prefix, hosts=3,
                bridge=BridgeConfig.fast(last_member_interval=0.2))
    assert again.up() is False  # already up: settings re-applied only
    settings = again.bridge_settings()
    assert settings["mcast_last_member_intvl"] == pytest.approx(0.2)
    assert settings["mcast_querier"] == 1 and settings["mcast_igmp_version"] == 3
    assert settings["mcast_query_use_ifaddr"] == 1
    again.configure_bridge(mdiag_lab.bridge)
    found = Lab.existing(mdiag_lab.prefix)
    assert found is not None and found.hosts == 3
    out = mdiag_lab.run_bridge(["ip", "-j", "addr", "show", "br0"]).stdout
    assert BRIDGE_ADDRESS in out


def test_call_runs_a_function_inside_a_host(mdiag_lab):
    names = mdiag_lab.call("h3", _interface_names)
    assert "lab0" in names and "eth0" not in names


def _interface_names():
    import socket

    return [name for _, name in socket.if_nameindex()]


def test_down_removes_everything_and_partial_labs_are_rebuilt():
    need_root()
    lab = Lab(prefix=unique_prefix(), hosts=2)
    try:
        assert lab.up() is True
        # simulate a run that died half way: a host namespace is gone
        import subprocess

        subprocess.run(["ip", "netns", "del", lab.host("h2").netns], check=True)
        assert not lab.is_up()
        assert lab.up() is True
        assert lab.is_up()
    finally:
        removed = lab.down()
    assert set(removed) == set(lab.namespaces())
    assert not any(n.startswith(lab.prefix + "-") for n in list_netns())


@pytest.mark.parametrize("kwargs, text", [
    ({"prefix": "lab"}, "must be 'md'"),
    ({"prefix": "md-x"}, "must be 'md'"),
    ({"hosts": 0}, "1..200 hosts"),
])
def test_bad_lab_parameters(kwargs, text):
    with pytest.raises(InputError, match=text):
        Lab(**kwargs)


def test_bad_bridge_config():
    with pytest.raises(InputError, match="shorter than the query interval"):
        BridgeConfig(query_interval=2, query_response_interval=3)
    with pytest.raises(InputError, match="off, v2 or v3"):
        BridgeConfig(querier="v4")


def test_a_failed_build_leaves_nothing_behind(monkeypatch):
    need_root()
    import mdiag.adapters.lab as lab_mod

    lab = Lab(prefix=unique_prefix(), hosts=3)
    real_ip = lab_mod._ip
    calls = {"n": 0}

    def failing_ip(args, **kwargs):
        if "-batch" in args:  # after the namespaces exist: the links fail
            calls["n"] += 1
            raise lab_mod.LabError("simulated failure")
        return real_ip(args, **kwargs)

    monkeypatch.setattr(lab_mod, "_ip", failing_ip)
    with pytest.raises(lab_mod.LabError, match="simulated"):
        lab.up()
    monkeypatch.setattr(lab_mod, "_ip", real_ip)
    assert calls["n"] == 1
    assert not any(n.startswith(lab.prefix + "-") for n in list_netns())


def test_ctrl_c_during_build_cleans_up(monkeypatch):
    need_root()
    import mdiag.adapters.lab as lab_mod

    lab = Lab(prefix=unique_prefix(), hosts=2)
    real_wait = Lab.wait_ready

    def interrupted(self, timeout=5.0):
        raise KeyboardInterrupt

    monkeypatch.setattr(Lab, "wait_ready", interrupted)
    with pytest.raises(KeyboardInterrupt):
        lab.up()
    monkeypatch.setattr(Lab, "wait_ready", real_wait)
    assert not any(n.startswith(lab.prefix + "-") for n in list_netns())
    assert lab_mod.Lab.existing(lab.prefix) is None


def test_lab_cli_status_and_exec(mdiag_lab, cli):
    status = cli("lab", "status", "--lab-prefix", mdiag_lab.prefix, "--json")
    assert status.status == 0
    doc = status.json()
    assert doc["up"] and [h["name"] for h in doc["lab"]["hosts"]] == ["h1", "h2", "h3"]
    assert doc["bridge_settings"]["mcast_querier"] == 1
    ran = cli("lab", "exec", "--lab-prefix", mdiag_lab.prefix, "h3", "--", "ip", "-br", "addr", "show", "lab0")
    assert ran.status == 0 and "198.18.0.13/24" in ran.stdout
    failed = cli("lab", "exec", "--lab-prefix", mdiag_lab.prefix, "h1", "--", "false")
    assert failed.status == 1  # the command's own status
    none = cli("lab", "status", "--lab-prefix", "mdnolabhere")
    assert none.status == 1 and "no lab" in none.stdout


def test_an_igmpv2_querier_moves_hosts_to_v2_and_doctor_objects_to_ssm(mdiag_lab_factory, cli):
    import time

    lab = mdiag_lab_factory(hosts=2, bridge=BridgeConfig.fast(querier="v2"))
    deadline = time.monotonic() + 5
    with lab.inside("h2"):
        while True:  # the bridge's startup queries come 1 s apart: bounded wait for the first
            doc = cli("ifaces", "lab0", "--json").json()["interfaces"][0]
            if doc["igmp_version"] == "V2" or time.monotonic() > deadline:
                break
            time.sleep(0.1)
        doctor = cli("doctor", "--iface", "lab0", "--group", "232.1.1.1", "--source", "198.18.0.11", "--json")
        table = cli("ifaces", "lab0")
    assert doc["igmp_version"] == "V2" and doc["querier_seen"] == "v2"
    assert "(v2 querier heard)" in table.stdout
    assert doctor.status == 1
    (igmp,) = [c for c in doctor.json()["checks"] if c["check"] == "igmp-version"]
    assert igmp["status"] == "fail" and "older querier" in igmp["message"]


def test_doctor_follows_policy_rules_not_only_the_main_table(mdiag_lab, cli):
    import subprocess

    need_root()
    ns = ["ip", "netns", "exec", mdiag_lab.host("h2").netns]
    rules = [("239.77.0.0/16", ["table", "177"]), ("239.78.0.0/16", ["prohibit"])]
    subprocess.run([*ns, "ip", "route", "add", "239.77.0.0/16", "dev", "lo", "table", "177"], check=True)
    try:
        for prefix, action in rules:
            subprocess.run([*ns, "ip", "rule", "add", "to", prefix, *action], check=True)
        with mdiag_lab.inside("h2"):
            ruled = cli("doctor", "--iface", "lab0", "--group", "239.77.0.1", "--json")
            prohibited = cli("doctor", "--iface", "lab0", "--group", "239.78.0.1", "--json")
            main = cli("doctor", "--iface", "lab0", "--group", "239.76.0.1", "--json")
    finally:
        for prefix, action in rules:
            subprocess.run([*ns, "ip", "rule", "del", "to", prefix, *action], check=False)
        subprocess.run([*ns, "ip", "route", "flush", "table", "177"], check=False)

    def route(result):
        (check,) = [c for c in result.json()["checks"] if c["check"] == "route"]
        return check

    # /proc/net/route (main table) says lab0 for all three; the kernel's lookup knows better
    assert route(ruled)["status"] == "warn" and "via lo (policy rule or table 177)" in route(ruled)["message"]
    assert "ip rule" in route(ruled)["fix"]
    assert route(prohibited)["status"] == "warn" and "no route for 239.78.0.1" in route(prohibited)["message"]
    assert route(main)["status"] == "ok" and "via lab0 (224.0.0.0/4)" in route(main)["message"]
