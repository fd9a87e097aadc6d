# shellcheck shell=bash disable=SC2034 # the variables are used by the scripts that source this file
# shellcheck source-path=SCRIPTDIR
# Shared settings of the real-node tier (see README.md beside this file).
# Sourced after hack/sandbox/lib.sh; every value can be overridden from the
# environment.

REALNODE_DIR="${REPO_ROOT}/hack/realnode"
# shellcheck source=hack/realnode/versions.env
source "${REALNODE_DIR}/versions.env"

REALNODE_CACHE="${XDG_CACHE_HOME:-${HOME}/.cache}/crimig-realnode"
REALNODE_BIN="${REALNODE_CACHE}/bin"
# The pristine node root: debootstrap plus Debian's docker, containerd, runc,
# conmon and CNI plugins. Never booted; each scenario boots a copy.
REALNODE_ROOTFS="${REALNODE_CACHE}/rootfs-${DEBIAN_SUITE}"
REALNODE_MIRROR="${REALNODE_MIRROR:-http://deb.debian.org/debian}"
REALNODE_BUNDLE="${REALNODE_CACHE}/bundle/cri-o.amd64.${CRIO_VERSION}.tar.gz"

# The running node: state in REALNODE_STATE (the booted copy of the root, logs,
# pids). Its sandbox cluster is a separate one, so the e2e sandbox can run
# beside it.
REALNODE_STATE=$(realpath -m "${REALNODE_STATE:-${REPO_ROOT}/.realnode}")
REALNODE_NAME="${REALNODE_NAME:-rn-1}"
REALNODE_ROOT="${REALNODE_STATE}/root"
REALNODE_REGISTRY_HOST="${REALNODE_REGISTRY_HOST:-registry.airgap.test}"
REALNODE_REGISTRY_PORT="${REALNODE_REGISTRY_PORT:-25000}"
REALNODE_REGISTRY="${REALNODE_REGISTRY_HOST}:${REALNODE_REGISTRY_PORT}"

# realnode_sandbox_env points the sandbox scripts at the tier's own cluster.
realnode_sandbox_env() {
  export SANDBOX_DIR="${REALNODE_STATE}/sandbox"
  export SANDBOX_APISERVER_PORT="${REALNODE_APISERVER_PORT:-26443}"
  export SANDBOX_ETCD_PORT="${REALNODE_ETCD_PORT:-22379}"
  export SANDBOX_ETCD_PEER_PORT="${REALNODE_ETCD_PEER_PORT:-22380}"
  export SANDBOX_KWOK_PORT="${REALNODE_KWOK_PORT:-20247}"
  export SANDBOX_KCM_PORT="${REALNODE_KCM_PORT:-20257}"
  export SANDBOX_SCHEDULER_PORT="${REALNODE_SCHEDULER_PORT:-20259}"
  export SANDBOX_NODES=0
  # A kubelet refuses a loopback node IP, so the node reports the VM's own
  # address; the API server reaches it by name instead, which the host's
  # /etc/hosts maps to loopback (node-up.sh), so no traffic leaves the VM.
  export SANDBOX_KUBELET_ADDRESS_TYPES=Hostname
}

# HOSTS_MARK tags the host's /etc/hosts line that names the node.
HOSTS_MARK="# crimig-realnode"

# realnode_cache_lock serialises the scripts that fill REALNODE_CACHE
# (build-tools.sh, rootfs.sh, bundle.sh), so two runs never build into the
# same temporary files; the second finds the first one's results cached.
realnode_cache_lock() {
  mkdir -p "${REALNODE_CACHE}"
  exec 8>>"${REALNODE_CACHE}/.lock"
  flock 8
}

# node_pid prints the PID of the node's systemd (PID 1 inside it), or fails.
node_pid() {
  local pid
  pid=$(cat "${REALNODE_STATE}/node.pid" 2>/dev/null) || return 1
  [[ -n "${pid}" && -e "/proc/${pid}" ]] || return 1
  echo "${pid}"
}

# in_node CMD... runs CMD in every namespace of the node, as `machinectl
# shell` would (this VM has no machined).
in_node() {
  local pid
  pid=$(node_pid) || die "the real node is not running; start it with hack/realnode/node-up.sh"
  nsenter -t "${pid}" -a -- "$@"
}
