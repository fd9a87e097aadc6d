#!/bin/sh
# cleanup.sh removes docker from a host that finished its migration: the
# seed's "yum remove docker-ce" and "rm -rf /var/lib/docker", made safe.
# It refuses while docker or the kubelet's old runtime is still in use.
#
# What goes:
#   - docker's packages;
#   - cri-dockerd: its package, or, when it was installed by hand, its units
#     (in every systemd unit directory, /etc/systemd/system included, with
#     their drop-ins) and the binary they run;
#   - docker's containerd, unless it is the node's runtime now or something
#     else uses it: a unit other than docker's that needs it, or containers
#     or images outside docker's "moby" namespace. Its service is stopped and
#     disabled; its package goes too unless it also ships the runc that
#     CRI-O may run (docker's containerd.io does).
#
# Environment:
#   CRIMIG_TARGET       the runtime the node runs now: cri-o or containerd
#   CRIMIG_REMOVE_DATA  1 to delete /var/lib/docker and /var/lib/cri-dockerd
#
# On stdout: one JSON object, {"packages":[...],"data":[...],"removed":[...],
# "left":[...]}: packages removed, data directories deleted, other things
# removed, and "<what>: <why>" for what was deliberately left.
set -eu
: "${CRIMIG_TARGET:?CRIMIG_TARGET is required}"

case $CRIMIG_TARGET in
  cri-o) runtime_unit=crio ;;
  containerd) runtime_unit=containerd ;;
  *) echo "cleanup: unknown target $CRIMIG_TARGET" >&2; exit 2 ;;
esac

if ! systemctl is-active --quiet "$runtime_unit"; then
  echo "cleanup: $runtime_unit is not running; finish or roll back the migration first" >&2
  exit 3
fi
if systemctl is-active --quiet docker.service; then
  echo "cleanup: docker.service is running; this node still uses docker" >&2
  exit 3
fi

candidates="docker-ce docker-ce-cli docker-ce-rootless-extras docker docker-engine docker.io cri-dockerd"
removed=""
other=""
left=""
# note_removed WHAT and note_left "WHAT: WHY" collect the report, one a line.
note_removed() { other="$other$1
"; }
note_left() { left="$left$1
"; }

if command -v rpm >/dev/null 2>&1 && ! command -v dpkg >/dev/null 2>&1; then
  pkgs=rpm
else
  pkgs=dpkg
fi
# installed PKG: the package is installed.
installed() {
  if [ "$pkgs" = rpm ]; then rpm -q "$1" >/dev/null 2>&1; else dpkg -s "$1" >/dev/null 2>&1; fi
}
# remove_pkgs PKG...: removes packages with the host's package manager.
remove_pkgs() {
  if [ "$pkgs" = rpm ]; then
    pm=yum
    command -v dnf >/dev/null 2>&1 && pm=dnf
    "$pm" remove -y "$@" >&2
  else
    DEBIAN_FRONTEND=noninteractive apt-get purge -y "$@" >&2
  fi
}

for p in $candidates; do
  installed "$p" && removed="$removed $p"
done
if [ -n "$removed" ]; then
  # shellcheck disable=SC2086 # one word per package
  remove_pkgs $removed
fi

# The swap held docker's units (and older versions masked its sockets) so
# that nothing could wake docker up; with the packages gone the holds would
# only dangle, and would keep a docker installed later from starting.
for u in docker.socket docker.service cri-docker.socket cri-docker.service; do
  systemctl unmask "$u" >/dev/null 2>&1 || true
  rm -f "/etc/systemd/system/$u.d/50-crimig-hold.conf"
  rmdir "/etc/systemd/system/$u.d" 2>/dev/null || true
done

# cri-dockerd installed by hand, as its README says: units in
# /etc/systemd/system, the binary in /usr/local/bin.
unit_dirs="/etc/systemd/system /run/systemd/system /usr/local/lib/systemd/system /usr/lib/systemd/system /lib/systemd/system"
bins=""
for u in cri-docker.service cri-docker.socket; do
  systemctl stop "$u" >/dev/null 2>&1 || true
  systemctl disable "$u" >/dev/null 2>&1 || true
  for d in $unit_dirs; do
    f="$d/$u"
    if [ -f "$f" ] && [ ! -L "$f" ]; then
      bins="$bins $(sed -n 's/^ExecStart=[-@!+:]*\([^ ]*\).*/\1/p' "$f")"
      rm -f "$f"
      note_removed "$f"
    fi
    if [ -d "$f.d" ]; then
      rm -rf "$f.d"
      note_removed "$f.d"
    fi
  done
done
for b in $bins $(command -v cri-dockerd 2>/dev/null || true) /usr/local/bin/cri-dockerd; do
  if [ -f "$b" ]; then
    rm -f "$b"
    note_removed "$b"
  fi
done

# containerd_user prints why containerd must stay, if it must.
containerd_user() {
  if [ "$CRIMIG_TARGET" = containerd ]; then
    echo "it is the node's container runtime now"
    return
  fi
  for d in $unit_dirs; do
    for f in "$d"/*.service "$d"/*.socket; do
      [ -f "$f" ] || continue
      case ${f##*/} in docker.service | docker.socket | containerd.service) continue ;; esac
      if grep -Eq '^(Requires|BindsTo|Wants|Requisite|PartOf)=.*containerd\.service' "$f"; then
        echo "${f##*/} needs it"
        return
      fi
    done
  done
  systemctl is-active --quiet containerd.service || return 0
  for ns in $(ctr namespaces ls -q 2>/dev/null); do
    [ "$ns" = moby ] && continue
    if [ -n "$(ctr -n "$ns" containers ls -q 2>/dev/null)$(ctr -n "$ns" images ls -q 2>/dev/null)" ]; then
      echo "it holds containers or images in namespace $ns, outside docker's"
      return
    fi
  done
}

why=$(containerd_user)
if [ -n "$why" ]; then
  note_left "containerd: $why"
elif systemctl cat containerd.service >/dev/null 2>&1; then
  systemctl disable --now containerd.service >/dev/null 2>&1 || true
  note_removed "containerd.service (stopped and disabled)"
  for p in containerd.io containerd; do
    installed "$p" || continue
    if [ "$p" = containerd.io ] && [ "$CRIMIG_TARGET" = cri-o ] && [ -x /usr/bin/runc ]; then
      note_left "package containerd.io: it also ships /usr/bin/runc, which cri-o may run"
      continue
    fi
    remove_pkgs "$p"
    removed="$removed $p"
  done
fi
systemctl daemon-reload

data=""
if [ "${CRIMIG_REMOVE_DATA:-0}" = 1 ]; then
  for d in /var/lib/docker /var/lib/cri-dockerd; do
    if [ -d "$d" ]; then
      rm -rf "$d"
      data="$data $d"
    fi
  done
fi

json_list() {
  first=1
  printf '['
  for w in "$@"; do
    [ "$first" = 1 ] || printf ','
    first=0
    printf '"%s"' "$w"
  done
  printf ']'
}
# lines prints its argument's non-empty lines as a JSON list.
lines() {
  printf '%s\n' "$1" | {
    first=1
    printf '['
    while IFS= read -r l; do
      [ -n "$l" ] || continue
      [ "$first" = 1 ] || printf ','
      first=0
      printf '"%s"' "$(printf '%s' "$l" | sed 's/\\/\\\\/g; s/"/\\"/g')"
    done
    printf ']'
  }
}
# shellcheck disable=SC2086 # split into words on purpose
printf '{"packages":%s,"data":%s,"removed":%s,"left":%s}\n' "$(json_list $removed)" "$(json_list $data)" \
  "$(lines "$other")" "$(lines "$left")"

