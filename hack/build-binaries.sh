#!/usr/bin/env bash
# Build the local cluster's binaries from the Go module proxy, pinned by
# hack/versions.env, into a cache outside the work tree keyed by version:
#   $SLOGATE_CACHE/<component>-<version>/   (default ~/.cache/slogate)
# A component whose directory is complete is skipped, so warm runs take a second.
# Usage: hack/build-binaries.sh [component ...]   (default: all)
set -euo pipefail
HACK="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=hack/lib.sh
source "$HACK/lib.sh"

export GOTOOLCHAIN=local GOFLAGS="-mod=mod -buildvcs=false" CGO_ENABLED=0

command -v go >/dev/null || die "go is not installed; install Go >= 1.26.1 (the wrapper modules need it)"

build_component() { # name version builder expected-file...
  local name="$1" version="$2" builder="$3"; shift 3
  local dest; dest="$(component_dir "$name" "$version")"
  if [[ -f "$dest/.complete" ]]; then
    return 0
  fi
  local staging="$dest.partial" log="$SLOGATE_CACHE/logs/$name-$version.log"
  mkdir -p "$SLOGATE_CACHE/logs"
  rm -rf "$staging" && mkdir -p "$staging"
  local started=$SECONDS
  info "building $name $version (log: $log)"
  # In the background so that `set -e` stays in force inside the builder.
  "$builder" "$version" "$staging" >"$log" 2>&1 &
  if ! wait $!; then
    tail -n 20 "$log" >&2
    die "building $name $version failed; the module named above is what the Go module proxy refused or failed to compile. Full log: $log"
  fi
  local expected
  for expected in "$@"; do
    [[ -s "$staging/$expected" ]] || die "building $name $version produced no $expected; see $log"
  done
  touch "$staging/.complete"
  rm -rf "$dest" && mv "$staging" "$dest"
  info "built $name $version in $((SECONDS - started)) s"
}

module_dir() {
  (cd /tmp && go mod download -json "$1" | python3 -c 'import json,sys; d=json.load(sys.stdin); sys.exit(d["Error"]) if d.get("Error") else print(d["Dir"])')
}

kubernetes_ldflags() { # version: stamped, or helm and Argo Rollouts fail to parse the server version
  local version="$1" minor ldflags="-s -w"
  minor="$(echo "$version" | cut -d. -f2)"
  for pkg in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
    ldflags+=" -X $pkg.gitVersion=$version -X $pkg.gitMajor=1 -X $pkg.gitMinor=$minor -X $pkg.gitTreeState=clean"
  done
  printf '%s' "$ldflags"
}

build_kubernetes() {
  local version="$1" out="$2"
  cd "$HACK/gomod/kubernetes"
  go build -trimpath -ldflags "$(kubernetes_ldflags "$version")" -o "$out/" \
    k8s.io/kubernetes/cmd/kube-apiserver \
    k8s.io/kubernetes/cmd/kube-controller-manager \
    k8s.io/kubernetes/cmd/kube-scheduler \
    k8s.io/kubernetes/cmd/kubectl
}

build_kubelet() {
  # The real node's kubelet (hack/node.sh), from the same wrapper module as the control plane, and
  # its pod sandbox process (no registry serves registry.k8s.io/pause here).
  local version="$1" out="$2"
  (cd "$HACK/gomod/kubernetes" &&
    go build -trimpath -ldflags "$(kubernetes_ldflags "$version")" -o "$out/" k8s.io/kubernetes/cmd/kubelet)
  (cd "$HACK/gomod/pause" && go build -trimpath -ldflags "-s -w" -o "$out/pause" .)
}

build_etcd() {
  local version="$1" out="$2"
  cd "$HACK/gomod/etcd"
  go build -trimpath -ldflags "-s -w" -o "$out/etcd" go.etcd.io/etcd/server/v3
}

build_kwok() {
  local version="$1" out="$2" dir
  GOBIN="$out" go install -trimpath -ldflags "-s -w" "sigs.k8s.io/kwok/cmd/kwok@$version"
  dir="$(module_dir "sigs.k8s.io/kwok@$version")"
  # kwok exits with "no stages found" unless given the Stage objects it ships.
  local stage
  for stage in node/fast/node-initialize node/heartbeat-with-lease/node-heartbeat-with-lease \
    pod/fast/pod-ready pod/fast/pod-complete pod/fast/pod-delete; do
    [[ -f "$dir/kustomize/stage/$stage.yaml" ]] || { echo "kwok $version ships no stage $stage"; return 1; }
    cat "$dir/kustomize/stage/$stage.yaml" && echo ---
  done >"$out/stages.yaml"
}

build_helm() {
  local version="$1" out="$2"
  GOBIN="$out" go install -trimpath \
    -ldflags "-s -w -X helm.sh/helm/v3/internal/version.version=$version" \
    "helm.sh/helm/v3/cmd/helm@$version"
}

build_argo_rollouts() {
  local version="$1" out="$2" dir
  cd "$HACK/gomod/argo-rollouts"
  go build -trimpath -ldflags "-s -w -X github.com/argoproj/argo-rollouts/utils/version.version=${version#v}" \
    -o "$out/rollouts-controller" github.com/argoproj/argo-rollouts/cmd/rollouts-controller
  dir="$(module_dir "github.com/argoproj/argo-rollouts@$version")"
  mkdir -p "$out/crds" && cp "$dir"/manifests/crds/*.yaml "$out/crds/"
}

build_argo_cd() {
  local version="$1" out="$2" dir
  cd "$HACK/gomod/argo-cd"
  # One multi-call binary; cmd/main.go picks the component from the name it runs as.
  go build -trimpath -ldflags "-s -w -X github.com/argoproj/argo-cd/v3/common.version=${version#v}" \
    -o "$out/argocd" github.com/argoproj/argo-cd/v3/cmd
  ln -s argocd "$out/argocd-application-controller"
  ln -s argocd "$out/argocd-repo-server"
  dir="$(module_dir "github.com/argoproj/argo-cd/v3@$version")"
  mkdir -p "$out/crds" "$out/config"
  cp "$dir"/manifests/crds/application-crd.yaml "$dir"/manifests/crds/appproject-crd.yaml "$out/crds/"
  cp "$dir"/manifests/base/config/argocd-cm.yaml "$dir"/manifests/base/config/argocd-secret.yaml "$out/config/"
}

components=("$@")
[[ ${#components[@]} -gt 0 ]] || components=(etcd kubernetes kubelet kwok helm argo-rollouts argo-cd)
for component in "${components[@]}"; do
  case "$component" in
    kubernetes)
      build_component kubernetes "$KUBERNETES_VERSION" build_kubernetes \
        kube-apiserver kube-controller-manager kube-scheduler kubectl ;;
    kubelet) build_component kubelet "$KUBERNETES_VERSION" build_kubelet kubelet pause ;;
    etcd) build_component etcd "$ETCD_VERSION" build_etcd etcd ;;
    kwok) build_component kwok "$KWOK_VERSION" build_kwok kwok stages.yaml ;;
    helm) build_component helm "$HELM_VERSION" build_helm helm ;;
    argo-rollouts)
      build_component argo-rollouts "$ARGO_ROLLOUTS_VERSION" build_argo_rollouts \
        rollouts-controller crds/rollout-crd.yaml ;;
    argo-cd)
      build_component argo-cd "$ARGO_CD_VERSION" build_argo_cd \
        argocd crds/application-crd.yaml config/argocd-cm.yaml ;;
    *) die "unknown component '$component' (known: etcd kubernetes kubelet kwok helm argo-rollouts argo-cd)" ;;
  esac
done
