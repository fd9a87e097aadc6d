#!/bin/sh
# pod-log-check.sh tells in which format the kubelet's log of one container
# is kept, so that the smoke test can prove the new runtime writes
# CRI-format logs under /var/log/pods (log agents parse that format, and a
# symlink into docker's json-file logs means docker still serves the pod).
#
# Environment:
#   CRIMIG_POD_LOG_DIR  /var/log/pods/<namespace>_<pod>_<uid>/<container>
#
# On stdout: {"file":"...","format":"cri|docker-json|empty|unknown",
#   "symlink":"target or empty"}. It never prints the log's content.
# Exit 0 when the format is known (cri, docker-json, empty); 1 when the log
# is missing or unreadable; 2 on bad input.
set -eu
: "${CRIMIG_POD_LOG_DIR:?CRIMIG_POD_LOG_DIR is required}"
case $CRIMIG_POD_LOG_DIR in
  /var/log/pods/*) ;;
  *) echo "pod-log-check: not under /var/log/pods: $CRIMIG_POD_LOG_DIR" >&2; exit 2 ;;
esac
case $CRIMIG_POD_LOG_DIR in
  *..*) echo "pod-log-check: bad path: $CRIMIG_POD_LOG_DIR" >&2; exit 2 ;;
esac

dir=$CRIMIG_POD_LOG_DIR
if [ ! -d "$dir" ]; then
  echo "pod-log-check: $dir does not exist: the kubelet has not started the container" >&2
  exit 1
fi
# The newest rotated file is the highest N in N.log; a fresh container has 0.log.
file=
for f in "$dir"/*.log; do
  [ -e "$f" ] || [ -L "$f" ] || continue
  file=$f
done
if [ -z "$file" ]; then
  echo "pod-log-check: no log file in $dir" >&2
  exit 1
fi
target=
if [ -L "$file" ]; then
  target=$(readlink "$file")
fi
if [ ! -r "$file" ]; then
  echo "pod-log-check: $file is unreadable (dangling symlink to ${target:-?})" >&2
  exit 1
fi
first=$(head -n 1 "$file")
format=unknown
if [ -z "$first" ]; then
  format=empty
elif printf '%s\n' "$first" | grep -Eq '^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9:.]+(Z|[+-][0-9]{2}:[0-9]{2}) (stdout|stderr) [FP] '; then
  format=cri
elif printf '%s\n' "$first" | grep -Eq '^\{.*"log":.*"stream":'; then
  format=docker-json
fi
# Paths come from the kubelet's naming (namespace, pod, uid, container), so
# they hold no quotes or backslashes; escape them anyway.
esc() { printf '%s' "$1" | sed 's/\\/\\\\/g; s/"/\\"/g'; }
printf '{"file":"%s","format":"%s","symlink":"%s"}\n' "$(esc "$file")" "$format" "$(esc "$target")"
