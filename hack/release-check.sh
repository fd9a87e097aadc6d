#!/usr/bin/env bash
# Proves the krew install path end to end, offline: a snapshot release built
# by goreleaser, the krew manifest rendered with real checksums, krew itself
# installing the archive into a temporary KREW_ROOT, and the installed plugin
# answering `version`.
#
# It builds the host's platform only, which is what krew installs here; a
# real release (and RELEASE_CHECK_ALL=1) builds the whole matrix of
# .goreleaser.yaml, six platforms, which takes four times as long cold.
set -euo pipefail
cd "$(dirname "$0")/.."

start=$SECONDS
goreleaser="$(hack/install-tools.sh goreleaser)"
krew="$(hack/install-tools.sh krew)"

tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
config=.goreleaser.yaml
render=(hack/render-krew-manifest.sh)
if [[ "${RELEASE_CHECK_ALL:-0}" != 1 ]]; then
	goos="$(go env GOOS)" goarch="$(go env GOARCH)"
	config="$tmp/goreleaser.yaml"
	sed -e "s/^\( *goos:\) \[.*\]/\1 [$goos]/" -e "s/^\( *goarch:\) \[.*\]/\1 [$goarch]/" .goreleaser.yaml >"$config"
	if ! grep -q "goos: \[$goos\]" "$config" || ! grep -q "goarch: \[$goarch\]" "$config"; then
		echo "error: could not narrow .goreleaser.yaml to $goos/$goarch; set RELEASE_CHECK_ALL=1" >&2
		exit 1
	fi
	render+=(--present-only)
	echo ">> goreleaser snapshot release for $goos/$goarch (RELEASE_CHECK_ALL=1 builds every platform)"
else
	echo ">> goreleaser snapshot release, every platform"
fi
"$goreleaser" release --snapshot --clean --skip=publish -f "$config" >dist.log 2>&1 || {
	cat dist.log >&2
	echo "error: goreleaser failed (log above)" >&2
	exit 1
}
rm -f dist.log

# The snapshot's tag is the one goreleaser put into the archive names.
archive="$(find dist -maxdepth 1 -name 'kubectl-crimig_*_linux_amd64.tar.gz' | head -n1)"
[[ -n "$archive" ]] || { echo "error: no linux/amd64 archive in dist/" >&2; exit 1; }
tag="${archive#dist/kubectl-crimig_}"
tag="${tag%_linux_amd64.tar.gz}"
echo ">> archives for $tag:"
ls -l dist/*.tar.gz dist/*.zip 2>/dev/null || true

"${render[@]}" "$tag" dist >"$tmp/crimig.yaml"

listing="$(tar -tzf "$archive")"
if ! grep -qx LICENSE <<<"$listing"; then
	echo "error: $archive has no LICENSE" >&2
	exit 1
fi

echo ">> krew install --manifest --archive into a temporary KREW_ROOT"
export KREW_ROOT="$tmp/krew"
"$krew" install --manifest="$tmp/crimig.yaml" --archive="$archive"
installed="$KREW_ROOT/bin/kubectl-crimig"
[[ -x "$installed" ]] || { echo "error: krew did not install $installed" >&2; exit 1; }

out="$("$installed" version --client -o json)"
echo "$out"
got="$(printf '%s' "$out" | python3 -c 'import json,sys; print(json.load(sys.stdin)["client"]["version"])')"
if [[ "$got" != "$tag" ]]; then
	echo "error: installed plugin reports version '$got', want '$tag'" >&2
	exit 1
fi
echo ">> release-check passed in $((SECONDS - start))s"
