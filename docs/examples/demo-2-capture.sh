#!/usr/bin/env bash
# Demo part 2: tell the IGMP story of bundled captures and judge them as CI would.
set -u
MDIAG=${1:-mdiag}
. "$(cd "$(dirname "$0")" && pwd)/demo-lib.sh"
here=$(cd "$(dirname "$0")" && pwd)
pcaps=$(cd "$here/../../pcaps" && pwd)
echo "== 2. Capture analysis: pcaps/querier-election.pcap (two routers start, the lower address wins)"
run "$MDIAG" analyze "$pcaps/querier-election.pcap" --timeline \
  --expect querier@end=198.18.0.1 --expect igmp-version=3 --expect no-finding=querier-two-active
echo "(exit status $?: 0 means every expectation passed)"
echo
echo "== 2b. pcaps/v3-querier-old-hosts.pcap: an IGMPv3 querier with v1 and v2 hosts; CI asserts no warnings"
run "$MDIAG" analyze "$pcaps/v3-querier-old-hosts.pcap" --group 239.1.1.2 --timeline --expect 'no-findings>=warning'
echo "(exit status $?: 1 means an expectation failed; the findings say why)"
echo
echo "== 2c. pcaps/scenarios/iptv-freeze.pcap: \"IPTV freezes after a few minutes\" — the querier went quiet"
run "$MDIAG" analyze "$pcaps/scenarios/iptv-freeze.pcap" --group 239.1.1.1 --timeline --fail-on never
echo "(the querier's last query at 125 s, the last report at 129.7 s; membership and data end about GMI 260 s later)"
report="${TMPDIR:-/tmp}/mdiag-demo-iptv-freeze.html"
if "$MDIAG" analyze "$pcaps/scenarios/iptv-freeze.pcap" --html "$report" --force --fail-on never > /dev/null; then
  echo "the same story as a picture: open $report in a browser (one self-contained file, works offline)"
else
  echo "(no HTML report: the line above says what is missing)"
fi
echo
