"""``mdiag analyze`` in-process: tables, JSON, CSV, expectations, JUnit, bad inputs."""

from __future__ import annotations

import gzip
import io
import json
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from mdiag.core.igmp import GroupRecord, V2Leave, V2Query, V2Report, V3Query, V3Report
from mdiag.errors import ExitStatus
from tests.analysis.builders import igmp, udp, write_pcap

ROOT = Path(__file__).resolve().parents[2]
PCAPS = ROOT / "pcaps"

LEAVE = str(PCAPS / "v2-leave-lmq.pcap")
BAD = str(PCAPS / "malformed.pcap")


def one_line_error(result, *fragments):
    assert result.stderr.count("\n") == 1, result.stderr
    assert result.stderr.startswith("mdiag: error: ")
    assert "Traceback" not in result.stderr
    for fragment in fragments:
        assert fragment in result.stderr


def test_tables(cli):
    result = cli("analyze", LEAVE)
    assert result.status == ExitStatus.OK and result.stderr == ""
    out = result.stdout
    assert "capture " in out and "6 frames" in out and "timers rfc3376" in out
    for header in ("querier", "router", "max leave latency", "no findings"):
        assert header in out
    assert "2.002 s" in out


def test_json_schema(cli):
    doc = cli("analyze", LEAVE, "--json").json()
    assert doc["schema"] == 1 and doc["command"] == "analyze" and doc["errors"] == []
    [a] = doc["analyses"]
    assert set(a) >= {"capture", "profile", "counters", "segments", "findings", "summary", "timeline"}
    assert a["summary"]["queriers"] == ["198.18.0.1"] and a["summary"]["max_leave_latency"] == 2.002
    seg = a["segments"][0]
    assert seg["timers"]["group_membership_interval"] == 260
    assert seg["groups"][0]["leave_details"][0]["queries"] == 2


def test_profile_named_in_result(cli):
    doc = cli("analyze", LEAVE, "--json", "--profile", "rfc9776").json()
    seg = doc["analyses"][0]["segments"][0]
    assert doc["analyses"][0]["profile"] == "rfc9776" and seg["timers"]["group_membership_interval"] == 270


MLD1_DONE = str(PCAPS / "mld" / "mld1-join-done.pcap")


@pytest.mark.parametrize("capture, option, header, profile, gmi", [
    (LEAVE, "rfc3376", "timers rfc3376\n", "rfc3376", 260),
    (MLD1_DONE, "rfc3376", "timers rfc3376 (MLD: rfc3810)\n", "rfc3376", 260),
    (MLD1_DONE, "rfc3810", "timers rfc3376 (MLD: rfc3810)\n", "rfc3376", 260),
    (MLD1_DONE, "rfc9777", "timers rfc9776 (MLD: rfc9777)\n", "rfc9776", 270),
    (LEAVE, "rfc9777", "timers rfc9776\n", "rfc9776", 270),
])
def test_profile_takes_mld_names(cli, capture, option, header, profile, gmi):
    """RFC 3810 9 / RFC 9777 are RFC 3376 / 9776's formulas: --profile takes either name."""
    result = cli("analyze", capture, "--profile", option)
    assert result.status == ExitStatus.OK and header in result.stdout.splitlines()[0] + "\n"
    doc = cli("analyze", capture, "--json", "--profile", option).json()
    assert doc["analyses"][0]["profile"] == profile
    assert doc["analyses"][0]["segments"][0]["timers"]["group_membership_interval"] == gmi


def test_csv(cli):
    result = cli("analyze", str(PCAPS / "v2-report-on-query.pcap"), "--csv")
    lines = result.stdout.splitlines()
    assert lines[0].startswith("capture,segment,querier,querier_version,group,mac,state,members")
    assert len(lines) == 3 and ",239.1.1.1,01:00:5e:01:01:01,exclude,2," in lines[1]


def test_csv_gives_member_addresses_and_the_expiry_of_an_expired_group(cli):
    """Issue 10 item 8: as the group table, the CSV names the members and dates an expiry."""
    import csv
    import io

    result = cli("analyze", str(PCAPS / "scenarios/iptv-freeze.pcap"), "--csv")
    rows = {r["group"]: r for r in csv.DictReader(io.StringIO(result.stdout))}
    assert (rows["239.1.1.1"]["state"], rows["239.1.1.1"]["expires"]) == ("absent", "389.7")
    assert rows["239.1.1.1"]["member_addresses"] == ""
    assert (rows["239.1.1.2"]["members"], rows["239.1.1.2"]["member_addresses"]) == ("1", "198.18.0.11")


def test_expectations_pass_and_fail(cli):
    ok = cli("analyze", LEAVE, "--expect", "querier=198.18.0.1", "--expect", "max-leave-latency=3s",
             "--expect", "group=239.1.1.1:state=absent")
    assert ok.status == ExitStatus.OK and "3 of 3 expectations passed" in ok.stdout
    bad = cli("analyze", LEAVE, "--expect", "igmp-version=3", "--expect", "no-findings>=warning")
    assert bad.status == ExitStatus.PROBLEM_FOUND
    assert "FAIL" in bad.stdout and "1 of 2 expectations passed" in bad.stdout


def test_bad_expectation_is_exit_2(cli):
    result = cli("analyze", LEAVE, "--expect", "quierer=198.18.0.1")
    assert result.status == ExitStatus.BAD_INPUT and result.stdout == ""
    one_line_error(result, "unknown key 'quierer'")


def test_expect_file(cli, tmp_path):
    f = tmp_path / "ci.expect"
    f.write_text("# leave behaviour\nquerier=198.18.0.1\nmax-leave-latency=3s  # LMQT + margin\n")
    result = cli("analyze", LEAVE, "--expect-file", str(f), "--json")
    assert result.status == 0 and result.json()["analyses"][0]["passed"] is True
    f.write_text("querier=198.18.0.1\nmembers>=1\n")
    one_line_error(cli("analyze", LEAVE, "--expect-file", str(f)), "ci.expect:2:", "needs a group")
    one_line_error(cli("analyze", LEAVE, "--expect-file", str(tmp_path / "none")), "--expect-file")


def test_junit(cli, tmp_path):
    path = tmp_path / "junit.xml"
    result = cli("analyze", LEAVE, BAD, "--expect", "querier=198.18.0.1", "--expect", "no-findings>=error",
                 "--junit", str(path))
    assert result.status == ExitStatus.PROBLEM_FOUND
    root = ET.parse(path).getroot()
    assert root.tag == "testsuites" and root.get("tests") == "4" and root.get("failures") == "1"
    suites = root.findall("testsuite")
    assert [s.get("failures") for s in suites] == ["0", "1"]
    failure = suites[1].find("testcase[@name='no-findings>=error']/failure")
    assert failure is not None and "igmp-checksum-bad" in failure.get("message")
    again = cli("analyze", LEAVE, "--expect", "querier=198.18.0.1", "--junit", str(path))
    assert again.status == ExitStatus.BAD_INPUT
    one_line_error(again, "exists", "--force")
    assert cli("analyze", LEAVE, "--expect", "querier=198.18.0.1", "--junit", str(path),
               "--force").status == 0
    assert ET.parse(path).getroot().get("tests") == "1"


def test_not_a_capture(cli, tmp_path):
    junk = tmp_path / "notes.txt"
    junk.write_text("this is not a capture\n")
    result = cli("analyze", str(junk))
    assert result.status == ExitStatus.BAD_INPUT and result.stdout == ""
    one_line_error(result, "notes.txt", "not a pcap or pcapng")
    one_line_error(cli("analyze", str(tmp_path / "missing.pcap")), "no such file")


def test_several_inputs_one_bad(cli, tmp_path):
    junk = tmp_path / "junk.pcap"
    junk.write_bytes(b"\x00" * 100)
    result = cli("analyze", LEAVE, str(junk), "--json")
    assert result.status == ExitStatus.BAD_INPUT
    doc = result.json()
    assert len(doc["analyses"]) == 1 and doc["errors"][0]["capture"] == str(junk)
    one_line_error(result, "junk.pcap")


def test_fail_on(cli):
    assert cli("analyze", BAD).status == ExitStatus.PROBLEM_FOUND         # errors by default
    assert cli("analyze", BAD, "--fail-on", "never").status == ExitStatus.OK
    assert cli("analyze", LEAVE, "--fail-on", "info").status == ExitStatus.OK


def test_timeline_of_a_group(cli):
    result = cli("analyze", str(PCAPS / "v3-querier-old-hosts.pcap"), "--timeline", "--group", "239.1.1.2")
    lines = [l for l in result.stdout.splitlines() if "239.1.1.2" in l and "if0" in l]
    story = result.stdout.split("time     frame")[-1]
    assert "239.1.1.1 " not in story and "joined by 198.18.0.11" in story
    assert "leave from 198.18.0.11" in story and ": IGMPv3 general query" not in story
    # the querier's elections and silence stay: they decide every group's fate
    assert "elected querier: 198.18.0.1" in story
    assert lines


def test_timeline_of_a_querier(cli):
    result = cli("analyze", str(PCAPS / "querier-election.pcap"), "--timeline", "--querier", "198.18.0.1")
    story = result.stdout.split("event")[-1]
    assert "198.18.0.1: IGMPv3 general query" in story and "198.18.0.2:" not in story
    assert "elected querier: 198.18.0.1" in story


@pytest.mark.parametrize("argv,fragment", [
    (["--group", "10.0.0.1"], "not a multicast group"),
    (["--group", "banana"], "not an IP address"),
    (["--vlan", "5000"], "0..4095"),
    (["--since", "yesterday"], "--since"),
    (["--since", "20", "--until", "10"], "before"),
    (["--querier", "x"], "--querier"),
])
def test_bad_options(cli, argv, fragment):
    result = cli("analyze", LEAVE, *argv)
    assert result.status == ExitStatus.BAD_INPUT
    one_line_error(result, fragment)


def _vlan_capture(path):
    frames = [
        (0.0, igmp(V2Query(100), "198.18.0.1", vlan=10)),
        (0.1, igmp(V3Query.build(), "198.18.2.1", vlan=20)),
        (1.0, igmp(V2Report("239.1.1.1"), "198.18.0.10", vlan=10)),
        (1.5, igmp(V3Report((GroupRecord(4, "239.1.1.1"),)), "198.18.2.10", vlan=20)),
        (3.0, udp("198.18.1.100", "239.1.1.1", vlan=10)),
        (3.1, udp("198.18.1.100", "239.5.5.5")),
        (30.0, igmp(V2Leave("239.1.1.1"), "198.18.0.10", vlan=10)),
        (30.01, igmp(V2Query(10, "239.1.1.1"), "198.18.0.1", vlan=10)),
        (31.01, igmp(V2Query(10, "239.1.1.1"), "198.18.0.1", vlan=10)),
        (40.0, igmp(V2Query(100), "198.18.0.1", vlan=10)),
    ]
    write_pcap(path, frames)


def test_vlans_are_segments(cli, tmp_path):
    path = tmp_path / "vlans.pcap"
    _vlan_capture(path)
    doc = cli("analyze", str(path), "--json", "--fail-on", "never").json()["analyses"][0]
    segs = {s["segment"]["name"]: s for s in doc["segments"]}
    assert set(segs) == {"if0", "if0 vlan 10", "if0 vlan 20"}
    assert segs["if0 vlan 10"]["querier"] == "198.18.0.1" and segs["if0 vlan 20"]["querier"] == "198.18.2.1"
    g10 = segs["if0 vlan 10"]["groups"][0]
    assert g10["state"] == "absent" and g10["max_leave_latency"] == 2.01 and g10["data"]["packets"] == 1
    # the VLAN 20 member is judged too: the trunk capture carries data (on VLAN 10); the
    # untagged segment has data but no IGMP at all, so no querier-none there
    assert [f["code"] for f in doc["findings"]] == ["members-without-traffic", "traffic-without-members"]
    only = cli("analyze", str(path), "--json", "--vlan", "20").json()["analyses"][0]
    assert [s["segment"]["name"] for s in only["segments"]] == ["if0 vlan 20"]
    expect = cli("analyze", str(path), "--expect", "vlan=10:querier=198.18.0.1",
                 "--expect", "vlan=20:igmp-version=3", "--expect", "vlan=10:group=239.1.1.1:packets=1")
    assert expect.status == 0, expect.stdout


def test_since_until(cli, tmp_path):
    path = tmp_path / "vlans.pcap"
    _vlan_capture(path)
    doc = cli("analyze", str(path), "--json", "--since", "2", "--until", "10s",
              "--fail-on", "never").json()["analyses"][0]
    assert doc["counters"]["frames"] == 2 and doc["counters"]["igmp"] == 0


def test_stdin_and_gzip(tmp_path):
    data = gzip.compress((PCAPS / "v2-leave-lmq.pcap").read_bytes())
    proc = subprocess.run([sys.executable, "-m", "mdiag", "analyze", "-", "--json"], input=data,
                          capture_output=True, cwd=ROOT, timeout=60)
    assert proc.returncode == 0, proc.stderr
    doc = json.loads(proc.stdout)["analyses"][0]
    assert doc["capture"]["name"] == "stdin" and doc["capture"]["compression"] == "gzip"
    assert proc.stderr == b""   # no progress bar when stderr is not a terminal


def test_truncated_capture_keeps_what_was_read(cli, tmp_path):
    data = (PCAPS / "v2-leave-lmq.pcap").read_bytes()
    cut = tmp_path / "cut.pcap"
    cut.write_bytes(data[:-30])
    result = cli("analyze", str(cut), "--json", "--fail-on", "never")
    assert result.status == 0
    a = result.json()["analyses"][0]
    assert a["counters"]["frames"] == 5
    problem = a["findings"][0]
    assert problem["code"] == "capture-truncated-record" and problem["frame"] == 6 and "offset" in problem


class _Tty(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_progress_bar_only_on_a_terminal():
    from mdiag.cli.environment import Environment
    from mdiag.cli.main import main

    out, err = io.StringIO(), _Tty()
    assert main(["analyze", LEAVE], Environment(stdout=out, stderr=err)) == 0
    drawn = err.getvalue()
    assert "v2-leave-lmq.pcap: [" in drawn and "100.0%" in drawn and drawn.endswith("\r\033[K")
    assert "\r" not in out.getvalue()


@pytest.mark.parametrize("fmt", ["pcap", "pcapng"])
def test_times_are_from_the_first_frame_even_when_it_is_data(cli, tmp_path, fmt):
    import shutil

    path = tmp_path / "data-first.pcap"
    frames = [(i * 0.001, udp("198.18.1.1", "239.1.1.1")) for i in range(3000)]
    write_pcap(path, frames + [(5.0, igmp(V2Report("239.1.1.1"), "198.18.0.10"))])
    if fmt == "pcapng":
        editcap = shutil.which("editcap")
        if editcap is None:
            pytest.skip("needs editcap")
        subprocess.run([editcap, "-F", "pcapng", str(path), str(tmp_path / "x.pcapng")], check=True)
        path = tmp_path / "x.pcapng"
    a = cli("analyze", str(path), "--json", "--fail-on", "never").json()["analyses"][0]
    [group] = a["segments"][0]["groups"]
    assert a["counters"]["frames"] == 3001 and a["capture"]["duration"] == 5.0
    assert group["first_join"] == 5.0 and group["data"]["packets"] == 3000
    assert group["data"]["first"] == 0.0 and group["data"]["last"] == 2.999


def test_traffic_stops_when_nobody_queries(cli, tmp_path):
    """The IPTV freeze: no querier, the switch ages the membership out, the stream stops."""
    path = tmp_path / "freeze.pcap"
    frames = [(1.0, igmp(V2Report("239.1.1.1"), "198.18.0.10"))]
    frames += [(2.0 + i * 0.5, udp("198.18.1.100", "239.1.1.1")) for i in range(518)]  # until 260.5 s
    frames += [(2.0 + i * 0.5, udp("198.18.1.100", "239.9.9.9")) for i in range(600)]  # never joined
    frames.sort(key=lambda f: f[0])
    frames.append((300.0, igmp(V2Report("239.1.1.2"), "198.18.0.11")))
    write_pcap(path, frames)
    a = cli("analyze", str(path), "--json").json()["analyses"][0]
    codes = {f["code"]: f for f in a["findings"]}
    stopped = codes["traffic-stopped"]
    # times count from the first frame (the report at 1.0 s): the data stops at 259.5 s
    assert stopped["time"] == 259.5 and stopped["context"]["group"] == "239.1.1.1"
    assert "that matches" in stopped["message"] and "0.0 s + 260 s = 260.0 s" in stopped["message"]
    assert codes["querier-none"]["severity"] == "warning"
    assert codes["traffic-without-members"]["context"]["group"] == "239.9.9.9"


def test_stdin_terminal_is_refused():
    from mdiag.cli.environment import Environment
    from mdiag.cli.main import main

    err = io.StringIO()
    status = main(["analyze", "-"], Environment(stdout=io.StringIO(), stderr=err, stdin=_Tty()))
    assert status == ExitStatus.BAD_INPUT and "terminal" in err.getvalue() and err.getvalue().count("\n") == 1


def _qinq(frame: bytes, outer: int, inner: int) -> bytes:
    """Insert an 802.1ad S-tag and an 802.1Q C-tag after the MAC addresses."""
    import struct

    return frame[:12] + struct.pack("!HHHH", 0x88A8, outer, 0x8100, inner) + frame[12:]


def test_qinq_segments(cli, tmp_path):
    path = tmp_path / "qinq.pcap"
    frames = [
        (0.0, _qinq(igmp(V2Query(100), "198.18.0.1"), 100, 10)),
        (0.5, _qinq(igmp(V2Query(100), "198.18.0.1"), 100, 20)),   # same router, other C-VLAN
        (1.0, _qinq(igmp(V2Report("239.1.1.1"), "198.18.0.10"), 100, 10)),
        (1.5, _qinq(udp("198.18.1.100", "239.1.1.1"), 100, 10)),
    ]
    write_pcap(path, frames)
    a = cli("analyze", str(path), "--json", "--fail-on", "never").json()["analyses"][0]
    segs = {s["segment"]["name"]: s for s in a["segments"]}
    assert set(segs) == {"if0 vlan 100.10", "if0 vlan 100.20"}
    assert segs["if0 vlan 100.10"]["groups"][0]["data"]["packets"] == 1
    assert segs["if0 vlan 100.20"]["groups"] == []
    only = cli("analyze", str(path), "--json", "--vlan", "20", "--fail-on", "never").json()["analyses"][0]
    assert [s["segment"]["name"] for s in only["segments"]] == ["if0 vlan 100.20"]


def test_join_latency_and_data_in_the_timeline(cli, tmp_path):
    path = tmp_path / "join.pcap"
    frames = [(0.0, igmp(V2Query(100), "198.18.0.1")),
              (1.0, igmp(V2Report("239.1.1.1"), "198.18.0.10")),
              *[(1.25 + i * 0.1, udp("198.18.1.100", "239.1.1.1")) for i in range(10)],
              *[(0.5 + i * 0.1, udp("198.18.1.100", "239.2.2.2")) for i in range(10)],
              (1.5, igmp(V2Report("239.2.2.2"), "198.18.0.11"))]
    write_pcap(path, sorted(frames, key=lambda f: f[0]))
    result = cli("analyze", str(path), "--json", "--timeline", "--expect", "group=239.1.1.1:join-latency=300ms",
                 "--expect", "max-join-latency<=1s")
    assert result.status == 0, result.stdout
    a = result.json()["analyses"][0]
    groups = {g["group"]: g for g in a["segments"][0]["groups"]}
    assert groups["239.1.1.1"]["join_latency"] == 0.25 and not groups["239.1.1.1"]["flooded_before_join"]
    assert groups["239.2.2.2"]["join_latency"] is None and groups["239.2.2.2"]["flooded_before_join"]
    story = [e["text"] for e in a["timeline"] if e["group"] == "239.1.1.1"]
    assert story == ["joined by 198.18.0.10", "first data packet (from 198.18.1.100)",
                     "last data packet (10 packets, 13,580 bytes)"]  # 1,358-byte frames
    table = cli("analyze", str(path)).stdout
    assert "join to data" in table and "flooded" in table and "0.250 s" in table


@pytest.mark.parametrize("linktype,segment", [(1, "if0"), (113, "if0"), (276, "if0 ifindex 3"), (101, "if0")])
def test_data_counted_alike_in_every_link_type(cli, tmp_path, linktype, segment):
    """Over a megabyte of data, so the reader's counting path is used after the first block."""
    from tests.analysis.builders import to_cooked

    frames = [(0.0, igmp(V2Query(100), "198.18.0.1")), (0.5, igmp(V2Report("239.1.1.1"), "198.18.0.10"))]
    frames += [(1.0 + i * 0.001, udp(f"198.18.1.{100 + i % 3}", "239.1.1.1")) for i in range(2500)]
    frames += [(4.0, igmp(V2Report("239.1.1.1"), "198.18.0.11"))]
    if linktype != 1:
        frames = [(t, to_cooked(f, linktype)) for t, f in frames]
    path = tmp_path / f"lt{linktype}.pcap"
    write_pcap(path, frames, linktype=linktype)
    a = cli("analyze", str(path), "--json", "--fail-on", "never").json()["analyses"][0]
    assert a["counters"]["frames"] == 2503 and a["counters"]["multicast_data_packets"] == 2500
    [seg] = a["segments"]
    assert seg["segment"]["name"] == segment and seg["querier"] == "198.18.0.1"
    [group] = seg["groups"]
    assert group["data"]["packets"] == 2500 and group["data"]["senders"] == {
        "198.18.1.100": 834, "198.18.1.101": 833, "198.18.1.102": 833}
    assert group["data"]["first"] == 1.0 and group["data"]["last"] == 3.499
    assert group["reporting_hosts"] == ["198.18.0.10", "198.18.0.11"] and group["join_latency"] == 0.5


@pytest.mark.parametrize("linktype", [1, 276])
def test_data_counted_alike_in_pcapng(cli, tmp_path, linktype):
    import shutil

    from tests.analysis.builders import to_cooked

    editcap = shutil.which("editcap")
    if editcap is None:
        pytest.skip("needs editcap")
    frames = [(0.5, igmp(V2Report("239.1.1.1"), "198.18.0.10"))]
    frames += [(1.0 + i * 0.001, udp("198.18.1.100", "239.1.1.1")) for i in range(2500)]
    if linktype != 1:
        frames = [(t, to_cooked(f, linktype)) for t, f in frames]
    path = tmp_path / "in.pcap"
    write_pcap(path, frames, linktype=linktype)
    subprocess.run([editcap, "-F", "pcapng", str(path), str(tmp_path / "x.pcapng")], check=True)
    a = cli("analyze", str(tmp_path / "x.pcapng"), "--json", "--fail-on", "never").json()["analyses"][0]
    [seg] = a["segments"]
    assert seg["segment"]["name"] == ("if0" if linktype == 1 else "if0 ifindex 3")
    assert seg["groups"][0]["data"]["packets"] == 2500 and seg["groups"][0]["join_latency"] == 0.5


def test_junit_creates_the_report_folder(cli, tmp_path):
    path = tmp_path / "reports" / "igmp" / "junit.xml"
    result = cli("analyze", LEAVE, "--expect", "querier=198.18.0.1", "--junit", str(path))
    assert result.status == 0, result.stderr
    assert ET.parse(path).getroot().get("tests") == "1"


@pytest.mark.parametrize("capture, findings, events", [
    # dual-stack: the MLD MAC sharing and the silent group are MLD rows; the IGMP story is family 4
    ("mld/dual-stack.pcap", {("mac-shared-groups", 6), ("members-without-traffic", 6)},
     {("if0", 4), ("if0 (MLD)", 6)}),
    ("mld/mld2-querier-v1-host.pcap", {("compat-older-host", 6)}, {("if0 (MLD)", 6)}),
    ("v2-leave-lmq.pcap", set(), {("if0", 4)}),
])
def test_json_rows_say_their_family(cli, capture, findings, events):
    """Every finding and timeline row says its address family (4 IGMP, 6 MLD)."""
    [a] = cli("analyze", str(PCAPS / capture), "--json", "--timeline").json()["analyses"]
    assert {(f["code"], f["family"]) for f in a["findings"]} == findings
    assert {(e["segment"], e["family"]) for e in a["timeline"]} == events
