"""`mdiag collisions`: CI-gate exit statuses, plan files, JSON, limits, bad inputs."""

from pathlib import Path

import pytest

from mdiag.errors import ExitStatus

EXAMPLE = Path(__file__).parents[2] / "docs" / "examples" / "channel-plan.txt"


def test_clean_plan_exits_0(cli):
    result = cli("collisions", "239.192.1.1-239.192.1.100", "232.1.1.1")
    assert result.status == ExitStatus.OK
    assert "Clean: no MAC collisions, no flooded aliases." in result.stdout


def test_collision_exits_1_with_labels(cli):
    result = cli("collisions", "239.1.1.1=BBC One", "239.129.1.1=News")
    assert result.status == ExitStatus.PROBLEM_FOUND
    assert "01:00:5e:01:01:01" in result.stdout
    assert "239.1.1.1 (BBC One)" in result.stdout and "239.129.1.1 (News)" in result.stdout


def test_flooded_alias_alone_exits_1(cli):
    result = cli("collisions", "225.0.0.1")
    assert result.status == ExitStatus.PROBLEM_FOUND
    assert "224.0.0.1 (all systems on this subnet)" in result.stdout


def test_example_plan(cli):
    result = cli("collisions", "--file", str(EXAMPLE))
    assert result.status == ExitStatus.PROBLEM_FOUND
    assert "239.64.10.4 (Regional East)  239.192.10.4 (Sport 1 HD)" in result.stdout
    assert "239.128.0.5  Probe stream" in result.stdout


def test_plan_file_bad_line_named_and_rest_audited(cli, tmp_path):
    plan = tmp_path / "plan.txt"
    plan.write_text("# plan\n239.1.1.1 A\n239.1.1\n239.129.1.1 B\n10.0.0.1 C\n")
    result = cli("collisions", "-f", str(plan))
    assert result.status == ExitStatus.BAD_INPUT
    assert "239.1.1.1 (A)  239.129.1.1 (B)" in result.stdout
    assert result.stderr.splitlines() == [
        f"mdiag: error: {plan} line 3: '239.1.1' is not an address (IPv4 needs four dotted octets, got 3)",
        f"mdiag: error: {plan} line 5: 10.0.0.1 is not multicast (IPv4 multicast is 224.0.0.0/4)",
    ]


def test_missing_file_and_directory(cli, tmp_path):
    result = cli("collisions", "239.1.1.1", "--file", str(tmp_path / "nope.txt"), "--file", str(tmp_path))
    assert result.status == ExitStatus.BAD_INPUT
    assert result.stderr.splitlines() == [
        f"mdiag: error: {tmp_path / 'nope.txt'}: no such file; give a plan file",
        f"mdiag: error: {tmp_path}: is a directory; give a plan file",
    ]
    assert "Audited 1 entry," in result.stdout


def test_stdin_plan(cli):
    result = cli("collisions", "-f", "-", stdin="239.1.1.1 x\n239.129.1.1 y\n")
    assert result.status == ExitStatus.PROBLEM_FOUND


def test_entries_after_options(cli):
    result = cli("collisions", "--limit", "5", "239.1.1.1", "--json", "239.129.1.1")
    assert result.status == ExitStatus.PROBLEM_FOUND
    assert result.json()["summary"]["entries"] == 2


def test_whole_slash_8_bounded_output(cli):
    result = cli("collisions", "--json", "--limit", "3", "239.0.0.0/8")
    body = result.json()
    assert result.status == ExitStatus.PROBLEM_FOUND
    assert body["schema"] == 1 and body["command"] == "collisions" and body["clean"] is False
    assert body["summary"]["groups"] == 16777216
    assert body["summary"]["colliding_macs"] == 8388608
    assert len(body["collisions"]) == 3 and len(body["flooded"]) == 3
    assert {f["code"] for f in body["findings"]} == {"mac-collision", "flooded-alias"}
    table = cli("collisions", "--limit", "2", "239.0.0.0/8")
    assert "showing 2; raise --limit for more" in table.stdout
    assert len(table.stdout.splitlines()) < 30


def test_json_lists_errors(cli):
    body = cli("collisions", "--json", "239.1.1.1", "bad").json()
    assert body["errors"] == [{"origin": "argument 2", "input": "bad",
                               "error": "'bad' is not an address (IPv4 needs four dotted octets, got 1)"}]


def test_nothing_to_audit(cli):
    result = cli("collisions")
    assert result.status == ExitStatus.BAD_INPUT
    assert result.stderr == "mdiag: error: nothing to audit: give groups, ranges or CIDRs, or --file PLAN\n"


def test_bad_limit(cli):
    result = cli("collisions", "--limit", "x", "239.1.1.1")
    assert result.status == ExitStatus.BAD_INPUT
    assert "--limit wants a whole number" in result.stderr


def test_duplicate_group_with_two_labels_fails(cli):
    result = cli("collisions", "239.1.1.1=Sport", "239.1.1.1=News")
    assert result.status == ExitStatus.PROBLEM_FOUND
    assert "two channels on one group" in result.stdout


@pytest.mark.parametrize("gate, reserved, clean, colliding", [
    ([], ExitStatus.OK, ExitStatus.OK, ExitStatus.PROBLEM_FOUND),          # default: error
    (["--fail-on", "warning"], ExitStatus.PROBLEM_FOUND, ExitStatus.OK, ExitStatus.PROBLEM_FOUND),
    (["--strict"], ExitStatus.PROBLEM_FOUND, ExitStatus.OK, ExitStatus.PROBLEM_FOUND),  # old spelling
    (["--fail-on", "never"], ExitStatus.OK, ExitStatus.OK, ExitStatus.OK),
])
def test_fail_on_gates_the_audit(cli, gate, reserved, clean, colliding):
    """225.1.2.0/24 lies in a reserved block (a warning); 239.1.1.1 and 239.129.1.1 share a MAC (an error)."""
    assert cli("collisions", *gate, "225.1.2.0/24").status == reserved
    assert cli("collisions", "239.192.1.0/24", *gate).status == clean
    assert cli("collisions", "239.1.1.1", *gate, "239.129.1.1").status == colliding


def test_unreadable_input_is_never_called_clean(cli):
    result = cli("collisions", "239.1.1.1", "bad")
    assert "Clean" not in result.stdout
    assert "Incomplete: 1 input could not be read" in result.stdout


def test_endless_line_is_refused(cli, tmp_path):
    plan = tmp_path / "blob.bin"
    plan.write_bytes(b"239.1.1.1 ok\n" + b"\0" * (70 * 1024))
    result = cli("collisions", "--file", str(plan))
    assert result.status == ExitStatus.BAD_INPUT
    assert "line 2 is longer than 64 KiB" in result.stderr
    assert "Audited 1 entry" in result.stdout


def test_no_input_ever_gives_a_traceback(cli):
    from hypothesis import given, settings
    from hypothesis import strategies as st

    tokens = st.one_of(st.sampled_from(["239.1.1.1", "224.0.0.0/4", "0.0.0.0/0", "--limit", "0", "--json",
                                        "--", "=", "239.1.1.1-", "ff02::1", "-", "239.0.0.0/8"]),
                       st.text("0123456789.:-/=,; #abcdefx\t\u00e9", max_size=12))

    @settings(max_examples=150, deadline=None)
    @given(st.sampled_from(["mac", "classify", "collisions"]), st.lists(tokens, max_size=4))
    def check(command, argv):
        result = cli(command, *argv)
        assert result.status in (0, 1, 2)
        assert all(line.startswith("mdiag: ") for line in result.stderr.splitlines())

    check()


def test_ipv6_plan(cli):
    result = cli("collisions", "--json", "ff3e::8000:1=A", "ff38::8000:1=B", "ff0e::1", "ff02::1", "ff3e::/96")
    body = result.json()
    assert result.status == ExitStatus.PROBLEM_FOUND
    macs = [row["mac"] for row in body["collisions"]]
    assert "33:33:80:00:00:01" in macs and "33:33:00:00:00:01" in macs
    assert {f["code"] for f in body["findings"]} >= {"mac-collision", "flooded-alias", "link-local-group"}
    assert body["summary"]["groups"] == 4 + (1 << 32) - 1
    assert {b["block_key"] for b in body["blocks"]} == {"ipv6-ssm", "ipv6"}


def test_entry_pairs_summarise_range_collisions(cli):
    result = cli("collisions", "239.1.0.0/16=Sports", "239.129.0.0/16=News", "239.0.0.0/9")
    assert "Colliding entries: 2 pairs of plan entries share MACs (all shown)" in result.stdout
    body = cli("collisions", "--json", "239.1.0.0/16=Sports", "239.129.0.0/16=News", "239.0.0.0/8").json()
    assert body["pair_count"] == 4
    first = body["entry_pairs"][0]
    assert first["self"] is True and first["a"]["entry"] == "239.0.0.0/8" and first["macs"] == 1 << 23
    news = [p for p in body["entry_pairs"] if p["a"]["entry"] == "239.1.0.0/16" and p["b"]["entry"] == "239.129.0.0/16"]
    assert news[0]["macs"] == 65536 and news[0]["a"]["label"] == "Sports"


def test_closed_pipe_keeps_the_gate_verdict():
    """`mdiag collisions ... | head` under pipefail must still fail on a bad plan, quietly."""
    import subprocess
    import sys

    for extra in ([], ["--json"]):
        proc = subprocess.Popen([sys.executable, "-m", "mdiag", "collisions", "239.0.0.0/8", "--limit", "20000",
                                 *extra], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        assert proc.stdout is not None and proc.stderr is not None
        proc.stdout.readline()
        proc.stdout.close()
        stderr = proc.stderr.read()
        assert proc.wait(timeout=60) == 1
        assert b"Traceback" not in stderr and b"Exception ignored" not in stderr, stderr
