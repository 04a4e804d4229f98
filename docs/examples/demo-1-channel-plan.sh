#!/usr/bin/env bash
# Demo part 1: audit the bundled channel plan for MAC collisions and flooded aliases.
set -u
MDIAG=${1:-mdiag}
. "$(cd "$(dirname "$0")" && pwd)/demo-lib.sh"
here=$(cd "$(dirname "$0")" && pwd)
echo "== 1. Channel plan audit: docs/examples/channel-plan.txt"
run "$MDIAG" collisions --file "$here/channel-plan.txt"
echo "(exit status $?: 1 means the plan has MAC collisions or flooded aliases)"
echo
