#!/usr/bin/env bash
# shellcheck source-path=SCRIPTDIR
# Makes the real node's pristine root once, cached: Debian (versions.env) by
# debootstrap --variant=minbase, with systemd and, from Debian's apt, the
# Docker host a site runs before migrating: docker.io, containerd, runc,
# conmon and the CNI plugins. Nothing boots this copy; node-up.sh boots a
# copy of it, so every scenario starts from the same host.
#
# Usage: hack/realnode/rootfs.sh [--force]
set -euo pipefail

# shellcheck source=../sandbox/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/../sandbox/lib.sh"
# shellcheck source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

PACKAGES=(
  systemd systemd-sysv dbus kmod procps iproute2 iptables ca-certificates gnupg
  docker.io containerd runc conmon crun containernetworking-plugins
)

main() {
  realnode_cache_lock
  [[ "${1:-}" == "--force" ]] && rm -rf "${REALNODE_ROOTFS}"
  if [[ -x "${REALNODE_ROOTFS}/usr/sbin/dockerd" ]]; then
    log "rootfs: cached at ${REALNODE_ROOTFS}"
    return
  fi
  command -v debootstrap >/dev/null || die "debootstrap is missing; apt-get install -y debootstrap systemd-container"
  local tmp="${REALNODE_ROOTFS}.tmp" packages
  rm -rf "${tmp}"
  mkdir -p "$(dirname "${tmp}")"
  packages=$(IFS=,; echo "${PACKAGES[*]}")
  log "rootfs: debootstrap ${DEBIAN_SUITE} with ${packages} (once; a few minutes)"
  debootstrap --variant=minbase --include="${packages}" "${DEBIAN_SUITE}" "${tmp}" "${REALNODE_MIRROR}" \
    >"${REALNODE_CACHE}/debootstrap.log" 2>&1 ||
    die "debootstrap failed; see ${REALNODE_CACHE}/debootstrap.log"
  # Packages start nothing at install time; the node's systemd starts them.
  rm -f "${tmp}/etc/machine-id"
  : >"${tmp}/etc/machine-id"
  mv "${tmp}" "${REALNODE_ROOTFS}"
  log "rootfs: ready at ${REALNODE_ROOTFS} ($(du -sh "${REALNODE_ROOTFS}" | cut -f1))"
}

main "$@"
