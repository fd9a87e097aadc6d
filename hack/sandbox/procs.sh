# shellcheck shell=bash
# Process bookkeeping for the sandbox: every component runs in its own session
# (so its whole process group can be stopped), logs to LOGS_DIR/<name>.log and
# records its PID in PIDS_DIR/<name>.pid. Sourced after lib.sh.

LOGS_DIR="${SANDBOX_DIR}/logs"
PIDS_DIR="${SANDBOX_DIR}/pids"

# start_process NAME COMMAND... starts COMMAND in the background, detached
# from the caller's terminal and output, with the repo as working directory.
# The PID is written by the process itself just before exec, so it is right
# even if setsid has to fork.
start_process() {
  local name=$1
  shift
  log "starting ${name}"
  # The subshell execs setsid, so no shell lingers holding the caller's
  # stdout (a pipe, under go test or "| tee"); fd 9 is sandbox_lock's, which
  # a long-lived child must not keep.
  # shellcheck disable=SC2016 # $$, $0 and $@ belong to the inner sh
  (cd "${REPO_ROOT}" &&
    exec setsid sh -c 'echo $$ >"$0" && exec "$@"' "${PIDS_DIR}/${name}.pid" "$@") \
    >"${LOGS_DIR}/${name}.log" 2>&1 </dev/null 9>&- &
  local i
  for ((i = 0; i < 50; i++)); do
    [[ -s "${PIDS_DIR}/${name}.pid" ]] && return 0
    sleep 0.1
  done
  die "${name} did not start; see ${LOGS_DIR}/${name}.log"
}

# sandbox_pid NAME prints the PID of component NAME if it is alive and still
# ours: a recycled PID belongs to a process that does not mention SANDBOX_DIR.
sandbox_pid() {
  local file="${PIDS_DIR}/$1.pid" pid
  [[ -s "${file}" ]] || return 1
  pid=$(<"${file}")
  [[ "${pid}" =~ ^[0-9]+$ ]] || return 1
  tr '\0' ' ' 2>/dev/null <"/proc/${pid}/cmdline" | grep -qF -- "${SANDBOX_DIR}" || return 1
  echo "${pid}"
}

# any_running succeeds when at least one recorded component is alive.
any_running() {
  local file
  for file in "${PIDS_DIR}"/*.pid; do
    [[ -e "${file}" ]] || continue
    sandbox_pid "$(basename "${file}" .pid)" >/dev/null && return 0
  done
  return 1
}

# wait_until SECONDS NAME CHECK polls the shell command CHECK until it succeeds;
# it fails early, showing the log, when component NAME has exited.
wait_until() {
  local timeout=$1 name=$2 check=$3 t0
  t0=$(date +%s.%N)
  while ! eval "${check}" >/dev/null 2>&1; do
    if ! sandbox_pid "${name}" >/dev/null; then
      tail -n 20 "${LOGS_DIR}/${name}.log" >&2 || true
      die "${name} exited during start-up; full log: ${LOGS_DIR}/${name}.log"
    fi
    if awk -v e="$(elapsed_since "${t0}")" -v t="${timeout}" 'BEGIN { exit !(e > t) }'; then
      tail -n 20 "${LOGS_DIR}/${name}.log" >&2 || true
      die "${name} not ready after ${timeout}s; full log: ${LOGS_DIR}/${name}.log"
    fi
    sleep 0.2
  done
  log "${name} ready ($(elapsed_since "${t0}")s)"
}
