#!/usr/bin/env bash
# shellcheck source-path=SCRIPTDIR
# Builds the real node's binaries from Go modules into a per-user cache:
#   kubelet      the sandbox's Kubernetes (hack/build-sandbox-tools.sh kubelet)
#   crio, pinns  CRI-O, from github.com/cri-o/cri-o (pinns is its C helper)
#   cri-dockerd  github.com/Mirantis/cri-dockerd
#   crictl       sigs.k8s.io/cri-tools
#   registry, pause  the tier's registry and sandbox image (hack/tools/realnode)
# Versions are in versions.env. A binary already in the cache is skipped, so a
# warm run is instant; the Go build cache is shared with the sandbox tools.
#
# Usage: hack/realnode/build-tools.sh [--paths] [BINARY...]
set -euo pipefail

# shellcheck source=../sandbox/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/../sandbox/lib.sh"
# shellcheck source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

ALL=(registry pause runc-nooom crictl cri-dockerd pinns crio kubelet)
CRIO_TAGS="containers_image_ostree_stub containers_image_openpgp exclude_graphdriver_btrfs btrfs_noversion seccomp"

# module_copy MODULE VERSION prints a writable copy of the module's source,
# made from the module cache (module sources there are read-only).
module_copy() {
  local dir work
  dir=$(GOWORK=off GOFLAGS=-mod=mod go mod download -json "$1@$2" | sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p')
  [[ -d "${dir}" ]] || die "go mod download $1@$2 gave no source directory"
  work="${REALNODE_CACHE}/src/$(basename "$1")-$2"
  rm -rf "${work}"
  mkdir -p "$(dirname "${work}")"
  cp -r "${dir}" "${work}"
  chmod -R u+w "${work}"
  echo "${work}"
}

# go_build DIR OUT PKG [GO BUILD ARGS...] builds into OUT.tmp, then renames it,
# so an interrupted build never leaves a binary a later run would trust.
go_build() {
  local dir=$1 out=$2 pkg=$3
  shift 3
  (cd "${dir}" && GOWORK=off GOFLAGS=-mod=mod go build -trimpath "$@" -o "${out}.tmp" "${pkg}")
  mv "${out}.tmp" "${out}"
}

build_one() {
  local name=$1 out="${REALNODE_BIN}/$1" src
  case "${name}" in
    kubelet)
      "${REPO_ROOT}/hack/build-sandbox-tools.sh" kubelet
      ln -sf "${K8S_BIN_DIR}/kubelet" "${out}"
      return ;;
  esac
  if [[ -x "${out}" ]]; then
    log "${name}: cached at ${out}"
    return
  fi
  log "${name}: building"
  local t0
  t0=$(date +%s.%N)
  case "${name}" in
    registry) go_build "${REPO_ROOT}/hack/tools/realnode" "${out}" ./registry ;;
    pause | runc-nooom) CGO_ENABLED=0 go_build "${REPO_ROOT}/hack/tools/realnode" "${out}" "./${name}" -ldflags "-s -w" ;;
    crictl)
      src=$(module_copy sigs.k8s.io/cri-tools "${CRI_TOOLS_VERSION}")
      CGO_ENABLED=0 go_build "${src}" "${out}" ./cmd/crictl \
        -ldflags "-s -w -X sigs.k8s.io/cri-tools/pkg/version.Version=${CRI_TOOLS_VERSION}" ;;
    cri-dockerd)
      src=$(module_copy github.com/Mirantis/cri-dockerd "${CRI_DOCKERD_VERSION}")
      go_build "${src}" "${out}" . \
        -ldflags "-s -w -X github.com/Mirantis/cri-dockerd/cmd/version.Version=${CRI_DOCKERD_VERSION#v}" ;;
    crio)
      src=$(module_copy github.com/cri-o/cri-o "${CRIO_VERSION}")
      CGO_ENABLED=1 go_build "${src}" "${out}" ./cmd/crio -tags "${CRIO_TAGS}" -ldflags "-s -w" ;;
    pinns)
      src=$(module_copy github.com/cri-o/cri-o "${CRIO_VERSION}")
      make -s -C "${src}/pinns" >&2
      mv "${src}/bin/pinns" "${out}" ;;
    *) die "unknown binary ${name}; choose from: ${ALL[*]}" ;;
  esac
  log "${name}: built in $(elapsed_since "${t0}")s -> ${out}"
}

main() {
  local names=() name
  if [[ "${1:-}" == "--paths" ]]; then
    for name in "${ALL[@]}"; do echo "${name} ${REALNODE_BIN}/${name}"; done
    return
  fi
  if (($# == 0)); then names=("${ALL[@]}"); else names=("$@"); fi
  command -v go >/dev/null || die "go is not on PATH; install Go 1.26 and rerun"
  realnode_cache_lock
  mkdir -p "${REALNODE_BIN}"
  for name in "${names[@]}"; do
    build_one "${name}"
  done
  log "real-node binaries ready in ${REALNODE_BIN}"
}

main "$@"
