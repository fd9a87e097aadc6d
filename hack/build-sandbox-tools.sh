#!/usr/bin/env bash
# shellcheck source-path=SCRIPTDIR
# Builds the sandbox's binaries from source into a per-user cache:
#   kube-apiserver, kube-controller-manager, kube-scheduler, kubectl (hack/tools)
#   etcd (hack/tools/etcd) and kwok (hack/tools/kwok);
#   kubelet (hack/tools) only when named: the real-node tier's node runs it.
# A binary that is already in the cache is skipped, so a warm run is instant.
#
# Usage: hack/build-sandbox-tools.sh [--paths] [BINARY...]
#   BINARY   one of the names above; default: all of them
#   --paths  print "name path" for every binary and exit without building
set -euo pipefail

# shellcheck source=sandbox/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/sandbox/lib.sh"

ALL_BINARIES=(kube-apiserver kube-controller-manager kube-scheduler kubectl etcd kwok)

binary_path() {
  case "$1" in
    etcd) echo "${ETCD_BIN}" ;;
    kwok) echo "${KWOK_BIN}" ;;
    kube-apiserver | kube-controller-manager | kube-scheduler | kubectl | kubelet)
      echo "${K8S_BIN_DIR}/$1" ;;
    *) die "unknown binary $1; choose from: ${ALL_BINARIES[*]} kubelet" ;;
  esac
}

# build_args NAME prints, one per line: the tools module dir, the package and
# the -ldflags value that build NAME.
build_args() {
  case "$1" in
    etcd)
      printf '%s\n' "${TOOLS_DIR}/etcd" go.etcd.io/etcd/server/v3 "-s -w" ;;
    kwok)
      printf '%s\n' "${TOOLS_DIR}/kwok" sigs.k8s.io/kwok/cmd/kwok \
        "-s -w -X sigs.k8s.io/kwok/pkg/consts.Version=${KWOK_VERSION#v}" ;;
    *)
      local minor=${K8S_VERSION#v1.}
      minor=${minor%%.*}
      printf '%s\n' "${TOOLS_DIR}" "k8s.io/kubernetes/cmd/$1" \
        "-s -w -X k8s.io/component-base/version.gitVersion=${K8S_VERSION} -X k8s.io/component-base/version.gitMajor=1 -X k8s.io/component-base/version.gitMinor=${minor}" ;;
  esac
}

# build NAME compiles one binary into a temporary file next to its final path
# and renames it, so an interrupted build never leaves a half-written binary
# that a later run would mistake for a finished one.
build() {
  local name=$1 out dir pkg ldflags t0 pid
  out=$(binary_path "${name}")
  if [[ -x "${out}" ]]; then
    log "${name}: cached at ${out}"
    return
  fi
  { read -r dir; read -r pkg; read -r ldflags; } < <(build_args "${name}")
  mkdir -p "$(dirname "${out}")"
  log "${name}: building ${pkg} from ${dir#"${REPO_ROOT}"/}"
  t0=$(date +%s.%N)
  (cd "${dir}" && GOWORK=off go build -trimpath -ldflags "${ldflags}" -o "${out}.tmp" "${pkg}") &
  pid=$!
  while ! wait_with_timeout "${pid}" 30; do
    log "${name}: still building ($(elapsed_since "${t0}")s)"
  done
  if ! wait "${pid}"; then
    rm -f "${out}.tmp"
    die "building ${name} failed; see the go output above, fix it, and rerun $0 ${name}"
  fi
  mv "${out}.tmp" "${out}"
  log "${name}: built in $(elapsed_since "${t0}")s -> ${out}"
}

# wait_with_timeout PID SECONDS returns 0 once PID has exited, 1 after SECONDS.
wait_with_timeout() {
  local i
  for ((i = 0; i < $2 * 2; i++)); do
    kill -0 "$1" 2>/dev/null || return 0
    sleep 0.5
  done
  return 1
}

main() {
  local names=() name
  if [[ "${1:-}" == "--paths" ]]; then
    for name in "${ALL_BINARIES[@]}"; do
      echo "${name} $(binary_path "${name}")"
    done
    return
  fi
  if (($# == 0)); then names=("${ALL_BINARIES[@]}"); else names=("$@"); fi
  for name in "${names[@]}"; do
    binary_path "${name}" >/dev/null
  done
  command -v go >/dev/null || die "go is not on PATH; install Go 1.26 and rerun"
  for name in "${names[@]}"; do
    build "${name}"
  done
  log "sandbox tools ready in ${CACHE_ROOT}"
}

main "$@"
