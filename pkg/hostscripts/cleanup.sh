#!/bin/sh
# cleanup.sh removes docker from a host that finished its migration: the
# seed's "yum remove docker-ce" and "rm -rf /var/lib/docker", made safe.
# It refuses while docker or the kubelet's old runtime is still in use.
#
# Environment:
#   CRIMIG_TARGET       the runtime the node runs now: cri-o or containerd
#   CRIMIG_REMOVE_DATA  1 to delete /var/lib/docker and /var/lib/cri-dockerd
#
# On stdout: one JSON object listing what was removed.
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

# containerd stays when it is the new runtime: docker-ce pulls it in as
# containerd.io.
candidates="docker-ce docker-ce-cli docker-ce-rootless-extras docker docker-engine docker.io cri-dockerd"
removed=""
if command -v rpm >/dev/null 2>&1 && ! command -v dpkg >/dev/null 2>&1; then
  for p in $candidates; do
    rpm -q "$p" >/dev/null 2>&1 && removed="$removed $p"
  done
  if [ -n "$removed" ]; then
    pm=yum
    command -v dnf >/dev/null 2>&1 && pm=dnf
    # shellcheck disable=SC2086 # one word per package
    "$pm" remove -y $removed >&2
  fi
else
  for p in $candidates; do
    dpkg -s "$p" >/dev/null 2>&1 && removed="$removed $p"
  done
  if [ -n "$removed" ]; then
    # shellcheck disable=SC2086 # one word per package
    DEBIAN_FRONTEND=noninteractive apt-get purge -y $removed >&2
  fi
fi

# The swap held docker's units (and older versions masked its sockets) so
# that nothing could wake docker up; with the packages gone the holds would
# only dangle, and would keep a docker installed later from starting.
for u in docker.socket docker.service cri-docker.socket cri-docker.service; do
  systemctl unmask "$u" >/dev/null 2>&1 || true
  rm -f "/etc/systemd/system/$u.d/50-crimig-hold.conf"
  rmdir "/etc/systemd/system/$u.d" 2>/dev/null || true
done
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
# shellcheck disable=SC2086 # split into words on purpose
printf '{"packages":%s,"data":%s}\n' "$(json_list $removed)" "$(json_list $data)"
