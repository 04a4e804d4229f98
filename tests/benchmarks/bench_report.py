"""Benchmark: the HTML report on large captures, and plain SVG against Plotly.

1. Scale (issue 15: "10,000 groups or a million events render in a few seconds and the
   file stays a few MB"): two synthetic captures are written and analysed with and
   without ``history`` (the cost of --html on the analysis), then rendered:
   * 10,000 groups, one host each, a v2 report per group and every 125 s a general query;
   * one group with a million data packets (1,000 packets/s for 1,000 s) plus reports;
   * a million IGMPv2 reports from 1,000 hosts on 100 groups (a busy access segment).
   Printed: analysis seconds without/with history, render seconds, HTML size.

2. Rendering approach: the iptv-freeze story drawn by mdiag's SVG lanes and by Plotly
   (``plotly.graph_objects``, ``include_plotlyjs=True`` so it works offline) with the
   same content (query ticks, host bars, data sparkline, findings). Printed: import and
   render seconds, file size, Chromium load time, console errors and requests. Plotly
   is not a dependency: this part runs when it can be imported (e.g. with
   ``PYTHONPATH`` pointing at a venv that has it) and says so otherwise.

Run: .venv/bin/python tests/benchmarks/bench_report.py
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from mdiag.adapters.capture import open_capture  # noqa: E402
from mdiag.analysis.pipeline import AnalysisOptions, analyze  # noqa: E402
from tests.htmlreport.large import many_groups, many_packets, many_reports  # noqa: E402

ROOT = Path(__file__).resolve().parents[2]


def timed(fn):
    start = time.perf_counter()
    value = fn()
    return value, time.perf_counter() - start


def run_mdiag(path: Path, history: bool):
    with open_capture(str(path)) as capture:
        return analyze(capture, AnalysisOptions(history=history))


def scale() -> None:
    from mdiag.htmlreport.page import analysis_page

    with tempfile.TemporaryDirectory() as scratch:
        for name, make in (("10,000 groups", many_groups), ("1,000,000 data packets", many_packets),
                           ("1,000,000 IGMP reports", many_reports)):
            path = Path(scratch) / "big.pcap"
            make(path)
            _, plain = timed(lambda: run_mdiag(path, False))
            report, rich = timed(lambda: run_mdiag(path, True))
            html, render = timed(lambda: analysis_page([report]))
            print(f"{name:>24}: analyze {plain:6.2f} s, with history {rich:6.2f} s "
                  f"(x{rich / plain:.2f}); render {render:5.2f} s; HTML {len(html) / 1e6:5.2f} MB")
            out = Path(scratch) / "big.html"
            out.write_text(html)
            try:
                from mdiag.adapters.browser import load_page

                load, seconds = timed(lambda: load_page(out, width=1280, height=900, full_page=False))
                print(f"{'':>24}  Chromium load + first-screen screenshot {seconds:5.2f} s, "
                      f"{len(load.console_errors)} console errors, {len(load.requests)} requests")
            except Exception as exc:   # noqa: BLE001 - a benchmark reports what it could not do
                print(f"{'':>24}  (no browser timing: {exc})")


def plotly_figure(report):
    import plotly.graph_objects as go

    history = report.history
    lane = (4, "if0")
    fig = go.Figure()
    ticks = history.queries.get(lane, [])
    fig.add_trace(go.Scatter(x=[t for t, *_ in ticks], y=["querier"] * len(ticks), mode="markers",
                             marker={"symbol": "line-ns-open", "size": 14}, name="queries"))
    for (ln, group), hosts in history.hosts.items():
        for host, spans in hosts.items():
            for span in spans:
                end = span.end(history.gmi.get(ln, 260.0), report.duration)
                fig.add_trace(go.Scatter(x=[span.start, end], y=[f"{group} {host}"] * 2, mode="lines",
                                         line={"width": 10}, hovertext=f"{span.mode}", showlegend=False))
    for (ln, group), _bins in history.data.items():
        rates = history.rate(ln, group)
        fig.add_trace(go.Scatter(x=[i * history.bin_width for i in range(len(rates))], y=rates,
                                 fill="tozeroy", name=f"{group} pkt/s", yaxis="y2"))
    for f in report.findings:
        if f.time is not None:
            fig.add_vline(x=f.time, line_color="orange", annotation_text=f.code)
    for seg in report.segments:
        for g in seg.gaps:
            fig.add_vrect(x0=g.start, x1=g.end, fillcolor="red", opacity=0.1, line_width=0)
    fig.update_layout(yaxis2={"overlaying": "y", "side": "right"}, height=500)
    return fig


def compare() -> None:
    path = ROOT / "pcaps/scenarios/iptv-freeze.pcap"
    report = run_mdiag(path, True)
    with tempfile.TemporaryDirectory() as scratch:
        rows = []
        code = "import time; t=time.perf_counter(); import mdiag.htmlreport.page; print(time.perf_counter()-t)"
        imp = float(subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                                   cwd=ROOT, check=True).stdout)

        def ours() -> str:
            from mdiag.htmlreport.page import analysis_page

            return analysis_page([report])
        html, seconds = timed(ours)
        mine = Path(scratch) / "svg.html"
        mine.write_text(html)
        rows.append(("mdiag SVG + Jinja2", imp, seconds, mine))
        code = "import time; t=time.perf_counter(); import plotly.graph_objects; print(time.perf_counter()-t)"
        probe = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=os.environ)
        if probe.returncode == 0:
            imp = float(probe.stdout)

            def theirs() -> str:
                return plotly_figure(report).to_html(include_plotlyjs=True, full_html=True)
            html, seconds = timed(theirs)
            other = Path(scratch) / "plotly.html"
            other.write_text(html)
            rows.append(("Plotly (inline plotly.js)", imp, seconds, other))
        else:
            print("(Plotly not importable: set PYTHONPATH to a site-packages with plotly to compare)")
        from mdiag.adapters.browser import load_page

        for name, imp, seconds, page in rows:
            load, load_s = timed(lambda: load_page(page, width=1280, height=900))
            print(f"{name:>26}: import {imp:5.3f} s, render {seconds:5.3f} s, file {page.stat().st_size / 1e3:8.1f} kB, "
                  f"Chromium load {load_s:5.2f} s, console errors {len(load.console_errors)}, "
                  f"requests {len(load.requests)}")


if __name__ == "__main__":
    compare()
    scale()
