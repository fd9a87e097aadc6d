#!/usr/bin/env bash
# shellcheck source-path=SCRIPTDIR
# Packs CRI-O's offline bundle in the layout of the project's static release
# tarball (cri-o.amd64.<version>.tar.gz, top folder cri-o/, see realnode.md):
# crio and pinns built from the cri-o module (build-tools.sh), crictl from
# cri-tools, conmon, runc, crun and the CNI plugins from Debian (the node's
# pristine root), and the files in bundle/, whose `install` is bash with no
# valid first line, as upstream's is. Cached; prints the bundle's path.
#
# Usage: hack/realnode/bundle.sh [--force]
set -euo pipefail

# shellcheck source=../sandbox/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/../sandbox/lib.sh"
# shellcheck source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

main() {
  realnode_cache_lock
  [[ "${1:-}" == "--force" ]] && rm -f "${REALNODE_BUNDLE}"
  if [[ -s "${REALNODE_BUNDLE}" ]]; then
    echo "${REALNODE_BUNDLE}"
    return
  fi
  local b="${REALNODE_DIR}/bundle" r="${REALNODE_ROOTFS}"
  tmp=$(mktemp -d)
  trap 'rm -rf "${tmp}"' EXIT
  local c="${tmp}/cri-o"
  mkdir -p "${c}"/{bin,contrib,etc,cni-plugins}
  install -m 0755 "${REALNODE_BIN}/crio" "${REALNODE_BIN}/pinns" "${REALNODE_BIN}/crictl" "${c}/bin/"
  install -m 0755 "${r}/usr/bin/conmon" "${r}/usr/sbin/runc" "${r}/usr/bin/crun" "${c}/bin/"
  cp -a "${r}/usr/lib/cni/." "${c}/cni-plugins/"
  install -m 0644 "${b}/crio.service" "${b}/policy.json" "${b}/registries.conf" \
    "${b}/10-crio-bridge.conflist.disabled" "${c}/contrib/"
  install -m 0644 "${b}/10-crio.conf" "${b}/crictl.yaml" "${c}/etc/"
  install -m 0644 "${b}/crio.env" "${c}/etc/crio"
  install -m 0755 "${b}/install" "${c}/install"
  mkdir -p "$(dirname "${REALNODE_BUNDLE}")"
  tar -C "${tmp}" -czf "${REALNODE_BUNDLE}.tmp" cri-o
  mv "${REALNODE_BUNDLE}.tmp" "${REALNODE_BUNDLE}"
  log "bundle: ${REALNODE_BUNDLE} ($(du -h "${REALNODE_BUNDLE}" | cut -f1))"
  echo "${REALNODE_BUNDLE}"
}

main "$@"
