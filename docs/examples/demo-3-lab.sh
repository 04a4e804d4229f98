#!/usr/bin/env bash
# Demo part 3: a short namespace-lab session (needs root): build a lab, verify that a group
# reaches its receivers and not the non-member, measure join/leave delay, tear the lab down.
# Without root it says so in one line and steps aside. The lab is always removed.
set -u
MDIAG=${1:-mdiag}
PREFIX=mddemo
echo "== 3. Lab: delivery, snooping, join and leave delay (mdiag lab, mdiag verify)"
if [ "$(id -u)" -ne 0 ]; then
  echo "(skipped: the namespace lab needs root; run 'sudo make demo' to see it)"
  echo
  exit 0
fi
cleanup() { "$MDIAG" lab down --prefix "$PREFIX" >/dev/null 2>&1; }
trap cleanup EXIT INT TERM
"$MDIAG" lab up --prefix "$PREFIX" --hosts 4 --last-member-interval 0.2 || exit 0
echo
echo "\$ mdiag verify 239.1.2.3 --lab --receivers h2,h3 --repeat 3 --hold 0.5s"
"$MDIAG" verify 239.1.2.3 --lab --lab-prefix "$PREFIX" --receivers h2,h3 --repeat 3 --hold 0.5s
echo "(exit status $?: 0 means every receiver got the group, h4 did not, and leaves stopped it)"
echo
echo "\$ mdiag lab exec h2 -- mdiag listen 239.1.2.3 ... & mdiag lab exec h1 -- mdiag send 239.1.2.3 ..."
"$MDIAG" lab exec --prefix "$PREFIX" h2 -- "$MDIAG" listen 239.1.2.3 --iface lab0 --duration 5 --until-end --max-loss 0.1 &
listener=$!
# start sending once the bridge has the listener's join (bounded: at most ~5 s), not after a
# fixed sleep that a loaded machine can overrun
for _ in $(seq 50); do
  "$MDIAG" lab exec --prefix "$PREFIX" br -- bridge mdb show 2>/dev/null | grep -q "grp 239.1.2.3" && break
  sleep 0.1
done
"$MDIAG" lab exec --prefix "$PREFIX" h1 -- "$MDIAG" send 239.1.2.3 --iface lab0 --rate 5000pps --count 5000
wait "$listener"
echo "(listen exit status $?: 1 would mean more than 0.1% loss)"
echo
