#!/usr/bin/env bash
# Install redis-server from Debian's package when the machine lacks it: the local Argo CD's
# repo-server and application-controller cache in Redis. hack/cluster.sh starts its own
# redis-server on a free loopback port; the package's service is neither needed nor started.
set -euo pipefail
if command -v redis-server >/dev/null; then
  exit 0
fi
if [[ $(id -u) -ne 0 ]]; then
  echo "[slogate] error: redis-server is missing; install it with: sudo apt-get install redis-server" >&2
  exit 1
fi
echo "[slogate] installing redis-server from Debian" >&2
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends redis-server >/dev/null
