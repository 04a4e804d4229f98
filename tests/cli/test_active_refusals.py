"""Active commands refuse, with one clear line, before touching any interface."""

from __future__ import annotations

import struct

import pytest

from mdiag.errors import ExitStatus


@pytest.mark.parametrize("argv, message", [
    (["querier"], "the following arguments are required: --iface"),
    (["discover"], "the following arguments are required: --iface"),
    (["delay"], "delay needs --lab, or both --sender-iface and --receiver-iface"),
    (["delay", "--sender-iface", "a"], "both --sender-iface and --receiver-iface"),
    (["delay", "--lab", "--sender-iface", "a"], "either --lab or --sender-iface"),
    (["replay", "x.pcap"], "replay needs --iface IFACE"),
    (["querier", "--iface", "lo", "--challenge", "198.18.0.0"], "add --force to confirm"),
    (["querier", "--iface", "lo", "--challenge", "0.0.0.0", "--force"], "cannot be a querier address"),
    (["querier", "--iface", "lo", "--expect", "querier"], "is not KEY=VALUE"),
    (["querier", "--iface", "lo", "--expect", "igmp-version=4"], "IGMP version is 1, 2 or 3"),
    (["querier", "--iface", "lo", "--expect", "color=red"], "unknown"),
    (["discover", "--iface", "lo", "--source", "198.18.0.5"], "--source needs --group"),
    (["discover", "--iface", "lo", "--group", "239.1.1.1", "--source", "198.18.0.5", "--version", "2"],
     "--source needs --version 3"),
    (["discover", "--iface", "lo", "--group", "10.1.1.1"], "not a multicast address"),
    (["discover", "--iface", "lo", "--version", "1", "--group", "239.1.1.1"], "IGMPv1 has no group-specific"),
    (["discover", "--iface", "lo", "--repeat", "0"], "--repeat must be"),
    (["delay", "--sender-iface", "a", "--receiver-iface", "b", "--group", "224.0.0.5"], "outside 224.0.0.0/24"),
    (["delay", "--sender-iface", "a", "--receiver-iface", "a"], "different interfaces"),
    (["delay", "--lab", "--rate", "0"], "a rate must be positive"),
    (["replay", "x.pcap", "--iface", "lo", "--expect-mdb", "m"], "need --bridge"),
    (["replay", "-", "--iface", "lo"], "give a file, not stdin"),
    (["replay", "x.pcap", "--iface", "lo", "--speed", "fast"], "use 1x, 10x, 0.5x or max"),
])
def test_refusals_are_one_line(cli, argv, message):
    r = cli(*argv)
    assert r.status == ExitStatus.BAD_INPUT, r.stderr
    assert message in r.stderr
    assert r.stderr.count("\n") == 1 and "Traceback" not in r.stderr


def _pcap(path, frames: int, gap_us: int) -> None:
    """A classic pcap of IGMPv2 reports (igmp.md section 7 example 2), ``gap_us`` apart."""
    frame = bytes.fromhex("01005e010203020000000001" "0800"
                          "46c000200000400001023161c0a8010aef01020394040000" "1600f8faef010203")
    with open(path, "wb") as fh:
        fh.write(struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, 1))
        for i in range(frames):
            t = i * gap_us
            fh.write(struct.pack("<IIII", t // 1_000_000, t % 1_000_000, len(frame), len(frame)) + frame)


def test_flooding_replay_needs_force(cli, tmp_path):
    capture = tmp_path / "burst.pcap"
    _pcap(capture, 1500, 100)  # 1500 frames in 0.15 s
    r = cli("replay", str(capture), "--iface", "lo")
    assert r.status == ExitStatus.BAD_INPUT
    assert "a flood: add --force" in r.stderr and "1500 frames" in r.stderr
    slow = cli("replay", str(capture), "--iface", "lo", "--speed", "max")
    assert slow.status == ExitStatus.BAD_INPUT and "back to back" in slow.stderr


def test_expect_mdb_file_errors_name_the_line(cli, tmp_path):
    capture = tmp_path / "one.pcap"
    _pcap(capture, 1, 0)
    spec = tmp_path / "bad.mdb"
    spec.write_text("# fine\n239.1.1.1\n")
    r = cli("replay", str(capture), "--iface", "lo", "--bridge", "br0", "--expect-mdb", str(spec))
    assert r.status == ExitStatus.BAD_INPUT
    assert f"{spec} line 2: expected 'GROUP PORT [SOURCE]'" in r.stderr


def test_missing_capture_is_one_line(cli, tmp_path):
    r = cli("replay", str(tmp_path / "nope.pcap"), "--iface", "lo")
    assert r.status == ExitStatus.BAD_INPUT and "no such file" in r.stderr


def test_without_cap_net_raw_the_fix_is_explained(cli, monkeypatch):
    from mdiag.adapters import rawsock

    monkeypatch.setattr(rawsock, "has_cap_net_raw", lambda: False)
    r = cli("querier", "--iface", "lo", "--wait", "0.1")
    assert r.status == ExitStatus.NO_PERMISSION
    assert "needs root or CAP_NET_RAW" in r.stderr and "setcap" in r.stderr


def test_unknown_interface_lists_the_real_ones(cli):
    from mdiag.adapters import rawsock

    if not rawsock.has_cap_net_raw():
        pytest.skip("needs CAP_NET_RAW to get past the permission check")
    r = cli("querier", "--iface", "nosuch0", "--wait", "0.1")
    assert r.status == ExitStatus.BAD_INPUT
    assert "no interface 'nosuch0' here" in r.stderr and "lo" in r.stderr


@pytest.mark.parametrize("kind", ["not-utf8", "save-in-missing-folder", "save-onto-directory"])
def test_replay_file_options_fail_in_one_line_before_sending(cli, tmp_path, kind):
    capture = tmp_path / "one.pcap"
    _pcap(capture, 1, 0)
    argv = ["replay", str(capture), "--iface", "nosuch0", "--bridge", "br0"]
    if kind == "not-utf8":
        spec = tmp_path / "latin1.mdb"
        spec.write_bytes(b"\xff\xfe 239.1.1.1 p1\n")
        argv += ["--expect-mdb", str(spec)]
        expected = "not UTF-8 text"
    elif kind == "save-in-missing-folder":
        argv += ["--save-mdb", str(tmp_path / "no" / "such" / "x.mdb")]
        expected = "does not exist; create it first"
    else:
        argv += ["--save-mdb", str(tmp_path)]
        expected = "is a directory"
    r = cli(*argv)
    assert r.status == ExitStatus.BAD_INPUT, r.stderr
    assert expected in r.stderr and r.stderr.count("\n") == 1 and "Traceback" not in r.stderr
