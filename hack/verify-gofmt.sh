#!/usr/bin/env bash
# Fails when a tracked Go file is not gofmt-clean.
set -euo pipefail
cd "$(dirname "$0")/.."

mapfile -t files < <(git ls-files '*.go')
[[ ${#files[@]} -eq 0 ]] && exit 0
bad="$(gofmt -l "${files[@]}")"
if [[ -n "$bad" ]]; then
	echo "error: these files are not gofmt-clean; run 'gofmt -w' on them:" >&2
	echo "$bad" >&2
	exit 1
fi
