#!/usr/bin/env bash
# Install a Debian package when the machine lacks its command:
#   hack/install-debian-package.sh COMMAND PACKAGE
# The tests start their own prometheus, prometheus-alertmanager (the incident intake's e2e test),
# redis-server (the local Argo CD's cache) and nginx (a reverse proxy in front of Prometheus) on
# free loopback ports; the packages' services are neither needed nor started.
set -euo pipefail
command_name=${1:?usage: $0 COMMAND PACKAGE}
package=${2:?usage: $0 COMMAND PACKAGE}
if command -v "$command_name" >/dev/null || [[ -x /usr/sbin/$command_name ]]; then
  exit 0
fi
if [[ $(id -u) -ne 0 ]]; then
  echo "[slogate] error: $command_name is missing; install it with: sudo apt-get install $package" >&2
  exit 1
fi
echo "[slogate] installing $package from Debian" >&2
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "$package" >/dev/null
# Debian starts a package's service on install; the tests run their own instance.
if command -v systemctl >/dev/null && systemctl is-active --quiet "$package" 2>/dev/null; then
  systemctl stop "$package" || true
fi
