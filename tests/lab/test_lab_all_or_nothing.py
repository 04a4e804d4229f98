"""A lab is all or nothing (issue 9 item 8): a build killed halfway is reported partial and
rebuilt, Ctrl-C / SIGTERM during a build leaves nothing, one up/down per prefix at a time."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from mdiag.adapters.lab import BridgeConfig, Lab, _lock
from mdiag.adapters.netns import list_names
from mdiag.errors import ExitStatus
from mdiag.testing.plugin import unique_prefix
from mdiag.testing.requirements import need_root

pytestmark = pytest.mark.lab
ROOT = Path(__file__).resolve().parents[2]


def _left(prefix: str) -> list[str]:
    return [ns for ns in list_names() if ns.startswith(prefix + "-")]


@pytest.fixture
def prefix():
    need_root()
    name = unique_prefix()
    yield name
    Lab(prefix=name).down()
    assert _left(name) == []


def test_a_lab_missing_its_last_step_is_partial_and_rebuilt(cli, prefix):
    lab = Lab(prefix=prefix, hosts=2, bridge=BridgeConfig.fast(), ipv6=False)
    assert lab.up() is True
    assert cli("lab", "status", "--lab-prefix", prefix).status == ExitStatus.OK
    # what kill -9 before the last step leaves: every namespace, no completion mark
    lab.run_bridge(["ip", "link", "set", "br0", "alias", "x"])
    status = cli("lab", "status", "--lab-prefix", prefix)
    assert status.status == ExitStatus.PROBLEM_FOUND and "PARTIAL" in status.stdout
    assert cli("lab", "status", "--lab-prefix", prefix, "--json").json()["partial"] is True
    assert lab.is_up() is False and lab.up() is True  # rebuilt, not "already up"
    assert lab.is_up() and lab.state() == "up"
    # a host namespace gone (killed before it was made) is partial too
    subprocess.run(["ip", "netns", "del", f"{prefix}-h2"], check=True)
    assert lab.state() == "partial"
    assert cli("lab", "status", "--lab-prefix", prefix).status == ExitStatus.PROBLEM_FOUND


def test_a_second_up_or_down_of_one_prefix_is_one_short_line(cli, prefix):
    with _lock(prefix):  # as another mdiag building this prefix holds it
        for argv in (("lab", "up", "--lab-prefix", prefix, "--hosts", "2", "--fast"),
                     ("lab", "down", "--lab-prefix", prefix)):
            result = cli(*argv)
            assert result.status == ExitStatus.BAD_INPUT
            assert result.stderr.count("\n") == 1 and len(result.stderr) < 200
            assert "another mdiag" in result.stderr
    assert _left(prefix) == []


@pytest.mark.parametrize("signum, status", [(signal.SIGINT, ExitStatus.INTERRUPTED),
                                            (signal.SIGTERM, ExitStatus.TERMINATED)])
def test_a_signal_during_up_leaves_nothing(prefix, signum, status):
    process = subprocess.Popen([sys.executable, "-m", "mdiag", "lab", "up", "--lab-prefix", prefix, "--hosts", "40",
                                "--fast", "--ipv4-only"], cwd=ROOT, stdout=subprocess.DEVNULL,
                               stderr=subprocess.PIPE)
    deadline = time.monotonic() + 30
    while not _left(prefix) and time.monotonic() < deadline:  # stop it mid-build
        time.sleep(0.01)
    process.send_signal(signum)
    _, err = process.communicate(timeout=60)
    if process.returncode == ExitStatus.OK:  # the build beat the signal: then it is complete
        assert Lab.existing(prefix).is_up()
        return
    assert process.returncode == status, err
    assert err.decode().count("\n") == 1 and b"Traceback" not in err
    assert _left(prefix) == []


def test_a_failing_ip_batch_is_named_in_a_few_words():
    from mdiag.adapters.lab import _first_lines, _summary

    batch = "\n".join(f"link add p{i} type veth peer name lab0" for i in range(600))
    text = _summary(["-n", "x-br", "-batch", "-"], batch)
    assert "(+599 more lines)" in text and len(text) < 150
    assert _first_lines("RTNETLINK answers: File exists\n" * 300).endswith("(+298 more lines)")


def _default_lab_absent() -> None:
    if any(ns.startswith("mdlab-") for ns in list_names()):
        pytest.skip("a default lab (mdlab) is up here: verify --lab would use it, not a temporary one")


def test_verify_with_a_bad_host_builds_no_temporary_lab(cli):
    """Issue 9 item 7: the host names are checked before the temporary lab is built."""
    need_root()
    _default_lab_absent()
    before = {ns for ns in list_names() if ns.startswith("mdv")}
    result = cli("verify", "239.1.1.1", "--lab", "--sender", "h9")
    assert result.status == ExitStatus.BAD_INPUT and "Traceback" not in result.stderr
    assert {ns for ns in list_names() if ns.startswith("mdv")} == before


def test_sigterm_during_verify_removes_its_temporary_lab():
    """Issue 9 items 7 and 12: SIGTERM while verify --lab runs: its lab is removed, status 143."""
    need_root()
    _default_lab_absent()
    process = subprocess.Popen([sys.executable, "-m", "mdiag", "verify", "239.1.1.1", "--lab", "--hold", "20s"],
                               cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    prefix = f"mdv{process.pid}"
    deadline = time.monotonic() + 30
    while len(_left(prefix)) < 4 and time.monotonic() < deadline:  # the temporary lab is there
        time.sleep(0.05)
    time.sleep(0.5)
    process.send_signal(signal.SIGTERM)
    _, err = process.communicate(timeout=60)
    assert process.returncode == ExitStatus.TERMINATED, err
    assert b"Traceback" not in err
    assert _left(prefix) == []
