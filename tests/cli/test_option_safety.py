"""Issue 9, safety: an empty or malformed name, prefix, source, rate or duration is refused.

Every option that names an interface, a namespace, a lab, a lab host, a source, a rate or a
duration goes through :mod:`mdiag.cli.options`: exit 2, one line on stderr, no traceback, and
never a quiet fall back to a default (``send --iface ''`` once left by the routing table's
choice: the real NIC in a root namespace).
"""

from __future__ import annotations

import subprocess
import sys

import pytest

from mdiag.errors import ExitStatus

LONG = "n" * 300

#: (argv, a piece of the one error line)
REFUSED = [
    # interfaces
    (["send", "239.1.1.1", "--iface", ""], "argument --iface: interface name is empty"),
    (["send", "239.1.1.1", "--iface", "../../x"], "is not an interface name"),
    (["send", "239.1.1.1", "--iface", "a" * 16], "longer than 15 bytes"),
    (["listen", "239.1.1.1", "--iface", ""], "interface name is empty"),
    (["listen", "239.1.1.1", "--iface", "eth0:1"], "is not an interface name"),
    (["querier", "--iface", ""], "interface name is empty"),
    (["discover", "--iface", " "], "is not an interface name"),
    (["replay", "x.pcap", "--iface", ""], "interface name is empty"),
    (["replay", "x.pcap", "--iface", "lo", "--bridge", ""], "interface name is empty"),
    (["doctor", "--iface", ""], "interface name is empty"),
    (["groups", "--iface", ""], "interface name is empty"),
    (["ifaces", ""], "interface name is empty"),
    (["delay", "--sender-iface", "", "--receiver-iface", "b"], "interface name is empty"),
    (["delay", "--sender-iface", "a", "--receiver-iface", ".."], "is not an interface name"),
    # namespaces: a name, never a path
    (["querier", "--iface", "lo", "--netns", ""], "network namespace is empty"),
    (["discover", "--iface", "lo", "--netns", ""], "network namespace is empty"),
    (["querier", "--iface", "lo", "--netns", LONG], "more than the 254"),
    (["discover", "--iface", "lo", "--netns", "../../proc/1/ns/net"], "not a path"),
    (["querier", "--iface", "lo", "--netns", ".."], "not a path"),
    (["replay", "x.pcap", "--iface", "lo", "--netns", "/run/netns/x"], "not a path"),
    (["replay", "x.pcap", "--iface", "lo", "--bridge", "br0", "--bridge-netns", ""], "namespace is empty"),
    (["delay", "--sender-iface", "a", "--sender-netns", "", "--receiver-iface", "b"], "namespace is empty"),
    (["delay", "--sender-iface", "a", "--receiver-iface", "b", "--receiver-netns", "../x"], "not a path"),
    (["verify", "239.1.1.1", "--sender-iface", "../..:IF", "--receiver-iface", "b"], "not a path"),
    (["verify", "239.1.1.1", "--sender-iface", "a", "--receiver-iface", ":IF"], "namespace of ':IF' is empty"),
    (["verify", "239.1.1.1", "--sender-iface", "a", "--receiver-iface", "ns:"], "interface of 'ns:' is empty"),
    (["verify", "239.1.1.1", "--sender-iface", "a", "--receiver-iface", "b",
      "--non-member-iface", f"{LONG}:x"], "more than the 254"),
    # lab prefixes and hosts
    (["lab", "up", "--prefix", ""], "lab prefix is empty"),
    (["lab", "down", "--prefix", ""], "lab prefix is empty"),
    (["lab", "status", "--lab-prefix", "../x"], "must be 'md'"),
    (["verify", "239.1.1.1", "--lab", "--lab-prefix", "../x"], "must be 'md'"),
    (["verify", "239.1.1.1", "--lab", "--lab-prefix", ""], "lab prefix is empty"),
    (["delay", "--lab", "--lab-prefix", ""], "lab prefix is empty"),
    (["replay", "x.pcap", "--lab-host", "h1", "--lab-prefix", "mdlab\n"], "must be 'md'"),
    (["verify", "239.1.1.1", "--lab", "--sender", ""], "lab host is empty"),
    (["verify", "239.1.1.1", "--lab", "--receivers", ""], "not a list of lab hosts"),
    (["verify", "239.1.1.1", "--lab", "--receivers", "h2,,h3"], "not a list of lab hosts"),
    (["verify", "239.1.1.1", "--lab", "--anchor", ""], "lab host is empty"),
    (["delay", "--lab", "--receiver", "../h2"], "lab host '../h2' is not valid"),
    (["replay", "x.pcap", "--lab-host", ""], "lab host is empty"),
    # sources and groups: empty never means "any"
    (["listen", "232.1.1.1", "--iface", "lo", "--source", ""], "has an empty address"),
    (["listen", "232.1.1.1", "--iface", "lo", "--source", "198.18.0.1,"], "has an empty address"),
    (["doctor", "--iface", "lo", "--source", ""], "has an empty address"),
    (["doctor", "--iface", "lo", "--group", ""], "the address is empty"),
    (["discover", "--iface", "lo", "--group", ""], "the address is empty"),
    (["discover", "--iface", "lo", "--src", ""], "the address is empty"),
    (["querier", "--iface", "lo", "--challenge", "", "--force"], "the address is empty"),
    (["delay", "--lab", "--group", ""], "the address is empty"),
    # rates and durations
    (["send", "239.1.1.1", "--iface", "lo", "--rate", ""], "is not a rate"),
    (["send", "239.1.1.1", "--iface", "lo", "--duration", ""], "is not a duration"),
    (["send", "239.1.1.1", "--iface", "lo", "--duration", "0"], "must be positive"),
    (["listen", "239.1.1.1", "--iface", "lo", "--duration", ""], "is not a duration"),
    (["verify", "239.1.1.1", "--lab", "--rate", ""], "is not a rate"),
    (["verify", "239.1.1.1", "--lab", "--hold", ""], "is not a duration"),
    (["verify", "239.1.1.1", "--lab", "--max-join-delay", ""], "is not a duration"),
    (["querier", "--iface", "lo", "--wait", ""], "is not a duration"),
]


@pytest.mark.parametrize("argv, text", REFUSED, ids=[" ".join(a)[:60] for a, _ in REFUSED])
def test_refused_with_one_line_and_status_2(cli, argv, text):
    result = cli(*argv)
    assert result.status == ExitStatus.BAD_INPUT, result.stderr
    assert result.stderr.count("\n") == 1, result.stderr
    assert "Traceback" not in result.stderr
    assert text in result.stderr
    assert result.stdout == ""


@pytest.mark.parametrize("argv", [
    ["send", "239.1.1.1", "--iface", "", "--count", "1"],
    ["querier", "--iface", "lo", "--netns", "../../proc/1/ns/net"],
    ["verify", "239.1.1.1", "--sender-iface", "../..:IF", "--receiver-iface", "b"],
])
def test_refused_in_a_real_process(argv):
    """The same through the console entry point: nothing reaches a socket, no traceback."""
    proc = subprocess.run([sys.executable, "-m", "mdiag", *argv], capture_output=True, text=True,
                          timeout=60)
    assert proc.returncode == ExitStatus.BAD_INPUT, proc.stderr
    assert proc.stderr.count("\n") == 1 and "Traceback" not in proc.stderr


@pytest.mark.parametrize("argv, text", [
    (["zap", "239.1.1.1"], "at least two different channels"),
    (["zap", "239.1.1.1", "239.1.1.2"], "zap needs --lab, or both --sender-iface and --receiver-iface"),
    (["zap", "239.1.1.1", "239.1.1.2", "--lab", "--sender-iface", "a"], "either --lab or"),
    (["zap", "239.1.1.1", "239.1.1.2", "--lab-prefix", ""], "lab prefix is empty"),
    (["zap", "239.1.1.1", "10.0.0.1", "--lab"], "not a multicast group"),
    (["zap", "239.1.1.1", "239.1.1.2", "--lab", "--expect", "max-zap"], "is not KEY=VALUE"),
    (["zap", "239.1.1.1", "239.1.1.2", "--lab", "--expect", "color=red"], "not a zap expectation"),
    (["zap", "239.1.1.1", "239.1.1.2", "--lab", "--rate", "max"], "--rate max would flood"),
    (["zap", "224.0.0.5", "239.1.1.2", "--lab"], "outside 224.0.0.0/24"),
])
def test_zap_refusals(cli, argv, text):
    result = cli(*argv)
    assert result.status == ExitStatus.BAD_INPUT, result.stderr
    assert result.stderr.count("\n") == 1 and text in result.stderr, result.stderr


@pytest.mark.parametrize("argv, old, new", [
    (["verify", "10.1.1.1", "--sender-iface", "a", "--receiver-iface", "b", "--max-join-delay", "1s"],
     "--max-join-delay", "--max-join"),
    (["verify", "10.1.1.1", "--lab", "--receivers", "h2"], "--receivers", "--receiver"),
    (["lab", "up", "--hosts", "0", "--prefix", "mdnever"], "--prefix", "--lab-prefix"),
    (["querier", "--iface", "lo", "--expect", "version=9"], "--expect version=", "--expect igmp-version="),
    (["collisions", "--strict", "239.1.1.1"], "--strict", "--fail-on warning"),
    (["replay", "missing.pcap", "--iface", "lo", "--count", "3"], "--count", "--frames"),
    (["craft", "v2-report", "-g", "239.1.1.1", "--count", "3"], "--count", "--copies"),
    (["doctor", "--iface", "lo", "--groups", "-1", "--strict"], "--strict", "--fail-on warning"),
])
def test_old_spellings_still_work_with_one_notice(cli, argv, old, new):
    """The old spelling is accepted (the command goes on to its own error here) and says, in one
    line, what to write instead."""
    result = cli(*argv)
    notices = [line for line in result.stderr.splitlines() if "deprecated" in line]
    assert len(notices) == 1 and f"{old} is deprecated, use {new}" in notices[0], result.stderr
    assert "Traceback" not in result.stderr


@pytest.mark.parametrize("command", [["decode", "00"], ["analyze", "x.pcap"], ["collisions", "239.1.1.1"],
                                     ["doctor", "--iface", "lo"]])
def test_every_severity_gate_is_fail_on(cli, command):
    """One spelling for the severity gate on every command that gates on findings; a word
    outside the four levels is refused by argparse with one line."""
    assert "--fail-on LEVEL" in cli(command[0], "--help").stdout
    result = cli(*command, "--fail-on", "warn")
    assert result.status == ExitStatus.BAD_INPUT and result.stderr.count("\n") == 1, result.stderr
    assert "use one of info, warning, error, never, not 'warn'" in result.stderr
