#!/usr/bin/env bash
# `make demo`: the main jobs on bundled defaults. Each part prints what it shows;
# parts that need root (the namespace lab) explain themselves and step aside without it.
set -u
MDIAG=${1:-mdiag}
PREFIX=${2:-${PREFIX:-mddemo}}  # the lab part's prefix: make demo PREFIX=mdx
here=$(cd "$(dirname "$0")" && pwd)
for part in "$here"/demo-*.sh; do
  [ -e "$part" ] || continue
  bash "$part" "$MDIAG" "$PREFIX"
done
