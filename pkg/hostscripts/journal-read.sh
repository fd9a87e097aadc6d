#!/bin/sh
# journal-read.sh prints the journal of a crimig run, one JSON object a line.
#
# Environment:
#   CRIMIG_RUN_ID     run id
#   CRIMIG_JOB        optional; when set, the first line is the job's status:
#                     {"job":"...","started":true|false,"alive":true|false,
#                      "logTail":["last lines of jobs/<job>.log", ...]}
#   CRIMIG_LOG_LINES  optional, how many lines of the job's log; default 15
#   CRIMIG_STATE_DIR  crimig's directory on the host (hostscripts.StateDir)
set -eu
: "${CRIMIG_RUN_ID:?CRIMIG_RUN_ID is required}"
case $CRIMIG_RUN_ID in
  '' | *[!A-Za-z0-9._-]* | .*) echo "journal-read: bad run id: $CRIMIG_RUN_ID" >&2; exit 2 ;;
esac
base=${CRIMIG_STATE_DIR:?CRIMIG_STATE_DIR is required}/$CRIMIG_RUN_ID

# log_tail prints the last lines of the job's log as a JSON array of strings,
# [] when there is none. The escaper is the journal library's, which
# detach.sh left in the run's directory when it started the job.
log_tail() {
  log=$base/jobs/$CRIMIG_JOB.log
  if [ ! -s "$log" ] || [ ! -f "$base/journal-lib.sh" ]; then
    printf '[]'
    return 0
  fi
  # shellcheck source=SCRIPTDIR/journal-lib.sh
  . "$base/journal-lib.sh"
  tail -n "${CRIMIG_LOG_LINES:-15}" "$log" | cut -c 1-300 | awk -v lines=1 "$json_awk"
}

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
  printf '{"job":"%s","started":%s,"alive":%s,"logTail":%s}\n' "$CRIMIG_JOB" "$started" "$alive" "$(log_tail)"
fi

if [ -f "$base/journal.jsonl" ]; then
  cat "$base/journal.jsonl"
fi
