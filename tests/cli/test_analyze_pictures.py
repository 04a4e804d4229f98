"""``mdiag analyze --html/--svg/--png``: files written beside the text output, the
output-file rule (no overwrite without --force), and the renderer loaded only when asked."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

from mdiag.errors import ExitStatus

ROOT = Path(__file__).resolve().parents[2]
FREEZE = str(ROOT / "pcaps/scenarios/iptv-freeze.pcap")


def test_html_and_svg_are_written_beside_the_text(cli, tmp_path):
    html, svg = tmp_path / "r.html", tmp_path / "sub" / "r.svg"
    result = cli("analyze", FREEZE, "--html", str(html), "--svg", str(svg), "--fail-on", "never")
    assert result.status == ExitStatus.OK, result.stderr
    assert "querier-gap" in result.stdout                  # the text report is still printed
    assert f"html report written to {html}" in result.stderr
    assert f"svg report written to {svg}" in result.stderr
    assert html.read_text().startswith("<!doctype html>") and "239.1.1.1" in html.read_text()
    assert svg.read_text().startswith("<svg")


def test_json_stays_clean_with_html(cli, tmp_path):
    import json

    result = cli("analyze", FREEZE, "--json", "--html", str(tmp_path / "r.html"))
    assert json.loads(result.stdout)["analyses"][0]["capture"]["name"].endswith("iptv-freeze.pcap")


def test_existing_file_needs_force(cli, tmp_path):
    target = tmp_path / "r.html"
    target.write_text("mine")
    result = cli("analyze", FREEZE, "--html", str(target))
    assert result.status == ExitStatus.BAD_INPUT
    assert result.stderr == f"mdiag: error: --html {target} exists; add --force to overwrite it\n"
    assert target.read_text() == "mine" and result.stdout == ""      # refused before any work
    result = cli("analyze", FREEZE, "--html", str(target), "--force", "--fail-on", "never")
    assert result.status == ExitStatus.OK and target.read_text().startswith("<!doctype html>")


def test_bad_output_paths_are_one_line(cli, tmp_path):
    same = str(tmp_path / "x")
    result = cli("analyze", FREEZE, "--html", same, "--svg", same)
    assert result.status == ExitStatus.BAD_INPUT and "the same file as --html" in result.stderr
    result = cli("analyze", FREEZE, "--html", str(tmp_path))
    assert result.status == ExitStatus.BAD_INPUT and "is a directory" in result.stderr
    result = cli("analyze", FREEZE, "--html", "-")
    assert result.status == ExitStatus.BAD_INPUT and "needs a file name" in result.stderr
    for res in (result,):
        assert res.stderr.count("\n") == 1 and "Traceback" not in res.stderr


def test_analyze_without_pictures_does_not_import_the_renderer(tmp_path):
    code = textwrap.dedent(f"""
        import io, sys
        from mdiag.cli.environment import Environment
        from mdiag.cli.main import main
        main(["analyze", {FREEZE!r}, "--fail-on", "never"], Environment(stdout=io.StringIO(), stderr=io.StringIO()))
        main(["analyze", {FREEZE!r}, "--json"], Environment(stdout=io.StringIO(), stderr=io.StringIO()))
        loaded = sorted(m for m in sys.modules if m.startswith("mdiag.htmlreport") or m.split(".")[0] == "jinja2"
                        or m == "mdiag.adapters.browser")
        print(",".join(loaded))
    """)
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == ""


def test_missing_extra_is_explained(tmp_path):
    code = textwrap.dedent(f"""
        import io, sys
        sys.modules["jinja2"] = None          # as without pip install 'mdiag[report]'
        from mdiag.cli.environment import Environment
        from mdiag.cli.main import main
        err = io.StringIO()
        status = main(["analyze", {FREEZE!r}, "--html", {str(tmp_path / "r.html")!r}],
                      Environment(stdout=io.StringIO(), stderr=err))
        print(int(status), err.getvalue(), end="")
    """)
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert result.stdout == ("3 mdiag: error: --html needs the report extra (Jinja2): "
                             "pip install 'mdiag[report]'\n")
    assert not (tmp_path / "r.html").exists()


def test_two_captures_one_page_with_their_own_finding_links(cli, tmp_path):
    from tests.htmlreport.pagetree import parse

    page = tmp_path / "two.html"
    stubborn = str(ROOT / "pcaps/scenarios/querier-stubborn.pcap")
    assert cli("analyze", FREEZE, stubborn, "--html", str(page), "--fail-on", "never").status == 0
    tree = parse(page.read_text())
    ids = {n.attrs["id"] for n in tree.iter() if "id" in n.attrs}
    assert len([n for n in tree.iter() if "id" in n.attrs]) == len(ids)        # ids are unique
    links = [a.attrs["href"][1:] for a in tree.find_all("a") if "-finding-" in a.attrs.get("href", "")]
    assert {link.split("-")[0] for link in links} == {"c0", "c1"} and set(links) <= ids
    assert [h.all_text() for h in tree.find_all("h2") if "pcap" in h.all_text()] == [FREEZE, stubborn]


def test_window_and_group_narrowing_apply_to_the_page(cli, tmp_path):
    page = tmp_path / "narrow.html"
    assert cli("analyze", FREEZE, "--group", "239.1.1.2", "--since", "100", "--html", str(page),
               "--fail-on", "never").status == 0
    html = page.read_text()
    assert 'id="c0s0-g239.1.1.2"' in html and 'id="c0s0-g239.1.1.1"' not in html


def test_png_without_chromium_says_what_to_do(cli, tmp_path, monkeypatch):
    import mdiag.adapters.browser as browser

    monkeypatch.setattr(browser.shutil, "which", lambda name: None)
    result = cli("analyze", FREEZE, "--png", str(tmp_path / "x.png"))
    assert result.status == ExitStatus.MISSING_SYSTEM_PIECE and result.stdout == ""
    assert result.stderr == ("mdiag: error: --png needs Chromium (Debian package chromium) to draw a PNG; "
                             "--svg writes the same picture without it\n")


def test_timeline_goes_into_the_page_when_asked(cli, tmp_path):
    plain, told = tmp_path / "plain.html", tmp_path / "told.html"
    assert cli("analyze", FREEZE, "--html", str(plain), "--fail-on", "never").status == 0
    assert cli("analyze", FREEZE, "--timeline", "--html", str(told), "--fail-on", "never").status == 0
    assert "<h3>timeline</h3>" not in plain.read_text()
    html = told.read_text()
    assert "<h3>timeline</h3>" in html and "membership expired" in html and "IS_EX({}) from 198.18.0.10" in html


def test_no_page_without_a_readable_capture(cli, tmp_path):
    bad = tmp_path / "bad.pcap"
    bad.write_text("not a capture")
    page = tmp_path / "r.html"
    result = cli("analyze", str(bad), "--html", str(page))
    assert result.status == ExitStatus.BAD_INPUT and not page.exists()
    assert result.stderr.splitlines()[-1] == "mdiag: --html not written: no capture could be analysed"
