#!/usr/bin/env bash
# Fails when git tracks a compiled binary or a downloaded archive.
set -euo pipefail
cd "$(dirname "$0")/.."

status=0
while IFS= read -r -d '' f; do
	[[ -f "$f" ]] || continue
	case "$f" in
	*.tar.gz | *.tgz | *.zip | *.tar) ;;
	*)
		# ELF, Mach-O and PE headers.
		magic="$(head -c 4 "$f" | od -An -tx1 | tr -d ' \n')"
		case "$magic" in
		7f454c46 | cffaedfe | cefaedfe | feedfacf | 4d5a*) ;;
		*) continue ;;
		esac
		;;
	esac
	echo "error: binary or archive tracked by git: $f (remove it with 'git rm --cached')" >&2
	status=1
done < <(git ls-files -z)
exit "$status"
