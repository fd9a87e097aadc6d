# shellcheck shell=bash disable=SC2034 # the variables are used by the scripts that source this file
# Shared settings for the sandbox scripts: versions, cache paths, ports and
# small helpers. Sourced by build-sandbox-tools.sh, sandbox-up.sh and
# sandbox-down.sh; every value can be overridden from the environment.

REPO_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
TOOLS_DIR="${REPO_ROOT}/hack/tools"

# tools_version MODULE_DIR MODULE prints the version a tools go.mod pins, so
# that go.mod stays the only place a version is written down.
tools_version() {
  awk -v m="$2" '$1 == m && $2 ~ /^v/ { print $2; exit }
    $1 == "require" && $2 == m { print $3; exit }' "$1/go.mod"
}

K8S_VERSION=$(tools_version "${TOOLS_DIR}" k8s.io/kubernetes)
ETCD_VERSION=$(tools_version "${TOOLS_DIR}/etcd" go.etcd.io/etcd/server/v3)
KWOK_VERSION=$(tools_version "${TOOLS_DIR}/kwok" sigs.k8s.io/kwok)

CACHE_ROOT="${XDG_CACHE_HOME:-${HOME}/.cache}/crimig-sandbox"
K8S_BIN_DIR="${CACHE_ROOT}/${K8S_VERSION}"
ETCD_BIN="${CACHE_ROOT}/etcd-${ETCD_VERSION}/etcd"
KWOK_BIN="${CACHE_ROOT}/kwok-${KWOK_VERSION}/kwok"
KUBECTL_BIN="${K8S_BIN_DIR}/kubectl"

# Absolute, because the components run with the repo as working directory.
SANDBOX_DIR=$(realpath -m "${SANDBOX_DIR:-${REPO_ROOT}/.sandbox}")
SANDBOX_APISERVER_PORT="${SANDBOX_APISERVER_PORT:-16443}"
SANDBOX_ETCD_PORT="${SANDBOX_ETCD_PORT:-12379}"
SANDBOX_ETCD_PEER_PORT="${SANDBOX_ETCD_PEER_PORT:-12380}"
SANDBOX_KWOK_PORT="${SANDBOX_KWOK_PORT:-10247}"
SANDBOX_KCM_PORT="${SANDBOX_KCM_PORT:-10257}"
SANDBOX_SCHEDULER_PORT="${SANDBOX_SCHEDULER_PORT:-10259}"
SANDBOX_NODES="${SANDBOX_NODES:-3}"
# How the API server reaches kubelets (kwok's, or the real node's by name).
SANDBOX_KUBELET_ADDRESS_TYPES="${SANDBOX_KUBELET_ADDRESS_TYPES:-InternalIP,Hostname}"
# Empty: no proxy (see sandbox-up.sh).
SANDBOX_APISERVER_PROXY_PORT="${SANDBOX_APISERVER_PROXY_PORT:-}"

# The start time of the calling script, for elapsed-time reports.
SANDBOX_T0=$(date +%s.%N)

log() {
  printf '[%6.1fs] %s\n' "$(elapsed_since "${SANDBOX_T0}")" "$*" >&2
}

die() {
  printf 'error: %s\n' "$*" >&2
  exit 1
}

elapsed_since() {
  awk -v a="$1" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }'
}

# sandbox_lock serialises sandbox-up and sandbox-down on one SANDBOX_DIR
# (several people and test runs share a checkout). The lock lives outside
# SANDBOX_DIR because sandbox-down deletes it; a nested call (sandbox-up
# cleaning up through sandbox-down) inherits it.
sandbox_lock() {
  [[ "${CRIMIG_SANDBOX_LOCKED:-}" == "${SANDBOX_DIR}" ]] && return 0
  local file
  file="${TMPDIR:-/tmp}/crimig-sandbox-$(printf '%s' "${SANDBOX_DIR}" | sha256sum | cut -c1-12).lock"
  exec 9>>"${file}"
  if ! flock -n 9; then
    log "waiting for another sandbox-up/down on ${SANDBOX_DIR} (lock ${file})"
    flock -w 900 9 || die "another sandbox-up/down on ${SANDBOX_DIR} held ${file} for 15 minutes"
  fi
  export CRIMIG_SANDBOX_LOCKED="${SANDBOX_DIR}"
}
