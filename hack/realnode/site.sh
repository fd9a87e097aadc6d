# shellcheck shell=bash
# Lays out the real node's root the way a kubeadm site with cri-dockerd has
# it, on a fresh copy of the pristine root. Sourced by node-up.sh, after
# lib.sh and hack/sandbox/{lib,pki}.sh; every file it writes is what a real
# host of that kind holds, except the ones marked as VM quirks.

SITE_DIR="${REALNODE_DIR}/site"
FIXTURE_ROOT="${REPO_ROOT}/test/sim/fixtures/ubuntu22/root"

# prepare_root copies the pristine root to REALNODE_ROOT and installs the site.
prepare_root() {
  [[ -x "${REALNODE_ROOTFS}/usr/sbin/dockerd" ]] || die "no node rootfs; run hack/realnode/rootfs.sh"
  mkdir -p "${REALNODE_ROOT}"
  rsync -a --delete --one-file-system "${REALNODE_ROOTFS}/" "${REALNODE_ROOT}/"
  site_identity
  site_kubelet
  site_cri_dockerd
  site_docker
  site_cni
  site_vm_quirks
}

site_identity() {
  local r=${REALNODE_ROOT}
  echo "${REALNODE_NAME}" >"${r}/etc/hostname"
  printf '127.0.0.1\tlocalhost\n127.0.0.1\t%s\n127.0.0.1\t%s\n' \
    "${REALNODE_NAME}" "${REALNODE_REGISTRY_HOST}" >"${r}/etc/hosts"
  systemd-machine-id-setup --root="${r}" >/dev/null
}

# site_kubelet installs the kubelet as the kubeadm packages do and writes what
# `kubeadm join` writes: kubelet.conf with the node's client certificate,
# config.yaml, kubeadm-flags.env; plus a serving certificate signed by the
# cluster's CA, since the sandbox's API server verifies kubelets.
site_kubelet() {
  local r=${REALNODE_ROOT} pki="${SANDBOX_DIR}/pki"
  install -D -m 0755 "${REALNODE_BIN}/kubelet" "${r}/usr/bin/kubelet"
  install -D -m 0644 "${FIXTURE_ROOT}/usr/lib/systemd/system/kubelet.service" "${r}/usr/lib/systemd/system/kubelet.service"
  install -D -m 0644 "${FIXTURE_ROOT}/usr/lib/systemd/system/kubelet.service.d/10-kubeadm.conf" \
    "${r}/usr/lib/systemd/system/kubelet.service.d/10-kubeadm.conf"
  install -D -m 0755 "${REALNODE_BIN}/crictl" "${r}/usr/bin/crictl"
  printf 'runtime-endpoint: unix:///var/run/cri-dockerd.sock\n' >"${r}/etc/crictl.yaml"
  mkdir -p "${r}/etc/kubernetes/manifests" "${r}/var/lib/kubelet/pki" "${r}/etc/kubernetes/pki"
  install -m 0644 "${pki}/ca.crt" "${r}/etc/kubernetes/pki/ca.crt"
  sign_cert "${pki}" "node-${REALNODE_NAME}" "/O=system:nodes/CN=system:node:${REALNODE_NAME}" clientAuth ""
  sign_cert "${pki}" "serving-${REALNODE_NAME}" "/CN=${REALNODE_NAME}" serverAuth "DNS:${REALNODE_NAME},IP:127.0.0.1"
  cat "${pki}/node-${REALNODE_NAME}.crt" "${pki}/node-${REALNODE_NAME}.key" >"${r}/var/lib/kubelet/pki/kubelet-client-current.pem"
  install -m 0644 "${pki}/serving-${REALNODE_NAME}.crt" "${r}/var/lib/kubelet/pki/kubelet.crt"
  install -m 0600 "${pki}/serving-${REALNODE_NAME}.key" "${r}/var/lib/kubelet/pki/kubelet.key"
  chmod 600 "${r}/var/lib/kubelet/pki/kubelet-client-current.pem"
  cat >"${r}/etc/kubernetes/kubelet.conf" <<KUBECONFIG
apiVersion: v1
kind: Config
clusters:
- cluster:
    certificate-authority: /etc/kubernetes/pki/ca.crt
    server: https://127.0.0.1:${SANDBOX_APISERVER_PORT}
  name: sandbox
contexts:
- context:
    cluster: sandbox
    user: system:node:${REALNODE_NAME}
  name: system:node:${REALNODE_NAME}@sandbox
current-context: system:node:${REALNODE_NAME}@sandbox
users:
- name: system:node:${REALNODE_NAME}
  user:
    client-certificate: /var/lib/kubelet/pki/kubelet-client-current.pem
    client-key: /var/lib/kubelet/pki/kubelet-client-current.pem
KUBECONFIG
  install -m 0644 "${SITE_DIR}/config.yaml" "${r}/var/lib/kubelet/config.yaml"
  printf 'KUBELET_KUBEADM_ARGS=""\n' >"${r}/var/lib/kubelet/kubeadm-flags.env"
  enable_unit kubelet.service multi-user.target
}

# site_cri_dockerd follows cri-dockerd's README for a manual install: the
# binary in /usr/local/bin, its units in /etc/systemd/system. Like an
# air-gapped site, its pause image comes from the local registry.
site_cri_dockerd() {
  local r=${REALNODE_ROOT} src
  src=$(GOWORK=off GOFLAGS=-mod=mod go mod download -json "github.com/Mirantis/cri-dockerd@${CRI_DOCKERD_VERSION}" |
    sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p')
  install -D -m 0755 "${REALNODE_BIN}/cri-dockerd" "${r}/usr/local/bin/cri-dockerd"
  install -m 0644 "${src}/packaging/systemd/cri-docker.service" "${src}/packaging/systemd/cri-docker.socket" \
    "${r}/etc/systemd/system/"
  sed -i -e 's,/usr/bin/cri-dockerd,/usr/local/bin/cri-dockerd,' \
    -e "s,--container-runtime-endpoint fd://,--container-runtime-endpoint fd:// --pod-infra-container-image=${REALNODE_REGISTRY}/k8s/pause:3.10," \
    "${r}/etc/systemd/system/cri-docker.service"
  enable_unit cri-docker.service multi-user.target
  enable_unit cri-docker.socket sockets.target
}

site_docker() {
  local r=${REALNODE_ROOT}
  mkdir -p "${r}/etc/docker"
  sed "s/REGISTRY/${REALNODE_REGISTRY}/g" "${SITE_DIR}/daemon.json" >"${r}/etc/docker/daemon.json"
}

# site_cni puts Debian's CNI plugins where cri-dockerd, CRI-O and containerd
# look for them, and a bridge network for pods.
site_cni() {
  local r=${REALNODE_ROOT}
  mkdir -p "${r}/opt/cni/bin" "${r}/etc/cni/net.d"
  cp -a "${r}/usr/lib/cni/." "${r}/opt/cni/bin/"
  install -m 0644 "${SITE_DIR}/10-bridge.conflist" "${r}/etc/cni/net.d/10-bridge.conflist"
}

# site_vm_quirks: what this VM needs and real hosts do not (realnode.md).
site_vm_quirks() {
  local r=${REALNODE_ROOT}
  install -m 0644 "${SITE_DIR}/crimig-vm-cgroup-rw.service" "${r}/etc/systemd/system/"
  enable_unit crimig-vm-cgroup-rw.service sysinit.target
  # No CAP_SYS_RESOURCE here: docker's default runtime (daemon.json) is a
  # runc wrapper that drops it; crimig carries that runtime to the target.
  install -D -m 0755 "${REALNODE_BIN}/runc-nooom" "${r}/usr/local/sbin/runc-nooom"
}

# enable_unit UNIT TARGET does what `systemctl enable` does for a unit whose
# [Install] section says WantedBy=TARGET, without a running systemd.
enable_unit() {
  local r=${REALNODE_ROOT} unit=$1 target=$2 path
  for path in /etc/systemd/system /usr/lib/systemd/system /lib/systemd/system; do
    [[ -e "${r}${path}/${unit}" ]] && break
  done
  mkdir -p "${r}/etc/systemd/system/${target}.wants"
  ln -sf "${path}/${unit}" "${r}/etc/systemd/system/${target}.wants/${unit}"
}
