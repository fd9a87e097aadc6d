#!/bin/sh
# journal-read.sh prints the journal of a crimig run, one JSON object a line.
#
# Environment:
#   CRIMIG_RUN_ID     run id
#   CRIMIG_JOB        optional; when set, the first line is the job's status:
#                     {"job":"...","started":true|false,"alive":true|false}
#   CRIMIG_STATE_DIR  optional, default /var/lib/crimig
set -eu
: "${CRIMIG_RUN_ID:?CRIMIG_RUN_ID is required}"
case $CRIMIG_RUN_ID in
  '' | *[!A-Za-z0-9._-]* | .*) echo "journal-read: bad run id: $CRIMIG_RUN_ID" >&2; exit 2 ;;
esac
base=${CRIMIG_STATE_DIR:-/var/lib/crimig}/$CRIMIG_RUN_ID

if [ -n "${CRIMIG_JOB:-}" ]; then
  case $CRIMIG_JOB in
    *[!A-Za-z0-9._-]* | .*) echo "journal-read: bad job name: $CRIMIG_JOB" >&2; exit 2 ;;
  esac
  started=false
  alive=false
  pidfile=$base/jobs/$CRIMIG_JOB.pid
  if [ -f "$pidfile" ]; then
    started=true
    pid=$(cat "$pidfile")
    # The pid alone could have been reused after a reboot: check it still runs our runner.
    # Without procfs (a chroot) only kill -0 can tell.
    if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then
      if [ ! -d /proc/self ] ||
        tr '\000' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -q "job-runner.sh $base $CRIMIG_JOB"; then
        alive=true
      fi
    fi
  fi
  printf '{"job":"%s","started":%s,"alive":%s}\n' "$CRIMIG_JOB" "$started" "$alive"
fi

if [ -f "$base/journal.jsonl" ]; then
  cat "$base/journal.jsonl"
fi
