#!/usr/bin/env bash
# shellcheck source-path=SCRIPTDIR
# Host-facts benchmark (make bench-hostfacts): brings the sandbox up with
# BENCH_HOSTFACTS_NODES simulated Docker nodes (hack/sandbox-up.sh, with the
# SANDBOX_* ports and directory of the environment), then times, medians of
# BENCH_RUNS runs, `kubectl crimig plan -o json` with host facts on one node
# and on every node, once per --parallel value in BENCH_PARALLEL (empty: the
# default), and prints what the sandbox's processes hold in memory. It fails
# only when it cannot run. The sandbox is stopped on exit unless BENCH_KEEP=1;
# a sandbox already up with that many nodes is reused.
#
# Environment: BENCH_HOSTFACTS_NODES (200), BENCH_RUNS (1), BENCH_PARALLEL
#   (empty, e.g. "10 50 200"), BENCH_BIN (bin/kubectl-crimig), BENCH_KEEP (0),
#   and the SANDBOX_* variables of hack/sandbox-up.sh.
set -euo pipefail

export SANDBOX_NODES=${BENCH_HOSTFACTS_NODES:-200}
# shellcheck source=../sandbox/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/../sandbox/lib.sh"
# shellcheck source=../sandbox/procs.sh
source "$(dirname "${BASH_SOURCE[0]}")/../sandbox/procs.sh"

RUNS=${BENCH_RUNS:-1}
read -r -a PARALLEL <<<"${BENCH_PARALLEL:-}"
BIN=$(realpath -m "${BENCH_BIN:-${REPO_ROOT}/bin/kubectl-crimig}")
BENCH_TOOL="${TMPDIR:-/tmp}/crimig-bench-$$"

main() {
  [[ -x "${BIN}" ]] || die "${BIN} is missing: run make build, or set BENCH_BIN"
  (cd "${REPO_ROOT}" && go build -o "${BENCH_TOOL}" ./hack/bench/crimig-bench) || die "could not build hack/bench/crimig-bench"
  trap 'rm -f "${BENCH_TOOL}"' EXIT
  if [[ "$(running_nodes)" != "${SANDBOX_NODES}" ]]; then
    [[ ! -e "${SANDBOX_DIR}" ]] || "${REPO_ROOT}/hack/sandbox-down.sh"
    [[ "${BENCH_KEEP:-0}" == 1 ]] || trap 'rm -f "${BENCH_TOOL}"; "${REPO_ROOT}/hack/sandbox-down.sh" >/dev/null 2>&1' EXIT
    local t0
    t0=$(date +%s.%N)
    "${REPO_ROOT}/hack/sandbox-up.sh"
    log "sandbox with ${SANDBOX_NODES} nodes up in $(elapsed_since "${t0}")s"
  else
    log "reusing the sandbox in ${SANDBOX_DIR} (${SANDBOX_NODES} nodes)"
  fi
  local kc="${SANDBOX_DIR}/kubeconfig" out p
  out=$(mktemp)
  timed "plan node-1 -o json (host facts: 1 node)" "${BIN}" --kubeconfig "${kc}" plan node-1 -o json
  if ((${#PARALLEL[@]} == 0)); then
    timed "plan -o json (host facts: ${SANDBOX_NODES} nodes)" "${BIN}" --kubeconfig "${kc}" plan -o json
  fi
  for p in "${PARALLEL[@]}"; do
    timed "plan -o json --parallel ${p} (${SANDBOX_NODES} nodes)" "${BIN}" --kubeconfig "${kc}" plan -o json --parallel "${p}"
  done
  echo
  awk -F'\t' 'BEGIN { printf "%-50s %8s %14s %16s\n", "command (median)", "wall s", "peak RSS MiB", "sandbox CPU s" }
    { printf "%-50s %8s %14s %16s\n", $1, $2, $3, $5; if (NR == 1) one = $2; else printf "%-50s %8.1fx\n", "  against one node", $2 / one }' "${out}"
  rm -f "${out}"
  echo "sandbox: $(sandbox_memory) MiB RSS in its processes; load average $(cut -d' ' -f1-3 /proc/loadavg) on $(nproc) CPUs"
}

# timed LABEL COMMAND... times COMMAND and appends its figures to ${out},
# with the CPU seconds the sandbox's processes (simulated hosts included)
# spent meanwhile, per run.
timed() {
  local label=$1 c0 c1 line
  shift
  c0=$(sandbox_cpu)
  line=$("${BENCH_TOOL}" time --runs "${RUNS}" --label "${label}" --ok-codes 0,2 -- "$@")
  c1=$(sandbox_cpu)
  line+=$'\t'$(awk -v a="${c0}" -v b="${c1}" -v n="${RUNS}" 'BEGIN { printf "%.0f", (b - a) / n }')
  echo "${line}" | tee -a "${out}"
}

# sandbox_pids prints the PIDs of the sandbox's components.
sandbox_pids() {
  local file
  for file in "${PIDS_DIR}"/*.pid; do
    sandbox_pid "$(basename "${file}" .pid)" || true
  done
}

# sandbox_cpu prints the CPU seconds used so far by the sandbox's process
# groups, their reaped children included.
sandbox_cpu() {
  local pids
  pids=$(sandbox_pids | tr '\n' ' ')
  { cat /proc/[0-9]*/stat 2>/dev/null || true; } | awk -v ids=" ${pids} " -v hz="$(getconf CLK_TCK)" '
    { pid = $1; sub(/^[0-9]+ \(.*\) /, "")
      if (index(ids, " " pid " ") || index(ids, " " $3 " ")) t += $12 + $13 + $14 + $15 }
    END { printf "%.1f", t / hz }'
}

# running_nodes prints the node count of a sandbox already up, or nothing.
running_nodes() {
  [[ -f "${SANDBOX_DIR}/env" ]] && any_running || return 0
  # shellcheck disable=SC1091 # written by sandbox-up.sh
  (source "${SANDBOX_DIR}/env" && echo "${SANDBOX_NODES}")
}

# sandbox_memory sums the RSS of the sandbox's components and their children.
sandbox_memory() {
  local pids
  pids=$(sandbox_pids | tr '\n' ' ')
  { cat /proc/[0-9]*/stat 2>/dev/null || true; } | awk -v ids=" ${pids} " '
    { pid = $1; sub(/^[0-9]+ \(.*\) /, "")
      if (index(ids, " " pid " ") || index(ids, " " $3 " ")) kib += $22 * 4 }
    END { printf "%.0f", kib / 1024 }'
}

main "$@"
