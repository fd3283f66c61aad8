#!/usr/bin/env bash
# The prometheus-operator PrometheusRule CRD (monitoring.coreos.com/v1), for the tests that check
# slogate's PrometheusRule objects on a real API server. Taken from the Go module proxy with the
# ordinary go client, pinned by hack/versions.env, cached by version like the binaries:
#   $SLOGATE_CACHE/prometheus-operator-<version>/monitoring.coreos.com_prometheusrules.yaml
set -euo pipefail
HACK="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=hack/lib.sh
source "$HACK/lib.sh"

version="$PROMETHEUS_OPERATOR_VERSION"
dest="$(component_dir prometheus-operator "$version")"
crd=monitoring.coreos.com_prometheusrules.yaml
[[ -s "$dest/$crd" ]] && exit 0
command -v go >/dev/null || die "go is not installed; it fetches the PrometheusRule CRD from the Go module proxy"
module="github.com/prometheus-operator/prometheus-operator@$version"
info "fetching the PrometheusRule CRD of $module"
dir="$(cd /tmp && GOTOOLCHAIN=local GOFLAGS=-mod=mod go mod download -json "$module" |
  python3 -c 'import json,sys; d=json.load(sys.stdin); sys.exit(d["Error"]) if d.get("Error") else print(d["Dir"])')" ||
  die "the Go module proxy did not serve $module; pin a version it serves in hack/versions.env"
[[ -s "$dir/example/prometheus-operator-crd/$crd" ]] || die "$module has no example/prometheus-operator-crd/$crd"
mkdir -p "$dest.partial"
cp "$dir/example/prometheus-operator-crd/$crd" "$dest.partial/"
rm -rf "$dest" && mv "$dest.partial" "$dest"
info "PrometheusRule CRD $version cached in $dest"
