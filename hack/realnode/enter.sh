#!/usr/bin/env bash
# shellcheck source-path=SCRIPTDIR
# Runs a command (default: a login shell) in every namespace of the real
# node's systemd, as `machinectl shell` would on a host with machined.
#
# Usage: hack/realnode/enter.sh [CMD...]
#   hack/realnode/enter.sh systemctl status crio
#   hack/realnode/enter.sh journalctl -u kubelet -b --no-pager
set -euo pipefail

# shellcheck source=../sandbox/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/../sandbox/lib.sh"
# shellcheck source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

(($# > 0)) || set -- /bin/bash -l
in_node env -i TERM="${TERM:-xterm}" PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin HOME=/root "$@"
