"""`mdiag querier` against the lab's real Linux bridge querier (v3 and v2), and an election challenge."""

from __future__ import annotations

import pytest

from mdiag.adapters.lab import BRIDGE_ADDRESS, BridgeConfig

pytestmark = pytest.mark.lab

BRIDGE_MAC = "02:00:c6:12:00:01"


def test_v3_querier_identified_with_its_timers(mdiag_lab, cli):
    h1 = mdiag_lab.host("h1")
    r = cli("querier", "--iface", h1.iface, "--netns", h1.netns, "--wait", "10", "--queries", "3",
            "--expect", f"querier={BRIDGE_ADDRESS}", "--expect", "igmp-version=3", "--json")
    assert r.status == 0, r.stdout + r.stderr
    doc = r.json()
    elected = doc["report"]["elected"]
    assert (elected["address"], elected["mac"], elected["version"]) == (BRIDGE_ADDRESS, BRIDGE_MAC, 3)
    cfg = mdiag_lab.bridge
    assert elected["max_resp"] == pytest.approx(cfg.query_response_interval)
    assert elected["qqi"] == pytest.approx(cfg.query_interval)
    assert elected["qrv"] == 2 and elected["s_flag"] is False
    assert doc["report"]["measured_interval"] == pytest.approx(cfg.query_interval, abs=0.25)
    verdicts = {v["check"]: v["status"] for v in doc["report"]["verdicts"]}
    assert verdicts["tos"] == verdicts["ttl"] == verdicts["router-alert"] == verdicts["interval"] == "pass"
    assert doc["ok"] is True


def test_failed_expectation_exits_1_and_says_why(mdiag_lab, cli):
    h1 = mdiag_lab.host("h1")
    r = cli("querier", "--iface", h1.iface, "--netns", h1.netns, "--wait", "5", "--queries", "1",
            "--expect", "querier=198.18.0.99", "--expect", "igmp-version=2")
    assert r.status == 1
    assert "expect-querier" in r.stdout and "FAIL" in r.stdout
    assert "querier 198.18.0.1 " in r.stdout and "expected 198.18.0.99 throughout" in r.stdout


def test_v2_querier_and_silence(mdiag_lab_factory, cli):
    lab = mdiag_lab_factory(hosts=1, bridge=BridgeConfig.fast(querier="v2"))
    h1 = lab.host("h1")
    r = cli("querier", "--iface", h1.iface, "--netns", h1.netns, "--wait", "12", "--queries", "4",
            "--query-interval", "2", "--expect", "igmp-version=2", "--json")
    assert r.status == 0, r.stdout + r.stderr
    elected = r.json()["report"]["elected"]
    assert (elected["address"], elected["version"], elected["qqi"]) == (BRIDGE_ADDRESS, 2, None)
    assert elected["max_resp"] == pytest.approx(1.0)
    lab.configure_bridge(BridgeConfig.fast(querier="off"))
    quiet = cli("querier", "--iface", h1.iface, "--netns", h1.netns, "--wait", "0.5")
    assert quiet.status == 2
    assert "no IGMP query heard on lab0 within 0.5 s" in quiet.stderr


@pytest.mark.parametrize("version", [3, 2])
def test_challenge_makes_the_bridge_yield_and_resume(mdiag_lab_factory, cli, version):
    lab = mdiag_lab_factory(hosts=1, bridge=BridgeConfig.fast(querier=f"v{version}"))
    h1 = lab.host("h1")
    # an IGMPv2 query carries no QQIC: the configured interval is told instead
    told = [] if version == 3 else ["--query-interval", f"{lab.bridge.query_interval:g}"]
    r = cli("querier", "--iface", h1.iface, "--netns", h1.netns, "--wait", "5", "--challenge",
            "198.18.0.0", "--force", "--challenge-for", "3", "--challenge-interval", "0.5", "--json", *told)
    assert r.status == 0, r.stdout + r.stderr
    assert r.json()["report"]["elected"]["version"] == version
    ch = r.json()["challenge"]
    assert ch["yielded"] is True and ch["sent"] >= 5
    oqpi = lab.bridge.querier_interval
    assert ch["expected_oqpi"] == pytest.approx(oqpi)
    assert ch["resumed_after"] == pytest.approx(oqpi, abs=1.0)
