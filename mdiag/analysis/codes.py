"""Finding codes of capture reading and analysis (docs/findings.md explains each).

``CODES``: code -> (severity, where the rule comes from, one-line meaning). Tests
check that every code here and every decoder code (``mdiag.core.igmp.FINDING_CODES``)
is documented in docs/findings.md.
"""

from __future__ import annotations

from mdiag.core.findings import Severity

ERROR, WARNING, INFO = Severity.ERROR, Severity.WARNING, Severity.INFO

CODES: dict[str, tuple[Severity, str, str]] = {
    # capture reader (mdiag.adapters.capture)
    "capture-truncated-record": (WARNING, "pcap / pcapng format", "the last record or block is cut short"),
    "capture-corrupt-length": (ERROR, "pcap / pcapng format", "a record or block length is impossible"),
    "capture-unknown-interface": (WARNING, "pcapng format", "a packet names an undeclared interface"),
    "capture-bad-tsoffset": (WARNING, "pcapng format", "an interface's if_tsoffset is beyond any clock; ignored"),
    "capture-read-error": (WARNING, "", "the (compressed) stream could not be read further"),
    "capture-unknown-linktype": (WARNING, "", "frames of a link type mdiag does not read were skipped"),
    # pipeline (mdiag.analysis.pipeline)
    "igmp-malformed": (ERROR, "RFC 3376 4", "an IGMP packet that cannot be decoded at all"),
    "mld-malformed": (ERROR, "RFC 3810 5", "an MLD packet that cannot be decoded at all"),
    "capture-snaplen-cut": (WARNING, "", "an IGMP packet cut by the capture's snap length"),
    "compat-older-host": (WARNING, "RFC 3376 7.3.2", "IGMPv1/v2 reports to an IGMPv3 querier"),
    "compat-newer-host": (WARNING, "RFC 3376 7.2.1", "IGMPv3 / MLDv2 reports to an older querier"),
    "traffic-without-members": (WARNING, "RFC 4541 2.1.2", "multicast data for a group nobody joined"),
    "members-without-traffic": (INFO, "", "a joined group with no captured data"),
    "traffic-stopped": (WARNING, "RFC 4541 2.1.1", "data to a group stopped although no host left it"),
    "traffic-from-unrequested-source": (WARNING, "RFC 3376 6.4, RFC 4607 1",
                                        "data from a source outside an INCLUDE-mode group's source list"),
    # querier tracker (mdiag.core.querier)
    "querier-two-active": (WARNING, "RFC 3376 6.6.2", "a higher address kept querying after the election"),
    "querier-v1-several": (INFO, "RFC 1112 App. I", "several IGMPv1 routers query (IGMPv1 has no election)"),
    "querier-none": (WARNING, "RFC 3376 6.6.2", "no router sent a general query"),
    "querier-gap": (WARNING, "RFC 3376 8.5", "no general query for longer than OQPI"),
    "querier-version-mismatch": (WARNING, "RFC 3376 7.3.1", "routers query with different versions"),
    "querier-interval-drift": (WARNING, "RFC 3376 4.1.7, RFC 2236 8.2",
                               "measured query interval differs from QQIC / 125 s"),
    "querier-query-missed": (WARNING, "RFC 3376 8.2", "the querier missed its scheduled general query"),
    "querier-mrt-exceeds-interval": (WARNING, "RFC 3376 8.3, RFC 2236 8.3",
                                     "a Max Response Time not below the query interval"),
    "query-group-zero": (ERROR, "RFC 3376 4.1.12", "a group-specific query carries group 0.0.0.0"),
    # membership table (mdiag.core.membership)
    "leave-without-group-query": (WARNING, "RFC 2236 3, RFC 3376 6.4.2",
                                  "a leave not followed by a group-specific query"),
    "mac-shared-groups": (WARNING, "RFC 1112 6.4, RFC 4541 2.1.1",
                          "two joined groups on one segment share a MAC"),
    "report-flood": (WARNING, "RFC 3376 5.1, RFC 2236 3", "a host sent more than 100 reports within a second"),
    "report-source-off-subnet": (WARNING, "RFC 3376 9.1, RFC 2236 9", "a report from outside the link's subnet"),
    "report-link-local": (INFO, "RFC 4541 2.1.2", "a report for a 224.0.0.0/24 group"),
}
