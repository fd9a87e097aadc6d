#!/bin/sh
# report-files.sh hands the evidence bundle (migrate --report) the files a
# run backed up, as they were before it (the backups) and as they are now.
#
# Environment:
#   CRIMIG_RUN_ID     run id
#   CRIMIG_STATE_DIR  crimig's directory on the host (hostscripts.StateDir)
#
# On stdout, three sections, each opened by a marker line:
#   --- manifest     the backup manifest, "path<TAB>sha256|absent<TAB>mode"
#   --- before       base64 of a tar of the backed-up copies (paths relative to /)
#   --- after        base64 of a tar of the same paths as they are now
# Private keys and credential files (*.key, *auth*.json, .docker/config.json)
# are left out of both tars: the manifest's checksum is their only trace.
# Exit 1 when the run has no backup on this host.
set -eu
: "${CRIMIG_RUN_ID:?CRIMIG_RUN_ID is required}"
case $CRIMIG_RUN_ID in
  '' | *[!A-Za-z0-9._-]* | .*) echo "report-files: bad run id: $CRIMIG_RUN_ID" >&2; exit 2 ;;
esac
backup=${CRIMIG_STATE_DIR:?CRIMIG_STATE_DIR is required}/$CRIMIG_RUN_ID/backup
manifest=$backup/manifest.tsv
if [ ! -f "$manifest" ]; then
  echo "report-files: run $CRIMIG_RUN_ID has no backup on this host ($manifest)" >&2
  exit 1
fi

withheld() {
  case $1 in
    *.key | *auth*.json | */.docker/config.json) return 0 ;;
  esac
  return 1
}

# tar_of DIR: a tar of the manifest's paths that exist under DIR, relative
# names so that DIR may be / or the backup directory. Paths go on tar's
# command line (busybox tar has no -T).
tar_of() {
  dir=$1
  tab=$(printf '\t')
  set --
  while IFS="$tab" read -r path _; do
    rel=${path#/}
    withheld "$path" && continue
    [ -f "$dir/$rel" ] || continue
    set -- "$@" "$rel"
  done <"$manifest"
  [ $# -gt 0 ] || return 0
  tmp=$(mktemp)
  if ! tar -C "$dir" -cf "$tmp" "$@"; then
    rm -f "$tmp"
    echo "report-files: tar of $dir failed" >&2
    exit 1
  fi
  base64 <"$tmp"
  rm -f "$tmp"
}

echo "--- manifest"
cat "$manifest"
echo "--- before"
tar_of "$backup"
echo "--- after"
tar_of /
