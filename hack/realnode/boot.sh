#!/usr/bin/env bash
# shellcheck source-path=SCRIPTDIR
# Boots the real node with systemd-nspawn (systemd as its PID 1) and boots it
# again whenever it reboots (nspawn exits 133), as a machine would, until
# node-down.sh asks it to stop. Started in the background by node-up.sh;
# the console goes to $REALNODE_STATE/console.log.
set -uo pipefail

# shellcheck source=../sandbox/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/../sandbox/lib.sh"
# shellcheck source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

# The flags and environment that boot systemd on this VM (realnode.md): no
# machined to register with, all capabilities the VM has, the journal kept
# in the node, the host's DNS, and /dev/kmsg for the kubelet's OOM watcher.
NSPAWN_FLAGS=(
  --boot --register=no --keep-unit --capability=all --link-journal=no
  --resolv-conf=replace-host --console=read-only --bind=/dev/kmsg
)

main() {
  local boots=0 nspawn rc
  echo $$ >"${REALNODE_STATE}/boot.pid"
  while [[ ! -e "${REALNODE_STATE}/stop" ]]; do
    between_boots
    boots=$((boots + 1))
    log "boot ${boots} of ${REALNODE_NAME}"
    SYSTEMD_NSPAWN_API_VFS_WRITABLE=1 SYSTEMD_SECCOMP=0 SYSTEMD_NSPAWN_TMPFS_TMP=0 \
      systemd-nspawn "${NSPAWN_FLAGS[@]}" --machine="${REALNODE_NAME}" -D "${REALNODE_ROOT}" </dev/null &
    nspawn=$!
    record_init "${nspawn}"
    wait "${nspawn}"
    rc=$?
    rm -f "${REALNODE_STATE}/node.pid"
    log "${REALNODE_NAME} stopped (nspawn exit ${rc})"
    ((rc == 133)) || break
  done
  rm -f "${REALNODE_STATE}/boot.pid"
}

# record_init writes the host PID of the node's systemd to node.pid, for
# `nsenter -t PID -a` (this VM has no machined, so no machinectl).
record_init() {
  local nspawn=$1 pid i
  for ((i = 0; i < 100; i++)); do
    for pid in $(pgrep -P "${nspawn}"); do
      if [[ "$(awk '/^NSpid:/ {print $NF}' "/proc/${pid}/status" 2>/dev/null)" == 1 ]]; then
        echo "${pid}" >"${REALNODE_STATE}/node.pid"
        return
      fi
    done
    kill -0 "${nspawn}" 2>/dev/null || return
    sleep 0.1
  done
  log "warning: could not find the node's systemd"
}

# between_boots (VM quirk): a real reboot starts with fresh cgroups, links and
# netfilter rules; nspawn's node shares the VM's, so clear what the node left:
# empty cgroups of its pods and runtimes (cadvisor otherwise spends seconds on
# each stale one), and the bridges its runtimes made.
between_boots() {
  local h
  for h in /sys/fs/cgroup/*/; do
    find "${h}" -mindepth 1 -depth -type d \
      \( -path '*kubepods*' -o -path '*/docker*' -o -path '*/system.slice*' -o -path '*crio*' \
      -o -path '*/machine.slice*' -o -path '*/user.slice*' -o -path '*/init.scope*' \) \
      -exec rmdir {} + 2>/dev/null
  done
  ip link del cni0 2>/dev/null
  ip link del docker0 2>/dev/null
  return 0
}

main "$@" >>"${REALNODE_STATE}/console.log" 2>&1
