#!/bin/sh
# job-runner.sh is what systemd-run (or setsid) starts for a detached crimig job.
# Usage: /bin/sh job-runner.sh STATE_DIR JOB [LAUNCHER_PID]
# It records the job's pid, runs the job body with its environment and the
# journal helpers, and always journals the exit code.
base=$1
CRIMIG_JOB=$2
CRIMIG_JOURNAL=$base/journal.jsonl
export CRIMIG_JOB CRIMIG_JOURNAL
cd / || exit 1
trap '' HUP

# Without systemd the job would stay in the exec pod's cgroup and die with it
# when the runtime stops, so move it to the root cgroup (best effort).
if [ "${CRIMIG_DETACH_MODE:-}" = setsid ]; then
  cg=${CRIMIG_CGROUP_ROOT:-/sys/fs/cgroup}
  for procs in "$cg/cgroup.procs" "$cg"/*/cgroup.procs; do
    [ -f "$procs" ] && { echo $$ >"$procs"; } 2>/dev/null
  done
fi

# shellcheck source=/dev/null
. "$base/journal-lib.sh"
echo $$ >"$base/jobs/$CRIMIG_JOB.pid"

# Let the exec that started us finish and report before the job can stop the
# runtime under it (at most 10s, then 1s for its output to travel).
launcher=${3:-}
if [ -n "$launcher" ]; then
  i=0
  while kill -0 "$launcher" 2>/dev/null && [ "$i" -lt 100 ]; do
    i=$((i + 1))
    sleep 0.1 2>/dev/null || sleep 1
  done
  sleep 1
fi
crimig_journal "" started "job started (${CRIMIG_DETACH_MODE:-unknown})"
(
  # shellcheck source=/dev/null
  . "$base/jobs/$CRIMIG_JOB.env"
  # shellcheck source=/dev/null
  . "$base/jobs/$CRIMIG_JOB.sh"
) >>"$base/jobs/$CRIMIG_JOB.log" 2>&1
crimig_journal_exit "$?"
