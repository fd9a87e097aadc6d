#!/usr/bin/env bash
# Renders krew/crimig.yaml (a krew-release-bot template) for a tag, with the
# real sha256 of each archive found in DIST.
#   hack/render-krew-manifest.sh TAG DIST > crimig.yaml
set -euo pipefail

tag="${1:?usage: $0 TAG DIST}"
dist="${2:?usage: $0 TAG DIST}"
template="$(dirname "$0")/../krew/crimig.yaml"

# Each addURIAndSha line names an archive URL; krew-release-bot replaces it
# with "uri:" and "sha256:" keys. We do the same from the local files.
while IFS= read -r line; do
	line="${line//\{\{ .TagName \}\}/$tag}"
	if [[ "$line" =~ ^([[:space:]]*)\{\{addURIAndSha\ \"([^\"]+)\"\ \.TagName\ \}\}$ ]]; then
		indent="${BASH_REMATCH[1]}"
		uri="${BASH_REMATCH[2]}"
		file="$dist/${uri##*/}"
		if [[ ! -f "$file" ]]; then
			echo "error: archive $file not found; build the release first (goreleaser release --snapshot)" >&2
			exit 1
		fi
		sum="$(sha256sum "$file" | cut -d' ' -f1)"
		printf '%suri: %s\n%ssha256: %s\n' "$indent" "$uri" "$indent" "$sum"
		continue
	fi
	printf '%s\n' "$line"
done <"$template"
