"""The report in a real browser: headless Chromium loads it offline (no network
service, host names resolve to nothing), with no console error and no request
beyond the file itself, and the screenshot is not blank. Skips without Chromium on
a laptop; fails under CI=true."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from mdiag.testing.requirements import need_chromium
from tests.htmlreport.pngstats import distinct_colours, ink_share

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def chromium():
    return need_chromium()


def test_analyze_report_loads_offline_and_draws(chromium, tmp_path, cli):
    from mdiag.adapters.browser import load_page

    page = tmp_path / "freeze.html"
    result = cli("analyze", str(ROOT / "pcaps/scenarios/iptv-freeze.pcap"), "--html", str(page),
                 "--fail-on", "never")
    assert result.status == 0, result.stderr
    load = load_page(page, width=1280, height=900, text=True, pdf=True)
    assert load.console_errors == []
    assert load.requests == []
    assert load.width == 1280 and load.height > 900        # the whole page, taller than a screen
    assert "querier-gap" in load.text and "239.1.1.1" in load.text
    assert load.png.startswith(b"\x89PNG")
    assert ink_share(load.png) > 0.03                      # not blank: lanes and tables drawn
    assert distinct_colours(load.png) >= 8                 # the lanes' colours, not one grey
    # printable: print styles give a PDF of a few A4 pages with the lanes' text in it
    assert load.pdf.startswith(b"%PDF") and len(re.findall(rb"/Type\s*/Page\b", load.pdf)) >= 1


def test_phone_width_keeps_labels_readable(chromium, tmp_path, cli):
    from mdiag.adapters.browser import load_page

    page = tmp_path / "phone.html"
    assert cli("analyze", str(ROOT / "pcaps/scenarios/querier-stubborn.pcap"), "--html", str(page),
               "--fail-on", "never").status == 0
    load = load_page(page, width=390, height=800, text=True)
    assert load.console_errors == [] and load.requests == []
    assert load.width <= 400                               # no sideways scrolling of the page itself
    assert "198.18.0.2" in load.text


def test_png_option_draws_the_picture(chromium, tmp_path, cli):
    png = tmp_path / "freeze.png"
    result = cli("analyze", str(ROOT / "pcaps/scenarios/iptv-freeze.pcap"), "--png", str(png),
                 "--fail-on", "never")
    assert result.status == 0, result.stderr
    data = png.read_bytes()
    assert data.startswith(b"\x89PNG") and ink_share(data) > 0.03


def test_probe_page_loads_offline(chromium, tmp_path):
    from mdiag.adapters.browser import load_page
    from mdiag.htmlreport.probes import verify_page
    from tests.htmlreport.test_probe_pages import VERIFY

    page = tmp_path / "verify.html"
    page.write_text(verify_page(VERIFY))
    load = load_page(page, width=800, height=600, text=True)
    assert load.console_errors == [] and load.requests == []
    assert "h2 join" in load.text and ink_share(load.png) > 0.03
