#!/usr/bin/env bash
# shellcheck source-path=SCRIPTDIR
# Stops the sandbox started by hack/sandbox-up.sh and removes its state.
# It stops the processes recorded in the PID files (with their process
# groups), then any process still chrooted into the sandbox's host roots
# (jobs the simulated systemd-run detached), unmounts whatever is mounted
# below the sandbox directory and deletes it. Safe to run any number of times.
#
# Usage: hack/sandbox-down.sh
set -euo pipefail

# shellcheck source=sandbox/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/sandbox/lib.sh"
# shellcheck source=sandbox/procs.sh
source "$(dirname "${BASH_SOURCE[0]}")/sandbox/procs.sh"

# Stopped first, so that nothing recreates pods or rewrites nodes while the
# control plane goes away; etcd goes last, so the API server can shut down
# cleanly instead of retrying a vanished etcd.
FRONT=(crimig-sim kwok)
CONTROL_PLANE=(kube-scheduler kube-controller-manager kube-apiserver)

main() {
  case "${SANDBOX_DIR}" in
    / | "${HOME}" | "${REPO_ROOT}") die "refusing to remove SANDBOX_DIR=${SANDBOX_DIR}" ;;
  esac
  sandbox_lock
  if [[ ! -e "${SANDBOX_DIR}" ]]; then
    log "no sandbox at ${SANDBOX_DIR}"
    return
  fi
  stop_group 10 "${FRONT[@]}"
  stop_group 5 "${CONTROL_PLANE[@]}"
  stop_group 1 etcd
  stop_strays
  unmount_all
  log "processes stopped; removing ${SANDBOX_DIR}"
  rm -rf --one-file-system "${SANDBOX_DIR}"
  log "sandbox stopped and ${SANDBOX_DIR} removed"
}

# stop_group GRACE NAME... sends SIGTERM to the process groups of the named
# components, waits up to GRACE seconds for them to exit, then sends SIGKILL.
# etcd gets little grace: its data is deleted right after.
stop_group() {
  local grace=$1 name pid pids=()
  shift
  for name in "$@"; do
    pid=$(sandbox_pid "${name}") || continue
    log "stopping ${name} (pid ${pid})"
    kill -TERM -- "-${pid}" 2>/dev/null || kill -TERM "${pid}" 2>/dev/null || true
    pids+=("${pid}")
  done
  ((${#pids[@]} > 0)) || return 0
  wait_gone "${grace}" "${pids[@]}" && return 0
  for pid in "${pids[@]}"; do
    kill -KILL -- "-${pid}" 2>/dev/null || kill -KILL "${pid}" 2>/dev/null || true
  done
  wait_gone 5 "${pids[@]}" || die "processes ${pids[*]} survived SIGKILL"
}

# wait_gone SECONDS PID... succeeds once no PID and no member of its process
# group is left.
wait_gone() {
  local deadline=$(($(date +%s) + $1))
  shift
  while (($(date +%s) <= deadline)); do
    live_in_groups "$@" || return 0
    sleep 0.1
  done
  return 1
}

# live_in_groups PID... succeeds if a process whose PID or process group is
# one of PID is still running. Zombies count as gone: PID 1 on this kind of
# VM reaps orphans only every second or so.
live_in_groups() {
  # cat fails on processes that vanish meanwhile; only awk's verdict counts.
  { cat /proc/[0-9]*/stat 2>/dev/null || true; } | awk -v ids=" $* " '
    { pid = $1; sub(/^[0-9]+ \(.*\) /, "")
      if ($1 != "Z" && (index(ids, " " pid " ") || index(ids, " " $3 " "))) { found = 1; exit } }
    END { exit !found }'
}

# stop_strays kills processes whose root directory or executable lies inside
# SANDBOX_DIR: host-root jobs that left their process group on purpose (a
# simulated systemd-run). A shell merely cd'ed into the sandbox is left alone.
stop_strays() {
  local proc pid path strays=()
  for proc in /proc/[0-9]*; do
    pid=${proc#/proc/}
    [[ "${pid}" == "$$" ]] && continue
    for path in root exe; do
      if [[ "$(readlink "${proc}/${path}" 2>/dev/null)" == "${SANDBOX_DIR}"/* ]]; then
        strays+=("${pid}")
        break
      fi
    done
  done
  ((${#strays[@]} > 0)) || return 0
  log "killing ${#strays[@]} leftover processes inside ${SANDBOX_DIR}: ${strays[*]}"
  kill -KILL "${strays[@]}" 2>/dev/null || true
  wait_gone 5 "${strays[@]}" || true
}

# unmount_all unmounts everything below SANDBOX_DIR, deepest first, so that
# the final rm can never reach through a bind mount.
unmount_all() {
  local mnt
  while read -r mnt; do
    log "unmounting ${mnt}"
    umount "${mnt}" 2>/dev/null || umount -l "${mnt}"
  done < <(mounts_below "${SANDBOX_DIR}")
  [[ -z "$(mounts_below "${SANDBOX_DIR}")" ]] ||
    die "mounts remain below ${SANDBOX_DIR}; unmount them by hand (see /proc/self/mountinfo)"
}

mounts_below() {
  awk -v d="$1" 'index($5, d "/") == 1 || $5 == d { print length($5), $5 }' /proc/self/mountinfo |
    sort -rn | cut -d' ' -f2-
}

main "$@"
