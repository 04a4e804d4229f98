"""The lab option every lab-aware command shares: a named lab that is not up is an error, said
once, the same way; a temporary lab is only ever built for a bare ``verify --lab``."""

from __future__ import annotations

import os

import pytest

from mdiag.errors import ExitStatus
from mdiag.testing.plugin import unique_prefix


@pytest.fixture
def missing_prefix() -> str:
    if os.geteuid() != 0:
        pytest.skip("the lab commands check for root first")
    return unique_prefix()  # never built


@pytest.mark.parametrize("argv", [
    ["verify", "239.1.2.3", "--lab", "--lab-prefix", "{p}"],
    ["verify", "239.1.2.3", "--lab-prefix", "{p}"],
    ["delay", "--lab", "--lab-prefix", "{p}"],
    ["zap", "239.1.1.1", "239.1.1.2", "--lab-prefix", "{p}"],
    ["replay", "x.pcap", "--lab-host", "h1", "--lab-prefix", "{p}"],
])
def test_a_named_lab_that_is_not_up_is_reported(cli, missing_prefix, argv):
    from mdiag.adapters.netns import list_names

    r = cli(*[a.format(p=missing_prefix) for a in argv])
    assert r.status == ExitStatus.BAD_INPUT, r.stdout + r.stderr
    assert f"no lab '{missing_prefix}' is up" in r.stderr and r.stderr.count("\n") == 1
    assert not any(n.startswith(missing_prefix) or n.startswith(f"mdv{os.getpid()}") for n in list_names())
