#!/usr/bin/env bash
# shellcheck source-path=SCRIPTDIR
# Stops the real node (and keeps it from booting again); with --all also the
# registry and the tier's cluster, and removes REALNODE_STATE. --discard pulls
# the plug instead of powering off, for a node whose root is thrown away next
# (node-up.sh's reset): a clean shutdown waits for every container to stop.
# Safe to run any number of times.
#
# Usage: hack/realnode/node-down.sh [--discard|--all]
set -euo pipefail

# shellcheck source=../sandbox/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/../sandbox/lib.sh"
# shellcheck source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
realnode_sandbox_env

main() {
  stop_node "${1:-}"
  [[ "${1:-}" == --all ]] || return 0
  stop_pidfile registry
  "${REPO_ROOT}/hack/sandbox-down.sh"
  sed -i "/${HOSTS_MARK}\$/d" /etc/hosts
  case "${REALNODE_STATE}" in
    / | "${HOME}" | "${REPO_ROOT}") die "refusing to remove REALNODE_STATE=${REALNODE_STATE}" ;;
  esac
  rm -rf --one-file-system "${REALNODE_STATE}"
  log "real-node tier stopped and ${REALNODE_STATE} removed"
}

# stop_node [--discard] powers the node off as `systemctl poweroff` would
# (SIGRTMIN+4 to its systemd), then kills what is left after a grace period;
# with --discard (and --all, which removes the root) it kills the node's
# PID 1 at once, and the kernel every process of its PID namespace with it.
stop_node() {
  [[ -d "${REALNODE_STATE}" ]] || return 0
  touch "${REALNODE_STATE}/stop"
  local pid i
  if pid=$(node_pid); then
    if [[ "$1" == --discard || "$1" == --all ]]; then
      log "stopping ${REALNODE_NAME} at once (its root is discarded)"
      kill -KILL "${pid}" 2>/dev/null || true
    else
      log "powering off ${REALNODE_NAME}"
      kill -s RTMIN+4 "${pid}" 2>/dev/null || true
    fi
    for ((i = 0; i < 300; i++)); do
      kill -0 "${pid}" 2>/dev/null || break
      sleep 0.1
    done
    kill -KILL "${pid}" 2>/dev/null || true
  fi
  stop_pidfile boot
  for ((i = 0; i < 50; i++)); do
    pgrep -f "systemd-nspawn.*-D ${REALNODE_ROOT}\$" >/dev/null || break
    sleep 0.1
  done
  pkill -KILL -f "systemd-nspawn.*-D ${REALNODE_ROOT}\$" 2>/dev/null || true
  rm -f "${REALNODE_STATE}/node.pid"
}

stop_pidfile() {
  local file="${REALNODE_STATE}/$1.pid" pid
  pid=$(cat "${file}" 2>/dev/null) || return 0
  kill -TERM "${pid}" 2>/dev/null || true
  rm -f "${file}"
}

main "$@"
