"""Level of detail: a capture of 10,000 groups and one of 50,000 data packets give pages
of bounded size and element count (the speed is measured in bench_report.py, not here)."""

from __future__ import annotations

from mdiag.adapters.capture import open_capture
from mdiag.analysis.history import MAX_BINS
from mdiag.analysis.pipeline import AnalysisOptions, analyze
from mdiag.htmlreport import lanes
from mdiag.htmlreport.page import analysis_page
from tests.htmlreport.large import many_groups, many_packets
from tests.htmlreport.pagetree import parse


def _page(path):
    with open_capture(str(path)) as capture:
        report = analyze(capture, AnalysisOptions(history=True))
    return report, analysis_page([report])


def test_ten_thousand_groups_stay_a_few_mb(tmp_path):
    path = tmp_path / "groups.pcap"
    many_groups(path, 10_000)
    report, html = _page(path)
    assert len(report.segments[0].groups) == 10_000
    assert len(html) < 4_000_000
    tree = parse(html)
    drawn = [n for n in tree.find_all("div", "lane") if "group" in n.classes]
    assert len(drawn) == lanes.GROUP_LANES
    assert f"{10_000 - lanes.GROUP_LANES} more group(s) on this segment are not drawn" in html
    groups_table = [t for t in tree.find_all("table") if t.find_all("th")[1].all_text() == "group"][0]
    assert len(groups_table.find_all("tr")) == 10_001           # every group in the table
    assert len(tree.find_all("rect")) < 2_000 and len(tree.find_all("line")) < 2_000


def test_fifty_thousand_packets_are_bins_not_marks(tmp_path):
    path = tmp_path / "packets.pcap"
    many_packets(path, 50_000, rate=25.0)           # 2,000 s: the bins widen
    report, html = _page(path)
    history = report.history
    (bins,) = history.data.values()
    assert sum(bins) == 50_000 and len(bins) <= MAX_BINS and history.bin_width == 4.0
    assert len(html) < 200_000
    (spark,) = [n for n in parse(html).iter("polygon") if "rate" in n.classes]
    assert len(spark.attrs["points"].split()) <= lanes.SPARK_POINTS + 2
    assert "peak 25.0 packets/s (4 s bins), 50,000 packets" in spark.title()


def test_many_hosts_share_one_union_row(tmp_path):
    from tests.htmlreport.large import many_reports

    path = tmp_path / "reports.pcap"
    many_reports(path, reports=20_000, hosts=200, groups=20)
    report, html = _page(path)
    lane = [n for n in parse(html).find_all("div", "lane") if "group" in n.classes][0]
    labels = [d.all_text() for d in lane.find_all("div") if "height:" in d.attrs.get("style", "")]
    assert labels[1:lanes.HOST_ROWS + 1] == labels[1:9] and labels[lanes.HOST_ROWS + 1].startswith("+")
    union = [n for n in lane.iter() if "union" in n.classes]
    assert 1 <= len(union) <= 5 and "membership interval(s) of these hosts" in union[0].title()
    assert len(html) < 400_000
