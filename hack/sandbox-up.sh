#!/usr/bin/env bash
# shellcheck source-path=SCRIPTDIR
# Brings up the sandbox cluster on loopback: etcd, kube-apiserver,
# kube-controller-manager, kube-scheduler, kwok and the node simulator, then
# creates the simulated Docker nodes and waits until they are Ready.
#
# Usage: hack/sandbox-up.sh
# Environment: SANDBOX_APISERVER_PORT (16443),
#   SANDBOX_ETCD_PORT (12379), SANDBOX_ETCD_PEER_PORT (12380),
#   SANDBOX_KWOK_PORT (10247), SANDBOX_KCM_PORT (10257),
#   SANDBOX_SCHEDULER_PORT (10259), SANDBOX_DIR (<repo>/.sandbox),
#   SANDBOX_NODES (default 3): either a number N of nodes (0: none, a control
#     plane for real kubelets to join, as hack/realnode does), named node-1..N,
#     whose fixtures cycle through centos7, rocky9, ubuntu22; or a list of
#     NAME:FIXTURE[:control-plane] separated by blanks, e.g.
#     "node-1:centos7 node-2:rocky9 node-3:ubuntu22:control-plane", where
#     control-plane makes a kubeadm control-plane node (role labels, taint,
#     static pods in /etc/kubernetes/manifests; see test/sim/README.md),
#   SANDBOX_APISERVER_PROXY_PORT (empty: no proxy): "the API server on the
#     control-plane nodes". The simulator serves the API server's port
#     through a TCP proxy on this port only while the cluster's API server
#     runs: always without control-plane nodes, else while one of them runs
#     its kube-apiserver static pod (kubelet and runtime up, not rebooting);
#     otherwise the port refuses connections and open ones are cut.
#     $SANDBOX_DIR/kubeconfig and the users' kubeconfigs in kubeconfigs/ then
#     point at the proxy; $SANDBOX_DIR/kubeconfig-direct (always written)
#     and the components' kubeconfigs point at the API server itself,
#   SANDBOX_SIM (1; 0 runs without the node simulator: plain kwok nodes that
#     report docker://20.10.24 and kwok's stock stages, for debugging the
#     control plane only; nothing can be migrated on them).
# State lives in SANDBOX_DIR; hack/sandbox-down.sh stops everything and removes it.
set -euo pipefail

# shellcheck source=sandbox/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/sandbox/lib.sh"
# shellcheck source=sandbox/procs.sh
source "$(dirname "${BASH_SOURCE[0]}")/sandbox/procs.sh"
# shellcheck source=sandbox/pki.sh
source "$(dirname "${BASH_SOURCE[0]}")/sandbox/pki.sh"
# shellcheck source=sandbox/controlplane.sh
source "$(dirname "${BASH_SOURCE[0]}")/sandbox/controlplane.sh"

HOSTS_DIR="${SANDBOX_DIR}/hosts"
SIM_BIN="${SANDBOX_DIR}/bin/crimig-sim"
SIM_STAGES="${REPO_ROOT}/test/sim/stages.yaml"
SANDBOX_SIM="${SANDBOX_SIM:-1}"
FIXTURES=(centos7 rocky9 ubuntu22)
# The nodes, from SANDBOX_NODES (see parse_nodes); NODE_CP[i] is 1 for a
# control-plane node.
NODE_NAMES=()
NODE_FIXTURES=()
NODE_CP=()

main() {
  parse_nodes
  [[ -z "${SANDBOX_APISERVER_PROXY_PORT}" || "${SANDBOX_SIM}" != 0 ]] ||
    die "SANDBOX_APISERVER_PROXY_PORT needs the node simulator, which runs the proxy: unset it, or SANDBOX_SIM"
  sandbox_lock
  refuse_if_running
  check_ports_free
  "${REPO_ROOT}/hack/build-sandbox-tools.sh"
  local t0
  t0=$(date +%s.%N)
  trap 'on_exit $?' EXIT
  mkdir -p "${SANDBOX_DIR}/bin" "${LOGS_DIR}" "${PIDS_DIR}" "${KUBECONFIGS}" "${HOSTS_DIR}"
  local sim_build=""
  if [[ "${SANDBOX_SIM}" == 0 ]]; then
    write_stock_stages
  else
    # Compiling the simulator overlaps with the control plane's start.
    build_simulator >"${LOGS_DIR}/build-crimig-sim.log" 2>&1 &
    sim_build=$!
  fi
  make_pki "${PKI}"
  make_users
  start_etcd
  start_apiserver
  install_exec_crd
  start_controller_manager
  start_scheduler
  [[ -z "${sim_build}" ]] || wait_simulator_build "${sim_build}"
  start_kwok
  if [[ "${SANDBOX_SIM}" == 0 ]]; then add_plain_nodes; else start_simulator && add_nodes; fi
  wait_nodes_ready
  wait_proxy_serving
  write_env
  log "sandbox up in $(elapsed_since "${t0}")s (after tools): ${#NODE_NAMES[@]} Ready nodes"
  cat >&2 <<EOF

  export KUBECONFIG=${ADMIN_KUBECONFIG}
  ${KUBECTL_BIN} get nodes -o wide
  logs: ${LOGS_DIR}   stop: hack/sandbox-down.sh
EOF
  [[ -z "${SANDBOX_APISERVER_PROXY_PORT}" ]] || cat >&2 <<EOF
  KUBECONFIG goes through the control-plane nodes' API server (${CLIENT_URL});
  ${DIRECT_KUBECONFIG} reaches the API server itself.
EOF
}

# parse_nodes fills NODE_NAMES, NODE_FIXTURES and NODE_CP from SANDBOX_NODES:
# a count, or a list of NAME:FIXTURE[:control-plane].
parse_nodes() {
  local i entry name fixture role extra entries
  if [[ "${SANDBOX_NODES}" =~ ^[0-9]+$ ]]; then
    # 0: a control plane alone, for real kubelets to join (hack/realnode).
    for ((i = 1; i <= SANDBOX_NODES; i++)); do
      NODE_NAMES+=("node-${i}")
      NODE_FIXTURES+=("${FIXTURES[$(((i - 1) % ${#FIXTURES[@]}))]}")
      NODE_CP+=(0)
    done
    return
  fi
  read -r -a entries <<<"${SANDBOX_NODES}"
  ((${#entries[@]} > 0)) || die "SANDBOX_NODES is empty: want a number of nodes or a list of NAME:FIXTURE[:control-plane]"
  for entry in "${entries[@]}"; do
    IFS=: read -r name fixture role extra <<<"${entry}"
    [[ "${name}" =~ ^[a-z0-9]([-a-z0-9]*[a-z0-9])?$ ]] ||
      die "SANDBOX_NODES: ${entry}: want NAME:FIXTURE[:control-plane], NAME in lower-case letters, digits and dashes"
    [[ " ${FIXTURES[*]} " == *" ${fixture} "* ]] ||
      die "SANDBOX_NODES: ${entry}: unknown fixture '${fixture}' (want one of ${FIXTURES[*]})"
    [[ -z "${extra}" && ("${role}" == "" || "${role}" == control-plane) ]] ||
      die "SANDBOX_NODES: ${entry}: the third field can only be control-plane"
    [[ " ${NODE_NAMES[*]} " != *" ${name} "* ]] || die "SANDBOX_NODES: node ${name} is listed twice"
    NODE_NAMES+=("${name}")
    NODE_FIXTURES+=("${fixture}")
    if [[ "${role}" == control-plane ]]; then NODE_CP+=(1); else NODE_CP+=(0); fi
  done
}

# node_list prints the nodes as NAME:FIXTURE[:control-plane] words.
node_list() {
  local i word out=()
  for i in "${!NODE_NAMES[@]}"; do
    word="${NODE_NAMES[i]}:${NODE_FIXTURES[i]}"
    ((NODE_CP[i] == 0)) || word+=":control-plane"
    out+=("${word}")
  done
  echo "${out[*]}"
}

# control_plane_nodes prints the names of the control-plane nodes.
control_plane_nodes() {
  local i out=()
  for i in "${!NODE_NAMES[@]}"; do
    ((NODE_CP[i] == 0)) || out+=("${NODE_NAMES[i]}")
  done
  echo "${out[*]}"
}

# refuse_if_running exits 0 when a complete, healthy sandbox is already up,
# and fails when a broken or half-started one is; leftovers of a dead sandbox
# are cleaned up.
refuse_if_running() {
  if ! any_running; then
    [[ -e "${SANDBOX_DIR}" ]] && clean_stale_state
    return 0
  fi
  local file dead=()
  for file in "${PIDS_DIR}"/*.pid; do
    sandbox_pid "$(basename "${file}" .pid)" >/dev/null || dead+=("$(basename "${file}" .pid)")
  done
  if ((${#dead[@]} == 0)) && [[ -f "${SANDBOX_DIR}/env" ]] &&
    curl -sf --max-time 2 --cacert "${PKI}/ca.crt" "${APISERVER_URL}/readyz" >/dev/null; then
    echo "sandbox already running (KUBECONFIG=${ADMIN_KUBECONFIG}); run hack/sandbox-down.sh first to restart it" >&2
    exit 0
  fi
  die "a sandbox in ${SANDBOX_DIR} is only partly running (exited: ${dead[*]:-none}; see ${LOGS_DIR}); run hack/sandbox-down.sh, then retry"
}

# on_exit leaves a failed start as it is, for its logs, and says how to clean up.
on_exit() {
  (($1 == 0)) && return
  echo "sandbox-up failed; what did start is still running, logs are in ${LOGS_DIR}; clean up with hack/sandbox-down.sh" >&2
}

# check_ports_free fails early when another process (often another sandbox
# with its own SANDBOX_DIR) listens on one of our ports: otherwise a health
# check could pass against someone else's etcd.
check_ports_free() {
  local var port busy=() seen=" " vars=(SANDBOX_ETCD_PORT SANDBOX_ETCD_PEER_PORT SANDBOX_APISERVER_PORT
    SANDBOX_KCM_PORT SANDBOX_SCHEDULER_PORT SANDBOX_KWOK_PORT)
  [[ -z "${SANDBOX_APISERVER_PROXY_PORT}" ]] || vars+=(SANDBOX_APISERVER_PROXY_PORT)
  for var in "${vars[@]}"; do
    port=${!var}
    [[ "${port}" =~ ^[1-9][0-9]*$ ]] || die "${var}=${port}: want a port number"
    [[ "${seen}" != *" ${port} "* ]] || die "${var}=${port}: another SANDBOX_*_PORT has that port too"
    seen+="${port} "
    if ss -Htln "sport = :${port}" | grep -q .; then
      busy+=("${var}=${port}")
    fi
  done
  ((${#busy[@]} == 0)) ||
    die "ports in use by another process: ${busy[*]}; stop it or set these variables to free ports"
}

clean_stale_state() {
  log "removing leftovers of a stopped sandbox in ${SANDBOX_DIR}"
  "${REPO_ROOT}/hack/sandbox-down.sh" >/dev/null
}

build_simulator() {
  [[ -d "${REPO_ROOT}/test/sim/cmd/crimig-sim" ]] ||
    die "test/sim/cmd/crimig-sim is missing: the sandbox needs the node simulator to create nodes"
  [[ -f "${SIM_STAGES}" ]] || die "${SIM_STAGES} is missing: kwok needs the simulator's Stage objects"
  (cd "${REPO_ROOT}" && go build -o "${SIM_BIN}" ./test/sim/cmd/crimig-sim) ||
    die "building the node simulator failed; fix test/sim and rerun"
  ln -sf crimig-sim "${SANDBOX_DIR}/bin/nsenter"
}

wait_simulator_build() {
  if ! wait "$1"; then
    cat "${LOGS_DIR}/build-crimig-sim.log" >&2
    die "could not build the node simulator (log above, also in ${LOGS_DIR}/build-crimig-sim.log)"
  fi
  log "crimig-sim built"
}


# install_exec_crd lets the simulator hand kwok one Exec and one Logs object
# per crimig pod through the API (kwok.yaml enables both CRDs).
install_exec_crd() {
  local crd
  for crd in execs logs; do
    kubectl apply -f "$(kwok_module_dir)/kustomize/crd/bases/kwok.x-k8s.io_${crd}.yaml" >/dev/null
    kubectl wait --for=condition=Established --timeout=30s "crd/${crd}.kwok.x-k8s.io" >/dev/null
  done
  log "kwok Exec and Logs CRDs established"
}

# start_controller_manager runs every default controller (1.37 has no cloud
# ones left) with short node monitoring periods, so NotReady shows up fast.
start_controller_manager() {
  local kc="${KUBECONFIGS}/kube-controller-manager.kubeconfig"
  start_process kube-controller-manager "${K8S_BIN_DIR}/kube-controller-manager" \
    --kubeconfig="${kc}" --authentication-kubeconfig="${kc}" --authorization-kubeconfig="${kc}" \
    --bind-address=127.0.0.1 --secure-port="${SANDBOX_KCM_PORT}" \
    --leader-elect=false --cluster-name=crimig-sandbox \
    --controllers='*' \
    --use-service-account-credentials=true \
    --service-account-private-key-file="${PKI}/sa.key" --root-ca-file="${PKI}/ca.crt" \
    --cluster-signing-cert-file="${PKI}/ca.crt" --cluster-signing-key-file="${PKI}/ca.key" \
    --service-cluster-ip-range=10.96.0.0/16 \
    --node-monitor-period=2s --node-monitor-grace-period=20s \
    --kube-api-qps=100 --kube-api-burst=200 --profiling=false
  wait_until 60 kube-controller-manager \
    "curl -skf --max-time 1 https://127.0.0.1:${SANDBOX_KCM_PORT}/healthz"
}

start_scheduler() {
  local kc="${KUBECONFIGS}/kube-scheduler.kubeconfig"
  start_process kube-scheduler "${K8S_BIN_DIR}/kube-scheduler" \
    --kubeconfig="${kc}" --authentication-kubeconfig="${kc}" --authorization-kubeconfig="${kc}" \
    --bind-address=127.0.0.1 --secure-port="${SANDBOX_SCHEDULER_PORT}" \
    --leader-elect=false --kube-api-qps=100 --kube-api-burst=200 --profiling=false
  wait_until 60 kube-scheduler \
    "curl -skf --max-time 1 https://127.0.0.1:${SANDBOX_SCHEDULER_PORT}/healthz"
}

# start_kwok runs kwok with the sandbox's bin first on PATH, so that the
# product's "nsenter -t 1 ..." inside a fake pod reaches the simulator's stub.
start_kwok() {
  PATH="${SANDBOX_DIR}/bin:${PATH}" start_process kwok "${KWOK_BIN}" \
    --kubeconfig="${KUBECONFIGS}/kwok-controller.kubeconfig" \
    --config="${REPO_ROOT}/hack/sandbox/kwok.yaml" --config="${SIM_STAGES}" \
    --server-address="127.0.0.1:${SANDBOX_KWOK_PORT}" --node-port="${SANDBOX_KWOK_PORT}" \
    --node-ip=127.0.0.1 \
    --tls-cert-file="${PKI}/kwok.crt" --tls-private-key-file="${PKI}/kwok.key"
  wait_until 30 kwok "curl -sf --max-time 1 http://127.0.0.1:${SANDBOX_KWOK_PORT}/healthz"
}

# start_simulator runs the node controller; with SANDBOX_APISERVER_PROXY_PORT
# it also serves the control-plane nodes' API server on that port.
start_simulator() {
  local proxy=()
  [[ -z "${SANDBOX_APISERVER_PROXY_PORT}" ]] ||
    proxy=(--apiserver-proxy-listen="127.0.0.1:${SANDBOX_APISERVER_PROXY_PORT}"
      --apiserver-proxy-upstream="127.0.0.1:${SANDBOX_APISERVER_PORT}")
  start_process crimig-sim "${SIM_BIN}" controller \
    --kubeconfig="${KUBECONFIGS}/crimig-sim.kubeconfig" --hosts="${HOSTS_DIR}" \
    --kubelet-port="${SANDBOX_KWOK_PORT}" "${proxy[@]}"
}

add_nodes() {
  local i cp
  for i in "${!NODE_NAMES[@]}"; do
    cp=()
    ((NODE_CP[i] == 0)) || cp=(--control-plane)
    "${SIM_BIN}" add-node --kubeconfig "${DIRECT_KUBECONFIG}" --hosts "${HOSTS_DIR}" \
      --name "${NODE_NAMES[i]}" --fixture "${NODE_FIXTURES[i]}" "${cp[@]}" >>"${LOGS_DIR}/add-node.log" 2>&1 ||
      die "crimig-sim add-node ${NODE_NAMES[i]} failed; see ${LOGS_DIR}/add-node.log"
  done
  log "created ${#NODE_NAMES[@]} nodes: $(node_list)"
}

wait_nodes_ready() {
  ((${#NODE_NAMES[@]} > 0)) || return 0
  kubectl wait --for=condition=Ready --timeout=60s node --all >/dev/null ||
    die "nodes did not become Ready within 60s; see ${LOGS_DIR}/crimig-sim.log and kwok.log"
  log "all nodes Ready"
}

# wait_proxy_serving waits until the control-plane nodes' API server answers
# through the proxy (their kube-apiserver static pods run).
wait_proxy_serving() {
  [[ -n "${SANDBOX_APISERVER_PROXY_PORT}" ]] || return 0
  wait_until 30 crimig-sim "curl -sf --max-time 1 --cacert ${PKI}/ca.crt ${CLIENT_URL}/readyz"
}

# write_env records where everything is, for scripts (source it) and for the
# e2e harness.
write_env() {
  cat >"${SANDBOX_DIR}/env" <<EOF
KUBECONFIG=${ADMIN_KUBECONFIG}
KUBECTL=${KUBECTL_BIN}
SANDBOX_DIR=${SANDBOX_DIR}
SANDBOX_KUBECONFIG_DIRECT=${DIRECT_KUBECONFIG}
SANDBOX_APISERVER_URL=${APISERVER_URL}
SANDBOX_APISERVER_PROXY_PORT=${SANDBOX_APISERVER_PROXY_PORT}
SANDBOX_CLIENT_URL=${CLIENT_URL}
SANDBOX_KWOK_PORT=${SANDBOX_KWOK_PORT}
SANDBOX_NODES=${#NODE_NAMES[@]}
SANDBOX_NODE_LIST="$(node_list)"
SANDBOX_CONTROL_PLANE_NODES="$(control_plane_nodes)"
SANDBOX_SIM=${SANDBOX_SIM}
SANDBOX_HOSTS=${HOSTS_DIR}
SANDBOX_AUDIT_LOG=${LOGS_DIR}/audit.log
EOF
}

# write_stock_stages gathers kwok's own fast node and pod stages, for
# SANDBOX_SIM=0.
write_stock_stages() {
  local stage_dir f
  stage_dir="$(kwok_module_dir)/kustomize/stage"
  SIM_STAGES="${SANDBOX_DIR}/stock-stages.yaml"
  log "SANDBOX_SIM=0: no node simulator, kwok's stock stages instead"
  for f in "${stage_dir}"/node/fast/node-initialize.yaml \
    "${stage_dir}"/node/heartbeat-with-lease/node-heartbeat-with-lease.yaml \
    "${stage_dir}"/pod/fast/pod-*.yaml; do
    echo "---"
    cat "${f}"
  done >"${SIM_STAGES}"
}

# add_plain_nodes creates kwok nodes that look like Docker nodes, for
# SANDBOX_SIM=0 (control-plane ones get the role label and taint only).
add_plain_nodes() {
  local i role taints
  ((${#NODE_NAMES[@]} > 0)) || return 0
  for i in "${!NODE_NAMES[@]}"; do
    role="" taints=""
    if ((NODE_CP[i])); then
      role=$'\n    node-role.kubernetes.io/control-plane: ""'
      taints=$'\nspec:\n  taints:\n  - key: node-role.kubernetes.io/control-plane\n    effect: NoSchedule'
    fi
    cat <<EOF
---
apiVersion: v1
kind: Node
metadata:
  name: ${NODE_NAMES[i]}
  annotations:
    kwok.x-k8s.io/node: fake
  labels:
    kubernetes.io/hostname: ${NODE_NAMES[i]}
    kubernetes.io/os: linux
    kubernetes.io/arch: amd64${role}${taints}
status:
  nodeInfo:
    containerRuntimeVersion: docker://20.10.24
    kubeletVersion: v1.29.15
    osImage: plain kwok node
EOF
  done | kubectl apply -f - >/dev/null
  log "created ${#NODE_NAMES[@]} plain kwok nodes"
}

kwok_module_dir() {
  (cd "${TOOLS_DIR}/kwok" && GOWORK=off go list -m -f '{{.Dir}}' sigs.k8s.io/kwok)
}

# kubectl reaches the API server directly: the proxy may not serve yet.
kubectl() {
  "${KUBECTL_BIN}" --kubeconfig "${DIRECT_KUBECONFIG}" "$@"
}

main "$@"
