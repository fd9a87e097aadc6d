#!/bin/sh
# probe-source.sh tells, before anything changes, whether the host can reach
# the package source `migrate` would install the runtime from. Any HTTP
# answer counts as reachable; a name that does not resolve, a refused
# connection or a timeout does not.
#
# Environment:
#   CRIMIG_TARGET          cri-o or containerd
#   CRIMIG_TARGET_VERSION  CRI-O minor, for example 1.29
#   CRIMIG_SOURCE          pkgs or repo (bundles need no network)
#   CRIMIG_REPO_URL        repo: base URL of the private mirror
#
# On stdout: {"reachable":true|false|null,"url":"...","detail":"..."}
# where null means it could not be told (no curl or wget, or nothing to probe).
set -eu

target=${CRIMIG_TARGET:-cri-o}
source=${CRIMIG_SOURCE:-pkgs}

result() {
  printf '{"reachable":%s,"url":"%s","detail":"%s"}\n' "$1" "$2" "$3"
}

case $target in
  cri-o) bin=crio ;;
  containerd) bin=containerd ;;
  *) echo "probe-source: unknown target $target" >&2; exit 2 ;;
esac
if command -v "$bin" >/dev/null 2>&1; then
  result true "" "$bin is already installed"
  exit 0
fi

format=rpm
if command -v apt-get >/dev/null 2>&1; then format=deb; fi

url=""
case $source in
  pkgs)
    if [ "$target" = containerd ]; then
      result null "" "containerd comes from the repositories already configured on the host"
      exit 0
    fi
    minor=$(printf '%s' "${CRIMIG_TARGET_VERSION:-}" | sed -n 's/^v\{0,1\}\([0-9]*\.[0-9]*\).*/\1/p')
    [ -n "$minor" ] || { echo "probe-source: CRIMIG_TARGET_VERSION is required" >&2; exit 2; }
    url=https://pkgs.k8s.io/addons:/cri-o:/stable:/v$minor/$format/
    ;;
  repo)
    url=${CRIMIG_REPO_URL:?CRIMIG_REPO_URL is required}
    case $url in */) ;; *) url=$url/ ;; esac
    ;;
  *)
    result null "" "nothing to probe for source $source"
    exit 0
    ;;
esac
case $format in
  rpm) probe=${url}repodata/repomd.xml ;;
  deb) probe=${url}Release ;;
esac

if command -v curl >/dev/null 2>&1; then
  # Without -f an HTTP error still exits 0: the server answered.
  if curl -sS -o /dev/null --max-time 10 "$probe" 2>/dev/null; then
    result true "$probe" "the server answered"
  else
    result false "$probe" "curl exit $?: the host cannot reach it"
  fi
elif command -v wget >/dev/null 2>&1; then
  rc=0
  wget -q -T 10 -O /dev/null "$probe" 2>/dev/null || rc=$?
  # wget: 8 is an HTTP error response, so the server answered.
  if [ "$rc" = 0 ] || [ "$rc" = 8 ]; then
    result true "$probe" "the server answered"
  else
    result false "$probe" "wget exit $rc: the host cannot reach it"
  fi
else
  result null "$probe" "neither curl nor wget is installed"
fi
