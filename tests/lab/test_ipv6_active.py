"""Active probes speaking MLD against the lab's real Linux bridge (MLD snooping, MLDv2 and MLDv1
querier) and kernel hosts: querier identification, verdicts and an election challenge."""

from __future__ import annotations

import pytest

from mdiag.adapters.lab import BRIDGE_MAC, BridgeConfig, link_local

pytestmark = pytest.mark.lab

BRIDGE_LL = link_local(BRIDGE_MAC)  # fe80::c6ff:fe12:1, the bridge's MLD querier source


def test_mldv2_querier_identified_and_judged(mdiag_lab6, cli):
    h1 = mdiag_lab6.host("h1")
    r = cli("querier", "--mld", "--iface", h1.iface, "--netns", h1.netns, "--wait", "10", "--queries", "3",
            "--expect", f"querier={BRIDGE_LL}", "--expect", "mld-version=2", "--json")
    assert r.status == 0, r.stdout + r.stderr
    doc = r.json()
    elected = doc["report"]["elected"]
    assert (elected["address"], elected["mac"], elected["version"]) == (BRIDGE_LL, BRIDGE_MAC, 2)
    cfg = mdiag_lab6.bridge
    assert elected["max_resp"] == pytest.approx(cfg.query_response_interval)
    assert elected["qqi"] == pytest.approx(cfg.query_interval) and elected["qrv"] == 2
    verdicts = {v["check"]: v["status"] for v in doc["report"]["verdicts"]}
    for check in ("source-address", "ttl", "router-alert", "destination", "checksum", "interval",
                  "response-time", "single-querier", "versions-agree"):
        assert verdicts[check] == "pass", (check, doc["report"]["verdicts"])
    assert "tos" not in verdicts and doc["ok"] is True


def test_mldv1_querier_and_an_ipv6_expectation_implies_mld(mdiag_lab_factory, cli):
    lab = mdiag_lab_factory(hosts=1, bridge=BridgeConfig.fast(mld_version=1), ipv6=True)
    h1 = lab.host("h1")
    r = cli("querier", "--iface", h1.iface, "--netns", h1.netns, "--wait", "12", "--queries", "3",
            "--query-interval", "2", "--expect", f"querier={BRIDGE_LL}", "--expect", "mld-version=1", "--json")
    assert r.status == 0, r.stdout + r.stderr
    elected = r.json()["report"]["elected"]
    assert (elected["address"], elected["version"], elected["qqi"]) == (BRIDGE_LL, 1, None)
    bad = cli("querier", "--mld", "--iface", h1.iface, "--netns", h1.netns, "--expect", "mld-version=3")
    assert bad.status == 2 and "the MLD version is 1 or 2" in bad.stderr


def test_mld_challenge_from_a_lower_link_local_address(mdiag_lab_factory, cli):
    lab = mdiag_lab_factory(hosts=1, bridge=BridgeConfig.fast(), ipv6=True)
    h1 = lab.host("h1")
    refused = cli("querier", "--iface", h1.iface, "--netns", h1.netns, "--challenge", "fe80::1")
    assert refused.status == 2 and "add --force" in refused.stderr
    not_ll = cli("querier", "--iface", h1.iface, "--netns", h1.netns, "--challenge", "fd00::1", "--force")
    assert not_ll.status == 2 and "is not link-local" in not_ll.stderr
    r = cli("querier", "--iface", h1.iface, "--netns", h1.netns, "--wait", "5", "--challenge", "fe80::1",
            "--force", "--challenge-for", "4", "--json")
    assert r.status == 0, r.stdout + r.stderr
    challenge = r.json()["challenge"]
    assert (challenge["incumbent"], challenge["challenger"]) == (BRIDGE_LL, "fe80::1")
    assert challenge["yielded"] is True and challenge["ok"] is True
    # the bridge resumes after its Other Querier Present Interval (mcast_querier_interval)
    assert challenge["resumed_after"] == pytest.approx(lab.bridge.querier_interval, abs=1.0)


def test_delay_through_the_mld_snooping_bridge(mdiag_lab6, cli):
    r = cli("delay", "--lab", "--lab-prefix", mdiag_lab6.prefix, "--group", "ff3e::1:2", "--repeat", "2",
            "--json")
    assert r.status == 0, r.stdout + r.stderr
    doc = r.json()
    assert doc["group"] == "ff3e::1:2"
    join, leave = doc["join"], doc["leave"]
    assert join["count"] == leave["count"] == 2 and join["max"] < 0.5
    # the leave takes the bridge's last-listener query time (0.1 s x 2 here, RFC 3810 7.4.2)
    assert 0.15 < leave["median"] < 0.6
    ssm = cli("delay", "--lab", "--lab-prefix", mdiag_lab6.prefix, "--group", "ff3e::1:3", "--ssm",
              "--repeat", "1", "--json")
    assert ssm.status == 0, ssm.stdout + ssm.stderr
    assert ssm.json()["source"] == "fd00:c612::11"
    bad = cli("delay", "--lab", "--lab-prefix", mdiag_lab6.prefix, "--group", "ff02::1:2")
    assert bad.status == 2 and "outside ff01::/16 and ff02::/16" in bad.stderr


def test_verify_and_zap_ipv6_groups(mdiag_lab6, cli):
    r = cli("verify", "ff3e::5:5", "--lab", "--lab-prefix", mdiag_lab6.prefix, "--receivers", "h2",
            "--repeat", "2", "--hold", "0.5s", "--json")
    assert r.status == 0, r.stdout + r.stderr
    doc = r.json()
    (receiver,) = doc["receivers"]
    assert receiver["delivered"] is True and receiver["join_delay_ms"]["max"] < 500
    assert doc["sender"]["address"] == "fd00:c612::11"
    assert [n["host"] for n in doc["non_members"]] == ["h3"] and doc["ok"] is True  # snooping kept it away
    z = cli("zap", "ff3e::2:1,ff3e::2:2", "--lab", "--lab-prefix", mdiag_lab6.prefix, "--zaps", "2",
            "--interval", "0.5s", "--json")
    assert z.status == 0, z.stdout + z.stderr
    zaps = z.json()["zaps"]
    assert len(zaps) == 2 and all(zap["zap_time"] is not None and zap["zap_time"] < 0.5 for zap in zaps)
    mixed = cli("zap", "239.2.2.1,ff3e::2:2", "--lab", "--lab-prefix", mdiag_lab6.prefix)
    assert mixed.status == 2 and "all IPv4 or all IPv6" in mixed.stderr


def test_discover_mldv2_general_and_address_and_source_specific(mdiag_lab6, cli):
    from mdiag.adapters.sockets import Join, Receiver

    with mdiag_lab6.inside("h2"):
        h2 = Receiver([Join("ff15::8000:1"), Join("ff3e::8000:2", "fd00:c612::11")], "lab0", 7201)
    with mdiag_lab6.inside("h3"):
        h3 = Receiver([Join("ff15::8000:1")], "lab0", 7201)
    with h2, h3:
        mdiag_lab6.wait_member("ff15::8000:1", "h3")
        h1 = mdiag_lab6.host("h1")
        general = cli("discover", "--mld", "--iface", h1.iface, "--netns", h1.netns, "--max-resp", "1",
                      "--json")
        specific = cli("discover", "--iface", h1.iface, "--netns", h1.netns, "--group", "ff3e::8000:2",
                       "--source", "fd00:c612::11", "--max-resp", "1", "--json")
    assert general.status == 0, general.stdout + general.stderr
    doc = general.json()
    assert doc["query"] == f"MLDv2 general query from {h1.link_local}"
    hosts = {h["address"]: h for h in doc["hosts"]}
    h2_groups = {g["group"]: g for g in hosts["fe80::c6ff:fe12:c"]["groups"]}
    assert h2_groups["ff15::8000:1"]["mode"] == "exclude"
    assert (h2_groups["ff3e::8000:2"]["mode"], h2_groups["ff3e::8000:2"]["sources"]) == ("include", ["fd00:c612::11"])
    assert "ff15::8000:1" in {g["group"] for g in hosts["fe80::c6ff:fe12:d"]["groups"]}
    assert all(0 < h["response_time"]["max"] <= 1.25 for h in hosts.values())
    assert specific.status == 0, specific.stdout + specific.stderr
    (only,) = specific.json()["hosts"]
    assert only["address"] == "fe80::c6ff:fe12:c" and only["groups"][0]["sources"] == ["fd00:c612::11"]


def test_discover_mldv1_and_the_router_port_rule(mdiag_lab_factory, cli):
    from mdiag.adapters.sockets import Join, Receiver

    lab = mdiag_lab_factory(hosts=2, bridge=BridgeConfig.fast(), ipv6=True)
    h1 = lab.host("h1")
    with lab.inside("h2"):
        h2 = Receiver([Join("ff15::8000:1")], "lab0", 7202)
    with h2:
        lab.wait_member("ff15::8000:1", "h2")
        # from h1's own address (above the bridge's): MLDv1 reports reach router ports only
        lost = cli("discover", "--mld", "--version", "1", "--iface", h1.iface, "--netns", h1.netns,
                   "--max-resp", "1")
        # from fe80::1, below the bridge: the general query wins, h1's port becomes a router port
        won = cli("discover", "--mld", "--version", "1", "--iface", h1.iface, "--netns", h1.netns,
                  "--max-resp", "1", "--src", "fe80::1", "--json")
    assert lost.status == 1 and "MLDv1 reports go to the group address" in lost.stderr
    assert "a general query from here wins the election" in lost.stderr
    assert won.status == 0, won.stdout + won.stderr
    doc = won.json()
    h2_answer = next(h for h in doc["hosts"] if h["address"] == "fe80::c6ff:fe12:c")
    assert h2_answer["versions"] == [1] and "ff15::8000:1" in {g["group"] for g in h2_answer["groups"]}


@pytest.mark.parametrize("name, count, settle, expected", [
    ("mld2-asm-join-leave", 4, "0.1", "ff05::1:3 p1\n"),
    ("mld2-asm-join-leave", None, "0.5", "exact\n"),
    ("mld2-ssm-join-leave", 4, "0.1", "ff3e::1:1 p1 fd00::100\n"),
    ("mld1-join-done", 2, "0.1", "ff05::1:3 p1\n"),
])
def test_mld_captures_replayed_reach_the_expected_mdb(mdiag_lab_factory, cli, tmp_path, name, count, settle,
                                                      expected):
    from pathlib import Path

    lab = mdiag_lab_factory(hosts=2, bridge=BridgeConfig.fast(), ipv6=True)
    spec = tmp_path / "expected.mdb"
    spec.write_text(expected)
    pcap = Path(__file__).resolve().parents[2] / "pcaps" / "mld" / f"{name}.pcap"
    args = ["replay", str(pcap), "--lab-host", "h1", "--lab-prefix", lab.prefix, "--speed", "max",
            "--settle", settle, "--expect-mdb", str(spec), "--json"]
    if count:
        args += ["--frames", str(count)]
    r = cli(*args)
    assert r.status == 0, r.stdout + r.stderr
    doc = r.json()
    assert doc["comparison"]["ok"] is True and doc["sent"]["skipped"] == 0
