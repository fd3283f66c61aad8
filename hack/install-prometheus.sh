#!/usr/bin/env bash
# Install Prometheus from Debian's package when the machine lacks it. The tests
# start their own Prometheus on a free loopback port; the package's service is
# neither needed nor started.
set -euo pipefail
if command -v prometheus >/dev/null; then
  exit 0
fi
if [[ $(id -u) -ne 0 ]]; then
  echo "[slogate] error: prometheus is missing; install it with: sudo apt-get install prometheus" >&2
  exit 1
fi
echo "[slogate] installing prometheus from Debian" >&2
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends prometheus >/dev/null
