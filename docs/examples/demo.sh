#!/usr/bin/env bash
# `make demo`: the main jobs on bundled defaults. Each step prints what it shows.
set -u
MDIAG=${1:-mdiag}
here=$(cd "$(dirname "$0")" && pwd)
echo "== Channel plan audit: $here/channel-plan.txt"
"$MDIAG" collisions --file "$here/channel-plan.txt"
echo "(exit status $?: 1 means the plan has MAC collisions or flooded aliases)"
