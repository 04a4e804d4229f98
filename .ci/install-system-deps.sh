#!/usr/bin/env bash
# Install the Debian packages mdiag's tests and demo use, only if something is missing.
# Idempotent; runs apt-get update once, non-interactively. Without root it explains
# what is missing and carries on (tests that need the piece skip; under CI=true they fail).
set -euo pipefail

# command -> Debian package
declare -A NEED=(
  [tshark]=tshark
  [editcap]=tshark
  [tcpdump]=tcpdump
  [ip]=iproute2
  [bridge]=iproute2
  [iperf]=iperf
  [prometheus]=prometheus
  [promtool]=prometheus
  [chromium]=chromium
  [tc]=iproute2
)
missing=()
for cmd in "${!NEED[@]}"; do
  command -v "$cmd" >/dev/null 2>&1 || missing+=("${NEED[$cmd]}")
done
# libpcap is a library, not a command
if ! ldconfig -p 2>/dev/null | grep -q 'libpcap\.so\.0\.8'; then
  missing+=(libpcap0.8)
fi
if [ ${#missing[@]} -eq 0 ]; then
  exit 0
fi
mapfile -t missing < <(printf '%s\n' "${missing[@]}" | sort -u)
if [ "$(id -u)" -ne 0 ]; then
  echo "mdiag: system packages missing: ${missing[*]} (run 'sudo make test' or install them with apt-get); tests that need them will skip" >&2
  exit 0
fi
export DEBIAN_FRONTEND=noninteractive
echo "mdiag: installing system packages: ${missing[*]}" >&2
# tshark asks whether non-root users may capture: answer no, non-interactively.
echo "wireshark-common wireshark-common/install-setuid boolean false" | debconf-set-selections 2>/dev/null || true
apt-get update -q >/dev/null
apt-get install -y -q --no-install-recommends "${missing[@]}" >/dev/null
