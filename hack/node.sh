#!/usr/bin/env bash
# One real node beside the kwok nodes of the local cluster: a kubelet (built by
# hack/build-binaries.sh from the cluster's Kubernetes module) on containerd and runc from Debian.
#   hack/node.sh up [IMAGE.oci.tar ...]   start it (idempotent), import the OCI archives given
#   hack/node.sh down                     stop the kubelet, every container, containerd
# The node is `slogate-node-1`, tainted slogate.dev/real-node=true:NoSchedule so only pods that
# tolerate it land there. No registry is reachable: images are imported into containerd (their
# pull policy must let the kubelet use them as they are), and the pod sandbox image
# registry.k8s.io/pause is made here from hack/gomod/pause. Pods run with the host's network only
# (hostNetwork): the node has no pod network, so it gives pods no addresses of their own.
# State under .cluster/node/. Needs root (containerd, runc).
set -euo pipefail
HACK="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=hack/lib.sh
source "$HACK/lib.sh"
CLUSTER_DIR="${SLOGATE_CLUSTER_DIR:-$ROOT/.cluster}"
NODE_DIR="$CLUSTER_DIR/node"
PIDS="$CLUSTER_DIR/pids"
LOGS="$CLUSTER_DIR/logs"
PKI="$CLUSTER_DIR/pki"
NODE_NAME="slogate-node-1"
TAINT_KEY="slogate.dev/real-node"
SOCKET="$NODE_DIR/containerd/containerd.sock"
KUBELET_DIR="$(component_dir kubelet "$KUBERNETES_VERSION")"
PATH="$(bin_path):$PATH"

kubectl_() { kubectl --kubeconfig "$CLUSTER_DIR/kubeconfig" "$@"; }
ctr_() { ctr --address "$SOCKET" --namespace k8s.io "$@"; }

check_machine() {
  [[ $(id -u) -eq 0 ]] || die "the real node needs root (containerd and runc)"
  [[ -x "$KUBELET_DIR/kubelet" ]] || die "no kubelet in $KUBELET_DIR; run 'make binaries'"
  [[ -f "$CLUSTER_DIR/kubeconfig" ]] || die "the local cluster is not up; run 'make cluster-up'"
  "$HACK/install-debian-package.sh" containerd containerd
  "$HACK/install-debian-package.sh" runc runc
  [[ -x /usr/lib/cni/loopback ]] || "$HACK/install-debian-package.sh" /usr/lib/cni/loopback containernetworking-plugins
}

write_config() {
  mkdir -p "$NODE_DIR/containerd" "$NODE_DIR/cni" "$NODE_DIR/kubelet"
  # Every port is picked here, before anything binds: containerd's stream server would otherwise
  # take a port of its own choosing, possibly the one picked for the kubelet.
  local port healthz stream
  port="$(free_port)" healthz="$(free_port)" stream="$(free_port)"
  # A network that gives pods nothing but their loopback: containerd reports the network ready, and
  # the node takes hostNetwork pods only (it allocates no pod addresses).
  cat >"$NODE_DIR/cni/10-loopback.conflist" <<'EOF'
{"cniVersion": "0.4.0", "name": "slogate-host-network-only", "plugins": [{"type": "loopback"}]}
EOF
  cat >"$NODE_DIR/containerd/config.toml" <<EOF
version = 2
root = "$NODE_DIR/containerd/root"
state = "$NODE_DIR/containerd/state"
disabled_plugins = ["io.containerd.internal.v1.opt", "io.containerd.snapshotter.v1.btrfs",
  "io.containerd.snapshotter.v1.zfs", "io.containerd.snapshotter.v1.devmapper",
  "io.containerd.snapshotter.v1.aufs"]
[grpc]
  address = "$SOCKET"
[ttrpc]
  address = "$SOCKET.ttrpc"
[plugins."io.containerd.grpc.v1.cri"]
  sandbox_image = "registry.k8s.io/pause:3.10"
  disable_apparmor = true
  stream_server_address = "127.0.0.1"
  stream_server_port = "$stream"
  [plugins."io.containerd.grpc.v1.cri".containerd]
    snapshotter = "overlayfs"
    default_runtime_name = "runc"
    [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]
      runtime_type = "io.containerd.runc.v2"
      [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc.options]
        BinaryName = "$HACK/node-runc"
  [plugins."io.containerd.grpc.v1.cri".cni]
    bin_dir = "/usr/lib/cni"
    conf_dir = "$NODE_DIR/cni"
EOF
  cat >"$NODE_DIR/kubelet.yaml" <<EOF
apiVersion: kubelet.config.k8s.io/v1beta1
kind: KubeletConfiguration
# This machine's kind runs cgroup v1, which Kubernetes 1.35+ refuses unless told otherwise.
failCgroupV1: false
failSwapOn: false
cgroupDriver: cgroupfs
cgroupsPerQOS: false
enforceNodeAllocatable: []
containerRuntimeEndpoint: unix://$SOCKET
address: 127.0.0.1
port: $port
healthzBindAddress: 127.0.0.1
healthzPort: $healthz
readOnlyPort: 0
authentication:
  anonymous: {enabled: false}
  webhook: {enabled: true}
  x509: {clientCAFile: $PKI/ca.crt}
authorization: {mode: Webhook}
# Imported images are never collected, and a full disk of a shared machine evicts nothing.
evictionHard: {}
imageGCHighThresholdPercent: 100
imageGCLowThresholdPercent: 99
registerWithTaints:
- {key: $TAINT_KEY, value: "true", effect: NoSchedule}
resolvConf: /etc/resolv.conf
# Container logs stay with the node's state: kubectl logs cannot reach a node without an address.
podLogsDir: $NODE_DIR/pod-logs
EOF
  echo "$healthz" >"$NODE_DIR/healthz.port"
  if [[ ! -f "$PKI/$NODE_NAME.crt" ]]; then
    # The Node authorizer and NodeRestriction know a kubelet by this name and group.
    openssl req -new -newkey rsa:2048 -nodes -keyout "$PKI/$NODE_NAME.key" \
      -subj "/O=system:nodes/CN=system:node:$NODE_NAME" -out "$PKI/$NODE_NAME.csr" 2>/dev/null
    openssl x509 -req -in "$PKI/$NODE_NAME.csr" -CA "$PKI/ca.crt" -CAkey "$PKI/ca.key" -CAcreateserial \
      -days 3650 -out "$PKI/$NODE_NAME.crt" -extfile "$PKI/client.ext" 2>/dev/null
    rm -f "$PKI/$NODE_NAME.csr"
  fi
  local server
  server="$(kubectl_ config view --minify -o jsonpath='{.clusters[0].cluster.server}')"
  cat >"$NODE_DIR/kubeconfig" <<EOF
apiVersion: v1
kind: Config
clusters:
- name: slogate-local
  cluster: {server: "$server", certificate-authority: "$PKI/ca.crt"}
users:
- name: $NODE_NAME
  user: {client-certificate: "$PKI/$NODE_NAME.crt", client-key: "$PKI/$NODE_NAME.key"}
contexts:
- name: $NODE_NAME
  context: {cluster: slogate-local, user: $NODE_NAME}
current-context: $NODE_NAME
EOF
}

wait_for() { # seconds description command...
  local seconds="$1" what="$2" deadline; shift 2
  deadline=$((SECONDS + seconds))
  until "$@" >/dev/null 2>&1; do
    ((SECONDS < deadline)) || die "timed out after ${seconds}s waiting for $what"
    sleep 0.5
  done
}

node_ready() {
  [[ "$(kubectl_ get node "$NODE_NAME" -o jsonpath='{.status.conditions[?(@.type=="Ready")].status}')" == True ]]
}

up() {
  check_machine
  mkdir -p "$PIDS" "$LOGS"
  local started=$SECONDS
  if ! processes running "$PIDS/containerd.pid" >/dev/null; then
    write_config
    processes start "$PIDS/containerd.pid" "$LOGS/containerd.log" \
      containerd --config "$NODE_DIR/containerd/config.toml" >/dev/null
    wait_for 30 "containerd" ctr_ version
    "$ROOT/.venv/bin/python" "$HACK/build_image.py" --pause-image "$KUBELET_DIR/pause" \
      --output "$NODE_DIR/pause.oci.tar" >/dev/null
    ctr_ images import "$NODE_DIR/pause.oci.tar" >/dev/null
  fi
  local archive
  for archive in "$@"; do
    ctr_ images import "$archive" >/dev/null
    info "imported $archive into the node's containerd"
  done
  if ! processes running "$PIDS/kubelet.pid" >/dev/null; then
    processes start "$PIDS/kubelet.pid" "$LOGS/kubelet.log" \
      "$KUBELET_DIR/kubelet" --config "$NODE_DIR/kubelet.yaml" --kubeconfig "$NODE_DIR/kubeconfig" \
      --hostname-override "$NODE_NAME" --node-ip 127.0.0.1 \
      --root-dir "$NODE_DIR/kubelet" --cert-dir "$NODE_DIR/kubelet/pki" >/dev/null
  fi
  wait_for 90 "node $NODE_NAME Ready (log: $LOGS/kubelet.log)" node_ready
  # The kubelet refuses to report a loopback address ("nodeIP can't be loopback address") and then
  # leaves the addresses as they are: given 127.0.0.1, as the kwok nodes have, hostNetwork pods get
  # it as their IP and the kubelet's probes reach them there.
  kubectl_ patch node "$NODE_NAME" --subresource=status --type=merge \
    -p '{"status":{"addresses":[{"type":"InternalIP","address":"127.0.0.1"},{"type":"Hostname","address":"'"$NODE_NAME"'"}]}}' >/dev/null
  info "node $NODE_NAME ready in $((SECONDS - started)) s (tainted $TAINT_KEY=true:NoSchedule)"
}

down() {
  [[ -d "$NODE_DIR" ]] || return 0
  [[ -f "$PIDS/kubelet.pid" ]] && processes stop "$PIDS/kubelet.pid" 20 >/dev/null
  if processes running "$PIDS/containerd.pid" >/dev/null; then
    # Containers outlive containerd (their shims keep them): stop them first.
    local task
    for task in $(ctr_ tasks list -q 2>/dev/null); do
      ctr_ tasks kill --signal SIGKILL "$task" >/dev/null 2>&1 || true
    done
    sleep 1
    for task in $(ctr_ tasks list -q 2>/dev/null); do
      ctr_ tasks delete --force "$task" >/dev/null 2>&1 || true
    done
    processes stop "$PIDS/containerd.pid" 20 >/dev/null
  fi
  # The kubelet's own mounts (its root directory, pods' token volumes), deepest first.
  local target
  findmnt -rn -o TARGET | { grep "^$NODE_DIR/" || true; } | sort -r | while read -r target; do
    umount "$target" || true
  done
  # The kubelet links each container's log from /var/log/containers (a fixed path) into ours.
  local link
  for link in /var/log/containers/*.log; do
    if [[ -L "$link" && "$(readlink "$link")" == "$NODE_DIR/"* ]]; then
      rm -f "$link"
    fi
  done
  kubectl_ delete node "$NODE_NAME" --ignore-not-found --wait=false >/dev/null 2>&1 || true
}

case "${1:-}" in
  up) shift; up "$@" ;;
  down) down ;;
  *) die "usage: hack/node.sh up [IMAGE.oci.tar ...] | down" ;;
esac
