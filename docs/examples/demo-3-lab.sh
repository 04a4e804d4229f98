#!/usr/bin/env bash
# Demo part 3: a short namespace-lab session (needs root): build a lab, verify that a group
# reaches its receivers and not the non-member, measure join/leave delay, tear the lab down.
# Without root it says so in one line and steps aside. The lab is always removed.
set -u
MDIAG=${1:-mdiag}
. "$(cd "$(dirname "$0")" && pwd)/demo-lib.sh"
PREFIX=${2:-${PREFIX:-mddemo}}  # make demo PREFIX=mdx: two demos on one machine
echo "== 3. Lab: delivery, snooping, join and leave delay (mdiag lab, mdiag verify)"
if [ "$(id -u)" -ne 0 ]; then
  echo "(skipped: the namespace lab needs root; run 'sudo make demo' to see it)"
  echo
  exit 0
fi
cleanup() { "$MDIAG" lab down --lab-prefix "$PREFIX" >/dev/null 2>&1; }
trap cleanup EXIT INT TERM
run "$MDIAG" lab up --lab-prefix "$PREFIX" --hosts 4 --last-member-interval 0.2 || exit 0
echo
run "$MDIAG" verify 239.1.2.3 --lab --lab-prefix "$PREFIX" --receiver h2,h3 --repeat 3 --hold 0.5s
echo "(exit status $?: 0 means every receiver got the group, h4 did not, and leaves stopped it)"
echo
run "$MDIAG" lab exec --lab-prefix "$PREFIX" h2 -- "$MDIAG" listen 239.1.2.3 --iface lab0 --duration 5 --until-end --max-loss 0.1 &
listener=$!
# start sending once the bridge has the listener's join (bounded: at most ~5 s), not after a
# fixed sleep that a loaded machine can overrun
for _ in $(seq 50); do
  "$MDIAG" lab exec --lab-prefix "$PREFIX" br -- bridge mdb show 2>/dev/null | grep -q "grp 239.1.2.3" && break
  sleep 0.1
done
run "$MDIAG" lab exec --lab-prefix "$PREFIX" h1 -- "$MDIAG" send 239.1.2.3 --iface lab0 --rate 5000pps --count 5000
wait "$listener"
echo "(listen exit status $?: 1 would mean more than 0.1% loss)"
echo
run "$MDIAG" zap 239.1.3.1 239.1.3.2 239.1.3.3 --lab-prefix "$PREFIX" --zaps 4 --interval 500ms --expect p95-zap=250ms
echo "(exit status $?: zap time is a channel change's join to first packet; overlap, the old channel after its leave)"
echo
