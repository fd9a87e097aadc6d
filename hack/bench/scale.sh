#!/usr/bin/env bash
# shellcheck source-path=SCRIPTDIR
# Fleet-scale benchmark (make bench-scale): starts a bare etcd and
# kube-apiserver from the sandbox tools on ports of its own, fills them with
# BENCH_NODES Docker nodes and BENCH_PODS running pods (ReplicaSets with a
# Deployment and a PodDisruptionBudget each, two DaemonSets, a CronJob,
# docker.sock mounts and DOCKER_HOST cases; no controllers run, so objects
# stay as written), then prints side by side, medians of BENCH_RUNS runs:
#   kubectl crimig plan --no-host -o json      wall time, peak RSS
#   kubectl get --raw /api/v1/pods (the floor) wall time, peak RSS
# and the CPU share and peak RSS of `kubectl crimig status` (its TUI under a
# pseudo-terminal) while idle and while BENCH_RATE Node status updates a
# second arrive. It is a benchmark: it prints figures and fails only when it
# cannot run. Everything is torn down on exit unless BENCH_KEEP=1.
#
# Environment: BENCH_NODES (2000), BENCH_PODS (60000), BENCH_REPLICASETS
#   (2800), BENCH_RATE (10), BENCH_RUNS (3), BENCH_STATUS_SECONDS (30),
#   BENCH_BIN (bin/kubectl-crimig), BENCH_BASELINE_BIN (empty; another
#   kubectl-crimig build whose plan and status are measured the same way,
#   e.g. the previous release),
#   BENCH_DIR (/dev/shm/crimig-bench: etcd on tmpfs), BENCH_APISERVER_PORT
#   (36443), BENCH_ETCD_PORT (32379), BENCH_ETCD_PEER_PORT (32380),
#   BENCH_KEEP (0; 1 leaves the filled cluster running, and a later run with
#   the same BENCH_DIR measures it again without filling).
set -euo pipefail

BENCH_DIR=${BENCH_DIR:-/dev/shm/crimig-bench}
export SANDBOX_DIR=${BENCH_DIR}
export SANDBOX_APISERVER_PORT=${BENCH_APISERVER_PORT:-36443}
export SANDBOX_ETCD_PORT=${BENCH_ETCD_PORT:-32379}
export SANDBOX_ETCD_PEER_PORT=${BENCH_ETCD_PEER_PORT:-32380}
export SANDBOX_APISERVER_PROXY_PORT=""

# shellcheck source=../sandbox/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/../sandbox/lib.sh"
# shellcheck source=../sandbox/procs.sh
source "$(dirname "${BASH_SOURCE[0]}")/../sandbox/procs.sh"
# shellcheck source=../sandbox/pki.sh
source "$(dirname "${BASH_SOURCE[0]}")/../sandbox/pki.sh"
# shellcheck source=../sandbox/controlplane.sh
source "$(dirname "${BASH_SOURCE[0]}")/../sandbox/controlplane.sh"

NODES=${BENCH_NODES:-2000}
PODS=${BENCH_PODS:-60000}
REPLICASETS=${BENCH_REPLICASETS:-2800}
RATE=${BENCH_RATE:-10}
RUNS=${BENCH_RUNS:-3}
STATUS_SECONDS=${BENCH_STATUS_SECONDS:-30}
BIN=$(realpath -m "${BENCH_BIN:-${REPO_ROOT}/bin/kubectl-crimig}")
BASELINE_BIN=${BENCH_BASELINE_BIN:-}
BENCH_TOOL="${BENCH_DIR}/bin/crimig-bench"

main() {
  [[ -x "${BIN}" ]] || die "${BIN} is missing: run make build, or set BENCH_BIN"
  [[ -z "${BASELINE_BIN}" || -x "${BASELINE_BIN}" ]] || die "BENCH_BASELINE_BIN=${BASELINE_BIN} is not an executable"
  "${REPO_ROOT}/hack/build-sandbox-tools.sh"
  [[ "${BENCH_KEEP:-0}" == 1 ]] || trap teardown EXIT
  if reusable; then
    log "measuring the cluster already filled in ${BENCH_DIR}"
  else
    if serving; then
      log "resuming the fill of the cluster kept in ${BENCH_DIR}"
    else
      [[ ! -e "${BENCH_DIR}" ]] || "${REPO_ROOT}/hack/sandbox-down.sh"
      start_control_plane
    fi
    log "filling: ${NODES} nodes, ${PODS} pods, ${REPLICASETS} ReplicaSets"
    "${BENCH_TOOL}" fill --kubeconfig "${DIRECT_KUBECONFIG}" --nodes "${NODES}" --pods "${PODS}" \
      --replicasets "${REPLICASETS}" >"${BENCH_DIR}/fill.out"
    mv "${BENCH_DIR}/fill.out" "${BENCH_DIR}/filled"
    cat "${BENCH_DIR}/filled"
  fi
  [[ "${BENCH_KEEP:-0}" != 1 ]] || log "BENCH_KEEP=1: stop it with SANDBOX_DIR=${BENCH_DIR} hack/sandbox-down.sh"
  measure
}

# reusable: a cluster kept with BENCH_KEEP=1 and completely filled.
reusable() {
  [[ -s "${BENCH_DIR}/filled" ]] && serving
}

# serving: a kept cluster (BENCH_KEEP=1) is up, perhaps filled only in part.
serving() {
  [[ -x "${BENCH_TOOL}" ]] && curl -sf --max-time 2 --cacert "${PKI}/ca.crt" "${APISERVER_URL}/readyz" >/dev/null
}

teardown() {
  "${REPO_ROOT}/hack/sandbox-down.sh" >/dev/null 2>&1 || echo "warning: could not tear down ${BENCH_DIR}; run SANDBOX_DIR=${BENCH_DIR} hack/sandbox-down.sh" >&2
}

start_control_plane() {
  local port
  for port in "${SANDBOX_APISERVER_PORT}" "${SANDBOX_ETCD_PORT}" "${SANDBOX_ETCD_PEER_PORT}"; do
    ! ss -Htln "sport = :${port}" | grep -q . || die "port ${port} is in use; set BENCH_APISERVER_PORT, BENCH_ETCD_PORT or BENCH_ETCD_PEER_PORT"
  done
  mkdir -p "${BENCH_DIR}/bin" "${LOGS_DIR}" "${PIDS_DIR}" "${KUBECONFIGS}"
  (cd "${REPO_ROOT}" && go build -o "${BENCH_TOOL}" ./hack/bench/crimig-bench) || die "could not build hack/bench/crimig-bench"
  make_pki "${PKI}"
  make_users
  APISERVER_AUDIT_ARGS=()
  start_etcd
  start_apiserver
}

# status_cpu BIN prints the CPU share and peak RSS of BIN's status TUI, idle
# and under Node updates.
status_cpu() {
  "${BENCH_TOOL}" status --kubeconfig "${DIRECT_KUBECONFIG}" --rate "${RATE}" --seconds "${STATUS_SECONDS}" --nodes "${NODES}" -- \
    "$1" status
}

measure() {
  local kc="${DIRECT_KUBECONFIG}" out="${BENCH_DIR}/results"
  : >"${out}"
  log "timing, ${RUNS} runs each"
  "${BENCH_TOOL}" time --runs "${RUNS}" --label "kubectl get --raw /api/v1/pods" -- \
    "${KUBECTL_BIN}" --kubeconfig "${kc}" get --raw /api/v1/pods | tee -a "${out}"
  "${BENCH_TOOL}" time --runs "${RUNS}" --label "kubectl crimig plan --no-host -o json" --ok-codes 0,2 -- \
    "${BIN}" --kubeconfig "${kc}" plan --no-host -o json | tee -a "${out}"
  [[ -z "${BASELINE_BIN}" ]] ||
    "${BENCH_TOOL}" time --runs "${RUNS}" --label "baseline plan --no-host -o json" --ok-codes 0,2 -- \
      "${BASELINE_BIN}" --kubeconfig "${kc}" plan --no-host -o json | tee -a "${out}"
  log "status: ${STATUS_SECONDS}s idle, then ${STATUS_SECONDS}s with ${RATE} Node updates a second"
  status_cpu "${BIN}" | tee -a "${out}"
  [[ -z "${BASELINE_BIN}" ]] || status_cpu "${BASELINE_BIN}" | sed 's/^status/baseline status/' | tee -a "${out}"
  report "${out}"
}

# report prints the figures as one table.
report() {
  echo
  cat "${BENCH_DIR}/filled"
  awk -F'\t' -v runs="${RUNS}" '
    BEGIN { printf "%-42s %10s %14s\n", "command (median of " runs ")", "wall s", "peak RSS MiB" }
    /^(baseline )?status/ { status[++n] = $0; next }
    { printf "%-42s %10s %14s\n", $1, $2, $3; if ($1 ~ /raw/) floor = $2; else if ($1 ~ /^kubectl crimig/) plan = $2 }
    END {
      if (floor > 0 && plan > 0) printf "plan / floor wall time: %.2fx\n", plan / floor
      printf "\n%-42s %10s\n", "kubectl crimig status (TUI)", "CPU % / MiB"
      for (i = 1; i <= n; i++) { split(status[i], f, "\t"); printf "%-42s %10s\n", f[1], f[2] }
    }' "$1"
}

main "$@"
