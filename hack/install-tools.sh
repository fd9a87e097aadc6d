#!/usr/bin/env bash
# Builds the pinned developer tools from the Go module proxy, once, into a
# cache outside the repo, and prints the path of the requested tool.
#   hack/install-tools.sh golangci-lint|goreleaser|krew
set -euo pipefail

CACHE="${XDG_CACHE_HOME:-$HOME/.cache}/crimig-tools"

declare -A PKG=(
	[golangci-lint]="github.com/golangci/golangci-lint/v2/cmd/golangci-lint@v2.15.0"
	[goreleaser]="github.com/goreleaser/goreleaser/v2@v2.15.1"
	[krew]="sigs.k8s.io/krew/cmd/krew@v0.4.3"
)

tool="${1:?usage: $0 golangci-lint|goreleaser|krew}"
pkg="${PKG[$tool]:-}"
if [[ -z "$pkg" ]]; then
	echo "error: unknown tool '$tool'; choose one of: ${!PKG[*]}" >&2
	exit 1
fi

dir="$CACHE/$tool-${pkg##*@}"
if [[ ! -x "$dir/$tool" ]]; then
	echo ">> building $tool ${pkg##*@} (once; cached in $dir)" >&2
	start=$SECONDS
	mkdir -p "$dir"
	# The tools are built outside this module so their dependencies never
	# touch go.mod.
	(cd "$dir" && GOBIN="$dir" GOFLAGS=-buildvcs=false go install "$pkg")
	echo ">> built $tool in $((SECONDS - start))s" >&2
fi
echo "$dir/$tool"
