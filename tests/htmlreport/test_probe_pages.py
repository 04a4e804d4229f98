"""``verify --html`` / ``delay --html`` pages from their JSON results: a strip plot dot per
measured round, p50 and p95 lines at the nearest-rank values, the tables, nothing external."""

from __future__ import annotations

import pytest

from mdiag.htmlreport.probes import delay_page, verify_page
from mdiag.htmlreport.strip import Series, percentile, strip_svg
from tests.htmlreport.pagetree import parse
from tests.htmlreport.test_page import assert_offline

DELAY = {"group": "239.1.2.3", "source": None, "port": 5001, "rate_pps": 1000.0, "resolution": 0.001,
         "sent": 9000, "sender": {"iface": "veth1", "netns": "lab-h1"},
         "receiver": {"iface": "veth2", "netns": "lab-h2"}, "anchor": None,
         "trials": [{"join_delay": 0.0021, "leave_delay": 0.0, "received": 500, "before_join": 0, "findings": []},
                    {"join_delay": 0.0034, "leave_delay": 0.0011, "received": 499, "before_join": 0, "findings": []},
                    {"join_delay": None, "leave_delay": None, "received": 0, "before_join": 0, "findings": []},
                    {"join_delay": 0.0019, "leave_delay": 0.0009, "received": 501, "before_join": 0, "findings": []}],
         "join": {}, "leave": {}, "ok": False,
         "findings": [{"code": "delay-never-forwarded", "severity": "error",
                       "message": "no packet for 239.1.2.3 was forwarded after the join", "rfc": "RFC 3918 4.1"}]}

VERIFY = {"group": "239.1.1.1", "port": 5001, "source": None,
          "sender": {"host": "h1", "netns": "x-h1", "iface": "eth0", "address": "198.18.0.11"},
          "repeat": 3, "rate": "1000pps", "hold_s": 1.0,
          "receivers": [{"host": "h2", "delivered": True, "datagrams": [990, 991, 989],
                         "stopped_after_leave": True, "ok": True,
                         "rounds": [{"join_delay_ms": 1.5, "leave_delay_ms": 0.2},
                                    {"join_delay_ms": 2.5, "leave_delay_ms": 0.4},
                                    {"join_delay_ms": 9.0, "leave_delay_ms": None}]}],
          "non_members": [{"host": "h3", "datagrams_while_joined": 0, "ok": True}],
          "notes": [], "problems": [], "ok": True, "interrupted": False}


@pytest.mark.parametrize("values,share,expected", [
    ([1.0], 0.5, 1.0), ([1.0, 2.0], 0.5, 1.0), ([3.0, 1.0, 2.0], 0.5, 2.0),
    ([float(i) for i in range(1, 21)], 0.95, 19.0), ([float(i) for i in range(1, 101)], 0.95, 95.0), ([], 0.5, None)])
def test_nearest_rank(values, share, expected):
    assert percentile(values, share) == expected


def test_strip_has_a_dot_per_measured_round_and_percentile_lines():
    tree = parse(strip_svg([Series("join", "join", ((1, 2.0), (2, None), (3, 4.0), (4, 3.0)))]))
    dots = tree.find_all("circle")
    assert [d.title() for d in dots] == ["join round 1: 2.000 ms", "join round 3: 4.000 ms", "join round 4: 3.000 ms"]
    assert tree.find_all("line", "p50")[0].title() == "join p50: 3.000 ms"
    assert tree.find_all("line", "p95")[0].title() == "join p95: 4.000 ms"
    assert "1 not measured" in tree.all_text()


def test_delay_page():
    html = delay_page(DELAY)
    assert_offline(html)
    tree = parse(html)
    assert len(tree.find_all("circle", "join")) == 3 and len(tree.find_all("circle", "leave")) == 3
    assert tree.find_all("line", "p95")[0].title() == "join p95: 3.400 ms"
    text = tree.all_text()
    for expected in ("(*, 239.1.2.3) port 5001", "delay-never-forwarded", "RFC 3918 4.1", "verdict: FAILED",
                     "1 error"):
        assert expected in text


def test_verify_page():
    html = verify_page(VERIFY)
    assert_offline(html)
    tree = parse(html)
    assert len(tree.find_all("circle", "join")) == 3 and len(tree.find_all("circle", "leave")) == 2
    rows = [[c.all_text() for c in r.find_all("td")] for r in tree.find_all("tr")]
    assert ["h2", "receiver", "yes", "990,991,989", "2.500", "9.000", "0.200", "0.400", "ok"] in rows
    assert ["h3", "non-member", "no", "0", "-", "-", "-", "-", "ok"] in rows


ZAP = {"channels": ["239.1.1.1", "239.1.1.2"], "source": None, "port": 5001, "rate_pps": 1000.0, "interval": 1.0,
       "sent": 9000, "sender": {"host": "h1", "netns": "x-h1", "iface": "eth0"},
       "receiver": {"host": "h2", "netns": "x-h2", "iface": "eth0"}, "tune_in_time": 0.002,
       "zaps": [{"from": "239.1.1.1", "to": "239.1.1.2", "zap_time": 0.0031, "overlap_packets": 3, "overlap_time": 0.0029,
                 "findings": []},
                {"from": "239.1.1.2", "to": "239.1.1.1", "zap_time": 0.6, "overlap_packets": 0, "overlap_time": None,
                 "findings": []},
                {"from": "239.1.1.1", "to": "239.1.1.2", "zap_time": None, "overlap_packets": 0, "overlap_time": None,
                 "findings": []}],
       "zap_time": {}, "overlap_packets": {}, "above_ms": {"125": 1, "250": 1, "500": 1}, "resolution": 0.001,
       "ok": False, "findings": [{"code": "zap-never-forwarded", "severity": "error", "message": "no packet",
                                  "rfc": "RFC 3376 5.1"}]}


def test_zap_page():
    from mdiag.htmlreport.probes import zap_page

    html = zap_page(ZAP)
    assert_offline(html)
    tree = parse(html)
    assert len(tree.find_all("circle", "zap")) == 2 and len(tree.find_all("circle", "leave")) == 1
    assert tree.find_all("line", "p95")[0].title() == "zap time p95: 600.000 ms"
    rows = [[c.all_text() for c in r.find_all("td")] for r in tree.find_all("tr")]
    assert ["zap time", "2", "3.100", "3.100", "600.000", "600.000", "1", "1", "1"] in rows
    assert "zap-never-forwarded" in tree.all_text() and "receiver h2" in tree.all_text()
