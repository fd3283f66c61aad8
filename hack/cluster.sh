#!/usr/bin/env bash
# A real local Kubernetes control plane on loopback, built from the Go module proxy:
# etcd, kube-apiserver (TLS, RBAC, service-account signing), kube-controller-manager,
# kube-scheduler, kwok with fake Ready nodes, the Argo Rollouts controller, and Argo CD
# (Redis, repo-server, application-controller) in namespace argocd.
#
#   hack/cluster.sh up      start what is not running, wait until every part is ready (idempotent)
#   hack/cluster.sh down    stop every process in reverse order and wait for each to exit
#   hack/cluster.sh status  say which components run
#
# State lives in $SLOGATE_CLUSTER_DIR (default .cluster/): pki/, logs/, pids/, ports.env,
# kubeconfig. Ports are picked free on 127.0.0.1 once and kept in ports.env.
set -euo pipefail
HACK="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=hack/lib.sh
source "$HACK/lib.sh"

CLUSTER_DIR="${SLOGATE_CLUSTER_DIR:-$ROOT/.cluster}"
PKI="$CLUSTER_DIR/pki"
LOGS="$CLUSTER_DIR/logs"
PIDS="$CLUSTER_DIR/pids"
KUBECONFIG_FILE="$CLUSTER_DIR/kubeconfig"
NODE_COUNT="${SLOGATE_NODE_COUNT:-2}"
READY_TIMEOUT="${SLOGATE_READY_TIMEOUT:-120}"
# Start order; `down` walks it backwards.
COMPONENTS=(etcd kube-apiserver kube-controller-manager kube-scheduler kwok argo-rollouts
  redis argocd-repo-server argocd-application-controller)
PORT_NAMES=(ETCD_CLIENT ETCD_PEER APISERVER CONTROLLER_MANAGER SCHEDULER KWOK ROLLOUTS_HEALTHZ ROLLOUTS_METRICS
  REDIS ARGOCD_REPO_SERVER ARGOCD_REPO_SERVER_METRICS ARGOCD_CONTROLLER_METRICS)
PATH="$(bin_path):$PATH"

kubectl_() { kubectl --kubeconfig "$KUBECONFIG_FILE" "$@"; }

ensure_ports() {
  # A port is picked once and kept; one added in a later version is appended to an older ports.env.
  touch "$CLUSTER_DIR/ports.env"
  local name
  for name in "${PORT_NAMES[@]}"; do
    grep -q "^${name}_PORT=" "$CLUSTER_DIR/ports.env" || echo "${name}_PORT=$(free_port)" >>"$CLUSTER_DIR/ports.env"
  done
  # shellcheck source=/dev/null
  source "$CLUSTER_DIR/ports.env"
}

check_binaries() {
  local missing=()
  for bin in etcd kube-apiserver kube-controller-manager kube-scheduler kubectl kwok rollouts-controller \
    argocd-repo-server argocd-application-controller redis-server redis-cli; do
    command -v "$bin" >/dev/null || missing+=("$bin")
  done
  [[ ${#missing[@]} -eq 0 ]] || die "missing binaries: ${missing[*]}; run 'make deps' (hack/build-binaries.sh, hack/install-debian-package.sh) first"
}

sign_cert() { # name subject [ext-file]
  local name="$1" subject="$2" ext="${3:-}"
  openssl req -new -newkey rsa:2048 -nodes -keyout "$PKI/$name.key" -subj "$subject" -out "$PKI/$name.csr" 2>/dev/null
  openssl x509 -req -in "$PKI/$name.csr" -CA "$PKI/ca.crt" -CAkey "$PKI/ca.key" -CAcreateserial \
    -days 3650 -out "$PKI/$name.crt" ${ext:+-extfile "$ext"} 2>/dev/null
  rm -f "$PKI/$name.csr"
}

ensure_pki() {
  [[ -f "$PKI/.complete" ]] && return 0
  rm -rf "$PKI" && mkdir -p "$PKI"
  openssl req -x509 -newkey rsa:2048 -nodes -keyout "$PKI/ca.key" -out "$PKI/ca.crt" -days 3650 \
    -subj "/CN=slogate-local-ca" \
    -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign" 2>/dev/null
  cat >"$PKI/serving.ext" <<'EOF'
basicConstraints=CA:FALSE
keyUsage=critical,digitalSignature,keyEncipherment
extendedKeyUsage=serverAuth
subjectAltName=IP:127.0.0.1,IP:10.96.0.1,DNS:localhost,DNS:kubernetes,DNS:kubernetes.default,DNS:kubernetes.default.svc,DNS:kubernetes.default.svc.cluster.local
EOF
  cat >"$PKI/client.ext" <<'EOF'
basicConstraints=CA:FALSE
keyUsage=critical,digitalSignature,keyEncipherment
extendedKeyUsage=clientAuth
EOF
  sign_cert apiserver "/CN=kube-apiserver" "$PKI/serving.ext"
  sign_cert admin "/O=system:masters/CN=slogate-admin" "$PKI/client.ext"
  sign_cert controller-manager "/CN=system:kube-controller-manager" "$PKI/client.ext"
  sign_cert scheduler "/CN=system:kube-scheduler" "$PKI/client.ext"
  openssl genrsa -out "$PKI/sa.key" 2048 2>/dev/null
  openssl rsa -in "$PKI/sa.key" -pubout -out "$PKI/sa.pub" 2>/dev/null
  touch "$PKI/.complete"
}

write_kubeconfig() { # file user
  local file="$1" user="$2"
  cat >"$file" <<EOF
apiVersion: v1
kind: Config
clusters:
- name: slogate-local
  cluster:
    server: https://127.0.0.1:$APISERVER_PORT
    certificate-authority: $PKI/ca.crt
users:
- name: $user
  user:
    client-certificate: $PKI/$user.crt
    client-key: $PKI/$user.key
contexts:
- name: slogate-local
  context:
    cluster: slogate-local
    user: $user
current-context: slogate-local
EOF
}

is_running() {
  processes running "$PIDS/$1.pid" >/dev/null
}

start() { # name command...
  local name="$1"; shift
  if is_running "$name"; then
    return 0
  fi
  info "starting $name (log: $LOGS/$name.log)"
  processes start "$PIDS/$name.pid" "$LOGS/$name.log" "$@" >/dev/null
}

fail_component() { # name what
  local name="$1" what="$2"
  echo "----- last lines of $LOGS/$name.log -----" >&2
  tail -n 25 "$LOGS/$name.log" >&2 || true
  echo "-----" >&2
  die "$name $what; its log is $LOGS/$name.log ('make cluster-down' stops what did start)"
}

wait_for() { # name description command...
  local name="$1" description="$2"; shift 2
  local deadline=$((SECONDS + READY_TIMEOUT))
  until "$@" >/dev/null 2>&1; do
    is_running "$name" || fail_component "$name" "exited before it was $description"
    ((SECONDS < deadline)) || fail_component "$name" "was not $description within ${READY_TIMEOUT}s"
    sleep 0.2
  done
}

healthz() { curl -sfk --max-time 2 "$1" | grep -qx ok; }

apiserver_serves_requests() {
  # /readyz can answer before RBAC bootstrap is done; a real authorized request cannot.
  healthz "https://127.0.0.1:$APISERVER_PORT/readyz" &&
    kubectl_ get --raw /api/v1/namespaces/default >/dev/null &&
    kubectl_ auth can-i create deployments.apps --all-namespaces | grep -qx yes
}

nodes_ready() {
  local ready
  ready="$(kubectl_ get nodes -l type=kwok \
    -o jsonpath='{range .items[*]}{.status.conditions[?(@.type=="Ready")].status}{"\n"}{end}' | grep -cx True)"
  [[ "$ready" -ge "$NODE_COUNT" ]]
}

rollouts_crds_established() {
  kubectl_ wait --for condition=established --timeout=1s crd/rollouts.argoproj.io crd/analysisruns.argoproj.io
}

argocd_crds_established() {
  kubectl_ wait --for condition=established --timeout=1s crd/applications.argoproj.io crd/appprojects.argoproj.io
}

redis_ready() { redis-cli -p "$REDIS_PORT" ping | grep -qx PONG; }

# Argo CD's CRDs and the argocd-cm / argocd-secret of its own manifests, plus what a local cluster
# needs: a server secret key, Git polled every 10 s instead of 3 min, and the default AppProject.
configure_argocd() {
  local argocd_dir; argocd_dir="$(component_dir argo-cd "$ARGO_CD_VERSION")"
  kubectl_ create namespace argocd --dry-run=client -o yaml | kubectl_ apply -f - >/dev/null
  kubectl_ apply --server-side --force-conflicts --field-manager=slogate-cluster \
    -f "$argocd_dir/crds/application-crd.yaml" -f "$argocd_dir/crds/appproject-crd.yaml" >/dev/null
  kubectl_ apply --server-side --force-conflicts --field-manager=slogate-cluster -n argocd \
    -f "$argocd_dir/config/argocd-cm.yaml" -f "$argocd_dir/config/argocd-secret.yaml" >/dev/null
  kubectl_ -n argocd patch configmap argocd-cm --type merge --field-manager=slogate-cluster \
    -p '{"data":{"timeout.reconciliation":"10s","timeout.reconciliation.jitter":"0s"}}' >/dev/null
  if ! kubectl_ -n argocd get secret argocd-secret -o jsonpath='{.data.server\.secretkey}' | grep -q .; then
    kubectl_ -n argocd patch secret argocd-secret --type merge --field-manager=slogate-cluster \
      -p "{\"stringData\":{\"server.secretkey\":\"$(openssl rand -hex 32)\"}}" >/dev/null
  fi
  wait_for kube-apiserver "serving the Argo CD CRDs" argocd_crds_established
  kubectl_ apply --server-side --field-manager=slogate-cluster -f - >/dev/null <<'EOF'
apiVersion: argoproj.io/v1alpha1
kind: AppProject
metadata:
  name: default
  namespace: argocd
spec:
  sourceRepos: ["*"]
  destinations: [{namespace: "*", server: "*"}]
  clusterResourceWhitelist: [{group: "*", kind: "*"}]
EOF
}

start_argocd() {
  # --set-proc-title no: Redis would rewrite its command line, by which its pid file recognises it.
  start redis redis-server --bind 127.0.0.1 --port "$REDIS_PORT" --save "" --appendonly no \
    --dir "$CLUSTER_DIR" --set-proc-title no
  configure_argocd
  wait_for redis "answering PING" redis_ready
  # The repo-server clones into its temp dir; keep it under the cluster directory.
  mkdir -p "$CLUSTER_DIR/argocd-repo-server"
  start argocd-repo-server env ARGOCD_GPG_ENABLED=false TMPDIR="$CLUSTER_DIR/argocd-repo-server" \
    argocd-repo-server --disable-tls --redis "127.0.0.1:$REDIS_PORT" \
    --address 127.0.0.1 --port "$ARGOCD_REPO_SERVER_PORT" \
    --metrics-address 127.0.0.1 --metrics-port "$ARGOCD_REPO_SERVER_METRICS_PORT" --loglevel warn
  # ARGOCD_FAKE_IN_CLUSTER: the destination https://kubernetes.default.svc is the cluster of the
  # kubeconfig that client-go loads by default, so KUBECONFIG must name it as well as --kubeconfig.
  # --persist-resource-health: each resource's health in the Application's status.resources (Argo CD
  # 3 keeps it only in Redis for its UI by default), where the tests read it; computed the same way.
  start argocd-application-controller env ARGOCD_FAKE_IN_CLUSTER=true KUBECONFIG="$KUBECONFIG_FILE" \
    argocd-application-controller --kubeconfig "$KUBECONFIG_FILE" --namespace argocd \
    --repo-server "127.0.0.1:$ARGOCD_REPO_SERVER_PORT" --repo-server-plaintext \
    --redis "127.0.0.1:$REDIS_PORT" --metrics-port "$ARGOCD_CONTROLLER_METRICS_PORT" \
    --app-resync 10 --app-resync-jitter 0 --self-heal-timeout-seconds 2 --loglevel warn \
    --persist-resource-health
}

create_nodes() {
  local i
  for i in $(seq 1 "$NODE_COUNT"); do
    cat <<EOF
apiVersion: v1
kind: Node
metadata:
  name: kwok-node-$i
  annotations:
    kwok.x-k8s.io/node: fake
  labels:
    type: kwok
    kubernetes.io/hostname: kwok-node-$i
    kubernetes.io/os: linux
    kubernetes.io/arch: amd64
---
EOF
  done | kubectl_ apply --server-side --field-manager=slogate-cluster -f - >/dev/null
}

up() {
  check_binaries
  mkdir -p "$CLUSTER_DIR" "$LOGS" "$PIDS" "$CLUSTER_DIR/etcd"
  local started=$SECONDS
  ensure_ports
  ensure_pki
  write_kubeconfig "$KUBECONFIG_FILE" admin
  write_kubeconfig "$CLUSTER_DIR/controller-manager.kubeconfig" controller-manager
  write_kubeconfig "$CLUSTER_DIR/scheduler.kubeconfig" scheduler

  start etcd etcd --name slogate --data-dir "$CLUSTER_DIR/etcd" \
    --listen-client-urls "http://127.0.0.1:$ETCD_CLIENT_PORT" \
    --advertise-client-urls "http://127.0.0.1:$ETCD_CLIENT_PORT" \
    --listen-peer-urls "http://127.0.0.1:$ETCD_PEER_PORT" \
    --initial-advertise-peer-urls "http://127.0.0.1:$ETCD_PEER_PORT" \
    --initial-cluster "slogate=http://127.0.0.1:$ETCD_PEER_PORT" \
    --unsafe-no-fsync --quota-backend-bytes 4294967296
  wait_for etcd "healthy" curl -sf --max-time 2 "http://127.0.0.1:$ETCD_CLIENT_PORT/health"

  start kube-apiserver kube-apiserver \
    --etcd-servers "http://127.0.0.1:$ETCD_CLIENT_PORT" \
    --bind-address 127.0.0.1 --advertise-address 127.0.0.1 --secure-port "$APISERVER_PORT" \
    --tls-cert-file "$PKI/apiserver.crt" --tls-private-key-file "$PKI/apiserver.key" \
    --client-ca-file "$PKI/ca.crt" \
    --service-account-key-file "$PKI/sa.pub" \
    --service-account-signing-key-file "$PKI/sa.key" \
    --service-account-issuer https://kubernetes.default.svc.cluster.local \
    --api-audiences https://kubernetes.default.svc.cluster.local \
    --authorization-mode Node,RBAC \
    --service-cluster-ip-range 10.96.0.0/16 \
    --allow-privileged=true \
    --endpoint-reconciler-type none \
    --profiling=false \
    ${SLOGATE_APISERVER_EXTRA_ARGS:-}
  wait_for kube-apiserver "serving authorized requests" apiserver_serves_requests

  start kube-controller-manager kube-controller-manager \
    --kubeconfig "$CLUSTER_DIR/controller-manager.kubeconfig" \
    --authentication-kubeconfig "$CLUSTER_DIR/controller-manager.kubeconfig" \
    --authorization-kubeconfig "$CLUSTER_DIR/controller-manager.kubeconfig" \
    --bind-address 127.0.0.1 --secure-port "$CONTROLLER_MANAGER_PORT" \
    --use-service-account-credentials \
    --service-account-private-key-file "$PKI/sa.key" \
    --root-ca-file "$PKI/ca.crt" \
    --cluster-signing-cert-file "$PKI/ca.crt" --cluster-signing-key-file "$PKI/ca.key" \
    --leader-elect=false --controllers '*,-nodeipam' \
    --service-cluster-ip-range 10.96.0.0/16 \
    --concurrent-deployment-syncs 10 --concurrent-replicaset-syncs 10
  start kube-scheduler kube-scheduler \
    --kubeconfig "$CLUSTER_DIR/scheduler.kubeconfig" \
    --authentication-kubeconfig "$CLUSTER_DIR/scheduler.kubeconfig" \
    --authorization-kubeconfig "$CLUSTER_DIR/scheduler.kubeconfig" \
    --bind-address 127.0.0.1 --secure-port "$SCHEDULER_PORT" --leader-elect=false

  local kwok_dir; kwok_dir="$(component_dir kwok "$KWOK_VERSION")"
  start kwok kwok --kubeconfig "$KUBECONFIG_FILE" \
    --manage-all-nodes=false \
    --manage-nodes-with-annotation-selector kwok.x-k8s.io/node=fake \
    --node-ip 127.0.0.1 --cidr 10.244.0.0/16 \
    --server-address "127.0.0.1:$KWOK_PORT" \
    --node-lease-duration-seconds 40 \
    -c "$kwok_dir/stages.yaml"

  local rollouts_dir; rollouts_dir="$(component_dir argo-rollouts "$ARGO_ROLLOUTS_VERSION")"
  kubectl_ apply --server-side --force-conflicts --field-manager=slogate-cluster \
    -f "$rollouts_dir/crds/rollout-crd.yaml" -f "$rollouts_dir/crds/analysis-run-crd.yaml" \
    -f "$rollouts_dir/crds/analysis-template-crd.yaml" -f "$rollouts_dir/crds/cluster-analysis-template-crd.yaml" \
    -f "$rollouts_dir/crds/experiment-crd.yaml" >/dev/null
  kubectl_ create namespace argo-rollouts --dry-run=client -o yaml | kubectl_ apply -f - >/dev/null
  wait_for kube-apiserver "serving the Argo Rollouts CRDs" rollouts_crds_established
  start argo-rollouts env POD_NAMESPACE=argo-rollouts rollouts-controller \
    --kubeconfig "$KUBECONFIG_FILE" --leader-elect=false \
    --healthzPort "$ROLLOUTS_HEALTHZ_PORT" --metricsport "$ROLLOUTS_METRICS_PORT" \
    --loglevel warn

  start_argocd
  create_nodes
  wait_for kube-controller-manager "healthy" healthz "https://127.0.0.1:$CONTROLLER_MANAGER_PORT/healthz"
  wait_for kube-scheduler "healthy" healthz "https://127.0.0.1:$SCHEDULER_PORT/healthz"
  wait_for kwok "reporting $NODE_COUNT Ready nodes" nodes_ready
  wait_for argo-rollouts "healthy" curl -sf --max-time 2 "http://127.0.0.1:$ROLLOUTS_HEALTHZ_PORT/healthz"
  wait_for argocd-repo-server "healthy" curl -sf --max-time 2 "http://127.0.0.1:$ARGOCD_REPO_SERVER_METRICS_PORT/healthz"
  wait_for argocd-application-controller "healthy" \
    curl -sf --max-time 2 "http://127.0.0.1:$ARGOCD_CONTROLLER_METRICS_PORT/healthz"
  wait_for kube-controller-manager "publishing the root CA to namespaces" \
    kubectl_ get configmap kube-root-ca.crt -n default
  info "cluster ready in $((SECONDS - started)) s: kubectl --kubeconfig $KUBECONFIG_FILE get nodes"
}

stop_pid() { # name
  # SIGTERM to its session, SIGKILL after 20 s; only while the pid still runs the recorded command.
  local name="$1" outcome
  [[ -f "$PIDS/$name.pid" ]] || return 0
  outcome="$(processes stop "$PIDS/$name.pid" 20)"
  [[ -z "$outcome" ]] || info "$name: $outcome"
}

down() {
  local i
  # The real node first (hack/node.sh): its containers outlive containerd unless stopped.
  "$HACK/node.sh" down || info "stopping the real node failed; see hack/node.sh down"
  for ((i = ${#COMPONENTS[@]} - 1; i >= 0; i--)); do
    stop_pid "${COMPONENTS[$i]}"
  done
  # Anything else a test started under this cluster (e.g. an operator) has a pid file too.
  if [[ -d "$PIDS" ]]; then
    for pidfile in "$PIDS"/*.pid; do
      [[ -e "$pidfile" ]] && stop_pid "$(basename "$pidfile" .pid)"
    done
  fi
  if [[ "${1:-}" == "--purge" ]]; then
    rm -rf "$CLUSTER_DIR"
    info "removed $CLUSTER_DIR"
  fi
}

status() {
  local name pid rc=0
  for name in "${COMPONENTS[@]}"; do
    if pid="$(processes running "$PIDS/$name.pid")"; then
      echo "$name: running (pid $pid)"
    else
      echo "$name: stopped"; rc=1
    fi
  done
  return $rc
}

case "${1:-}" in
  up) up ;;
  down) shift; down "$@" ;;
  status) status ;;
  *) die "usage: hack/cluster.sh up|down [--purge]|status" ;;
esac
