"""mdiag decode, in-process: hex, hex files, captures, JSON, several inputs, exit statuses."""

from __future__ import annotations

from pathlib import Path

import pytest

PCAPS = Path(__file__).resolve().parents[2] / "pcaps"
REPORT_IP = "46c000200000400001023161c0a8010aef010203940400001600f8faef010203"


def test_hex_igmp_ip_and_frame(cli):
    frame = "01005e0102030200c0a8010a0800" + REPORT_IP
    for text in ("1600f8faef010203", REPORT_IP, frame, "16 00 f8 fa ef 01 02 03", "0x1600f8faef010203"):
        r = cli("decode", text, "--json")
        assert r.status == 0, (text, r.stderr)
        message = r.json()["inputs"][0]["messages"][0]
        assert message["kind"] == "v2-report" and message["group"] == "239.1.2.3" and message["checksum_ok"]


def test_table_shows_times_in_seconds(cli):
    r = cli("decode", "1189ebed0000000002890000")
    assert r.status == 0
    assert "20 s" in r.stdout and "QQI 200 s" in r.stdout
    r = cli("decode", "--codes", "1189ebed0000000002890000")
    assert "(code 0x89)" in r.stdout


def test_capture_rows_and_findings(cli):
    r = cli("decode", str(PCAPS / "malformed.pcap"))
    assert r.status == 1
    assert "igmp-checksum-bad" in r.stdout and "undecodable" in r.stdout
    assert "16 frames, 14 IGMP messages, 2 undecodable" in r.stdout
    r = cli("decode", str(PCAPS / "v3-ssm-join-leave.pcap"), "--json")
    assert r.status == 0
    messages = r.json()["inputs"][0]["messages"]
    assert [m["kind"] for m in messages][:3] == ["v3-query", "v3-report", "v3-report"]
    assert messages[1]["records"] == [{"type": "ALLOW", "type_code": 5, "group": "232.1.1.1",
                                       "sources": ["198.18.1.100"]}]
    assert messages[6]["sources"] == ["198.18.1.100"] and messages[8]["s_flag"] is True


def test_fail_on(cli):
    path = str(PCAPS / "malformed.pcap")
    assert cli("decode", path, "--fail-on", "never").status == 0
    assert cli("decode", "--fail-on", "error", "1600f8faef010203").status == 0
    assert cli("decode", "--fail-on", "info", "1600f8faef01020300").status in (0, 1)


def test_several_inputs_bad_one_does_not_hide_good(cli, tmp_path):
    hexfile = tmp_path / "msgs.txt"
    hexfile.write_text("# a comment\n1600f8faef010203\n\n1700f7faef010203  # leave\nnot hex\n")
    r = cli("decode", "1600f8faef010203", "nosuchfile.pcap", str(hexfile))
    assert r.status == 2
    assert "nosuchfile.pcap: no such file" in r.stderr
    assert "msgs.txt:5: not hex" in r.stderr
    assert "v2-report" in r.stdout and "v2-leave" in r.stdout and "msgs.txt:4" in r.stdout
    assert "Traceback" not in r.stderr


def test_stdin_hex(cli):
    r = cli("decode", "--json", stdin="1600f8faef010203\n2200e8f90000000104000000ef010203\n")
    assert r.status == 0
    assert [m["kind"] for m in r.json()["inputs"][0]["messages"]] == ["v2-report", "v3-report"]


def test_malformed_hex_reports_offset(cli):
    r = cli("decode", "--json", "11640000000000000000")
    body = r.json()["inputs"][0]["messages"][0]
    assert r.status == 1 and body["malformed"]["offset"] == 8


def test_empty_and_directory_inputs(cli, tmp_path):
    (tmp_path / "empty.txt").write_text("")
    r = cli("decode", str(tmp_path / "empty.txt"), str(tmp_path))
    assert r.status == 2 and r.stderr.count("mdiag: error") == 2


def test_stdin_capture_streams_and_empty_stdin_is_an_error():
    import subprocess
    import sys

    data = (PCAPS / "v2-leave-lmq.pcap").read_bytes()
    out = subprocess.run([sys.executable, "-m", "mdiag", "decode", "--json"], check=False, input=data,
                         capture_output=True, timeout=60)
    assert out.returncode == 0, out.stderr
    import json

    assert len(json.loads(out.stdout)["inputs"][0]["messages"]) == 6
    out = subprocess.run([sys.executable, "-m", "mdiag", "decode"], input=b"", check=False, capture_output=True, timeout=60)
    assert out.returncode == 2 and b"no capture and no hex lines" in out.stderr


def test_pipe_path_is_read_once(tmp_path):
    """/dev/stdin, a FIFO or <(process substitution) cannot be reopened: read them once, like '-'."""
    import os
    import subprocess
    import sys
    import threading

    data = (PCAPS / "v2-leave-lmq.pcap").read_bytes()
    out = subprocess.run([sys.executable, "-m", "mdiag", "decode", "/dev/stdin"], check=False, input=data,
                         capture_output=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert b"/dev/stdin: 6 frames, 6 IGMP messages" in out.stdout
    fifo = tmp_path / "hex.fifo"
    os.mkfifo(fifo)

    def feed() -> None:
        with open(fifo, "w") as handle:
            handle.write("1600f8faef010203\n1700f7faef010203\n")

    writer = threading.Thread(target=feed, daemon=True)
    writer.start()
    out = subprocess.run([sys.executable, "-m", "mdiag", "decode", str(fifo)], check=False, capture_output=True, timeout=60)
    writer.join(timeout=10)
    assert out.returncode == 0, out.stderr
    assert b"v2-report" in out.stdout and b"v2-leave" in out.stdout


def test_damaged_capture_keeps_what_was_read(cli, tmp_path):
    cut = tmp_path / "cut.pcap"
    cut.write_bytes((PCAPS / "v2-report-on-query.pcap").read_bytes()[:300])
    r = cli("decode", str(cut))
    assert r.status == 1
    assert "4 frames, 4 IGMP messages" in r.stdout and "capture problem" in r.stdout
    assert cli("decode", str(cut), "--fail-on", "never").status == 0


def test_big_table_layout_matches_tabulate(cli, monkeypatch):
    from mdiag.cli.commands import decode

    path = str(PCAPS / "malformed.pcap")
    small = cli("decode", path).stdout
    messages = len(cli("decode", path, "--json").json()["inputs"][0]["messages"])
    # streamed from the last row on, with the widths of all the rows before: tabulate's layout
    monkeypatch.setattr(decode, "_SAMPLE_ROWS", messages - 1)
    assert cli("decode", path).stdout == small


def test_endless_line_is_one_error_and_other_inputs_are_answered(cli, tmp_path):
    """A file like /dev/zero (no line end) is refused at 256 KiB instead of read whole."""
    zeros = tmp_path / "zeros"
    zeros.write_bytes(b"\0" * (300 * 1024))
    result = cli("decode", str(zeros), "1600f8faef010203")
    assert result.status == 2
    assert result.stderr.count("\n") == 1 and "line 1 is longer than 256 KiB" in result.stderr
    assert "v2-report" in result.stdout and "Traceback" not in result.stderr


def test_closed_pipe_keeps_the_status():
    """`mdiag decode bad.pcap | head` under pipefail still reports the findings' status 1."""
    import subprocess
    import sys

    proc = subprocess.Popen([sys.executable, "-m", "mdiag", "decode", str(PCAPS / "malformed.pcap")],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    assert proc.stdout is not None and proc.stderr is not None
    proc.stdout.readline()
    proc.stdout.close()
    stderr = proc.stderr.read()
    assert proc.wait(timeout=60) == 1
    assert b"Traceback" not in stderr and b"Exception ignored" not in stderr, stderr


def test_empty_argument_is_named_as_such(cli):
    result = cli("decode", "", "1600f8faef010203")
    assert result.status == 2 and "v2-report" in result.stdout
    assert result.stderr.strip() == ("mdiag: error: an empty argument: give a capture, a file of hex lines or "
                                     "hex like 1600f8faef010203")


# --------------------------------------------------------------------------- MLD

from tests.core.mld.test_vectors import QUERY, V1_DONE, V2_REPORT  # noqa: E402


def test_mld_hex_frame_ip_and_icmp6(cli):
    frame = bytes.fromhex(V1_DONE)
    for text, checksum_ok in ((V1_DONE, True), (frame[14:].hex(), True), (frame[62:].hex(), None)):
        args = ("--layer", "mld") if checksum_ok is None else ()
        r = cli("decode", text, "--json", *args)
        assert r.status == 0, r.stderr
        message = r.json()["inputs"][0]["messages"][0]
        assert (message["family"], message["kind"], message["group"], message["checksum_ok"]) == (
            6, "mld1-done", "ff3e::10:2", checksum_ok)


def test_mld_table_in_seconds_and_findings(cli):
    r = cli("decode", QUERY, "--codes")
    assert r.status == 0 and "mld2-query" in r.stdout and "3 s (code 0x0bb8)" in r.stdout and "QQI 6 s" in r.stdout
    r = cli("decode", V2_REPORT)
    assert r.status == 1 and "ssm-exclude-mode" in r.stdout and "IS_EX ff3e::10:2 {}" in r.stdout


def test_capture_with_igmp_and_mld(cli, tmp_path):
    from mdiag.adapters.pcap_writer import PcapWriter

    path = tmp_path / "mixed.pcap"
    with PcapWriter(path) as writer:
        for i, text in enumerate((QUERY, "01005e0102030200c0a8010a0800" + REPORT_IP, V1_DONE)):
            writer.write(bytes.fromhex(text), 10**9 * (i + 1))
        writer.write(bytes.fromhex(QUERY)[:14] + bytes.fromhex("6000000000083a40") + bytes(32)
                     + bytes.fromhex("8000000000000000"), 10**10)  # an ICMPv6 echo request: not MLD
    r = cli("decode", str(path))
    assert r.status == 0, r.stdout
    assert "4 frames, 1 IGMP messages, 2 MLD messages, 1 not IGMP or MLD" in r.stdout
    r = cli("decode", str(path), "--json")
    assert [m.get("family") for m in r.json()["inputs"][0]["messages"]] == [6, 4, 6]


def _ipv6_with_first_header(first: int, header: bytes) -> str:
    """An MLDv2 report behind one extension header ``first`` (its bytes ``header``)."""
    import struct

    from mdiag.core import mld
    from mdiag.core.mld import Mld2Report, MldRecord

    icmp = mld.encode(Mld2Report((MldRecord(4, "ff05::1"),)), "fe80::1", "ff02::16")
    body = header + icmp
    return (struct.pack("!IHBB", 6 << 28, len(body), first, 1) + mld.address("fe80::1").packed
            + mld.address("ff02::16").packed + body).hex()


@pytest.mark.parametrize("first, header, kind, status", [
    (44, bytes((58, 0, 0, 0, 0, 0, 0, 7)), "mld2-report", 1),     # atomic fragment: whole (no Router Alert)
    (60, bytes((58, 0, 1, 4, 0, 0, 0, 0)), "mld2-report", 1),     # Destination Options
    (0, bytes((58, 0, 5, 2, 0, 0, 1, 0)), "mld2-report", 0),      # Hop-by-Hop Router Alert (as Linux)
    (44, bytes((58, 0, 0, 1, 0, 0, 0, 7)), None, 1),              # a first fragment: not MLD
])
def test_hex_ipv6_behind_any_first_extension_header(cli, first, header, kind, status):
    """Hex auto-detection hands an IPv6 packet to the chain walker whatever its first
    extension header, never to the IGMP decoder."""
    r = cli("decode", _ipv6_with_first_header(first, header), "--json")
    assert r.status == status, r.stdout + r.stderr
    [message] = r.json()["inputs"][0]["messages"]
    if kind is None:
        assert "unfragmented" in message["malformed"]["message"]
    else:
        assert message["kind"] == kind and message["checksum_ok"] is True
        assert [f["code"] for f in message["findings"]] == ([] if first == 0 else ["router-alert-missing"])
