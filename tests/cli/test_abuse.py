"""Abuse table (issue 9): every command over bad values, bad files and broken standard streams.

Each case must end with a documented status, one ``mdiag: error:`` line per problem on
stderr, no traceback, no raw control character on the terminal, and (for the cases run as
a process) within a 512 MiB address-space limit set in ``preexec_fn``, so memory is bounded
without timing anything. Slow soaks (a million messages, big plans) are in
tests/benchmarks/bench_abuse.py.
"""

from __future__ import annotations

import os
import resource
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from mdiag.errors import ExitStatus

ROOT = Path(__file__).resolve().parents[2]
CAPTURE = str(ROOT / "pcaps" / "scenarios" / "iptv-no-querier.pcap")
HEX = "1600fafdef010101"
ESC = "\x1b[2J\x1b]0;owned\x07"
CSI = "\x1b[2J"
#: Address-space limit of every process run here: far above what mdiag needs (~300 MiB with
#: scapy loaded), far below what an unbounded read of /dev/zero reaches.
MEMORY_LIMIT = 512 * 1024 * 1024

OK, PROBLEM, BAD, OUTPUT = (ExitStatus.OK, ExitStatus.PROBLEM_FOUND, ExitStatus.BAD_INPUT,
                            ExitStatus.OUTPUT_FAILED)


def _limits() -> None:
    resource.setrlimit(resource.RLIMIT_AS, (MEMORY_LIMIT, MEMORY_LIMIT))


def mdiag(*argv: str, stdin: object = subprocess.DEVNULL, stdout: object = subprocess.PIPE,
          close: tuple[int, ...] = (), timeout: float = 60) -> subprocess.CompletedProcess[bytes]:
    """Run ``python -m mdiag`` as a process, with ``close`` descriptors closed in it."""

    def prepare() -> None:
        _limits()
        for fd in close:
            os.close(fd)

    return subprocess.run([sys.executable, "-m", "mdiag", *argv], stdin=stdin, stdout=stdout,
                          stderr=subprocess.PIPE, preexec_fn=prepare, cwd=ROOT, timeout=timeout,
                          check=False)


def assert_clean(status: int, stderr: str, expected: int | set[int], *, lines: int | None = 1) -> None:
    wanted = expected if isinstance(expected, set) else {expected}
    assert status in wanted, stderr
    assert "Traceback" not in stderr and "MemoryError" not in stderr, stderr
    assert "\x1b" not in stderr and "\x07" not in stderr, stderr
    if lines is not None:
        assert stderr.count("\n") == lines, stderr
        assert all(line.startswith("mdiag: ") for line in stderr.splitlines()), stderr


# ---- files that must be read with a bound (item 3) ------------------------------------------

BOUNDED_READS = [
    ("collisions", "--file", "/dev/zero"),
    ("collisions", "--file", "/dev/urandom"),
    ("mac", "239.1.1.1", "--file", "/dev/urandom"),
    ("mac", "239.1.1.1", "--file", "/dev/zero"),
    ("decode", "/dev/urandom"),
    ("decode", "/dev/zero"),
    ("analyze", "--expect-file", "/dev/zero", CAPTURE),
    ("analyze", "--expect-file", "/dev/urandom", CAPTURE),
    ("analyze", "--expect-file", sys.executable, CAPTURE),  # a binary: no UnicodeDecodeError
    # --iface names no interface: the file check comes first, nothing is ever sent
    ("replay", CAPTURE, "--iface", "nosuch0", "--bridge", "br0", "--expect-mdb", "/dev/zero"),
    ("replay", CAPTURE, "--iface", "nosuch0", "--bridge", "br0", "--expect-mdb", "/dev/urandom"),
]


@pytest.mark.parametrize("argv", BOUNDED_READS, ids=lambda a: " ".join(a[:4]))
def test_endless_or_binary_files_are_one_error_in_bounded_memory(argv):
    result = mdiag(*argv)
    stderr = result.stderr.decode(errors="replace")
    assert_clean(result.returncode, stderr, BAD)
    assert "is this" in stderr or "not UTF-8" in stderr or "binary" in stderr, stderr


@pytest.mark.parametrize("argv", [("mac", "-"), ("classify", "-"), ("collisions", "--file", "-"),
                                  ("decode", "-")], ids=" ".join)
def test_endless_stdin_is_one_error(argv):
    with open("/dev/zero", "rb") as zero:
        result = mdiag(*argv, stdin=zero)
    assert_clean(result.returncode, result.stderr.decode(), BAD)


# ---- standard streams (items 9, 10) ---------------------------------------------------------

WRITERS = [
    ("mac", "239.1.1.1"), ("mac", "239.1.1.1", "--json"), ("mac", "239.1.1.1", "--aliases"),
    ("classify", "239.1.1.1"), ("classify", "239.1.1.1", "--json"),
    ("collisions", "239.1.1.1"), ("collisions", "239.1.1.1", "--json"),
    ("decode", HEX), ("decode", HEX, "--json"), ("decode", CAPTURE),
    ("analyze", CAPTURE), ("analyze", CAPTURE, "--json"), ("analyze", CAPTURE, "--csv"),
    ("craft", "v2-report", "-g", "239.1.1.1"), ("craft", "v2-report", "-g", "239.1.1.1", "--json"),
    ("craft", "v2-report", "-g", "239.1.1.1", "--pcap", "-"),
    ("--help",),
]


@pytest.mark.parametrize("argv", WRITERS, ids=" ".join)
def test_full_disk_on_stdout_is_one_line_and_74(argv):
    with open("/dev/full", "wb") as full:
        result = mdiag(*argv, stdout=full)
    stderr = result.stderr.decode()
    if argv == ("--help",):  # argparse prints help itself; still no traceback
        assert "Traceback" not in stderr
        return
    assert_clean(result.returncode, stderr, OUTPUT)
    assert "no space left" in stderr


@pytest.mark.parametrize("argv", [a for a in WRITERS if a != ("--help",)], ids=" ".join)
def test_closed_stdout_is_one_line_and_74(argv):
    result = mdiag(*argv, stdout=None, close=(1,))
    stderr = result.stderr.decode()
    assert_clean(result.returncode, stderr, OUTPUT)
    assert "standard output" in stderr and "closed" in stderr


@pytest.mark.parametrize("argv", [("mac", "-"), ("classify", "-"), ("collisions", "--file", "-"),
                                  ("decode", "-"), ("decode",), ("analyze", "-")], ids=" ".join)
def test_closed_stdin_is_one_line_and_2(argv):
    result = mdiag(*argv, stdin=None, close=(0,))
    stderr = result.stderr.decode()
    assert_clean(result.returncode, stderr, BAD)
    assert "standard input is closed" in stderr


def test_craft_pcap_onto_a_full_device():
    result = mdiag("craft", "v2-report", "-g", "239.1.1.1", "--pcap", "/dev/full")
    assert_clean(result.returncode, result.stderr.decode(), OUTPUT)


@pytest.mark.parametrize("argv, verdict", [
    (("analyze", CAPTURE, "--expect", "querier=198.18.0.1"), PROBLEM),
    (("analyze", CAPTURE, "--fail-on", "info"), PROBLEM),
    (("analyze", CAPTURE, "--fail-on", "info", "--json"), PROBLEM),
    (("collisions", "239.1.1.1", "224.1.1.1"), PROBLEM),
    (("decode", CAPTURE, "--fail-on", "info"), {OK, PROBLEM}),
    (("mac", "239.1.1.1", "nonsense"), BAD),
], ids=lambda v: " ".join(v) if isinstance(v, tuple) else "")
def test_a_reader_that_goes_away_keeps_the_verdict(argv, verdict):
    """``| head -1`` under pipefail: the pipe is closed before mdiag writes a byte (EPIPE)."""
    process = subprocess.Popen([sys.executable, "-m", "mdiag", *argv], stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, stdin=subprocess.DEVNULL, cwd=ROOT,
                               preexec_fn=_limits)
    assert process.stdout is not None and process.stderr is not None
    process.stdout.close()
    stderr = process.stderr.read().decode()
    status = process.wait(timeout=60)
    expected = verdict if isinstance(verdict, set) else {verdict}
    if argv[0] == "decode":  # which verdict depends on the capture; the point is: no crash, no 0 from EPIPE
        reference = mdiag(*argv).returncode
        expected = {reference}
    assert_clean(status, stderr, expected, lines=stderr.count("\n"))
    assert "Broken pipe" not in stderr


@pytest.mark.parametrize("argv, summary", [
    (("listen", "239.255.77.1", "--iface", "lo", "--duration", "20", "--port", "47999"), b"listened"),
    (("send", "239.255.77.1", "--iface", "lo", "--duration", "20", "--port", "47995", "--rate", "100pps"),
     b"sent"),
], ids=lambda v: v[0] if isinstance(v, tuple) else "")
def test_sigterm_is_handled_like_ctrl_c_with_143(argv, summary):
    """SIGTERM while a command runs (on loopback): the summary Ctrl-C gives, and status 143."""
    process = subprocess.Popen([sys.executable, "-m", "mdiag", *argv], stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, cwd=ROOT, preexec_fn=_limits)
    time.sleep(1.5)
    process.send_signal(signal.SIGTERM)
    out, err = process.communicate(timeout=30)
    assert process.returncode == ExitStatus.TERMINATED, err
    assert summary in out and b"Traceback" not in err


def test_bare_mdiag_says_a_command_is_missing(cli):
    result = cli()
    assert result.status == BAD and "a command is missing" in result.stderr


# ---- bad values for every passive command (items 13, 14) ------------------------------------

BAD_VALUES = ["", "-1", "99999999999999999999999", "nan", "inf", "ff02::1", "::1", "../../etc/passwd",
              ESC, "\u202e1.1.1.932", "239.1.1.1\n239.2.2.2", "\udcff", "0x", "1e400", " "]

TEMPLATES = [
    ("mac", "{}"), ("mac", "--reverse", "{}"), ("classify", "{}"), ("collisions", "{}"),
    ("collisions", "239.1.1.1", "--limit", "{}"), ("decode", "{}"), ("decode", "--layer", "{}", HEX),
    ("craft", "{}"), ("craft", "v2-report", "-g", "{}"), ("craft", "v3-report", "--record", "{}"),
    ("craft", "v2-query", "--mrt", "{}"), ("craft", "v3-query", "--qqi", "{}"),
    ("craft", "v2-report", "-g", "239.1.1.1", "--copies", "{}", "--pcap", "{}"),
    ("craft", "raw", "--raw", "{}"), ("craft", "v2-report", "-g", "239.1.1.1", "--src", "{}"),
    ("analyze", "{}"), ("analyze", CAPTURE, "--group", "{}"), ("analyze", CAPTURE, "--since", "{}"),
    ("analyze", CAPTURE, "--vlan", "{}"), ("analyze", CAPTURE, "--expect", "{}"),
    ("analyze", CAPTURE, "--querier", "{}"), ("analyze", CAPTURE, "--expect-file", "{}"),
    ("mac", "239.1.1.1", "--file", "{}"),
]


@pytest.mark.parametrize("template", TEMPLATES, ids=" ".join)
def test_bad_values_end_cleanly(cli, template, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # a value that is a path lands here, never in the repository
    for value in BAD_VALUES:
        argv = [value if part == "{}" else part for part in template]
        result = cli(*argv)
        assert result.status in (OK, PROBLEM, BAD), (argv, result.stderr)
        assert "Traceback" not in result.stderr, (argv, result.stderr)
        shown = result.stdout + result.stderr
        if "--json" not in argv:
            assert "\x1b" not in shown and "\u202e" not in shown and "\x07" not in shown, (argv, shown)
        for line in result.stderr.splitlines():
            assert line.startswith("mdiag: "), (argv, result.stderr)
        if result.status == BAD:
            assert result.stderr, argv


def test_expect_out_of_range_is_a_usage_error(cli):
    result = cli("analyze", CAPTURE, "--expect", "igmp-version=9")
    assert result.status == BAD and "igmp-version is 1..3" in result.stderr
    assert result.stderr.count("\n") == 1


def test_stdin_can_be_given_once(cli):
    result = cli("decode", "-", "-", stdin=HEX + "\n")
    assert result.status == BAD and result.stderr.count("\n") == 1 and "only once" in result.stderr


# ---- text from data never drives the terminal (item 14) -------------------------------------

def _strings(value: object) -> set[str]:
    """Every string in a parsed JSON document."""
    if isinstance(value, str):
        return {value}
    if isinstance(value, dict):
        value = [*value.keys(), *value.values()]
    if isinstance(value, list):
        return set().union(*map(_strings, value)) if value else set()
    return set()


def test_plan_labels_and_file_names_are_escaped(cli, tmp_path):
    plan = tmp_path / "plan.txt"
    plan.write_text(f"239.1.1.1 {CSI}sport\n224.1.1.1 \u202eevil\n")
    for argv in (("collisions", "--file", str(plan)), ("mac", "239.1.1.1", "--aliases", "--file", str(plan)),
                 ("mac", "239.1.1.1", "--file", str(plan)), ("mac", "239.1.1.1", "--file", ESC),
                 ("decode", f"{ESC}1100"), ("classify", ESC)):
        result = cli(*argv)
        shown = result.stdout + result.stderr
        assert "\x1b" not in shown and "\u202e" not in shown, (argv, shown)
    table = cli("collisions", "--file", str(plan))
    assert "\\x1b[2J" in table.stdout  # shown, escaped
    exact = cli("collisions", "--file", str(plan), "--json").json()
    assert CSI + "sport" in _strings(exact)  # JSON stays exact


def test_pcapng_interface_names_are_escaped(cli, tmp_path):
    from mdiag.testing import pcapgen

    capture = pcapgen.Capture("esc", "an interface named with escapes",
                              interfaces=((pcapgen.LINKTYPE_ETHERNET, 9, f"eth{CSI}0"),))
    capture.put_igmp(0.0, pcapgen.V2Report("239.1.1.1"), "198.18.0.11")
    path = tmp_path / "esc.pcapng"
    path.write_bytes(pcapgen.pcapng_bytes(capture))
    for argv in (("analyze", str(path)), ("analyze", str(path), "--timeline"), ("decode", str(path))):
        result = cli(*argv)
        assert result.status in (OK, PROBLEM), result.stderr
        assert "\x1b" not in result.stdout + result.stderr, argv
    assert f"eth{CSI}0" in _strings(cli("analyze", str(path), "--json").json())


def test_sanitize_keeps_printable_text_and_escapes_the_rest():
    from mdiag.cli.render import sanitize

    assert sanitize("239.1.1.1 Sport 1 HD é") == "239.1.1.1 Sport 1 HD é"
    assert sanitize("a\x1b[2Jb\nc\td\x9b\u202e\udcff") == "a\\x1b[2Jb\\x0ac\\x09d\\x9b\\u202e\\xff"


# ---- damaged pcapng timestamps (item 13) ------------------------------------------------------

def test_if_tsoffset_beyond_any_clock_is_damage_not_a_crash(cli, tmp_path):
    import struct

    def block(kind: int, body: bytes) -> bytes:
        body += b"\0" * (-len(body) % 4)
        return struct.pack("<II", kind, 12 + len(body)) + body + struct.pack("<I", 12 + len(body))

    ip = bytes.fromhex("46c000200000400001029e3ec6120a0aef010101940400001600fafdef010101")
    data = (block(0x0A0D0D0A, struct.pack("<IHHq", 0x1A2B3C4D, 1, 0, -1))
            + block(1, struct.pack("<HHI", 101, 0, 65535) + struct.pack("<HHq", 14, 8, -(2 ** 62)) + bytes(4))
            + block(6, struct.pack("<IIIII", 0, 0, 1000, len(ip), len(ip)) + ip))
    path = tmp_path / "tsoffset.pcapng"
    path.write_bytes(data)
    for argv in (("analyze", str(path)), ("analyze", str(path), "--json"), ("decode", str(path))):
        result = cli(*argv)
        assert result.status in (OK, PROBLEM) and "Traceback" not in result.stderr, argv
    assert "capture-bad-tsoffset" in cli("analyze", str(path), "--json").stdout


# ---- one rule for every output file (item 11) -------------------------------------------------

OUTPUTS = [
    ("craft", "v2-report", "-g", "239.1.1.1", "--pcap", "{}"),
    ("analyze", CAPTURE, "--junit", "{}"),
    ("replay", CAPTURE, "--iface", "nosuch0", "--bridge", "br0", "--save-mdb", "{}"),
]


@pytest.mark.parametrize("template", OUTPUTS, ids=lambda t: t[0])
@pytest.mark.parametrize("kind", ["file", "symlink", "dangling"])
def test_no_output_file_is_written_through_without_force(cli, tmp_path, template, kind):
    target = tmp_path / "target"
    path = tmp_path / "out"
    if kind == "file":
        path.write_text("keep me")
    else:
        if kind == "symlink":
            target.write_text("keep me")
        path.symlink_to(target)
    result = cli(*[str(path) if part == "{}" else part for part in template])
    assert result.status == BAD and result.stderr.count("\n") == 1, result.stderr
    assert "--force" in result.stderr
    assert path.is_symlink() == (kind != "file")
    assert not target.exists() or target.read_text() == "keep me"
    if kind != "file":
        assert (kind == "dangling") == (not target.exists())


def test_force_replaces_a_symlink_not_its_target(cli, tmp_path):
    target = tmp_path / "target"
    target.write_text("keep me")
    path = tmp_path / "out.pcap"
    path.symlink_to(target)
    result = cli("craft", "v2-report", "-g", "239.1.1.1", "--pcap", str(path), "--force")
    assert result.status == OK, result.stderr
    assert not path.is_symlink() and path.read_bytes()[:4] == b"\xd4\xc3\xb2\xa1"
    assert target.read_text() == "keep me"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.pcap", "target"]  # no temporary left


def test_a_failed_write_leaves_nothing_behind(tmp_path):
    from mdiag.adapters.outfile import open_output

    path = tmp_path / "half.bin"
    with pytest.raises(RuntimeError), open_output(str(path), force=False) as handle:
        handle.write(b"half")
        raise RuntimeError("interrupted")
    assert list(tmp_path.iterdir()) == []
    path.write_bytes(b"old")
    with pytest.raises(RuntimeError), open_output(str(path), force=True) as handle:
        handle.write(b"new")
        raise RuntimeError("interrupted")
    assert path.read_bytes() == b"old" and list(tmp_path.iterdir()) == [path]


# ---- decode streams (item 4) ------------------------------------------------------------------

def _pcap_stream(frames: int) -> bytes:
    import struct

    packet = bytes.fromhex("46c000200000400001029e3ec6120a0aef010101940400001600fafdef010101")
    header = struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, 101)
    return header + b"".join(struct.pack("<IIII", i, 0, len(packet), len(packet)) + packet
                             for i in range(frames))


@pytest.mark.parametrize("json_mode", [False, True], ids=["table", "json"])
def test_decode_writes_rows_before_its_input_ends(json_mode):
    """Rows come out while stdin is still open: nothing waits for (or holds) the whole input."""
    process = subprocess.Popen([sys.executable, "-m", "mdiag", "decode", "-", *(["--json"] if json_mode else [])],
                               stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, cwd=ROOT,
                               preexec_fn=_limits)
    assert process.stdin is not None and process.stdout is not None
    import threading

    fed = threading.Event()

    def feed() -> None:
        assert process.stdin is not None
        # past the 2,000 rows that size the columns and the 1 MiB blocks the capture reader takes
        try:
            process.stdin.write(_pcap_stream(40_000))
            process.stdin.flush()
        except OSError:  # killed once its first line came
            pass
        fed.set()

    writer = threading.Thread(target=feed, daemon=True)
    writer.start()
    try:
        first = process.stdout.readline()  # comes while stdin is still open: no waiting for EOF
        assert first.startswith(b"{" if json_mode else b"where")
    finally:
        process.kill()  # the rest is not needed (and the verdict through pipes is tested above)
        fed.wait(timeout=60)
        process.communicate(timeout=60)



# ---- numbers of every command: bounded at parse time (item 13, the OverflowError class) --------

@pytest.mark.parametrize("argv", [
    ("send", "239.1.1.1", "--iface", "lo", "--source-port", "70000"),
    ("send", "239.1.1.1", "--iface", "lo", "--source-port", "-1"),
    ("send", "239.1.1.1", "--iface", "lo", "--source-port", "65536"),
    ("send", "239.1.1.1", "--iface", "lo", "--port", "0"),
    ("send", "239.1.1.1", "--iface", "lo", "--size", "99999999999999"),
    ("doctor", "--iface", "lo", "--groups", "999999999999"),
    ("listen", "239.1.1.1", "--iface", "lo", "--max-loss", "nan"),
    ("listen", "239.1.1.1", "--iface", "lo", "--port", "65536"),
    ("lab", "up", "--hosts", "99999999999"),
    ("lab", "up", "--query-interval", "inf"),
    ("craft", "v2-query", "--mrt", "nan"),
    ("analyze", CAPTURE, "--vlan", "99999999999999999999"),
], ids=" ".join)
def test_numbers_out_of_range_are_refused_before_anything_runs(cli, argv):
    result = cli(*argv)
    assert_clean(result.status, result.stderr, BAD)


# ---- a duration is a promise (item 6) -----------------------------------------------------------

def test_send_at_an_impossible_rate_keeps_its_duration_and_says_so(cli):
    result = cli("send", "239.255.77.2", "--iface", "lo", "--port", "47998", "--rate", "5000000pps",
                 "--duration", "0.5", "--size", "64", "--json")
    assert result.status == OK, result.stderr
    assert result.json()["elapsed_s"] <= 0.5 + 0.3  # the deadline, a scheduling tick, a loaded host
    assert "below the 5,000,000 pps asked" in result.stderr and result.stderr.count("\n") == 1


def test_listen_of_many_groups_keeps_its_duration(cli):
    result = cli("listen", "239.255.64.1-239.255.79.255", "--iface", "lo", "--port", "47997",
                 "--duration", "1", "--json")
    assert result.status in (OK, PROBLEM), result.stderr
    assert result.json()["duration_s"] <= 1.0 + 0.3


def test_interrupted_while_joining_still_gives_the_summary(cli, monkeypatch):
    from mdiag.adapters import sockets

    def interrupted_join(self, until_ns=None):
        raise KeyboardInterrupt

    monkeypatch.setattr(sockets.Receiver, "join", interrupted_join)
    result = cli("listen", "239.255.77.3", "--iface", "lo", "--port", "47996", "--duration", "5")
    assert result.status == ExitStatus.INTERRUPTED
    assert "listened" in result.stdout and "Traceback" not in result.stderr


def test_socket_plans_of_many_groups_are_linear():
    """16,384 groups (``listen 239.1.0.0/18``): a plan made with sets, not lists (it took 6.6 s)."""
    from mdiag.adapters.sockets import Join, plan_sockets

    joins = [Join(f"239.1.{i >> 8}.{i & 255}", None) for i in range(16384)]
    joins += [Join("239.9.9.9", f"198.18.0.{i}") for i in range(1, 25)]
    plan = plan_sockets(joins + joins, max_msf=10)  # duplicates dropped
    assert len(plan) == 16384 + 3 and plan[0] == ("239.1.0.0", ()) and plan[-1][0] == "239.9.9.9"


# ---- collisions --limit streams its rows (item 5) ------------------------------------------------

PLAN = ("239.1.0.0/20", "238.1.0.0/20=other", "224.0.0.0/22", "225.0.0.0/24", "239.1.0.1=twice")


def test_a_big_limit_is_streamed_and_says_the_same(cli, monkeypatch):
    from mdiag.cli.commands import collisions

    held = cli("collisions", *PLAN, "--limit", "300", "--json").json()
    held_text = cli("collisions", *PLAN, "--limit", "300").stdout
    monkeypatch.setattr(collisions, "STREAM_ROWS", 7)  # every section past 7 rows is now streamed
    streamed = cli("collisions", *PLAN, "--limit", "300", "--json")
    assert streamed.status == PROBLEM and streamed.json() == held
    text = cli("collisions", *PLAN, "--limit", "300").stdout

    def cells(output: str) -> list[list[str]]:  # column widths differ: streamed ones come from 8 rows
        return [line.split() for line in output.splitlines() if line.strip(" -")]

    assert cells(text) == cells(held_text)


def test_audit_rows_are_made_as_they_are_read():
    """A million-row --limit holds no million rows: the sweep hands them out one by one."""
    import itertools
    import tracemalloc

    from mdiag.core.addresses.audit import audit_rows
    from mdiag.core.addresses.plan import parse_arguments

    entries = list(parse_arguments(["239.0.0.0/8", "238.0.0.0/8"]))
    tracemalloc.start()
    try:
        taken = sum(1 for _ in itertools.islice(audit_rows(entries, "collisions", 10**6), 50_000))
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert taken == 50_000
    assert peak < 8 * 1024 * 1024  # 50,000 rows held would be tens of MB
