#!/bin/sh
# copy-certs.sh gives the new runtime docker's per-registry certificates:
# every file of /etc/docker/certs.d/<host>/ goes to the same name under the
# runtime's certs.d (/etc/containers/certs.d for CRI-O and podman,
# /etc/containerd/certs.d for containerd), which read the same ca.crt /
# client.cert / client.key layout. backup.sh has already saved (or recorded
# as absent) every destination file, so a restore puts them back.
#
# Environment:
#   CRIMIG_COPIES  newline separated "from<TAB>to" directory pairs
#
# On stdout, one line per file: "copied <to-path>" or "unchanged <to-path>".
# It never prints the files' content. Exit 2 on a path outside those dirs.
set -eu
: "${CRIMIG_COPIES?CRIMIG_COPIES is required}"
tab=$(printf '\t')

check() {
  case $2 in
    *..* | *"$tab"*) echo "copy-certs: bad path: $2" >&2; exit 2 ;;
  esac
  case $1:$2 in
    from:/etc/docker/certs.d/?*) ;;
    to:/etc/containers/certs.d/?* | to:/etc/containerd/certs.d/?*) ;;
    *) echo "copy-certs: refusing $1 path $2" >&2; exit 2 ;;
  esac
}

# Check every pair before copying anything.
printf '%s\n' "$CRIMIG_COPIES" | while IFS="$tab" read -r from to; do
  [ -n "$from" ] || continue
  check from "$from"
  check to "$to"
done

printf '%s\n' "$CRIMIG_COPIES" | while IFS="$tab" read -r from to; do
  [ -n "$from" ] || continue
  if [ ! -d "$from" ]; then
    echo "copy-certs: $from is gone; nothing to copy" >&2
    continue
  fi
  mkdir -p "$to"
  chmod 755 "$to"
  for f in "$from"/*; do
    [ -f "$f" ] || continue
    dst=$to/${f##*/}
    if [ -f "$dst" ] && command -v cmp >/dev/null 2>&1 && cmp -s "$f" "$dst"; then
      echo "unchanged $dst"
      continue
    fi
    # Through a temporary file in the same directory, so a reader never
    # sees half a key; cp -p keeps the (often 0600) mode.
    cp -p "$f" "$dst.crimig-tmp"
    mv -f "$dst.crimig-tmp" "$dst"
    echo "copied $dst"
  done
done
