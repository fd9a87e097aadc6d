#!/usr/bin/env bash
# shellcheck source-path=SCRIPTDIR
# Brings up the real-node tier: its own sandbox control plane (no simulated
# nodes), the local registry, and a real node booted from a fresh copy of the
# pristine root, joined to the cluster and Ready on docker (cri-dockerd).
# Running it again resets the node to a fresh copy, the way each scenario
# starts; the cluster and the registry are kept.
#
# Usage: hack/realnode/node-up.sh
# Environment: REALNODE_STATE (<repo>/.realnode), REALNODE_NAME (rn-1),
#   REALNODE_REGISTRY_PORT (25000), REALNODE_APISERVER_PORT (26443) and the
#   other REALNODE_*_PORT of lib.sh. See README.md beside this file.
set -euo pipefail

# shellcheck source=../sandbox/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/../sandbox/lib.sh"
# shellcheck source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
realnode_sandbox_env
# shellcheck source=../sandbox/lib.sh
source "${REPO_ROOT}/hack/sandbox/lib.sh"
# shellcheck source=../sandbox/pki.sh
source "${REPO_ROOT}/hack/sandbox/pki.sh"
# shellcheck source=site.sh
source "${REALNODE_DIR}/site.sh"

KUBECONFIG_FILE="${SANDBOX_DIR}/kubeconfig"

main() {
  [[ $(id -u) == 0 ]] || die "the real node needs root (systemd-nspawn, mounts); run as root"
  command -v systemd-nspawn >/dev/null || die "systemd-nspawn is missing; apt-get install -y systemd-container"
  "${REALNODE_DIR}/build-tools.sh" registry pause runc-nooom crictl cri-dockerd kubelet >&2
  "${REALNODE_DIR}/rootfs.sh" >&2
  mkdir -p "${REALNODE_STATE}"
  ensure_cluster
  ensure_registry
  "${REALNODE_DIR}/node-down.sh" --discard >&2
  forget_node
  prepare_root
  host_prep
  rm -f "${REALNODE_STATE}/stop"
  setsid "${REALNODE_DIR}/boot.sh" </dev/null >/dev/null 2>&1 &
  wait_ready $!
  log "real node ${REALNODE_NAME} Ready: $(k get node "${REALNODE_NAME}" -o jsonpath='{.status.nodeInfo.containerRuntimeVersion}')"
  cat >&2 <<EOF

  export KUBECONFIG=${KUBECONFIG_FILE}
  enter the node:  hack/realnode/enter.sh            (a shell in every namespace of its systemd)
  its journal:     hack/realnode/enter.sh journalctl -b --no-pager
  stop:            hack/realnode/node-down.sh [--all]
EOF
}

k() { "${KUBECTL_BIN}" --kubeconfig "${KUBECONFIG_FILE}" "$@"; }

ensure_cluster() {
  if [[ -f "${SANDBOX_DIR}/env" ]] && k get --raw /readyz >/dev/null 2>&1; then
    log "cluster: running (${SANDBOX_DIR})"
    return
  fi
  SANDBOX_SIM=0 "${REPO_ROOT}/hack/sandbox-up.sh"
}

ensure_registry() {
  local ready="${REALNODE_STATE}/registry.addr" i
  if curl -sf --max-time 2 "http://127.0.0.1:${REALNODE_REGISTRY_PORT}/v2/" >/dev/null; then
    log "registry: serving on 127.0.0.1:${REALNODE_REGISTRY_PORT}"
    return
  fi
  rm -f "${ready}"
  setsid "${REALNODE_BIN}/registry" --listen "127.0.0.1:${REALNODE_REGISTRY_PORT}" \
    --busybox "$(command -v busybox)" --pause "${REALNODE_BIN}/pause" --ready-file "${ready}" \
    </dev/null >"${REALNODE_STATE}/registry.log" 2>&1 &
  echo $! >"${REALNODE_STATE}/registry.pid"
  for ((i = 0; i < 100; i++)); do
    if [[ -s "${ready}" ]]; then
      log "registry: serving ${REALNODE_REGISTRY} on 127.0.0.1:${REALNODE_REGISTRY_PORT}"
      return
    fi
    sleep 0.1
  done
  die "the registry did not start; see ${REALNODE_STATE}/registry.log"
}

# forget_node removes what the cluster knows of an earlier node of that name
# (its Node with crimig's state, crimig's Lease), so a scenario starts clean.
forget_node() {
  k delete node "${REALNODE_NAME}" --ignore-not-found --wait=false >/dev/null
  k delete lease -n crimig-system "crimig-node-${REALNODE_NAME}" --ignore-not-found >/dev/null 2>&1 || true
}

# host_prep (VM quirks): every systemd cgroup v1 host mounts the hugetlb
# hierarchy, which this VM lacks; CRI-O passes the kubelet's hugepage limits
# to runc, which fails without it. And the API server finds the node by name
# (lib.sh), on loopback.
host_prep() {
  if ! grep -q "[[:space:]]${REALNODE_NAME}[[:space:]]*${HOSTS_MARK}\$" /etc/hosts; then
    printf '127.0.0.1\t%s %s\n' "${REALNODE_NAME}" "${HOSTS_MARK}" >>/etc/hosts
  fi
  if ! mountpoint -q /sys/fs/cgroup/hugetlb; then
    mkdir -p /sys/fs/cgroup/hugetlb
    mount -t cgroup -o hugetlb cgroup /sys/fs/cgroup/hugetlb
  fi
}

# wait_ready BOOT_PID waits for the Node to be Ready while boot.sh runs.
wait_ready() {
  local boot=$1 i
  for ((i = 0; i < 300; i++)); do
    if [[ "$(k get node "${REALNODE_NAME}" -o jsonpath='{.status.conditions[?(@.type=="Ready")].status}' 2>/dev/null)" == True ]]; then
      return
    fi
    kill -0 "${boot}" 2>/dev/null || die "the node stopped while booting; see ${REALNODE_STATE}/console.log"
    sleep 0.5
  done
  die "${REALNODE_NAME} was not Ready within 150s; see ${REALNODE_STATE}/console.log and hack/realnode/enter.sh journalctl -u kubelet"
}

main "$@"
