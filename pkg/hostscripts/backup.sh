#!/bin/sh
# backup.sh copies the host files that a migration may change, before it
# changes any, so that a restore can put every one of them back.
#
# Environment:
#   CRIMIG_RUN_ID        run id; names the state directory
#   CRIMIG_BACKUP_PATHS  newline separated absolute paths
#   CRIMIG_STATE_DIR     crimig's directory on the host (hostscripts.StateDir)
#
# Each existing file is copied to <state>/<run>/backup/<path> with its mode and
# recorded in <state>/<run>/backup/manifest.tsv as "path<TAB>sha256<TAB>mode";
# a path that does not exist yet is recorded as "path<TAB>absent<TAB>-", so that
# a restore deletes it. Paths already in the manifest are never copied again:
# the first backup of a run is the pristine state, and a resumed run must not
# overwrite it with files it has already changed.
#
# On stdout: {"dir":"...","files":[{"path":"...","sha256":"...","mode":"0644","absent":false}]}
# listing the whole manifest.
set -eu
: "${CRIMIG_RUN_ID:?CRIMIG_RUN_ID is required}"
case $CRIMIG_RUN_ID in
  '' | *[!A-Za-z0-9._-]* | .*) echo "backup: bad run id: $CRIMIG_RUN_ID" >&2; exit 2 ;;
esac

# --- json escaper: keep identical in every script that has it ---
# json_awk is an awk program that prints its input as one JSON string literal.
# With -v lines=1 it prints a JSON array holding one string per input line.
# With -v nl=1 it appends the newline that the last input line ended with.
# It walks characters instead of using gsub because awks disagree about
# backslashes in gsub replacements.
# shellcheck disable=SC2016 # awk program, expanded by awk not sh
json_awk='
BEGIN {
  ORS = ""
  for (i = 1; i < 32; i++) { c = sprintf("%c", i); esc[c] = sprintf("\\u%04x", i); ctl = ctl c }
  esc["\t"] = "\\t"; esc["\n"] = "\\n"; esc["\r"] = "\\r"
  esc["\\"] = "\\\\"; esc["\""] = "\\\""
  ctlre = "[" ctl "]"
  if (lines) printf "["; else printf "\""
}
function quote(s,   out, n, j, ch) {
  if (!index(s, "\\") && !index(s, "\"") && s !~ ctlre) return s
  out = ""; n = length(s)
  for (j = 1; j <= n; j++) { ch = substr(s, j, 1); out = out ((ch in esc) ? esc[ch] : ch) }
  return out
}
{
  if (lines) { printf "%s\"%s\"", (NR > 1 ? "," : ""), quote($0) }
  else { printf "%s%s", (NR > 1 ? "\\n" : ""), quote($0) }
}
END {
  if (lines) { printf "]"; exit }
  if (nl && NR > 0) printf "\\n"
  printf "\""
}'

# json_str prints its argument as a JSON string literal.
json_str() {
  printf '%s\n' "$1" | awk -v lines=0 -v nl=0 "$json_awk"
}
# --- end of json escaper ---

state=${CRIMIG_STATE_DIR:?CRIMIG_STATE_DIR is required}
base=$state/$CRIMIG_RUN_ID
dir=$base/backup
manifest=$dir/manifest.tsv
tab=$(printf '\t')
mkdir -p "$dir"
chmod 0700 "$state" "$base" "$dir"
touch "$manifest"

# recorded PATH succeeds when the manifest already holds PATH. The path goes
# through ENVIRON because awk -v would interpret backslashes in it.
recorded() {
  P=$1 awk -F '\t' '$1 == ENVIRON["P"] { found = 1 } END { exit !found }' "$manifest"
}

# save PATH copies one file into the backup and records it.
save() {
  path=$1
  if [ -f "$path" ]; then
    copy=$dir$path
    mkdir -p "$(dirname "$copy")"
    cp -p "$path" "$copy.crimig-tmp"
    mv -f "$copy.crimig-tmp" "$copy"
    # From stdin: sha256sum escapes file names that hold a backslash.
    sum=$(sha256sum <"$copy" | cut -d " " -f 1)
    mode=0$(stat -c %a "$copy")
    printf '%s\t%s\t%s\n' "$path" "$sum" "$mode" >>"$manifest"
  elif [ -e "$path" ]; then
    echo "backup: $path exists but is not a regular file" >&2
    return 1
  else
    printf '%s\t%s\t%s\n' "$path" absent - >>"$manifest"
  fi
}

printf '%s\n' "${CRIMIG_BACKUP_PATHS:-}" | while IFS= read -r path; do
  case $path in
    '') continue ;;
    /*) ;;
    *) echo "backup: not an absolute path: $path" >&2; exit 2 ;;
  esac
  case $path in
    *"$tab"* | */../* | */.. | */./* | */. | *//*)
      echo "backup: refusing path $path" >&2; exit 2 ;;
  esac
  if ! recorded "$path"; then
    save "$path"
  fi
done

printf '{"dir":%s,"files":[' "$(json_str "$dir")"
sep=
while IFS="$tab" read -r path sum mode; do
  if [ "$sum" = absent ]; then
    printf '%s{"path":%s,"sha256":"","mode":"","absent":true}' "$sep" "$(json_str "$path")"
  else
    printf '%s{"path":%s,"sha256":"%s","mode":"%s","absent":false}' "$sep" "$(json_str "$path")" "$sum" "$mode"
  fi
  sep=,
done <"$manifest"
printf ']}\n'
