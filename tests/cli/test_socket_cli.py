"""Bad inputs of ifaces/groups/doctor/send/listen/lab/verify: one line, documented status, no socket.

Everything here fails during validation, before any socket or namespace exists, so it is safe
in the root namespace and needs no root.
"""

from __future__ import annotations

import os

import pytest

from mdiag.errors import ExitStatus


@pytest.mark.parametrize("argv, text", [
    (["send", "239.1.1.1"], "--iface"),
    (["send", "239.1.1.1", "--iface", "lo", "--rate", "1000"], "add a unit"),
    (["send", "239.1.1.1", "--iface", "lo", "--rate", "100gbit", "--size", "32"], "limit"),
    (["send", "239.1.1.1", "--iface", "lo", "--size", "10"], "--size 10"),
    (["send", "239.1.1.1", "--iface", "lo", "--port", "70000"], "--port: 70000 is outside 1..65535"),
    (["send", "239.1.1.1", "--iface", "lo", "--ttl", "300"], "--ttl 300"),
    (["send", "239.1.1.1", "--iface", "lo", "--duration", "soon"], "not a duration"),
    (["send", "239.1.1.1", "--iface", "lo", "--stdin", "--count", "3"], "--count does not apply"),
    (["send", "239.1.1.1", "--iface", "lo", "--unicast", "--broadcast"], "not allowed with"),
    (["listen", "239.1.1.1"], "--iface"),
    (["listen", "nonsense", "--iface", "lo"], "nonsense"),
    (["listen", "239.1.1.9-239.1.1.1", "--iface", "lo"], "below the first"),
    (["listen", "239.0.0.0-239.255.255.255", "--iface", "lo"], "more than 65536"),
    (["listen", "239.1.1.1", "--iface", "lo", "--max-loss", "200"], "percentage"),
    (["listen", "239.1.1.1", "--iface", "lo", "--count", "0"], "at least 1"),
    (["listen", "239.1.1.1", "--iface", "lo", "--source", "239.9.9.9"], "not a unicast"),
    (["listen", "239.1.1.1", "--iface", "lo", "--source", "10.1.1"], "--source 10.1.1"),
    (["send", "239.1.1.1", "--iface", "lo", "--tos", "abc"], "'abc' is not a TOS byte"),
    (["send", "239.1.1.1", "--iface", "lo", "--tos", "0x100"], "0x100 is out of range 0..255"),
    (["send", "239.1.1.1,10.1.1.1", "--iface", "lo"], "--unicast or --broadcast send to one"),
    (["listen", "10.1.1.1", "--iface", "lo"], "--unicast or --broadcast listen"),
    (["doctor"], "--iface"),
    (["doctor", "--iface", "lo", "--port", "0"], "--port: 0 is outside 1..65535"),
    (["doctor", "--iface", "lo", "--group", "10.1.1.1"], "not a multicast group (IPv4 multicast is 224.0.0.0/4)\n"),
    (["doctor", "--iface", "lo", "--groups", "-1"], "--groups -1"),
    (["lab", "up", "--lab-prefix", "BAD"], "must be 'md'"),
    (["lab", "up", "--hosts", "0", "--lab-prefix", "mdnever"], "1..200 hosts"),
    (["lab", "up", "--lab-prefix", "BAD"], "must be 'md'"),  # the spelling verify/delay/replay use
    (["lab", "frobnicate"], "invalid choice"),
    (["lab", "up", "--querier", "v4"], "invalid choice"),
    (["verify", "239.1.1.1"], "--lab"),
    (["verify", "239.1.1.1", "--lab", "--sender-iface", "x"], "not both"),
    (["verify", "239.1.1.1,239.1.1.2", "--lab"], "one group"),
    (["verify", "239.1.1.1", "--lab", "--hold", "1h"], "at most 600"),
    (["verify", "10.1.1.1", "--lab"], "not a multicast group (IPv4 multicast is 224.0.0.0/4)\n"),
])
def test_bad_input_is_one_line_and_status_2(cli, argv, text):
    result = cli(*argv)
    assert result.status == ExitStatus.BAD_INPUT, result.stderr
    assert result.stderr.count("\n") == 1, result.stderr
    assert text in result.stderr
    assert "Traceback" not in result.stderr


def test_send_names_every_bad_group_of_a_list(cli):
    result = cli("send", "239.1.1.1,10.1.1.1,239.1.1,239.1.1.2", "--iface", "lo")
    assert result.status == ExitStatus.BAD_INPUT
    assert result.stderr.count("\n") == 2 and "10.1.1.1" in result.stderr and "'239.1.1'" in result.stderr
    assert result.stdout == ""  # nothing was sent


def test_every_bad_source_gets_its_line(cli):
    for command in (["listen", "232.1.1.1"], ["doctor"]):
        result = cli(*command, "--iface", "lo", "--source", "10.0.0.1,nope,239.1.1.1", "--source", "10.1")
        assert result.status == ExitStatus.BAD_INPUT
        assert result.stderr.count("\n") == 3, result.stderr
        assert "--source nope" in result.stderr and "--source 239.1.1.1 is not a unicast" in result.stderr
        assert "--source 10.1" in result.stderr


def test_unknown_interfaces_are_answered_one_by_one(cli):
    result = cli("ifaces", "lo", "nope0", "nope1")
    assert result.status == ExitStatus.BAD_INPUT
    assert "lo" in result.stdout  # the good one is still shown
    assert result.stderr.count("\n") == 2 and "nope0" in result.stderr and "nope1" in result.stderr


def test_ifaces_json_schema(cli):
    result = cli("ifaces", "lo", "--json")
    doc = result.json()
    assert result.status == 0 and doc["schema"] == 1 and doc["command"] == "ifaces"
    (lo,) = doc["interfaces"]
    assert lo["name"] == "lo" and lo["index"] >= 1 and "127.0.0.1/8" in lo["ipv4"]


def test_lab_without_root_says_so_in_one_line(cli, monkeypatch):
    monkeypatch.setattr(os, "geteuid", lambda: 1000)
    for argv in (["lab", "up"], ["lab", "down"], ["lab", "status"], ["lab", "exec", "h1", "--", "true"],
                 ["verify", "239.1.1.1", "--lab"]):
        result = cli(*argv)
        assert result.status == ExitStatus.NO_PERMISSION, argv
        assert result.stderr.count("\n") == 1 and "root" in result.stderr


def test_listen_summary_says_when_a_stream_was_first_seen_after_sequence_0():
    import argparse
    import io
    from types import SimpleNamespace

    from mdiag.cli.commands.listen import _print_summary
    from mdiag.cli.environment import Environment
    from mdiag.probes.streams import ListenReport

    def report(first):
        return SimpleNamespace(group="239.1.1.1", sender="198.18.0.11:4000", received=900, lost=0,
                               loss_ratio=0.0, duplicated=0, reordered=0, jitter_ns=0, latency_min_ns=None,
                               join_to_first_ns=None, ended=True, first_sequence=first)

    outputs = []
    for first in (0, 100):
        env = Environment(stdout=io.StringIO(), stderr=io.StringIO())
        args = argparse.Namespace(iface="lab0", port=5001, quiet=False, from_zero=False)
        listened = ListenReport(["239.1.1.1"], {"239.1.1.1": 900}, [report(first)], 1.0, interrupted=False)
        _print_summary(env, ["239.1.1.1"], listened, args)
        outputs.append(env.stdout.getvalue())
    assert "after sequence 0" not in outputs[0]
    assert "1 stream(s) first seen after sequence 0 (e.g. 239.1.1.1 from 198.18.0.11:4000 at 100)" in outputs[1]
