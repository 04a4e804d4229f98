"""Every scenario capture in pcaps/ has an expected analysis (pcaps/<name>.expected.json).

The expected files hold a stable projection of ``mdiag analyze --json``: queriers,
elections, gaps, group states, leave latencies and the findings (code, severity,
frame). They were reviewed by hand against the scenario descriptions in
pcaps/README.md. After a deliberate change, regenerate with::

    MDIAG_UPDATE_EXPECTED=1 python -m pytest -q tests/test_expected_analyses.py

and review the diff.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest

PCAPS = Path(__file__).resolve().parents[2] / "pcaps"
CAPTURES = sorted(p for pattern in ("*.pcap*", "scenarios/*.pcap*", "mld/*.pcap*") for p in PCAPS.glob(pattern)
                  if not p.name.endswith(".json"))
UPDATE = os.environ.get("MDIAG_UPDATE_EXPECTED") == "1"

#: Captures whose expected analysis was corrected by hand because mdiag gets part of it
#: wrong today: the expected file holds the right answer, the test is a strict xfail
#: (it starts failing as XPASS once the analysis is fixed), and MDIAG_UPDATE_EXPECTED
#: leaves these files alone.
KNOWN_WRONG: dict[str, str] = {}


def _r(value: Any) -> Any:
    return round(value, 3) if isinstance(value, float) else value


def projection(doc: dict[str, Any]) -> dict[str, Any]:
    """The parts of an analysis a scenario pins down."""
    [analysis] = doc["analyses"]
    counters = analysis["counters"]
    mld = {k: counters[k] for k in ("mld", "mld_malformed") if counters.get(k)}  # IPv6 captures only
    return {
        "profile": analysis["profile"],
        "counters": {**{k: counters[k] for k in ("frames", "igmp", "igmp_malformed", "multicast_data_packets",
                                                 "non_ipv4", "fragments")}, **mld},
        "segments": [{
            "segment": seg["segment"]["name"],
            **({"family": 6} if seg.get("family") == 6 else {}),
            "querier": seg["querier"],
            "querier_version": seg["querier_version"],
            "routers": [{k: r[k] for k in ("address", "proxy", "versions", "general_queries",
                                           "group_queries", "group_source_queries", "startup_queries")}
                        for r in seg["routers"]],
            "elections": [{"time": _r(e["time"]), "frame": e["frame"], "querier": e["querier"]}
                          for e in seg["elections"]],
            "gaps": [{"start": _r(g["start"]), "end": _r(g["end"])} for g in seg["gaps"]],
            "groups": [{
                "group": g["group"], "state": g["state"], "members": g["members"],
                "reporting_hosts": g["reporting_hosts"], "first_join": _r(g["first_join"]),
                "leaves": g["leaves"], "max_leave_latency": _r(g["max_leave_latency"]),
                "expires": _r(g["expires"]), "compatibility_mode": g["compatibility_mode"],
                "sources": g.get("sources", []), "excluded_sources": g.get("excluded_sources", []),
                "join_latency": _r(g.get("join_latency")), "flooded_before_join": g.get("flooded_before_join"),
                "data": g["data"] and {"packets": g["data"]["packets"], "senders": g["data"]["senders"],
                                       "first": _r(g["data"]["first"]), "last": _r(g["data"]["last"])},
            } for g in seg["groups"]],
        } for seg in analysis["segments"]],
        "findings": [{"code": f["code"], "severity": f["severity"], "frame": f.get("frame"),
                      "time": _r(f.get("time"))} for f in analysis["findings"]],
    }


def test_there_are_scenarios():
    assert CAPTURES, "pcaps/ holds no captures (make pcaps)"


def _case(capture: Path) -> object:
    reason = KNOWN_WRONG.get(capture.name)
    marks = [pytest.mark.xfail(reason=reason, strict=True)] if reason else []
    return pytest.param(capture, marks=marks, id=str(capture.relative_to(PCAPS)))


@pytest.mark.parametrize("capture", [_case(p) for p in CAPTURES])
def test_expected_analysis(capture, cli):
    result = cli("analyze", str(capture), "--json", "--fail-on", "never")
    assert result.status == 0, result.stderr
    got = projection(result.json())
    expected_path = capture.with_name(capture.name.split(".pcap")[0] + ".expected.json")
    if UPDATE and capture.name not in KNOWN_WRONG:
        expected_path.write_text(json.dumps(got, indent=2) + "\n")
    if not expected_path.exists():
        pytest.skip(f"no {expected_path.name} yet: review the analysis and write it with "
                    "MDIAG_UPDATE_EXPECTED=1")
    assert got == json.loads(expected_path.read_text())


@pytest.mark.tshark
@pytest.mark.parametrize("name", ["sll2-any.pcap", "vlan-segments.pcap", "iptv-freeze.pcap"])
def test_same_analysis_when_a_real_tool_writes_the_pcapng(name, cli, tmp_path):
    """editcap (Wireshark's writer, not mdiag's) rewrites a scenario as pcapng: SLL2, QinQ
    and data are read the same way, so the analysis is the same."""
    import subprocess

    from mdiag.testing.requirements import need_tool

    converted = tmp_path / (name + "ng")
    subprocess.run([need_tool("editcap"), "-F", "pcapng", str(PCAPS / "scenarios" / name), str(converted)],
                   check=True, capture_output=True, timeout=60)
    original = cli("analyze", str(PCAPS / "scenarios" / name), "--json", "--fail-on", "never")
    again = cli("analyze", str(converted), "--json", "--fail-on", "never")
    assert again.status == original.status == 0, again.stderr
    assert again.json()["analyses"][0]["capture"]["format"] == "pcapng"
    assert projection(again.json()) == projection(original.json())


def test_startup_queries_are_only_the_ones_sent_qi_over_4_apart(cli):
    result = cli("analyze", str(PCAPS / "scenarios" / "querier-stubborn.pcap"), "--json")
    routers = {r["address"]: r["startup_queries"] for r in result.json()["analyses"][0]["segments"][0]["routers"]}
    # 198.18.0.1 starts at 60 s with 2 queries 31.25 s apart; 198.18.0.2 was running before the
    # capture began (its queries are all 125 s apart), so none of its queries is a startup query.
    assert routers == {"198.18.0.1": 2, "198.18.0.2": 0}


def test_data_from_an_unrequested_ssm_source_is_a_finding(cli):
    result = cli("analyze", str(PCAPS / "scenarios" / "ssm-unrequested-source.pcap"), "--json", "--fail-on", "never")
    [analysis] = result.json()["analyses"]
    [group] = analysis["segments"][0]["groups"]
    assert group["sources"] == ["198.18.1.100"]
    assert group["data"]["senders"] == {"198.18.1.100": 148, "198.18.1.101": 91}
    named = [f for f in analysis["findings"] if "198.18.1.101" in f["message"] and "232.1.1.1" in f["message"]]
    assert named, "no finding names the unrequested source 198.18.1.101 of 232.1.1.1"
