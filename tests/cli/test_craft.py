"""mdiag craft, in-process: byte-exact output, overrides, pcap output, one-line errors."""

from __future__ import annotations

import pytest

from mdiag.core.igmp import decode_igmp, decode_ipv4

VECTORS = [
    (["v1-query", "--layer", "igmp"], "1100eeff00000000"),
    (["v2-query", "--mrt", "10", "--layer", "igmp"], "1164ee9b00000000"),
    (["v2-report", "--group", "239.1.2.3", "--layer", "igmp"], "1600f8faef010203"),
    (["v2-leave", "--group", "239.1.2.3", "--layer", "igmp"], "1700f7faef010203"),
    (["v1-report", "--group", "239.1.2.3", "--layer", "igmp"], "1200fcfaef010203"),
    (["v3-query", "--mrt", "10", "--qrv", "2", "--qqi", "125", "--layer", "igmp"], "1164ec1e00000000027d0000"),
    (["v3-query", "--mrc", "0x89", "--qqic", "0x89", "--layer", "igmp"], "1189ebed0000000002890000"),
    (["v3-report", "--record", "allow:232.1.1.1:10.0.0.1,10.0.0.2", "--layer", "igmp"],
     "2200dbf60000000105000002e80101010a0000010a000002"),
    (["v3-report", "--record", "to_ex:239.1.2.3", "--layer", "igmp"], "2200e8f90000000104000000ef010203"),
    (["v3-group-source-query", "--group", "232.1.1.1", "--source", "10.0.0.1", "--mrt", "1", "--s-flag",
      "--layer", "igmp"], "110af173e80101010a7d00010a000001"),
    (["v2-report", "--group", "239.1.2.3", "--src", "192.168.1.10", "--layer", "ip"],
     "46c000200000400001023161c0a8010aef01020394040000" "1600f8faef010203"),
]


@pytest.mark.parametrize(("argv", "expected"), VECTORS)
def test_craft_hex_vectors(cli, argv, expected):
    result = cli("craft", *argv)
    assert result.status == 0, result.stderr
    assert result.stdout.strip() == expected


def test_issue_examples(cli):
    r = cli("craft", "v3-query", "--group", "232.1.1.1", "--source", "198.18.0.5", "--mrt", "2.5", "--qrv", "2",
            "--qqi", "125", "--s-flag", "--src", "198.18.0.1")
    frame = bytes.fromhex(r.stdout.strip())
    assert frame[:6] == bytes.fromhex("01005e010101")
    d = decode_ipv4(frame[14:])
    assert d.message.max_resp_time == 2.5 and d.message.s_flag and [str(s) for s in d.message.sources] == ["198.18.0.5"]
    assert d.findings == ()
    r = cli("craft", "v3-report", "--record", "to_ex:239.1.1.1", "--record", "allow:232.1.1.1:198.18.0.5,198.18.0.6",
            "--src", "198.18.0.20")
    d = decode_ipv4(bytes.fromhex(r.stdout.strip())[14:])
    assert [(r.type_name, str(r.group), len(r.sources)) for r in d.message.records] == [
        ("TO_EX", "239.1.1.1", 0), ("ALLOW", "232.1.1.1", 2)]
    assert str(d.dst) == "224.0.0.22"
    r = cli("craft", "v2-leave", "--group", "239.1.1.1", "--src", "198.18.0.20")
    d = decode_ipv4(bytes.fromhex(r.stdout.strip())[14:])
    assert (d.kind, str(d.src), str(d.dst), d.ttl, d.router_alert) == ("v2-leave", "198.18.0.20", "224.0.0.2", 1, True)


def test_overrides_make_findings(cli):
    r = cli("craft", "v2-report", "-g", "239.1.1.1", "--src", "198.18.0.9", "--ttl", "64", "--no-router-alert",
            "--dst", "224.0.0.1", "--checksum", "0x1234", "--ip-checksum", "0xbeef", "--json")
    assert r.status == 0
    codes = {f["code"] for f in r.json()["decoded"]["findings"]}
    assert codes == {"igmp-checksum-bad", "ip-checksum-bad", "ip-ttl-not-1", "router-alert-missing",
                     "wrong-destination"}


def test_mrt_rounds_down_with_warning_and_refuses_too_large(cli):
    r = cli("craft", "v3-query", "--mrt", "100", "--layer", "igmp")
    assert r.status == 0 and r.stdout[:4] == "11af" and "99.2 s" in r.stderr
    r = cli("craft", "v3-query", "--mrt", "3200")
    assert r.status == 2 and r.stdout == "" and r.stderr.count("\n") == 1 and "3174.4" in r.stderr
    r = cli("craft", "v3-query", "--qqi", "40000")
    assert r.status == 2 and "31744" in r.stderr


@pytest.mark.parametrize(("argv", "needle"), [
    (["v2-report"], "--group is required"),
    (["v2-report", "--group", "300.1.1.1"], "not an IPv4 address"),
    (["v3-report"], "--record"),
    (["v3-report", "--record", "nope:239.1.1.1"], "unknown record type"),
    (["v3-report", "--record", "allow:239.1.1.1:1.2.3.4:abc"], "not hex"),
    (["v2-report", "-g", "239.1.1.1", "--source", "1.1.1.1"], "does not apply"),
    (["bogus"], "unknown kind"),
    (["v3-query", "--qrv", "9"], "0..7"),
    (["v2-query", "--mrt", "30"], "25.5"),
    (["v2-report", "-g", "239.1.1.1", "--copies", "3"], "--pcap"),
    (["v2-report", "-g", "239.1.1.1", "--pcap", "x.pcap", "--interval", "nan"], "--interval: 'nan' is not a finite number"),
    (["v2-report", "-g", "239.1.1.1", "--pcap", "x.pcap", "--interval", "inf"], "--interval: 'inf' is not a finite number"),
    (["v2-report", "-g", "239.1.1.1", "--pcap", "x.pcap", "--interval", "-1"], "--interval -1 is outside"),
])
def test_bad_input_is_one_line(cli, argv, needle):
    r = cli("craft", *argv)
    assert r.status == 2
    assert r.stderr.count("\n") == 1 and needle in r.stderr and "Traceback" not in r.stderr


def test_pcap_output_appends_and_refuses_overwrite(cli, tmp_path):
    from mdiag.adapters.capture import open_capture

    path = tmp_path / "out.pcap"
    assert cli("craft", "v2-report", "-g", "239.1.1.1", "--pcap", str(path), "--copies", "3",
               "--interval", "0.5").status == 0
    r = cli("craft", "v2-leave", "-g", "239.1.1.1", "--pcap", str(path))
    assert r.status == 2 and "--force" in r.stderr
    assert cli("craft", "v2-leave", "-g", "239.1.1.1", "--pcap", str(path), "--append").status == 0
    with open_capture(path) as capture:
        frames = list(capture)
    assert [decode_ipv4(f.data[14:]).kind for f in frames] == ["v2-report"] * 3 + ["v2-leave"]
    assert frames[1].time_ns - frames[0].time_ns == 500_000_000
    assert cli("craft", "v1-query", "--pcap", str(path), "--force").status == 0
    with open_capture(path) as capture:
        assert len(list(capture)) == 1
    (tmp_path / "notes.txt").write_text("keep me")
    r = cli("craft", "v1-query", "--pcap", str(tmp_path / "notes.txt"), "--append")
    assert r.status == 2 and (tmp_path / "notes.txt").read_text() == "keep me"


def test_show_is_scapy_view(cli):
    r = cli("craft", "v3-report", "--record", "is_ex:239.1.1.1", "--show")
    assert r.status == 0
    assert "###[ IP ]###" in r.stdout and "Router Alert" in r.stdout and "239.1.1.1" in r.stdout


def test_raw_kind_fixes_checksum(cli):
    r = cli("craft", "raw", "--raw", "1301000000000000", "--layer", "igmp")
    d = decode_igmp(bytes.fromhex(r.stdout.strip()))
    assert d.kind == "unknown" and d.checksum_ok


def test_vlan_and_trailing(cli):
    r = cli("craft", "v2-report", "-g", "239.1.1.1", "--vlan", "42", "--trailing", "00000000")
    frame = bytes.fromhex(r.stdout.strip())
    assert frame[12:16] == bytes.fromhex("8100002a")
    d = decode_ipv4(frame[18:])
    assert d.trailing == bytes(4) and d.checksum_ok


def test_append_keeps_time_order_and_refuses_cut_short_file(cli, tmp_path):
    from mdiag.adapters.capture import open_capture

    path = tmp_path / "ordered.pcap"
    assert cli("craft", "v2-report", "-g", "239.1.1.1", "--pcap", str(path), "--copies", "2",
               "--interval", "100").status == 0
    assert cli("craft", "v2-leave", "-g", "239.1.1.1", "--pcap", str(path), "--append").status == 0
    with open_capture(path) as capture:
        times = [f.time_ns for f in capture]
    assert times == sorted(times) and times[2] - times[1] >= 10**9 - 1000  # its own --interval after the last
    path.write_bytes(path.read_bytes()[:-3])
    r = cli("craft", "v2-leave", "-g", "239.1.1.1", "--pcap", str(path), "--append")
    assert r.status == 2 and "cut-short" in r.stderr


def test_show_tells_the_truth_about_router_alert_and_unknown_types(cli):
    r = cli("craft", "v2-report", "-g", "239.1.1.1", "--no-router-alert", "--show")
    assert r.status == 0 and "ihl       = 5" in r.stdout and "Router Alert" not in r.stdout
    r = cli("craft", "raw", "--raw", "1f200000ef010101c6120164c612000ac612000a40000001", "--show")
    assert "###[ Raw ]###" in r.stdout and "Membership Query" not in r.stdout


def test_oversized_message_is_built_with_a_warning(cli):
    sources = ",".join(f"10.0.{i // 256}.{i % 256}" for i in range(400))
    r = cli("craft", "v3-report", "-r", f"allow:232.1.1.1:{sources}", "--layer", "igmp")
    assert r.status == 0 and "1500-byte MTU" in r.stderr
    assert len(bytes.fromhex(r.stdout.strip())) == 8 + 8 + 4 * 400


def test_default_source_is_the_lab_querier_or_host_never_zero(cli):
    """0.0.0.0 is a deliberate override (a proxy query, RFC 4541 2.1.1), not the default."""
    from mdiag.cli.commands.craft import HOST_SOURCE, QUERIER_SOURCE

    for kind, argv, source in [("v1-query", [], QUERIER_SOURCE), ("v2-query", [], QUERIER_SOURCE),
                               ("v3-query", [], QUERIER_SOURCE),
                               ("v3-group-query", ["-g", "239.1.1.1"], QUERIER_SOURCE),
                               ("v2-report", ["-g", "239.1.1.1"], HOST_SOURCE),
                               ("v2-leave", ["-g", "239.1.1.1"], HOST_SOURCE),
                               ("v3-report", ["-r", "to_ex:239.1.1.1"], HOST_SOURCE)]:
        r = cli("craft", kind, *argv, "--json")
        assert r.status == 0, r.stderr
        decoded = r.json()["decoded"]
        assert decoded["ip"]["src"] == source, kind
        assert not [f for f in decoded["findings"] if f["code"] == "query-from-zero-source"], kind
    r = cli("craft", "v3-query", "--src", "0.0.0.0", "--json")
    assert "query-from-zero-source" in {f["code"] for f in r.json()["decoded"]["findings"]}


def test_append_refuses_timestamps_past_32_bit_pcap_seconds(cli, tmp_path):
    import struct

    path = tmp_path / "late.pcap"
    frame = bytes.fromhex(cli("craft", "v2-report", "-g", "239.1.1.1").stdout.strip())
    path.write_bytes(struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 262144, 1)
                     + struct.pack("<IIII", 0xFFFFFFF0, 0, len(frame), len(frame)) + frame)
    before = path.read_bytes()
    r = cli("craft", "v2-report", "-g", "239.1.1.1", "--pcap", str(path), "--append", "--copies", "100")
    assert r.status == 2 and r.stderr.count("\n") == 1 and "2106" in r.stderr and "Traceback" not in r.stderr
    assert path.read_bytes() == before


def test_packet_over_the_ipv4_total_length_is_one_error(cli):
    many = ",".join(f"10.0.{i >> 8}.{i & 255}" for i in range(17000))
    for argv in (["v3-report", "-r", f"allow:232.1.1.1:{many}"],
                 ["v3-group-source-query", "-g", "232.1.1.1", "--source", many],
                 ["v2-report", "-g", "239.1.1.1", "--trailing", "00" * 66000]):
        r = cli("craft", *argv)
        assert r.status == 2 and r.stdout == "", argv[0]
        assert r.stderr.count("\n") == 1 and "above the 65535" in r.stderr and "Traceback" not in r.stderr


def test_pcap_dash_writes_the_capture_to_stdout():
    """`mdiag craft ... --pcap - | tshark -r -`: capture bytes on stdout, the summary on stderr."""
    import io
    import subprocess
    import sys

    from mdiag.adapters.capture import open_stream

    out = subprocess.run([sys.executable, "-m", "mdiag", "craft", "v2-leave", "-g", "239.1.1.1", "--pcap", "-",
                          "--copies", "2"], check=False, capture_output=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert out.stdout[:4] == bytes.fromhex("d4c3b2a1") and b"wrote 2 v2-leave frames" in out.stderr
    with open_stream(io.BytesIO(out.stdout)) as capture:
        assert [decode_ipv4(f.data[14:]).kind for f in capture] == ["v2-leave"] * 2


@pytest.mark.parametrize(("extra", "needle"), [
    (["--hex"], "leave out --hex"),
    (["--append"], "cannot append to standard output"),
    ([], "takes no binary data"),  # the in-process stdout is text only
])
def test_pcap_dash_refusals(cli, extra, needle):
    r = cli("craft", "v2-report", "-g", "239.1.1.1", "--pcap", "-", *extra)
    assert r.status == 2 and r.stderr.count("\n") == 1 and needle in r.stderr


def test_pcap_to_a_fifo_needs_no_force(cli, tmp_path):
    import os
    import threading

    fifo = tmp_path / "out.fifo"
    os.mkfifo(fifo)
    received: list[bytes] = []

    def read() -> None:
        with open(fifo, "rb") as handle:
            received.append(handle.read())

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    r = cli("craft", "v2-report", "-g", "239.1.1.1", "--pcap", str(fifo))
    reader.join(timeout=30)
    assert r.status == 0, r.stderr
    assert "wrote 1 v2-report frame" in r.stderr and r.stdout == ""
    assert received and len(received[0]) == 24 + 16 + 46
    r = cli("craft", "v2-report", "-g", "239.1.1.1", "--pcap", str(fifo), "--append")
    assert r.status == 2 and "not a regular file" in r.stderr


# --------------------------------------------------------------------------- MLD

from tests.core.mld.test_vectors import QUERY, V1_DONE, V1_REPORT, V2_REPORT  # noqa: E402

MLD_VECTORS = [
    # the real frames of mld.md, crafted again from the command line byte for byte
    (["mld2-query", "--mrt", "3", "--qqi", "6", "--src", "fe80::3ccd:75ff:fec6:29de", "--hbh", "050200000000"], QUERY),
    (["mld1-report", "-g", "ff3e::10:2", "--src", "fe80::8c4a:54ff:feab:ff2"], V1_REPORT),
    (["mld1-done", "-g", "ff3e::10:2", "--src", "fe80::8c4a:54ff:feab:ff2"], V1_DONE),
    (["mld2-report", "--src", "fe80::80cb:77ff:fe77:982f", "-r", "is_ex:ff3e::10:2", "-r", "is_ex:ff3e::10:1",
      "-r", "is_ex:ff02::1:ff77:982f", "-r", "is_ex:ff02::1:ff00:11"], V2_REPORT),
]


@pytest.mark.parametrize(("argv", "expected"), MLD_VECTORS)
def test_mld_real_frames_crafted_again(cli, argv, expected):
    result = cli("craft", *argv)
    assert result.status == 0, result.stderr
    assert result.stdout.strip() == expected


def test_mld_kinds_decode_back_clean(cli):
    from mdiag.core import mld

    for argv, kind in ([["mld1-query"], "mld1-query"], [["mld1-group-query", "-g", "ff05::1"], "mld1-group-query"],
                       [["mld2-query", "--s-flag", "--qrv", "3"], "mld2-query"],
                       [["mld2-group-query", "-g", "ff05::1"], "mld2-group-query"],
                       [["mld2-group-source-query", "-g", "ff3e::1", "-s", "fd00::5,fd00::6"],
                        "mld2-group-source-query"],
                       [["mld2-report", "-r", "allow:ff3e::1=fd00::5"], "mld2-report"]):
        r = cli("craft", *argv, "--layer", "ip")
        assert r.status == 0, r.stderr
        d = mld.decode_ipv6(bytes.fromhex(r.stdout.strip()))
        assert (d.kind, d.findings, d.checksum_ok) == (kind, (), True)


def test_mld_overrides_make_findings(cli):
    r = cli("craft", "mld2-report", "-r", "to_ex:ff05::1", "--src", "::", "--hop-limit", "64", "--no-router-alert",
            "--dst", "ff02::1", "--checksum", "0x1234", "--json")
    assert r.status == 0 and r.json()["family"] == 6
    codes = {f["code"] for f in r.json()["decoded"]["findings"]}
    assert codes == {"icmp6-checksum-bad", "hop-limit-not-1", "router-alert-missing",
                     "mld2-report-from-unspecified", "wrong-destination"}


def test_mld_mrt_rounds_down_with_warning(cli):
    r = cli("craft", "mld2-query", "--mrt", "40.001", "--layer", "mld")
    assert r.status == 0 and r.stdout[8:12] == "8388" and "40 s" in r.stderr
    r = cli("craft", "mld2-query", "--mrt", "9000")
    assert r.status == 2 and "8387.584" in r.stderr
    r = cli("craft", "mld1-query", "--mrt", "70")
    assert r.status == 2 and "65.535" in r.stderr


@pytest.mark.parametrize(("argv", "needle"), [
    (["mld1-report"], "--group is required"),
    (["mld1-report", "-g", "239.1.1.1"], "not an IPv6 address"),
    (["mld2-report", "-r", "to_ex:ff05::1:fd00::1"], "not an IPv6 address"),
    (["mld2-report", "-r", "nope:ff05::1"], "unknown record type"),
    (["mld1-done", "-g", "ff05::1", "--ip-id", "5"], "does not apply"),
    (["v2-report", "-g", "239.1.1.1", "--flow-label", "5"], "does not apply"),
    (["v2-query", "--mrc", "300"], "8-bit"),
    (["mld2-group-source-query", "-g", "ff3e::1"], "--source"),
])
def test_mld_bad_input_is_one_line(cli, argv, needle):
    r = cli("craft", *argv)
    assert r.status == 2 and r.stdout == "" and needle in r.stderr and r.stderr.count("\n") == 1, r.stderr
