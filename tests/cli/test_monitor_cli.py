"""``mdiag monitor`` refuses bad input with one line before capturing anything (no root needed)."""

from __future__ import annotations

import subprocess
import sys
import textwrap

import pytest


@pytest.mark.parametrize(("argv", "says"), [
    (["--metrics", "nonsense"], "--metrics 'nonsense': the port must be a number"),
    (["--metrics", "127.0.0.1:99999"], "the port must be a number 1..65535"),
    (["--metrics", "::1:9851"], "write an IPv6 address as [ADDR]:PORT"),
    (["--metrics", "host.example:9851"], "is not an IP address of this host"),
    (["--max-groups", "0"], "--max-groups must be at least 1"),
    (["--ring-size", "0"], "--ring-size 0 must be more than 0"),
    (["--source", "198.18.0.1"], "--source needs --group"),
    (["--group", "198.18.0.1"], "198.18.0.1"),
    (["--forget-after", "soon"], "'soon' is not a duration"),
    (["--duration", "-1s"], "duration"),
    (["--port", "0"], "--port: 0 is outside 1..65535"),
])
def test_bad_input_is_one_line_and_exit_2(cli, argv, says) -> None:
    result = cli("monitor", "--iface", "lo", *argv)
    assert result.status == 2, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("mdiag: error: ") and says in lines[0], lines


def test_ring_must_be_a_directory(cli, tmp_path) -> None:
    plain = tmp_path / "file"
    plain.write_text("x")
    result = cli("monitor", "--iface", "lo", "--ring", str(plain))
    assert result.status == 2 and "is not a directory" in result.stderr
    assert plain.read_text() == "x"


def test_jsonl_must_not_be_a_directory(cli, tmp_path) -> None:
    result = cli("monitor", "--iface", "lo", "--jsonl", str(tmp_path))
    assert result.status == 2 and "is a directory" in result.stderr


def test_other_commands_do_not_import_prometheus_client() -> None:
    code = textwrap.dedent("""
        import io, sys
        from mdiag.cli.environment import Environment
        from mdiag.cli.main import main
        main(["mac", "239.1.1.1"], Environment(stdout=io.StringIO(), stderr=io.StringIO()))
        main(["monitor", "--help"], Environment(stdout=io.StringIO(), stderr=io.StringIO()))
        print(",".join(sorted(m for m in sys.modules if m.startswith("prometheus_client"))))
    """)
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == ""
