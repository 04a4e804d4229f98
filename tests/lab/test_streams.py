"""mdiag send -> mdiag listen between lab hosts, as separate processes (the way users run them)."""

from __future__ import annotations

import json
import socket
import subprocess
import time

import pytest

pytestmark = pytest.mark.lab


def _listen(lab, host, *args):
    return lab.popen(host, lab.mdiag_argv("listen", *args), stdout=subprocess.PIPE,
                     stderr=subprocess.PIPE, text=True)


def _finish(proc, timeout=20):
    try:
        out, err = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        out, err = proc.communicate()
    return proc.returncode, out, err


def _wait_joined(lab, host, group, timeout=5.0):
    """Bounded wait until the bridge has the host as a member (the listener has joined)."""
    lab.wait_member(group, host, timeout)


def test_stream_statistics_and_exit_status(mdiag_lab):
    group = "239.50.0.1"
    ok = _listen(mdiag_lab, "h2", group, "--iface", "lab0", "--port", "7001", "--duration", "6",
                 "--until-end", "--json", "--max-loss", "0.5")
    strict = _listen(mdiag_lab, "h3", group, "--iface", "lab0", "--port", "7001", "--duration", "6",
                     "--until-end", "--json", "--min-packets", "5000")
    _wait_joined(mdiag_lab, "h2", group)
    _wait_joined(mdiag_lab, "h3", group)
    sent = mdiag_lab.run("h1", mdiag_lab.mdiag_argv("send", group, "--iface", "lab0", "--port", "7001",
                                                     "--count", "2000", "--rate", "4000pps", "--json"),
                         timeout=20)
    assert sent.returncode == 0, sent.stderr
    summary = json.loads(sent.stdout)
    assert summary["sent"] == 2000 and summary["schema"] == 1 and summary["command"] == "send"
    assert 0.45 < summary["elapsed_s"] < 3.0  # 2000 at 4000 pps: paced, not blasted
    status, out, err = _finish(ok)
    assert status == 0, err
    doc = json.loads(out)
    (stream,) = doc["streams"]
    assert stream["received"] + stream["lost"] == 2000 and stream["lost"] <= 10  # --max-loss 0.5
    assert (stream["duplicated"], stream["reordered"], stream["ended"]) == (0, 0, True)
    assert stream["stream_id"] == summary["stream_id"]
    assert stream["latency_ms"] is not None  # same kernel: same clock
    assert stream["join_to_first_ms"] > 0 and doc["ok"] is True
    status, out, err = _finish(strict)
    assert status == 1, "fewer than --min-packets must exit 1"
    assert "fewer than --min-packets 5000" in json.loads(out)["problems"][0]


def test_stdin_lines_arrive_intact(mdiag_lab):
    group = "239.50.0.2"
    listener = _listen(mdiag_lab, "h2", group, "--iface", "lab0", "--port", "7002", "--duration", "6",
                       "--count", "3", "--json")
    _wait_joined(mdiag_lab, "h2", group)
    lines = ["hello multicast", "  spaces kept  ", "ünïcode ✓"]
    sent = mdiag_lab.run("h1", mdiag_lab.mdiag_argv("send", group, "--iface", "lab0", "--port", "7002",
                                                     "--stdin"), input="\n".join(lines) + "\n")
    assert sent.returncode == 0, sent.stderr
    assert "sent 3 lines" in sent.stdout
    status, out, err = _finish(listener)
    assert status == 0, err
    assert [p["text"] for p in json.loads(out)["plain"]] == lines


def test_bad_inputs_give_one_line_each(mdiag_lab, cli):
    with mdiag_lab.inside("h2"):
        busy = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        busy.bind(("0.0.0.0", 7003))  # no SO_REUSEADDR: nobody may share the port
        try:
            in_use = cli("listen", "239.50.0.3", "--iface", "lab0", "--port", "7003", "--duration", "0.2")
        finally:
            busy.close()
        unknown = cli("listen", "239.50.0.3", "--iface", "nope0", "--duration", "0.2")
        mixed = cli("listen", "10.1.2.3,239.50.0.4,239.1.1", "--iface", "lab0", "--port", "7004",
                    "--duration", "0.2", "--json")
        unicast = cli("send", "198.18.0.13", "--iface", "lab0", "--count", "1")
        unicast_ok = cli("send", "198.18.0.13", "--iface", "lab0", "--count", "3", "--unicast", "--json")
        doctor = cli("doctor", "--iface", "nope0")
    assert in_use.status == 2 and "7003" in in_use.stderr and "in use" in in_use.stderr
    assert unknown.status == 2 and "interfaces here: lo, lab0" in unknown.stderr.replace("interfaces: ", "interfaces here: ")
    assert mixed.status == 2
    assert mixed.stderr.count("\n") == 2  # two bad groups, one line each
    assert "10.1.2.3 is not a multicast group" in mixed.stderr and "239.1.1" in mixed.stderr
    assert [g["group"] for g in mixed.json()["groups"]] == ["239.50.0.4"]  # the good one still ran
    assert unicast.status == 2 and "--unicast" in unicast.stderr
    assert unicast_ok.status == 0 and unicast_ok.json()["sent"] == 3
    assert doctor.status == 2 and "lab0" in doctor.stderr
    for r in (in_use, unknown, mixed, unicast, doctor):
        assert "Traceback" not in r.stderr


def test_unicast_and_broadcast_baselines_from_the_same_tools(mdiag_lab):
    listener = _listen(mdiag_lab, "h2", "198.18.0.12,198.18.0.255,239.50.0.9", "--broadcast",
                       "--iface", "lab0", "--port", "7009", "--duration", "4", "--json")
    _wait_joined(mdiag_lab, "h2", "239.50.0.9")
    for destination, flag in (("198.18.0.12", "--unicast"), ("198.18.0.255", "--broadcast"),
                              ("239.50.0.9", None)):
        argv = ["send", destination, "--iface", "lab0", "--port", "7009", "--count", "300",
                "--rate", "2000pps"] + ([flag] if flag else [])
        sent = mdiag_lab.run("h1", mdiag_lab.mdiag_argv(*argv))
        assert sent.returncode == 0, sent.stderr
    status, out, err = _finish(listener)
    assert status == 0, err
    by_group = {s["group"]: s for s in json.loads(out)["streams"]}
    assert set(by_group) == {"198.18.0.12", "198.18.0.255", "239.50.0.9"}
    assert all(s["received"] >= 290 and s["ended"] for s in by_group.values())


class _Tty:
    """A text stream that says it is a terminal (for the live line)."""

    def __init__(self):
        import io

        self.buffer = io.StringIO()

    def write(self, text):
        return self.buffer.write(text)

    def flush(self):
        pass

    def isatty(self):
        return True


def test_live_line_on_a_terminal(mdiag_lab):
    import io
    import threading

    from mdiag.cli.environment import Environment
    from mdiag.cli.main import main

    err, out = _Tty(), io.StringIO()
    argv = ["listen", "239.50.0.10", "--iface", "lab0", "--port", "7010", "--duration", "5", "--until-end"]
    with mdiag_lab.inside("h2"):  # a thread started here lives in h2's namespace too
        thread = threading.Thread(target=main, args=(argv, Environment(stdout=out, stderr=err)))
        thread.start()
    _wait_joined(mdiag_lab, "h2", "239.50.0.10")
    mdiag_lab.run("h1", mdiag_lab.mdiag_argv("send", "239.50.0.10", "--iface", "lab0", "--port", "7010",
                                             "--count", "1500", "--rate", "1000pps"))
    thread.join(10)
    live = err.buffer.getvalue()
    assert "\r" in live and "groups receiving 1/1" in live and "\033[K" in live
    assert "1,500" in out.getvalue()


def test_silence_fails_and_loss_can_count_from_zero(mdiag_lab, cli):
    """Nothing received is exit 1 by default; --from-zero counts the stream's missed head as lost."""
    with mdiag_lab.inside("h2"):
        silent = cli("listen", "239.50.0.20", "--iface", "lab0", "--port", "7020", "--duration", "0.3")
        accepted = cli("listen", "239.50.0.20", "--iface", "lab0", "--port", "7020", "--duration", "0.3",
                       "--min-packets", "0")
    assert silent.status == 1 and "nothing received on lab0 port 7020" in silent.stdout
    assert accepted.status == 0, accepted.stdout
    group = "239.50.0.21"
    late = _listen(mdiag_lab, "h2", group, "--iface", "lab0", "--port", "7021", "--duration", "6",
                   "--until-end", "--json", "--from-zero")
    _wait_joined(mdiag_lab, "h2", group)
    # A stream whose first 100 datagrams went to another port: the listener sees it start at 100.
    code = ("from mdiag.adapters.sockets import Sender\n"
            "from mdiag.core import stream as st\n"
            "import time\n"
            f"s = Sender('{group}', 7021, 'lab0', loop=False)\n"
            "buf = st.template(64, 77)\n"
            "for seq in range(100, 300):\n"
            "    st.SEQ_TIME.pack_into(buf, st.SEQ_TIME_OFFSET, seq, time.time_ns()); s.sock.send(buf)\n"
            "    time.sleep(0.001)\n"
            "s.send_end(77, 300)\n")
    sent = mdiag_lab.run("h1", [mdiag_lab.mdiag_argv()[0], "-c", code], timeout=20)
    assert sent.returncode == 0, sent.stderr
    status, out, err = _finish(late)
    (stream,) = json.loads(out)["streams"]
    assert stream["first_sequence"] == 100 and stream["lost"] >= 100 and stream["expected"] >= 300, stream


def test_netns_on_send_listen_ifaces_doctor_groups(mdiag_lab, cli):
    """Every command that touches an interface takes --netns: no 'ip netns exec' needed."""
    h1, h2 = mdiag_lab.host("h1"), mdiag_lab.host("h2")
    group = "239.50.0.30"
    listener = subprocess.Popen(mdiag_lab.mdiag_argv("listen", group, "--iface", "lab0", "--netns", h2.netns,
                                                     "--port", "7030", "--duration", "6", "--until-end", "--json"),
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    _wait_joined(mdiag_lab, "h2", group)
    groups = cli("groups", "--iface", "lab0", "--netns", h2.netns, "--json")
    assert groups.status == 0 and group in groups.stdout
    sent = cli("send", group, "--iface", "lab0", "--netns", h1.netns, "--port", "7030", "--count", "200",
               "--rate", "2000pps", "--json")
    assert sent.status == 0, sent.stderr
    status, out, err = _finish(listener)
    assert status == 0, err
    (stream,) = json.loads(out)["streams"]
    assert stream["received"] == 200 and stream["sender"].startswith(h1.address)
    ifaces = cli("ifaces", "lab0", "--netns", h1.netns, "--json")
    assert ifaces.status == 0 and h1.address in ifaces.stdout
    doctor = cli("doctor", "--iface", "lab0", "--netns", h1.netns, "--group", group)
    assert doctor.status == 0, doctor.stdout + doctor.stderr
