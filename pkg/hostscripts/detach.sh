#!/bin/sh
# detach.sh starts a crimig job on the host so that it outlives the exec pod
# and the container runtime the pod runs on. It returns as soon as the job runs.
#
# Environment:
#   CRIMIG_RUN_ID      run id; names the state directory and the systemd unit
#   CRIMIG_JOB         job name, for example "swap"
#   CRIMIG_JOB_SCRIPT  body of the job (POSIX sh)
#   CRIMIG_JOB_LIB     journal-lib.sh, sourced by the job
#   CRIMIG_JOB_RUNNER  job-runner.sh, the process that systemd or setsid starts
#   CRIMIG_JOB_ENV     space separated names of variables to hand to the job,
#                      besides CRIMIG_RUN_ID and CRIMIG_STATE_DIR, which it
#                      always gets
#   CRIMIG_STATE_DIR   crimig's directory on the host (hostscripts.StateDir)
#
# On stdout: one JSON object naming the unit and how it was started.
#
# The job's first step usually stops the runtime under the exec pod, which
# kills this exec. So the runner records its pid (this script waits for that)
# and then waits until the exec wrapper that started us ($CRIMIG_EXEC_PID, set
# by exec-wrapper.sh; empty when run by hand) has exited
# and its output had a moment to reach the client, before running the job.
set -eu
: "${CRIMIG_RUN_ID:?CRIMIG_RUN_ID is required}"
: "${CRIMIG_JOB:?CRIMIG_JOB is required}"
: "${CRIMIG_JOB_SCRIPT:?CRIMIG_JOB_SCRIPT is required}"
: "${CRIMIG_JOB_LIB:?CRIMIG_JOB_LIB is required}"
: "${CRIMIG_JOB_RUNNER:?CRIMIG_JOB_RUNNER is required}"

valid_name() {
  case $1 in
    '' | *[!A-Za-z0-9._-]* | .*) return 1 ;;
  esac
}
valid_name "$CRIMIG_RUN_ID" || { echo "detach: bad run id: $CRIMIG_RUN_ID" >&2; exit 2; }
valid_name "$CRIMIG_JOB" || { echo "detach: bad job name: $CRIMIG_JOB" >&2; exit 2; }

base=${CRIMIG_STATE_DIR:?CRIMIG_STATE_DIR is required}/$CRIMIG_RUN_ID
jobs=$base/jobs
unit=crimig-$CRIMIG_RUN_ID-$CRIMIG_JOB
mkdir -p "$jobs"
chmod 0700 "$CRIMIG_STATE_DIR" "$base"

# single_quote prints its argument quoted for sh: 'it'\''s'. The x guards
# trailing newlines, which command substitution would drop.
single_quote() {
  sq_out=$(printf '%sx' "$1" | sed "s/'/'\\\\''/g")
  printf "'%s'" "${sq_out%x}"
}

# systemd-run starts the unit with systemd's environment, not ours: the job
# gets exactly what this file hands it. The run id and state directory are
# crimig's own parameters, so they are always in it.
envfile=$jobs/$CRIMIG_JOB.env
{
  for name in CRIMIG_RUN_ID CRIMIG_STATE_DIR ${CRIMIG_JOB_ENV:-}; do
    case $name in
      '' | [0-9]* | *[!A-Za-z0-9_]*) echo "detach: bad variable name: $name" >&2; exit 2 ;;
    esac
    eval "value=\${$name-}"
    # shellcheck disable=SC2154 # value is set by the eval above
    printf 'export %s=%s\n' "$name" "$(single_quote "$value")"
  done
} >"$envfile.tmp"
mv -f "$envfile.tmp" "$envfile"
printf '%s\n' "$CRIMIG_JOB_SCRIPT" >"$jobs/$CRIMIG_JOB.sh"
printf '%s\n' "$CRIMIG_JOB_LIB" >"$base/journal-lib.sh"
printf '%s\n' "$CRIMIG_JOB_RUNNER" >"$base/job-runner.sh"
rm -f "$jobs/$CRIMIG_JOB.pid"

if [ -d /run/systemd/system ] && command -v systemd-run >/dev/null 2>&1; then
  mode=systemd
  systemd-run --unit "$unit" --collect --quiet --setenv=CRIMIG_DETACH_MODE=systemd \
    /bin/sh "$base/job-runner.sh" "$base" "$CRIMIG_JOB" "${CRIMIG_EXEC_PID:-}"
else
  mode=setsid
  CRIMIG_DETACH_MODE=setsid
  export CRIMIG_DETACH_MODE
  # A new session has no controlling terminal, so no SIGHUP arrives; the
  # runner ignores it anyway. (busybox builds often lack nohup.)
  setsid /bin/sh "$base/job-runner.sh" "$base" "$CRIMIG_JOB" "${CRIMIG_EXEC_PID:-}" </dev/null >/dev/null 2>&1 &
fi
# Return once the runner has recorded its pid, so that a status read right
# after this never mistakes a job that is starting for one that never ran.
i=0
while [ ! -s "$jobs/$CRIMIG_JOB.pid" ]; do
  i=$((i + 1))
  if [ "$i" -gt 100 ]; then
    echo "detach: job $CRIMIG_JOB did not start within 10s; see \"journalctl -u $unit\" or $jobs/$CRIMIG_JOB.log" >&2
    exit 5
  fi
  sleep 0.1 2>/dev/null || sleep 1
done
printf '{"unit":"%s","mode":"%s","dir":"%s"}\n' "$unit" "$mode" "$base"
