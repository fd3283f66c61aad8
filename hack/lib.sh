# Shared shell helpers for hack/: pinned versions, cache locations, messages.
HACK="${HACK:-$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)}"
ROOT="$(cd "$HACK/.." && pwd)"
# shellcheck source=hack/versions.env
source "$HACK/versions.env"
SLOGATE_CACHE="${SLOGATE_CACHE:-$HOME/.cache/slogate}"

info() { printf '[slogate] %s\n' "$*" >&2; }
die() { printf '[slogate] error: %s\n' "$*" >&2; exit 1; }

# Background processes (pid files that record their command) and free ports have one implementation,
# shared with hack/demo.py and the test harness; it needs only the system python3.
processes() { python3 "$ROOT/tests/harness/processes.py" "$@"; }
free_port() { processes free-port; }

component_dir() { printf '%s/%s-%s' "$SLOGATE_CACHE" "$1" "$2"; }

# Directory holding every cached binary, for PATH.
bin_path() {
  local dirs=(
    "$(component_dir kubernetes "$KUBERNETES_VERSION")"
    "$(component_dir etcd "$ETCD_VERSION")"
    "$(component_dir kwok "$KWOK_VERSION")"
    "$(component_dir helm "$HELM_VERSION")"
    "$(component_dir argo-rollouts "$ARGO_ROLLOUTS_VERSION")"
    "$(component_dir argo-cd "$ARGO_CD_VERSION")"
  )
  local IFS=:
  printf '%s' "${dirs[*]}"
}
