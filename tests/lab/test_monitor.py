"""``mdiag monitor`` on the lab bridge while hosts join, leave and stream, scraped directly and
by a real Prometheus server (Debian's ``prometheus``) whose HTTP API the test then queries."""

from __future__ import annotations

import json
import re
import signal
import socket
import subprocess
import sys
import time
import urllib.parse
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from mdiag.testing.requirements import need_prometheus, need_root, need_tool

pytestmark = pytest.mark.lab

ROOT = Path(__file__).resolve().parents[2]
G1 = "239.60.0.1"      # joined by h1 and h2 for the whole test
G2 = "239.60.0.2"      # joined by h3, which leaves after 3 s
G6 = "ff05::60:1"      # joined by h2 over MLD (the dual-stack lab's bridge runs an MLDv2 querier)
STREAM = "239.60.0.3"  # joined by the monitor itself (--group), streamed to by h3 through a lossy qdisc
QUERIER = "198.18.0.1"
SAMPLE = re.compile(r"^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{[^}]*\})? (\S+)$")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _get(url: str, timeout: float = 5.0) -> bytes:
    with urllib.request.urlopen(url, timeout=timeout) as response:
        return bytes(response.read())


def _scrape(port: int) -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
    values = {}
    for line in _get(f"http://127.0.0.1:{port}/metrics").decode().splitlines():
        match = SAMPLE.match(line)
        if match and not line.startswith("#"):
            labels = frozenset(re.findall(r'(\w+)="([^"]*)"', match.group(2) or ""))
            values[(match.group(1), labels)] = float(match.group(3))
    return values


def _value(values: dict, name: str, **labels: str) -> float | None:
    want = set(labels.items())
    found = [v for (n, ls), v in values.items() if n == name and want <= ls]
    return found[0] if len(found) == 1 else None


def _until(what: str, check: Callable[[], Any], timeout: float = 15.0) -> Any:
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        try:
            last = check()
        except OSError as exc:
            last = exc
        if last and not isinstance(last, Exception):
            return last
        time.sleep(0.25)
    raise AssertionError(f"timed out waiting for {what} (last: {last!r})")


def _prometheus(binary: str, target_port: int, tmp: Path) -> tuple[subprocess.Popen[bytes], int]:
    port = _free_port()
    config = tmp / "prometheus.yml"
    config.write_text(
        "global: {scrape_interval: 1s, evaluation_interval: 1s}\n"
        f"rule_files: ['{ROOT / 'docs' / 'monitor' / 'alerts.yml'}']\n"
        "scrape_configs:\n"
        "  - job_name: mdiag\n"
        f"    static_configs: [{{targets: ['127.0.0.1:{target_port}']}}]\n")
    proc = subprocess.Popen([binary, f"--config.file={config}", f"--storage.tsdb.path={tmp / 'tsdb'}",
                             f"--web.listen-address=127.0.0.1:{port}", "--log.level=warn"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    return proc, port


def _query(port: int, expr: str) -> list[dict[str, Any]]:
    url = f"http://127.0.0.1:{port}/api/v1/query?" + urllib.parse.urlencode({"query": expr})
    doc = json.loads(_get(url))
    assert doc["status"] == "success", doc
    return list(doc["data"]["result"])


def _stop(proc: subprocess.Popen[Any], sig: int = signal.SIGTERM, timeout: float = 15.0) -> tuple[str, str]:
    if proc.poll() is None:
        proc.send_signal(sig)
    try:
        out, err = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        out, err = proc.communicate()
    return (out or b"").decode() if isinstance(out, bytes) else (out or ""), \
        (err or b"").decode() if isinstance(err, bytes) else (err or "")


def _lossy(lab: Any, host: str) -> str:
    """Drop packets leaving ``host``'s lab0: netem when the kernel has it, else a token
    bucket too small for the stream (both real qdiscs dropping real packets)."""
    for qdisc in (["netem", "loss", "20%"], ["tbf", "rate", "4mbit", "burst", "4kb", "latency", "2ms"]):
        result = lab.run(host, ["tc", "qdisc", "replace", "dev", "lab0", "root", *qdisc], check=False)
        if result.returncode == 0:
            return qdisc[0]
    raise AssertionError(f"no qdisc could drop packets: {result.stderr}")


def _send_group_zero_query(count: int) -> int:
    """Runs in a forked child inside a lab host: an IGMPv3 query sent to a group but naming
    group 0.0.0.0 (RFC 3376 4.1.12; the query-group-zero error finding). Well-formed, so the
    bridge forwards it (a checksum or length error the bridge drops before br0 sees it)."""
    from ipaddress import IPv4Address

    from mdiag.adapters.rawsock import RawSocket
    from mdiag.core.igmp import V3Query, build_frame
    from mdiag.core.igmp.ipv4 import IPv4Header

    header = IPv4Header(src=IPv4Address("198.18.0.11"), dst=IPv4Address("239.60.0.9"), ttl=1,
                        router_alert=True)
    frame = build_frame(V3Query(max_resp_code=10), header)
    with RawSocket("lab0", None) as sock:
        for _ in range(count):
            sock.send(frame)
    return count


def _qdisc_dropped(lab: Any, host: str) -> int:
    out = lab.run(host, ["tc", "-s", "qdisc", "show", "dev", "lab0"]).stdout
    return int(re.search(r"dropped (\d+)", out).group(1))


def test_monitor_counts_what_the_lab_scripted_and_prometheus_scrapes_it(mdiag_lab_factory, tmp_path) -> None:
    need_root()
    prometheus, promtool = need_prometheus()
    need_tool("tc", "iproute2")
    from mdiag.adapters.lab import BridgeConfig

    # The bridge's own IP stack (where the monitor's --group join lives) is not refreshed by the
    # bridge's queries, so the bridge ages that join out after its membership interval: keep it
    # long. Hosts' leaves still end at once (last-member queries 0.1 s x 2).
    lab = mdiag_lab_factory(hosts=3, bridge=BridgeConfig.fast(membership_interval=300.0), ipv6=True)
    port = _free_port()
    jsonl = tmp_path / "events.jsonl"
    monitor = subprocess.Popen(
        lab.mdiag_argv("monitor", "--netns", lab.bridge_netns, "--iface", "br0", "--metrics",
                       f"127.0.0.1:{port}", "--jsonl", str(jsonl), "--group", STREAM, "--port", "7060",
                       "--duration", "90", "--quiet", "--json"),
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    # A second monitor on h1's bridge port keeps an incident ring: the bridge drops what is
    # malformed before br0 sees it, a port sees what the host sent.
    ring_events = tmp_path / "ring.jsonl"
    port_monitor = subprocess.Popen(
        lab.mdiag_argv("monitor", "--netns", lab.bridge_netns, "--iface", "p1", "--ring", str(tmp_path / "ring"),
                       "--ring-size", "1", "--ring-after", "1s", "--jsonl", str(ring_events), "--duration", "90",
                       "--quiet"), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    server, prom_port = _prometheus(prometheus, port, tmp_path)
    listeners = []
    try:
        values = _until("the querier on the metrics endpoint",
                        lambda: (v := _scrape(port)) and _value(v, "mdiag_querier_present", family="ipv4") == 1 and v)
        assert _value(values, "mdiag_querier_info", address=QUERIER, version="3", family="ipv4") == 1

        def listen(host: str, group: str, seconds: str) -> None:
            listeners.append(lab.popen(host, lab.mdiag_argv("listen", group, "--iface", "lab0", "--port", "7061",
                                                            "--duration", seconds, "--quiet"),
                                       stdout=subprocess.DEVNULL, stderr=subprocess.PIPE))

        listen("h1", G1, "40")
        listen("h2", G1, "40")
        listen("h3", G2, "3")
        listen("h2", G6, "40")
        values = _until("two members of G1, one of G2 and one of G6", lambda: (v := _scrape(port))
                        and _value(v, "mdiag_group_members", group=G1) == 2
                        and _value(v, "mdiag_group_members", group=G2) == 1
                        and _value(v, "mdiag_group_members", group=G6) == 1 and v)
        assert _value(values, "mdiag_hosts", family="ipv4") >= 3
        # MLD through the same monitor: its own segment, MLD's version numbers
        assert _value(values, "mdiag_querier_present", family="ipv6") == 1
        assert _value(values, "mdiag_querier_version", family="ipv6") == 2
        assert [ls for (n, ls), v in values.items() if n == "mdiag_querier_info" and ("family", "ipv6") in ls
                and dict(ls)["address"].startswith("fe80::") and dict(ls)["version"] == "2"]
        assert _value(values, "mdiag_reports_total", family="ipv6", version="2") >= 1
        # h3 leaves G2 after 3 s: the bridge's last-member queries (0.1 s x 2) end it
        values = _until("G2's leave and expiry", lambda: (v := _scrape(port))
                        and _value(v, "mdiag_group_expiries_total", group=G2) == 1 and v)
        assert _value(values, "mdiag_group_members", group=G2) == 0
        assert _value(values, "mdiag_group_leaves_total", group=G2) >= 1
        assert _value(values, "mdiag_group_members", group=G1) == 2
        assert _value(values, "mdiag_group_expiries_total", group=G1) == 0

        # a test stream from h3 through a qdisc that drops: the monitor's loss is the qdisc's drops
        kind = _lossy(lab, "h3")
        sent = lab.run("h3", lab.mdiag_argv("send", STREAM, "--iface", "lab0", "--port", "7060", "--count",
                                            "1000", "--size", "1200", "--rate", "1000pps", "--json"), timeout=30)
        assert sent.returncode == 0, sent.stderr
        dropped = _qdisc_dropped(lab, "h3")
        assert dropped > 0, f"{kind} dropped nothing"
        stream = {"group": STREAM, "source": "198.18.0.13"}
        values = _until("the stream's counters to settle", lambda: (v := _scrape(port))
                        and (_value(v, "mdiag_stream_received_packets_total", **stream) or 0)
                        + (_value(v, "mdiag_stream_lost_packets_total", **stream) or 0)
                        == _value(v, "mdiag_stream_expected_packets_total", **stream) and v)
        time.sleep(1.5)
        values = _scrape(port)
        received = _value(values, "mdiag_stream_received_packets_total", **stream)
        lost = _value(values, "mdiag_stream_lost_packets_total", **stream)
        expected = _value(values, "mdiag_stream_expected_packets_total", **stream)
        assert received + lost == expected <= 1000 and lost > 0
        # every drop inside the stream is counted; drops after the last packet that arrived
        # (and END markers) cannot be told from a stream that ended, and the qdisc may also have
        # dropped a few of h3's own IGMP/MLD reports that met the stream's burst
        assert lost <= dropped <= lost + (1000 - expected) + 3 + 10, (lost, dropped, expected)
        assert _value(values, "mdiag_group_data_packets_total", group=STREAM) >= received

        # an error finding on h1's port writes an incident pcap: the frames before it and after it
        assert lab.call("h1", _send_group_zero_query, 1) == 1
        written = _until("the incident file", lambda: [e for e in map(json.loads, ring_events.read_text().splitlines())
                                                     if e["event"] == "incident"])
        assert written[0]["codes"] == ["query-group-zero"] and written[0]["frames_before"] > 0
        (incident,) = sorted((tmp_path / "ring").iterdir())
        assert incident.name.startswith("incident-") and incident.name.endswith("-query-group-zero.pcap")
        assert str(incident) == written[0]["path"]
        replayed = subprocess.run(lab.mdiag_argv("analyze", str(incident), "--json"), capture_output=True,
                                  text=True, timeout=60)
        (report,) = json.loads(replayed.stdout)["analyses"]
        assert "query-group-zero" in {f["code"] for f in report["findings"]}
        assert report["counters"]["frames"] == written[0]["frames_before"] + written[0]["frames_after"]

        # the exposition passes Prometheus's own linter
        body = _get(f"http://127.0.0.1:{port}/metrics")
        lint = subprocess.run([promtool, "check", "metrics"], input=body, capture_output=True, timeout=60)
        assert lint.returncode == 0, (lint.stdout + lint.stderr).decode()

        # the Prometheus server scraped the same values
        _until("Prometheus to be ready", lambda: _get(f"http://127.0.0.1:{prom_port}/-/ready"), timeout=20)
        (up,) = _until("a scrape", lambda: _query(prom_port, 'up{job="mdiag"} == 1'), timeout=20)
        members = _until("G1's members in Prometheus",
                         lambda: _query(prom_port, f'mdiag_group_members{{group="{G1}"}} == 2'))
        assert members[0]["metric"]["interface"] == "br0" and members[0]["metric"]["family"] == "ipv4"
        (info,) = _query(prom_port, 'mdiag_querier_info{family="ipv4"}')
        assert info["metric"]["address"] == QUERIER and info["metric"]["version"] == "3"
        expiries = _query(prom_port, f'max_over_time(mdiag_group_expiries_total{{group="{G2}"}}[5m])')
        assert float(expiries[0]["value"][1]) == 1
        lost_in_prom = _until("the stream loss in Prometheus", lambda: _query(
            prom_port, f'mdiag_stream_lost_packets_total{{group="{STREAM}"}} == {lost:g}'))
        assert lost_in_prom[0]["metric"]["source"] == "198.18.0.13"
        rules = json.loads(_get(f"http://127.0.0.1:{prom_port}/api/v1/rules"))["data"]["groups"]
        assert len(rules[0]["rules"]) == 6 and all(r["health"] != "err" for r in rules[0]["rules"])
        # every query of the shipped Grafana dashboard is valid PromQL on real series
        dashboard = json.loads((ROOT / "docs" / "monitor" / "dashboard.json").read_text())
        exprs = [t["expr"] for p in dashboard["panels"] for t in p.get("targets", [])]
        for expr in exprs:
            expr = expr.replace("$__rate_interval", "1m").replace('"$instance"', '".*"') \
                .replace('"$interface"', '".*"').replace('"$group"', '".*"')
            _query(prom_port, expr)
    finally:
        for proc in listeners:
            _stop(proc, signal.SIGINT)
        out, err = _stop(monitor)
        _stop(port_monitor)
        _stop(server)
    assert monitor.returncode == 143, err      # SIGTERM, as docs/exit-status.md says
    summary = json.loads(out)
    assert summary["stopped_by"] == "SIGTERM" and summary["command"] == "monitor"
    segments = {s["segment"]: s for s in summary["segments"]}
    assert segments["untagged ipv4"]["querier"] == QUERIER and segments["untagged ipv4"]["expiries"] >= 1
    assert segments["untagged ipv6"]["querier"].startswith("fe80::")
    events = [json.loads(line) for line in jsonl.read_text().splitlines()]
    kinds = {e["event"] for e in events}
    assert {"start", "querier", "member-joined", "leave", "expiry", "stream-started", "stream-loss",
            "summary"} <= kinds
    assert [e for e in events if e["event"] == "member-joined" and e["group"] == G1 and e["host"] == "198.18.0.12"]
    assert events[-1]["event"] == "summary" and all(e["schema"] == 1 for e in events)


def test_ctrl_c_stops_with_a_summary_and_a_restart_starts_clean(tmp_path) -> None:
    """Passive capture on loopback (nothing is sent): SIGINT ends with the summary and 130;
    the next run starts from zero and never touches the first run's files."""
    need_root()
    jsonl = tmp_path / "events.jsonl"
    for run in (1, 2):
        proc = subprocess.Popen([sys.executable, "-m", "mdiag", "monitor",
                                 "--iface", "lo", "--jsonl", str(jsonl), "--duration", "60", "--quiet", "--json"],
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        _until("the start event", lambda: jsonl.exists() and jsonl.read_text().count('"event":"start"') == run)
        out, err = _stop(proc, signal.SIGINT)
        assert proc.returncode == 130, err
        summary = json.loads(out)
        assert summary["stopped_by"] == "SIGINT" and summary["iface"] == "lo"
        # a restart starts clean: the run's own counters only (others' tests may use lo too)
        assert summary["duration_s"] < 30 and summary["incidents"] == 0 and summary["dropped"] == {}
    events = [json.loads(line) for line in jsonl.read_text().splitlines()]
    assert [e["event"] for e in events if e["event"] in ("start", "summary")] == ["start", "summary"] * 2


def test_vlan_tags_the_kernel_strips_come_back_as_segments() -> None:
    """Tagged IGMP on a veth: the kernel moves 802.1Q tags out of the frame; the monitor's ring
    puts them back, so each VLAN is its own segment (querier and members per VLAN)."""
    need_root()
    import os

    from mdiag.adapters import netns
    from mdiag.adapters.rawsock import GROUP_TRAFFIC, RawSocket
    from mdiag.core.igmp import GroupRecord, V3Query, V3Report, build_frame
    from mdiag.core.igmp.ipv4 import IPv4Header
    from mdiag.core.igmp.messages import RecordType
    from mdiag.monitor.runner import Monitor, MonitorOptions

    name = f"mdmv{os.getpid()}"
    subprocess.run(["ip", "netns", "add", name], check=True, timeout=30)
    try:
        subprocess.run(["ip", "-n", name, "link", "add", "va", "type", "veth", "peer", "name", "vb"],
                       check=True, timeout=30)
        for dev in ("va", "vb"):
            subprocess.run(["ip", "-n", name, "link", "set", dev, "up"], check=True, timeout=30)
        with netns.entered(name):
            capture = RawSocket("vb", GROUP_TRAFFIC, ring_mb=2)
            sender = RawSocket("va", None)
        with capture, sender:
            assert capture.ring
            for vlan, router, host in ((10, "198.18.10.1", "198.18.10.11"), (20, "198.18.20.1", "198.18.20.11")):
                query = IPv4Header(src=router, dst="224.0.0.1", ttl=1, router_alert=True)
                sender.send(build_frame(V3Query(max_resp_code=10, qqic=2), query, vlan=vlan))
                report = IPv4Header(src=host, dst="224.0.0.22", ttl=1, router_alert=True)
                sender.send(build_frame(V3Report([GroupRecord(RecordType.CHANGE_TO_EXCLUDE_MODE,
                                                              f"239.0.{vlan}.1")]), report, vlan=vlan))
            frames: list = []
            deadline = time.monotonic() + 5
            while len(frames) < 4 and time.monotonic() < deadline:
                # the veths' own MLD reports (untagged IPv6) may come too
                frames.extend((t, f) for t, f in capture.read_batch(0.5) if f[12:14] != b"\x86\xdd")
        assert len(frames) == 4 and all(f[12:14] == b"\x81\x00" for _, f in frames)
        monitor = Monitor(MonitorOptions(iface="vb"), start_ns=frames[0][0])
        monitor.feed(frames)
        monitor.tick(frames[-1][0] + 1)
        values = {(f.spec.name, labels): v for f in monitor.families() for labels, v in f.samples}
        for vlan in (10, 20):
            seg = ("vb", str(vlan), "ipv4")
            assert values[("mdiag_querier_info", seg + (f"198.18.{vlan}.1", "3"))] == 1
            assert values[("mdiag_group_members", seg + (f"239.0.{vlan}.1",))] == 1
    finally:
        subprocess.run(["ip", "netns", "del", name], timeout=30)


def test_a_reader_gone_from_its_only_output_stops_the_monitor() -> None:
    """`mdiag monitor --jsonl - | head -1` on loopback (passive): stdout is the only output, so
    the monitor stops soon after head exits (as tcpdump does) instead of capturing for nobody."""
    need_root()
    started = time.monotonic()
    result = subprocess.run(["bash", "-o", "pipefail", "-c",
                             f"{sys.executable} -m mdiag monitor --iface lo --jsonl - --duration 60 | head -1"],
                            capture_output=True, text=True, timeout=90)
    assert result.returncode == 0 and not result.stderr, result.stderr
    assert json.loads(result.stdout)["event"] == "start"
    assert time.monotonic() - started < 30


def test_a_link_flap_neither_spins_nor_stops_and_a_deleted_interface_ends_with_one_line() -> None:
    """Weeks on a span port see links flap: the kernel's ENETDOWN on the capture socket is
    read and cleared (it used to make every poll return at once: a CPU spinning for good), the
    monitor goes on; an interface that is deleted ends it with one line and status 2."""
    need_root()
    import os

    name = f"mdmf{os.getpid()}"
    subprocess.run(["ip", "netns", "add", name], check=True, timeout=30)

    def ip(*argv: str) -> None:
        subprocess.run(["ip", "-n", name, *argv], check=True, timeout=30)

    try:
        ip("link", "add", "va", "type", "veth", "peer", "name", "vb")
        for dev in ("va", "vb"):
            ip("link", "set", dev, "up")
        proc = subprocess.Popen([sys.executable, "-m", "mdiag", "monitor", "--netns", name, "--iface", "vb",
                                 "--duration", "60", "--quiet", "--json"],
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        try:
            time.sleep(2.0)
            ip("link", "set", "vb", "down")
            time.sleep(0.5)
            ip("link", "set", "vb", "up")
            time.sleep(0.5)
            before = _cpu_ticks(proc.pid)
            time.sleep(3.0)
            assert _cpu_ticks(proc.pid) - before < 100, "the capture loop spins after a link flap"
            assert proc.poll() is None
            ip("link", "del", "vb")
            out, err = proc.communicate(timeout=30)
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.communicate(timeout=30)
        assert proc.returncode == 2, err
        assert err.strip().splitlines() == ["mdiag: error: interface 'vb' disappeared while capturing (deleted or "
                                            "renamed); start again once it is back"]
    finally:
        subprocess.run(["ip", "netns", "del", name], timeout=30)


def _cpu_ticks(pid: int) -> int:
    """User + system clock ticks of a process so far (/proc/PID/stat fields 14 and 15)."""
    with open(f"/proc/{pid}/stat", encoding="ascii") as stat:
        fields = stat.read().rsplit(")", 1)[1].split()
    return int(fields[11]) + int(fields[12])
