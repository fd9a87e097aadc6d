#!/bin/sh
# reuse-file.sh tells whether the host already has a file, so that a large
# upload (an offline bundle) is not sent again.
#
# Environment:
#   CRIMIG_DEST        absolute path the file would be uploaded to
#   CRIMIG_SHA256      its sha256, 64 lowercase hex characters
#   CRIMIG_SIZE        its size in bytes
#   CRIMIG_MODE        octal permission bits of a file put at CRIMIG_DEST (0644)
#   CRIMIG_SEARCH_DIR  optional: also look for a file with the same name up to
#                      three levels below this directory (earlier runs' copies)
#
# When CRIMIG_DEST already has that content, nothing changes. When a copy with
# the same name, size and sha256 is found under CRIMIG_SEARCH_DIR, it is
# linked (or copied) to CRIMIG_DEST.
#
# On stdout: {"found":true,"from":"<path whose content matched>"} or {"found":false}
set -eu
: "${CRIMIG_DEST:?CRIMIG_DEST is required}"
: "${CRIMIG_SHA256:?CRIMIG_SHA256 is required}"
: "${CRIMIG_SIZE:?CRIMIG_SIZE is required}"
: "${CRIMIG_MODE:=0644}"
: "${CRIMIG_SEARCH_DIR:=}"

# same FILE: FILE has the wanted size and sha256. The size is checked first,
# so that unrelated files are never hashed.
same() {
  [ -f "$1" ] || return 1
  [ "$(wc -c <"$1" | tr -d ' ')" = "$CRIMIG_SIZE" ] || return 1
  [ "$(sha256sum "$1" | cut -d ' ' -f 1)" = "$CRIMIG_SHA256" ]
}

found() {
  printf '{"found":true,"from":"%s"}\n' "$(printf '%s' "$1" | sed 's/\\/\\\\/g; s/"/\\"/g')"
  exit 0
}

if same "$CRIMIG_DEST"; then
  found "$CRIMIG_DEST"
fi
if [ -n "$CRIMIG_SEARCH_DIR" ] && [ -d "$CRIMIG_SEARCH_DIR" ]; then
  name=$(basename "$CRIMIG_DEST")
  match=$(find "$CRIMIG_SEARCH_DIR" -maxdepth 3 -type f -name "$name" 2>/dev/null |
    while IFS= read -r f; do
      if same "$f"; then
        printf '%s\n' "$f"
        break
      fi
    done)
  if [ -n "$match" ]; then
    mkdir -p "$(dirname "$CRIMIG_DEST")"
    tmp="$CRIMIG_DEST.crimig-reuse.$$"
    trap 'rm -f "$tmp"' EXIT
    # A hard link keeps the data if the earlier run's directory goes.
    ln -f "$match" "$tmp" 2>/dev/null || cp "$match" "$tmp"
    chmod "$CRIMIG_MODE" "$tmp"
    mv -f "$tmp" "$CRIMIG_DEST"
    trap - EXIT
    found "$match"
  fi
fi
echo '{"found":false}'
