"""MLD querier compliance: the IGMP rules with MLD's wire facts (RFC 2710, RFC 3810), judged on
queries decoded from frames a real Linux bridge sent, and on table-driven variations."""

from __future__ import annotations

import dataclasses

import pytest

from mdiag.core import linklayer
from mdiag.core.compliance import MLD, QueryHeard, Status, assess, protocol_of, query_from_decoded
from mdiag.core.mld import decode_ipv6

#: MLDv2 general query from a Linux bridge querier (MRC 3000 ms, QRV 2, QQIC 6), from mld.md.
BRIDGE_QUERY = bytes.fromhex(
    "3333000000013ecd75c629de86dd6000000000240001fe800000000000003ccd75fffec629deff0200000000000000"
    "000000000000013a00050200000000820096f40bb800000000000000000000000000000000000002060000")
BRIDGE = "fe80::3ccd:75ff:fec6:29de"


def heard_from(frame: bytes, ts: float) -> QueryHeard:
    located = linklayer.locate_ipv6(linklayer.LINKTYPE_ETHERNET, frame, 0, len(frame))
    decoded = decode_ipv6(frame[located.ip:])
    query = query_from_decoded(ts, decoded, "3e:cd:75:c6:29:de")
    assert query is not None
    return query


def bridge_queries(count: int = 4, interval: float = 6.0) -> list[QueryHeard]:
    return [heard_from(BRIDGE_QUERY, 100.0 + i * interval) for i in range(count)]


def checks(report):
    return {v.check: v for v in report.verdicts}


def test_the_bridge_query_decodes_to_an_mldv2_general_query():
    q = bridge_queries(1)[0]
    assert (q.source, q.destination, q.group, q.version) == (BRIDGE, "ff02::1", "::", 2)
    assert (q.max_resp, q.qrv, q.qqi, q.ttl, q.router_alert, q.checksum_ok) == (3.0, 2, 6.0, 1, True, True)
    assert q.general and q.protocol is MLD and protocol_of(q.source) is MLD


def test_a_linux_bridge_querier_passes_every_mld_rule():
    report = assess(bridge_queries())
    assert report.ok, [v for v in report.verdicts if v.status is Status.FAIL]
    v = checks(report)
    assert report.elected.address == BRIDGE and report.measured_interval == 6.0
    assert "tos" not in v  # no TOS rule for MLD
    assert v["source-address"].detail.endswith("sends from a link-local address")
    assert v["destination"].detail == "general queries to ff02::1, group queries to their group"
    assert v["interval"].rfc == "RFC 3810 5.1.9, 9.2" and "advertised QQIC 6 s" in v["interval"].detail
    assert v["versions-agree"].detail == "all routers use MLDv2"


def _vary(**changes):
    return [dataclasses.replace(q, **changes) for q in bridge_queries()]


@pytest.mark.parametrize("changes, check, text", [
    ({"source": "fd00:c612::1"}, "source-address", "does not send from a link-local address"),
    ({"ttl": 255}, "ttl", "had hop limit != 1"),
    ({"router_alert": False}, "router-alert", "lack the Hop-by-Hop Router Alert option"),
    ({"destination": "ff02::2"}, "destination", "general query for :: sent to ff02::2"),
    ({"max_resp": 10.0}, "response-time", "max response time 10 s, query interval 6 s"),
    ({"qrv": 1}, "robustness", "QRV 1 (should not be 1)"),
    ({"checksum_ok": False}, "checksum", "bad checksum"),
])
def test_each_mld_rule_fails_on_its_fault(changes, check, text):
    v = checks(assess(_vary(**changes)))[check]
    assert v.status is Status.FAIL and text in v.detail


def test_mldv1_router_alert_is_required_and_versions_must_agree():
    v1 = [QueryHeard(ts=90.0 + i * 125, source="fe80::1", destination="ff02::1", mac="02:00:00:00:00:01",
                     version=1, max_resp=10.0, router_alert=False) for i in range(2)]
    report = assess(v1 + bridge_queries())
    v = checks(report)
    assert report.elected.address == "fe80::1"  # lowest address wins (RFC 3810 7.6.2)
    assert v["router-alert"].status is Status.FAIL  # MLDv1 needs it too (RFC 2710 3)
    assert v["versions-agree"].status is Status.FAIL and "MLDv1, v2" in v["versions-agree"].detail
    assert v["single-querier"].status is Status.FAIL


def test_a_proxy_querier_from_the_unspecified_address_is_told():
    report = assess(_vary(source="::"))
    v = checks(report)
    assert report.elected is None and report.proxies
    assert v["source-address"].status is Status.FAIL and "only queries from :: were heard" in v["source-address"].detail


def test_an_address_specific_query_goes_to_its_address():
    q = dataclasses.replace(bridge_queries(1)[0], group="ff3e::8000:1", destination="ff3e::8000:1")
    assert not q.general and q.group_specific
    wrong = dataclasses.replace(q, destination="ff02::1")
    assert checks(assess([*bridge_queries(), wrong]))["destination"].status is Status.FAIL


def test_families_do_not_mix_in_one_query():
    with pytest.raises(ValueError, match="all IPv4 .IGMP. or all IPv6 .MLD."):
        QueryHeard(ts=0, source="fe80::1", destination="224.0.0.1", mac="x", version=2)
    with pytest.raises(ValueError, match="MLD version 3 does not exist"):
        QueryHeard(ts=0, source="fe80::1", destination="ff02::1", mac="x", version=3)
