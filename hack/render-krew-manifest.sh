#!/usr/bin/env bash
# Renders krew/crimig.yaml (a krew-release-bot template) for a tag, with the
# real sha256 of each archive found in DIST.
#   hack/render-krew-manifest.sh [--present-only] TAG DIST > crimig.yaml
# --present-only drops the platforms whose archive is not in DIST (a
# single-platform release check); without it a missing archive is an error.
set -euo pipefail

present_only=0
if [[ "${1:-}" == --present-only ]]; then
	present_only=1
	shift
fi
tag="${1:?usage: $0 [--present-only] TAG DIST}"
dist="${2:?usage: $0 [--present-only] TAG DIST}"
template="$(dirname "$0")/../krew/crimig.yaml"

# A platform entry starts with "  - selector:" and runs to the next one or to
# the end; it is held back until its archive is known to be there.
block=()
keep=1
flush() {
	((keep)) && ((${#block[@]})) && printf '%s\n' "${block[@]}"
	block=()
	keep=1
}

# Each addURIAndSha line names an archive URL; krew-release-bot replaces it
# with "uri:" and "sha256:" keys. We do the same from the local files.
while IFS= read -r line; do
	line="${line//\{\{ .TagName \}\}/$tag}"
	[[ "$line" == "  - selector:" ]] && flush
	if [[ "$line" =~ ^([[:space:]]*)\{\{addURIAndSha\ \"([^\"]+)\"\ \.TagName\ \}\}$ ]]; then
		indent="${BASH_REMATCH[1]}"
		uri="${BASH_REMATCH[2]}"
		file="$dist/${uri##*/}"
		if [[ ! -f "$file" ]]; then
			if ((present_only)); then
				keep=0
				continue
			fi
			echo "error: archive $file not found; build the release first (goreleaser release --snapshot)" >&2
			exit 1
		fi
		sum="$(sha256sum "$file" | cut -d' ' -f1)"
		block+=("$(printf '%suri: %s\n%ssha256: %s' "$indent" "$uri" "$indent" "$sum")")
		continue
	fi
	block+=("$line")
done <"$template"
flush
