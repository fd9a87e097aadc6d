# shellcheck shell=sh
# swap.sh is the detached job that moves a node off docker and, on failure or
# on request, back onto it. It runs under job-runner.sh (see detach.sh), which
# sources journal-lib.sh first, because the steps stop the runtime that the
# exec pod runs on.
#
# Environment:
#   CRIMIG_RUN_ID          run id; names the state directory
#   CRIMIG_MODE            swap (default) or rollback
#   CRIMIG_TARGET          cri-o (default) or containerd
#   CRIMIG_RUNTIME_SOCKET  the target's socket, the path of the endpoint the
#                          kubelet is given (for example /var/run/crio/crio.sock)
#   CRIMIG_REBOOT          1 to reboot after a successful swap; default 0
#   CRIMIG_STATE_DIR       crimig's directory on the host (hostscripts.StateDir)
#   CRIMIG_SOCKET_TIMEOUT  optional, seconds to wait for the runtime socket; default 60
#   CRIMIG_KUBELET_CHECK   optional, seconds the kubelet must stay active; default 5
#
# Inputs under <state>/<run>/: staged/<abs path> holds the files to install
# (modes already set) and backup/manifest.tsv the backup written by backup.sh.
#
# Journal (crimig_journal STEP PHASE MESSAGE), swap mode: the steps preflight,
# stop-kubelet, stop-docker, install-files, start-runtime, start-kubelet and,
# with CRIMIG_REBOOT=1, reboot each go "started" then "done" or "failed"; the
# run ends with "swap done". With CRIMIG_REBOOT=1 the job journals "reboot
# started", "swap done" and its exit code 0 before it asks for the reboot,
# which kills it; only a reboot that cannot be asked for adds "reboot
# failed" (and the runner a second exit code 0). After a failed step the job restores the backup
# ("restore started", then "restore done" or "restore failed") and ends with
# "swap rolled-back" (or "swap failed" when the restore did not complete) and
# exit code 1. A failed preflight changes nothing: "swap failed", exit 1.
# Rollback mode: "restore started", "restore done", "rollback done" (or
# "restore failed", "rollback failed" and exit code 1).
#
# stop-docker keeps docker's and cri-dockerd's units from starting again with
# a drop-in, <unit>.d/50-crimig-hold.conf in /etc/systemd/system, whose
# condition fails while it exists; a restore removes it.
#
# The first preflight records in <state>/<run>/units.before how the runtime,
# docker's units and the kubelet were enabled; a restore (in either mode)
# re-enables and starts what was enabled then, leaves what was masked alone,
# and keeps a runtime that was already enabled (docker's containerd) running
# on its restored config instead of disabling it.
set -eu
: "${CRIMIG_RUN_ID:?CRIMIG_RUN_ID is required}"
case $CRIMIG_RUN_ID in
  '' | *[!A-Za-z0-9._-]* | .*) echo "swap: bad run id: $CRIMIG_RUN_ID" >&2; exit 2 ;;
esac

if ! command -v crimig_journal >/dev/null 2>&1; then
  # Run outside job-runner.sh (by hand): journal to stderr.
  crimig_journal() { printf 'crimig: %s %s %s\n' "$1" "$2" "${3:-}" >&2; }
fi

mode=${CRIMIG_MODE:-swap}
base=${CRIMIG_STATE_DIR:?CRIMIG_STATE_DIR is required}/$CRIMIG_RUN_ID
staged=$base/staged
backup=$base/backup
manifest=$backup/manifest.tsv
record=$base/units.before
errfile=$base/swap.reason
msgfile=$base/swap.message
socket_timeout=${CRIMIG_SOCKET_TIMEOUT:-60}
kubelet_check=${CRIMIG_KUBELET_CHECK:-5}
tab=$(printf '\t')
docker_units='docker.socket docker.service cri-docker.socket cri-docker.service'

socket=${CRIMIG_RUNTIME_SOCKET:-}
case $socket in
  /*) ;;
  *)
    crimig_journal "$mode" failed "CRIMIG_RUNTIME_SOCKET must be the absolute path of the runtime's socket, got '$socket'"
    exit 2
    ;;
esac
# /var/run is /run on systemd hosts, where a runtime may create it, but a
# host may keep the two apart.
sockets=$socket
case $socket in
  /var/run/*) sockets="$socket /run/${socket#/var/run/}" ;;
esac
case ${CRIMIG_TARGET:-cri-o} in
  cri-o | crio) runtime=crio.service ;;
  containerd) runtime=containerd.service ;;
  *)
    crimig_journal "$mode" failed "unknown CRIMIG_TARGET ${CRIMIG_TARGET:-}; want cri-o or containerd"
    exit 2
    ;;
esac
case $mode in
  swap | rollback) ;;
  *)
    crimig_journal swap failed "unknown CRIMIG_MODE $mode; want swap or rollback"
    exit 2
    ;;
esac
mkdir -p "$base"

# unit_exists UNIT succeeds when UNIT has a unit file (or a mask).
unit_exists() {
  for d in /etc/systemd/system /run/systemd/system /usr/local/lib/systemd/system /usr/lib/systemd/system /lib/systemd/system; do
    if [ -f "$d/$1" ] || [ -L "$d/$1" ]; then
      return 0
    fi
  done
  return 1
}

# fail MESSAGE records why the current step failed and ends it.
fail() {
  printf '%s\n' "$1" >"$errfile"
  echo "swap: $1" >&2
  exit 1
}

# note MESSAGE sets the message the current step is journaled "done" with.
note() {
  printf '%s\n' "$1" >"$msgfile"
}

# unit_log UNIT prints, on one line, the last lines the unit's program wrote
# to the journal, leaving out systemd's own (Started, Main process exited,
# Scheduled restart...), which never say why. Lines that report an error
# (level=fatal, level=error, "error", "failed") come first: a daemon that
# cannot start logs its reason last, after lines of start-up chatter.
unit_log() {
  journalctl -u "$1" -n 30 --no-pager -o cat 2>/dev/null | U=$1 awk '
    { raw[m++] = $0 }
    index($0, ENVIRON["U"] ": ") == 1 { next }
    /^(Started|Stopped|Starting|Stopping|Failed to start|Scheduled restart) / { next }
    { keep[n++] = $0 }
    /level=(fatal|error)|[Ee]rror|[Ff]atal|[Ff]ailed/ { bad[e++] = $0 }
    END {
      if (e > 0) { for (i = (e > 2 ? e - 2 : 0); i < e; i++) printf "%s ", bad[i]; exit }
      if (n == 0) { for (i = 0; i < m; i++) keep[i] = raw[i]; n = m }
      for (i = (n > 3 ? n - 3 : 0); i < n; i++) printf "%s ", keep[i]
    }' | sed 's/ *$//' | cut -c 1-400
}

# run CMD... runs a command and fails the step with its first error line.
run() {
  if out=$("$@" 2>&1); then
    [ -z "$out" ] || printf '%s\n' "$out"
    return 0
  fi
  printf '%s\n' "$out" >&2
  fail "$* failed: $(printf '%s\n' "$out" | sed -n '1p')"
}

# run_unit UNIT CMD... is run, adding the unit's journal to the reason.
run_unit() {
  u=$1
  shift
  if out=$("$@" 2>&1); then
    return 0
  fi
  printf '%s\n' "$out" >&2
  fail "$* failed: $(printf '%s\n' "$out" | sed -n '1p') journal: $(unit_log "$u")"
}

# step NAME FUNC ONFAIL journals NAME, runs FUNC in a subshell with set -e and
# calls ONFAIL with the reason when it fails. The subshell is not run as a
# condition, so set -e holds inside it.
step() {
  crimig_journal "$1" started ""
  rm -f "$errfile" "$msgfile"
  set +e
  (
    set -e
    "$2"
  )
  rc=$?
  set -e
  if [ "$rc" -ne 0 ]; then
    why=$(cat "$errfile" 2>/dev/null || true)
    crimig_journal "$1" failed "${why:-exit code $rc}"
    "$3" "$1" "${why:-exit code $rc}"
  fi
  crimig_journal "$1" "done" "$(cat "$msgfile" 2>/dev/null || true)"
}

# recorded PATH succeeds when the backup manifest holds PATH.
recorded() {
  P=$1 awk -F '\t' '$1 == ENVIRON["P"] { found = 1 } END { exit !found }' "$manifest"
}

# before UNIT prints the enable state UNIT had before the swap ("" if unknown).
before() {
  [ -f "$record" ] || return 0
  U=$1 awk '$1 == ENVIRON["U"] { print $2 }' "$record"
}

# staged_files lists the staged files, leaving out what an interrupted upload
# (upload.sh) or copy left behind.
staged_files() {
  if [ -d "$staged" ]; then
    find "$staged" -type f ! -name '*.crimig-upload.*' ! -name '*.crimig-tmp' | sort
  fi
}

# ---- swap steps ----

do_preflight() {
  [ -s "$manifest" ] || fail "no backup at $manifest: run the backup first"
  staged_files >"$base/staged.list"
  while IFS= read -r f; do
    dest=${f#"$staged"}
    recorded "$dest" || fail "staged file $dest has no backup; back it up before the swap"
  done <"$base/staged.list"
  unit_exists "$runtime" || fail "$runtime is not installed; install the runtime first"
  if [ ! -f "$record" ]; then
    for u in $runtime $docker_units kubelet.service; do
      state=$(systemctl is-enabled "$u" 2>/dev/null || true)
      printf '%s %s\n' "$u" "${state:-not-found}"
    done >"$record.tmp"
    mv -f "$record.tmp" "$record"
  fi
  note "$(wc -l <"$base/staged.list" | tr -d ' ') staged files, all backed up"
}

do_stop_kubelet() {
  run systemctl stop kubelet.service
  if systemctl is-active --quiet kubelet.service; then
    fail "kubelet.service is still active after systemctl stop"
  fi
}

# stop_pod_containers stops the containers of Kubernetes pods while docker
# still runs. With live-restore, docker leaves them running when it stops, and
# the DaemonSet pods started again under the new runtime would find their
# ports and files taken.
stop_pod_containers() {
  grep -Eqs '"live-restore"[[:space:]]*:[[:space:]]*true' /etc/docker/daemon.json || return 0
  systemctl is-active --quiet docker.service || return 0
  ids=$(docker ps -q --filter label=io.kubernetes.docker.type 2>/dev/null || true)
  if [ -n "$ids" ]; then
    # shellcheck disable=SC2086 # one argument per container id
    docker stop -t 10 $ids || echo "swap: could not stop every pod container" >&2
  fi
  live=" (live-restore: pod containers stopped first)"
}

# hold_file UNIT is the drop-in that keeps UNIT from starting.
hold_file() {
  printf '/etc/systemd/system/%s.d/50-crimig-hold.conf\n' "$1"
}

# hold_units keeps docker's and cri-dockerd's units from starting again,
# whatever asks for them: a docker call through docker.socket, a dependency,
# an operator, the next boot (design 7b). A mask cannot do it where the unit
# file is in /etc/systemd/system (systemctl mask refuses it, and that is
# where cri-dockerd's instructions put its units); a drop-in with a condition
# that fails while the drop-in exists works wherever the unit file is.
hold_units() {
  held=
  for u in $docker_units; do
    unit_exists "$u" || continue
    f=$(hold_file "$u")
    mkdir -p "${f%/*}"
    printf '%s\n' "# Written by kubectl crimig (run $CRIMIG_RUN_ID): this node no longer runs on docker." \
      "# While this file exists $u does not start; \"kubectl crimig rollback\" removes it." \
      "[Unit]" "ConditionPathExists=!$f" >"$f.crimig-tmp"
    mv -f "$f.crimig-tmp" "$f"
    held="$held $u"
  done
  run systemctl daemon-reload
}

# release_units removes the holds (and the masks earlier crimig versions
# set), leaving a unit that was masked before the swap masked.
release_units() {
  for u in $docker_units; do
    f=$(hold_file "$u")
    if [ -e "$f" ]; then
      rm -f "$f" || problem "cannot remove $f"
      rmdir "${f%/*}" 2>/dev/null || true
    fi
  done
}

do_stop_docker() {
  live=
  stop_pod_containers
  hold_units
  # cri-dockerd first: while it runs, docker.socket would start docker again.
  # Each socket before its service, so that nothing activates the service.
  stopped=
  for u in cri-docker.socket cri-docker.service docker.socket docker.service; do
    unit_exists "$u" || continue
    run systemctl stop "$u"
    run systemctl disable "$u"
    stopped="$stopped $u"
  done
  for u in $docker_units; do
    if systemctl is-active --quiet "$u"; then
      fail "$u is still active after it was stopped"
    fi
  done
  note "stopped and disabled:${stopped:- nothing}; held so that nothing starts them:${held:- nothing}$live"
}

do_install_files() {
  staged_files >"$base/staged.list"
  n=0
  while IFS= read -r f; do
    dest=${f#"$staged"}
    mkdir -p "$(dirname "$dest")"
    cp -p "$f" "$dest.crimig-tmp"
    mv -f "$dest.crimig-tmp" "$dest"
    n=$((n + 1))
  done <"$base/staged.list"
  run systemctl daemon-reload
  note "installed $n files"
}

# socket_ready prints the runtime's socket once it is there.
socket_ready() {
  for s in $sockets; do
    if [ -S "$s" ]; then
      echo "$s"
      return 0
    fi
  done
  return 1
}

do_start_runtime() {
  run systemctl enable "$runtime"
  # restart, not start: containerd may already run (for docker) with its old config.
  run_unit "$runtime" systemctl restart "$runtime"
  waited=0
  until socket_ready >/dev/null; do
    if [ "$waited" -ge "$socket_timeout" ]; then
      fail "$runtime started but $socket did not appear within ${socket_timeout}s; journal: $(unit_log "$runtime")"
    fi
    sleep 1
    waited=$((waited + 1))
  done
  systemctl is-active --quiet "$runtime" || fail "$runtime is not active; journal: $(unit_log "$runtime")"
  note "$runtime is active, socket ready after ${waited}s"
}

# kubelet_stays_active fails the step unless the kubelet stays up for a while:
# a crash-looping kubelet is briefly active after every restart.
kubelet_stays_active() {
  i=0
  while :; do
    systemctl is-active --quiet kubelet.service ||
      fail "kubelet is not active after the restart; journal: $(unit_log kubelet.service)"
    [ "$i" -lt "$kubelet_check" ] || break
    sleep 1
    i=$((i + 1))
  done
}

do_start_kubelet() {
  run_unit kubelet.service systemctl restart kubelet.service
  kubelet_stays_active
  note "kubelet.service is active"
}

# quiesce_pods stops the kubelet, then every container on the new runtime
# with the 10 s grace docker gives its containers when it stops. On a
# cgroupfs host no unit holds them (crio.service keeps KillMode=process), so
# left running they meet systemd's last kill at shutdown, which waits 90 s for
# a container whose PID 1 ignores SIGTERM, as a shell does.
quiesce_pods() {
  systemctl stop kubelet.service >/dev/null 2>&1 || true
  command -v crictl >/dev/null 2>&1 || return 0
  ep=unix://$(socket_ready) || return 0
  ids=$(crictl --runtime-endpoint "$ep" ps -q 2>/dev/null) || return 0
  for id in $ids; do
    crictl --runtime-endpoint "$ep" stop --timeout 10 "$id" >/dev/null 2>&1 &
  done
  wait
}

do_reboot() {
  if command -v systemctl >/dev/null 2>&1 && systemctl reboot >/dev/null 2>&1; then
    note "reboot requested with systemctl reboot"
    return 0
  fi
  run reboot
  note "reboot requested with reboot"
}

# ---- restore ----

problems=
problem() {
  problems="$problems${problems:+; }$1"
  echo "restore: $1" >&2
}

restore_files() {
  if [ ! -s "$manifest" ]; then
    problem "no backup manifest at $manifest"
    return 0
  fi
  restored=0
  removed=0
  while IFS="$tab" read -r path sum fmode; do
    [ -n "$path" ] || continue
    if [ "$sum" = absent ]; then
      if [ -e "$path" ] || [ -L "$path" ]; then
        rm -f "$path" || problem "cannot remove $path"
        removed=$((removed + 1))
      fi
      continue
    fi
    copy=$backup$path
    have=$(sha256sum 2>/dev/null <"$copy" | cut -d " " -f 1 || true)
    if [ "$have" != "$sum" ]; then
      problem "the backup of $path is missing or damaged"
      continue
    fi
    if mkdir -p "$(dirname "$path")" && cp -p "$copy" "$path.crimig-tmp" &&
      chmod "$fmode" "$path.crimig-tmp" && mv -f "$path.crimig-tmp" "$path"; then
      restored=$((restored + 1))
    else
      problem "cannot restore $path"
    fi
  done <"$manifest"
  echo "restore: $restored files restored, $removed removed"
}

# restore_runtime stops the target runtime, unless docker used it before the
# swap (containerd): then it keeps running, restarted on its restored config.
restore_runtime() {
  keep=
  case $(before "$runtime") in
    enabled) keep=1 ;;
    '') [ "$runtime" = containerd.service ] && unit_exists docker.service && keep=1 ;;
  esac
  if [ -n "$keep" ]; then
    return 0
  fi
  if unit_exists "$runtime"; then
    systemctl stop "$runtime" || problem "cannot stop $runtime"
    systemctl disable "$runtime" || problem "cannot disable $runtime"
  fi
}

restore_docker() {
  for u in $docker_units; do
    unit_exists "$u" || continue
    case $(before "$u") in
      masked) continue ;;
      disabled) systemctl unmask "$u" || problem "cannot unmask $u" ;;
      *)
        systemctl unmask "$u" || problem "cannot unmask $u"
        systemctl enable "$u" || problem "cannot enable $u"
        ;;
    esac
  done
  for u in $docker_units; do
    unit_exists "$u" || continue
    case $(before "$u") in
      masked | disabled) continue ;;
    esac
    systemctl start "$u" || problem "cannot start $u: $(unit_log "$u")"
  done
}

# restore puts the node back on docker from the backup, best effort: it goes
# on after an error and reports every problem at the end.
restore() {
  crimig_journal restore started "$1"
  problems=
  systemctl stop kubelet.service || problem "cannot stop kubelet.service"
  restore_runtime
  restore_files
  release_units
  systemctl daemon-reload || problem "systemctl daemon-reload failed"
  if [ -n "$keep" ]; then
    systemctl restart "$runtime" || problem "cannot restart $runtime: $(unit_log "$runtime")"
  fi
  restore_docker
  if systemctl restart kubelet.service; then
    (kubelet_stays_active) || problem "kubelet.service did not stay active: $(cat "$errfile" 2>/dev/null || true)"
  else
    problem "cannot start kubelet.service: $(unit_log kubelet.service)"
  fi
  if [ -n "$problems" ]; then
    crimig_journal restore failed "$problems"
    return 1
  fi
  crimig_journal restore "done" "files restored, docker and kubelet started"
}

# ---- main ----

# nothing_changed ends a swap whose preflight failed.
nothing_changed() {
  crimig_journal swap failed "$1 failed: $2; nothing was changed"
  exit 1
}

# roll_back ends a swap whose step STEP failed with REASON.
roll_back() {
  if restore "$1 failed"; then
    crimig_journal swap rolled-back "$1 failed: $2"
  else
    crimig_journal swap failed "$1 failed: $2; the rollback did not complete"
  fi
  exit 1
}

if [ "$mode" = rollback ]; then
  if restore "rollback requested"; then
    crimig_journal rollback "done" "the node is back on docker"
    exit 0
  fi
  crimig_journal rollback failed "$problems"
  exit 1
fi

step preflight do_preflight nothing_changed
step stop-kubelet do_stop_kubelet roll_back
step stop-docker do_stop_docker roll_back
step install-files do_install_files roll_back
step start-runtime do_start_runtime roll_back
step start-kubelet do_start_kubelet roll_back
if [ "${CRIMIG_REBOOT:-0}" = 1 ]; then
  crimig_journal reboot started "rebooting the node"
  quiesce_pods
  # systemctl reboot stops this job's unit at once, before the request even
  # returns: record the outcome first, or it is lost.
  crimig_journal swap "done" "the node runs $runtime; rebooting"
  if command -v crimig_journal_exit >/dev/null 2>&1; then
    crimig_journal_exit 0
  fi
  rm -f "$errfile"
  set +e
  (
    set -e
    do_reboot
  )
  rc=$?
  set -e
  if [ "$rc" -ne 0 ]; then
    # The node already runs on the new runtime; a reboot that cannot be asked
    # for is no reason to undo that. The pods were stopped for the reboot:
    # the kubelet starts them again.
    systemctl start kubelet.service >/dev/null 2>&1 || true
    crimig_journal reboot failed "$(cat "$errfile" 2>/dev/null || echo "exit code $rc")"
    exit 0
  fi
  exit 0
fi
crimig_journal swap "done" "the node runs $runtime"
