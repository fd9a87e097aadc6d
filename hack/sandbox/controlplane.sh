# shellcheck shell=bash disable=SC2034 # the variables are used by the scripts that source this file
# The sandbox's bare control plane: PKI paths, users and their kubeconfigs,
# etcd and kube-apiserver. Sourced by sandbox-up.sh and hack/bench/scale.sh
# after lib.sh, procs.sh and pki.sh.

PKI="${SANDBOX_DIR}/pki"
KUBECONFIGS="${SANDBOX_DIR}/kubeconfigs"
ADMIN_KUBECONFIG="${SANDBOX_DIR}/kubeconfig"
DIRECT_KUBECONFIG="${SANDBOX_DIR}/kubeconfig-direct"

APISERVER_URL="https://127.0.0.1:${SANDBOX_APISERVER_PORT}"
# What users and the product talk to: the control-plane nodes' API server
# (the simulator's proxy) when there is one, else the API server itself.
CLIENT_URL="${APISERVER_URL}"
[[ -z "${SANDBOX_APISERVER_PROXY_PORT}" ]] || CLIENT_URL="https://127.0.0.1:${SANDBOX_APISERVER_PROXY_PORT}"

# Users in the static token file: "name groups reach". The crimig-* users and
# nobody have no rights until a test binds them to roles. reach is how the
# user's kubeconfig reaches the API server: "client" (people and the product:
# through the control-plane nodes' API server when there is a proxy) or
# "direct" (the components, which keep running through an outage).
USERS=(
  "admin system:masters client"
  "system:kube-controller-manager - direct"
  "system:kube-scheduler - direct"
  "kwok-controller system:masters direct"
  "crimig-sim system:masters direct"
  "crimig-viewer - client"
  "crimig-planner - client"
  "crimig-operator - client"
  "nobody - client"
)

# make_users writes the static token file and one kubeconfig per user, each
# with a fresh random token, plus the admin's kubeconfig-direct.
make_users() {
  local entry name groups reach token url
  : >"${PKI}/tokens.csv"
  chmod 600 "${PKI}/tokens.csv"
  for entry in "${USERS[@]}"; do
    read -r name groups reach <<<"${entry}"
    token=$(openssl rand -hex 24)
    if [[ "${groups}" == "-" ]]; then
      printf '%s,%s,%s\n' "${token}" "${name}" "${name}" >>"${PKI}/tokens.csv"
    else
      printf '%s,%s,%s,"%s"\n' "${token}" "${name}" "${name}" "${groups}" >>"${PKI}/tokens.csv"
    fi
    url=${APISERVER_URL}
    [[ "${reach}" == direct ]] || url=${CLIENT_URL}
    write_kubeconfig "${KUBECONFIGS}/${name#system:}.kubeconfig" "${name}" "${token}" "${url}"
    [[ "${name}" != admin ]] || write_kubeconfig "${DIRECT_KUBECONFIG}" "${name}" "${token}" "${APISERVER_URL}"
  done
  cp "${KUBECONFIGS}/admin.kubeconfig" "${ADMIN_KUBECONFIG}"
}

# write_kubeconfig FILE USER TOKEN SERVER
write_kubeconfig() {
  local file=$1 user=$2 token=$3 server=$4
  cat >"${file}" <<EOF
apiVersion: v1
kind: Config
clusters:
- name: crimig-sandbox
  cluster:
    server: ${server}
    certificate-authority-data: $(base64 -w0 "${PKI}/ca.crt")
users:
- name: ${user}
  user:
    token: ${token}
contexts:
- name: ${user}@crimig-sandbox
  context:
    cluster: crimig-sandbox
    user: ${user}
current-context: ${user}@crimig-sandbox
EOF
  chmod 600 "${file}"
}

start_etcd() {
  local peer="http://127.0.0.1:${SANDBOX_ETCD_PEER_PORT}"
  local client="http://127.0.0.1:${SANDBOX_ETCD_PORT}"
  start_process etcd "${ETCD_BIN}" \
    --name=sandbox --data-dir="${SANDBOX_DIR}/etcd" \
    --listen-client-urls="${client}" --advertise-client-urls="${client}" \
    --listen-peer-urls="${peer}" --initial-advertise-peer-urls="${peer}" \
    --initial-cluster="sandbox=${peer}" \
    --unsafe-no-fsync --log-level=warn
  wait_until 30 etcd "curl -sf --max-time 1 ${client}/health"
}

# The audit log tests read; a benchmark may empty this to spare the API server.
APISERVER_AUDIT_ARGS=(--audit-policy-file="${REPO_ROOT}/hack/sandbox/audit-policy.yaml"
  --audit-log-path="${LOGS_DIR}/audit.log" --audit-log-maxsize=0)

start_apiserver() {
  start_process kube-apiserver "${K8S_BIN_DIR}/kube-apiserver" \
    --etcd-servers="http://127.0.0.1:${SANDBOX_ETCD_PORT}" \
    --bind-address=127.0.0.1 --secure-port="${SANDBOX_APISERVER_PORT}" \
    --advertise-address=127.0.0.1 --endpoint-reconciler-type=none \
    --tls-cert-file="${PKI}/apiserver.crt" --tls-private-key-file="${PKI}/apiserver.key" \
    --client-ca-file="${PKI}/ca.crt" --token-auth-file="${PKI}/tokens.csv" \
    --authorization-mode=Node,RBAC --allow-privileged=true \
    --enable-admission-plugins=NodeRestriction \
    --service-cluster-ip-range=10.96.0.0/16 \
    --service-account-issuer=https://kubernetes.default.svc.cluster.local \
    --service-account-key-file="${PKI}/sa.pub" \
    --service-account-signing-key-file="${PKI}/sa.key" \
    --kubelet-preferred-address-types="${SANDBOX_KUBELET_ADDRESS_TYPES}" \
    --kubelet-client-certificate="${PKI}/kubelet-client.crt" \
    --kubelet-client-key="${PKI}/kubelet-client.key" \
    --kubelet-certificate-authority="${PKI}/ca.crt" \
    "${APISERVER_AUDIT_ARGS[@]}" --profiling=false
  wait_until 60 kube-apiserver \
    "curl -sf --max-time 1 --cacert ${PKI}/ca.crt ${APISERVER_URL}/readyz"
}
