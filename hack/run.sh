#!/usr/bin/env bash
# `make run`: run the operator. With no KUBECONFIG set, against the local cluster (started if
# needed); with no SLOGATE_PROMETHEUS_URL set, against a local Prometheus started on a free
# loopback port that scrapes the operator's own /metrics. Extra arguments go to `slogate run`.
set -euo pipefail
HACK="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=hack/lib.sh
source "$HACK/lib.sh"
CLUSTER_DIR="${SLOGATE_CLUSTER_DIR:-$ROOT/.cluster}"

if [[ -z "${KUBECONFIG:-}" ]]; then
  "$HACK/cluster.sh" up
  export KUBECONFIG="$CLUSTER_DIR/kubeconfig"
  PATH="$(bin_path):$PATH"
  kubectl apply --server-side --force-conflicts -f "$ROOT/crds" >/dev/null
  info "slogate CRDs applied to the local cluster"
fi

metrics_port="${SLOGATE_METRICS_PORT:-9464}"
if [[ -z "${SLOGATE_PROMETHEUS_URL:-}" ]]; then
  command -v prometheus >/dev/null || die "prometheus is missing; run 'make prometheus' or set SLOGATE_PROMETHEUS_URL"
  mkdir -p "$CLUSTER_DIR/pids" "$CLUSTER_DIR/logs" "$CLUSTER_DIR/prometheus"
  pidfile="$CLUSTER_DIR/pids/prometheus.pid"
  if [[ ! -f "$CLUSTER_DIR/prometheus.port" ]]; then
    free_port >"$CLUSTER_DIR/prometheus.port"
  fi
  port="$(cat "$CLUSTER_DIR/prometheus.port")"
  if ! processes running "$pidfile" >/dev/null; then
    cat >"$CLUSTER_DIR/prometheus/prometheus.yml" <<YAML
global: {scrape_interval: 5s, evaluation_interval: 5s}
scrape_configs:
  - job_name: slogate
    static_configs: [{targets: ['127.0.0.1:$metrics_port']}]
YAML
    processes start "$pidfile" "$CLUSTER_DIR/logs/prometheus.log" \
      prometheus --config.file="$CLUSTER_DIR/prometheus/prometheus.yml" \
      --storage.tsdb.path="$CLUSTER_DIR/prometheus/data" --web.listen-address="127.0.0.1:$port" >/dev/null
    info "started Prometheus on http://127.0.0.1:$port (log: $CLUSTER_DIR/logs/prometheus.log)"
  fi
  export SLOGATE_PROMETHEUS_URL="http://127.0.0.1:$port"
fi

info "running the operator against $(kubectl config view --minify -o jsonpath='{.clusters[0].cluster.server}' 2>/dev/null || echo "$KUBECONFIG") with Prometheus at $SLOGATE_PROMETHEUS_URL"
exec "$ROOT/.venv/bin/slogate" run --metrics-port "$metrics_port" "$@"
