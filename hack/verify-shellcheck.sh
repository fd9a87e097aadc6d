#!/usr/bin/env bash
# Runs shellcheck on every shell script tracked in the repo.
set -euo pipefail
cd "$(dirname "$0")/.."

if ! command -v shellcheck >/dev/null; then
	echo "error: shellcheck not found; install it with 'apt-get install -y shellcheck'" >&2
	exit 1
fi
mapfile -t files < <(git ls-files '*.sh' '.ci/run' 'kubectl_complete-crimig')
shellcheck --external-sources "${files[@]}"
echo "shellcheck: ${#files[@]} scripts clean"
