"""`mdiag delay --lab`: join and leave delays through the lab bridge, against its timers."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.lab


def test_asm_join_and_leave_delays_match_the_bridge(mdiag_lab, cli, tmp_path):
    page = tmp_path / "delay.html"
    r = cli("delay", "--lab", "--lab-prefix", mdiag_lab.prefix, "--repeat", "3", "--hold", "200ms",
            "--json", "--html", str(page))
    assert r.status == 0, r.stdout + r.stderr
    doc = r.json()
    assert doc["resolution"] == 0.001 and doc["anchor"] == mdiag_lab.host("h3").netns
    assert doc["join"]["count"] == 3 and doc["leave"]["count"] == 3
    # The bridge forwards as soon as it has processed the report: well under 50 ms.
    assert 0 <= doc["join"]["max"] < 0.05
    # It stops after Last Member Query Time = interval x count (RFC 2236 / 3376; 0.2 s here).
    lmqt = mdiag_lab.bridge.last_member_interval * mdiag_lab.bridge.last_member_count
    assert lmqt - 0.02 <= doc["leave"]["median"] <= lmqt + 0.15
    assert all(t["before_join"] == 0 for t in doc["trials"])
    html = page.read_text()      # the HTML report: a dot per cycle for the join and the leave
    assert html.count('<circle class="join"') == 3 and html.count('<circle class="leave"') == 3
    assert f"join round 1: {doc['trials'][0]['join_delay'] * 1000:.3f} ms" in html


def test_ssm_join_and_a_breached_limit(mdiag_lab, cli):
    r = cli("delay", "--lab", "--lab-prefix", mdiag_lab.prefix, "--ssm", "--repeat", "2",
            "--hold", "200ms", "--max-leave", "50ms")
    assert r.status == 1, r.stdout + r.stderr
    assert "(198.18.0.11, 232.1.2.3)" in r.stdout
    assert "delay-leave-over-limit" in r.stdout
