"""`mdiag zap --lab`: channel changes through the lab bridge, zap time and overlap against its timers."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.lab


def test_zapping_through_the_bridge(mdiag_lab, cli, tmp_path):
    page = tmp_path / "zap.html"
    r = cli("zap", "239.20.0.1", "239.20.0.2", "239.20.0.3", "--lab-prefix", mdiag_lab.prefix,
            "--zaps", "4", "--interval", "400ms", "--rate", "500pps", "--expect", "max-zap=150ms", "--json",
            "--html", str(page))
    assert r.status == 0, r.stdout + r.stderr
    doc = r.json()
    assert doc["command"] == "zap" and doc["ok"] and len(doc["zaps"]) == 4
    assert [(z["from"], z["to"]) for z in doc["zaps"]][:2] == [("239.20.0.1", "239.20.0.2"),
                                                               ("239.20.0.2", "239.20.0.3")]
    # The bridge forwards B as soon as it has the report: well under the 150 ms expected.
    assert doc["zap_time"]["count"] == 4 and 0 <= doc["zap_time"]["max"] < 0.15
    assert doc["above_ms"]["500"] == 0
    # A keeps coming until the bridge's Last Member Query Time has run out (0.2 s here).
    lmqt = mdiag_lab.bridge.last_member_interval * mdiag_lab.bridge.last_member_count
    for z in doc["zaps"]:
        assert 0 < z["overlap_packets"] and z["overlap_time"] <= lmqt + 0.15
    html = page.read_text()      # the HTML report: a dot per zap, the overlap of each, the same numbers
    assert html.count('<circle class="zap"') == 4 and html.count('<circle class="leave"') == 4
    assert f"zap time round 1: {doc['zaps'][0]['zap_time'] * 1000:.3f} ms" in html


def test_a_breached_expectation_and_the_table(mdiag_lab, cli):
    r = cli("zap", "239.20.1.1,239.20.1.2", "--lab", "--lab-prefix", mdiag_lab.prefix, "--zaps", "2",
            "--interval", "350ms", "--rate", "500pps", "--expect", "max-overlap=0")
    assert r.status == 1, r.stdout + r.stderr
    assert "zap-overlap-over-limit" in r.stdout and "> 125 ms" in r.stdout
