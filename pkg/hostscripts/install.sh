#!/bin/sh
# install.sh installs the container runtime a node moves to, from packages or
# from an uploaded release bundle. It does not start or enable anything.
#
# Environment:
#   CRIMIG_TARGET          cri-o (default) or containerd
#   CRIMIG_TARGET_VERSION  CRI-O minor for pkgs, for example 1.29 (v1.29 and
#                          1.29.6 work too); containerd: informational, 2.1 or 1.7
#   CRIMIG_SOURCE          pkgs (default), repo or bundle
#   CRIMIG_REPO_URL        repo: base URL of the private mirror
#   CRIMIG_REPO_KEY        repo: optional, the mirror's ASCII-armored public key
#                          from the operator; without it an https mirror's own
#                          key is used and an http mirror is refused
#   CRIMIG_REPO_INSECURE   optional, 1: the mirror is not signed (gpgcheck=0 or
#                          [trusted=yes])
#   CRIMIG_BUNDLE          bundle: host path of the uploaded release tarball
#   CRIMIG_RUNC            optional, bundle with containerd: host path of a runc binary
#   CRIMIG_PODMAN          1 (default) to install podman too (packages only)
#   CRIMIG_RUN_ID          run id; a bundle is unpacked in <state>/<run>/bundle/unpacked
#   CRIMIG_STATE_DIR       crimig's directory on the host (hostscripts.StateDir)
#
# The runtime is left alone when its binary is already on the host. With pkgs,
# CRI-O comes from pkgs.k8s.io (addons:/cri-o:/stable:/v1.XX), written to
# /etc/yum.repos.d/crimig-cri-o.repo or /etc/apt/sources.list.d/crimig-cri-o.list;
# containerd comes from the repositories already configured (containerd.io
# from docker's repository, else the distribution's containerd). repo writes
# the same files pointing at CRIMIG_REPO_URL.
#
# Package manager output goes to stderr. The last line on stdout is:
# {"installed":true|false,"method":"pkgs|repo|bundle|present","binary":"...",
#  "version":"...","podman":"installed|present|skipped|failed","files":[...]}
# where files are the repository files this run wrote.
set -eu

target=${CRIMIG_TARGET:-cri-o}
source=${CRIMIG_SOURCE:-pkgs}
podman=${CRIMIG_PODMAN:-1}
written=

die() {
  echo "install: $1" >&2
  exit 1
}

case $target in
  cri-o | crio) target=cri-o bin=crio ;;
  containerd) bin=containerd ;;
  *) die "unknown CRIMIG_TARGET $target; want cri-o or containerd" ;;
esac
case $source in
  pkgs | repo | bundle) ;;
  repo=*) CRIMIG_REPO_URL=${source#repo=} source=repo ;;
  bundle=*) CRIMIG_BUNDLE=${source#bundle=} source=bundle ;;
  *) die "unknown CRIMIG_SOURCE $source; want pkgs, repo or bundle" ;;
esac

# version_of BINARY prints the first x.y.z its --version output holds.
version_of() {
  "$1" --version 2>/dev/null | grep -o '[0-9][0-9]*\.[0-9][0-9]*\.[0-9][0-9]*' | sed -n 1p || true
}

# find_bin prints where the target binary is, if anywhere.
find_bin() {
  for p in "$(command -v "$bin" 2>/dev/null || true)" "/usr/local/bin/$bin" "/usr/bin/$bin"; do
    if [ -n "$p" ] && [ -x "$p" ]; then
      echo "$p"
      return 0
    fi
  done
  return 1
}

# result INSTALLED METHOD PODMAN prints the JSON line.
result() {
  path=$(find_bin || true)
  printf '{"installed":%s,"method":"%s","binary":"%s","version":"%s","podman":"%s","files":[%s]}\n' \
    "$1" "$2" "$path" "$(version_of "$path")" "$3" "$written"
}

pm=
if command -v dnf >/dev/null 2>&1; then
  pm=dnf
elif command -v yum >/dev/null 2>&1; then
  pm=yum
elif command -v apt-get >/dev/null 2>&1; then
  pm=apt
fi

# pkg_install NAME... installs packages without questions.
pkg_install() {
  case $pm in
    dnf | yum) "$pm" install -y "$@" >&2 ;;
    apt) DEBIAN_FRONTEND=noninteractive apt-get install -y "$@" >&2 ;;
    *) return 1 ;;
  esac
}

# --- ensure_file: keep identical in every script that has it ---
# ensure_file FILE CONTENT writes CONTENT and a newline to FILE, through a
# temporary file and a rename, when FILE's content differs; it adds FILE to
# $written, a list of JSON strings, when it wrote it.
ensure_file() {
  mkdir -p "$(dirname "$1")"
  printf '%s\n' "$2" >"$1.crimig-tmp"
  if [ -f "$1" ] && cmp -s "$1.crimig-tmp" "$1"; then
    rm -f "$1.crimig-tmp"
    return 0
  fi
  chmod 0644 "$1.crimig-tmp"
  mv -f "$1.crimig-tmp" "$1"
  written="$written${written:+,}\"$1\""
}
# --- end of ensure_file ---

# fetch URL FILE downloads with curl or wget.
fetch() {
  if command -v curl >/dev/null 2>&1; then
    curl -fsSL -o "$2" "$1"
  elif command -v wget >/dev/null 2>&1; then
    wget -q -O "$2" "$1"
  else
    return 1
  fi
}

# crio_minor prints 1.XX from CRIMIG_TARGET_VERSION.
crio_minor() {
  v=${CRIMIG_TARGET_VERSION:-}
  v=${v#v}
  minor=$(printf '%s\n' "$v" | sed -n 's/^\(1\.[0-9][0-9]*\)\(\.[0-9][0-9]*\)*$/\1/p')
  [ -n "$minor" ] || die "CRIMIG_TARGET_VERSION must be a CRI-O version such as 1.29, got '$v'"
  echo "$minor"
}

# write_repo NAME URL KEY_URL writes the repository definition for the
# package manager; an empty KEY_URL means the repository is not signed, and
# with the operator's key (op_key) KEY_URL is ignored.
write_repo() {
  name=$1 url=$2 key=$3
  case $pm in
    dnf | yum)
      if [ -n "$op_key" ]; then
        ensure_file "/etc/pki/rpm-gpg/crimig-$name.asc" "$op_key"
        key=file:///etc/pki/rpm-gpg/crimig-$name.asc
      fi
      check=1
      [ -n "$key" ] || check=0
      ensure_file "/etc/yum.repos.d/crimig-$name.repo" "[crimig-$name]
name=$name for kubectl crimig
baseurl=$url
enabled=1
gpgcheck=$check${key:+
gpgkey=$key}"
      ;;
    apt)
      opt="[trusted=yes]"
      if [ -n "$key" ] || [ -n "$op_key" ]; then
        keyring=/etc/apt/keyrings/crimig-$name.asc
        opt="[signed-by=$keyring]"
        if [ -n "$op_key" ]; then
          ensure_file "$keyring" "$op_key"
        elif [ ! -s "$keyring" ]; then
          mkdir -p /etc/apt/keyrings
          fetch "$key" "$keyring.crimig-tmp" ||
            { rm -f "$keyring.crimig-tmp"; die "cannot download the signing key $key; put it at $keyring"; }
          chmod 0644 "$keyring.crimig-tmp"
          mv -f "$keyring.crimig-tmp" "$keyring"
          written="$written${written:+,}\"$keyring\""
        fi
      fi
      ensure_file "/etc/apt/sources.list.d/crimig-$name.list" "deb $opt $url /"
      apt-get update >&2 || die "apt-get update failed after adding $url"
      ;;
    *) die "no yum, dnf or apt-get on this host; use CRIMIG_SOURCE=bundle" ;;
  esac
}

# repo_url sets url, the repository to install from, and how it is signed:
# op_key, the operator's key, or else key_url, the key on the mirror itself.
# A key fetched from a plain-http mirror proves nothing, so such a mirror
# needs the operator's key or CRIMIG_REPO_INSECURE=1.
repo_url() {
  ext=rpm
  [ "$pm" != apt ] || ext=deb
  op_key='' key_url=''
  if [ "$source" = repo ]; then
    [ -n "${CRIMIG_REPO_URL:-}" ] || die "CRIMIG_SOURCE=repo needs CRIMIG_REPO_URL, the base URL of your mirror"
    case $CRIMIG_REPO_URL in
      *[![:graph:]]*) die "CRIMIG_REPO_URL holds a space, newline or control character; give the mirror's plain URL" ;;
    esac
    url=${CRIMIG_REPO_URL%/}/
    op_key=${CRIMIG_REPO_KEY:-}
  else
    url=https://pkgs.k8s.io/addons:/cri-o:/stable:/v$(crio_minor)/$ext/
  fi
  if [ -n "$op_key" ] || [ "${CRIMIG_REPO_INSECURE:-0}" = 1 ]; then
    return 0
  fi
  case $url in
    http://*) die "the mirror $url is plain http and no signing key was given, so a key fetched from it would prove nothing; pass the key (--source repo=URL,key=FILE) or accept an unsigned mirror (--insecure-repo)" ;;
  esac
  if [ "$ext" = rpm ]; then
    key_url=${url}repodata/repomd.xml.key
  else
    key_url=${url}Release.key
  fi
}

install_podman() {
  if [ "$podman" != 1 ]; then
    echo skipped
  elif command -v podman >/dev/null 2>&1; then
    echo present
  elif [ "$source" = bundle ] || [ -z "$pm" ]; then
    echo skipped
  elif pkg_install podman; then
    echo installed
  else
    echo failed
  fi
}

install_pkgs() {
  [ -n "$pm" ] || die "no yum, dnf or apt-get on this host; use CRIMIG_SOURCE=bundle"
  if [ "$target" = cri-o ]; then
    repo_url
    write_repo cri-o "$url" "$key_url"
    pkg_install cri-o || die "$pm could not install cri-o from $url; check that the repository serves CRI-O for this OS"
    return 0
  fi
  if [ "$source" = repo ]; then
    repo_url
    write_repo containerd "$url" "$key_url"
  fi
  pkg=containerd
  if grep -qs 'download\.docker\.com' /etc/yum.repos.d/*.repo /etc/apt/sources.list /etc/apt/sources.list.d/*; then
    pkg=containerd.io
  fi
  if [ "$pm" = apt ] && [ "$source" = pkgs ]; then
    apt-get update >&2 || true
  fi
  pkg_install "$pkg" || die "$pm could not install $pkg; configure a repository that provides it or use CRIMIG_SOURCE=bundle"
}

# unpack_bundle extracts CRIMIG_BUNDLE under the run's state directory.
unpack_bundle() {
  : "${CRIMIG_RUN_ID:?CRIMIG_RUN_ID is required for CRIMIG_SOURCE=bundle}"
  [ -n "${CRIMIG_BUNDLE:-}" ] || die "CRIMIG_SOURCE=bundle needs CRIMIG_BUNDLE, the uploaded tarball"
  [ -f "$CRIMIG_BUNDLE" ] || die "bundle $CRIMIG_BUNDLE does not exist; upload it first"
  # Not bundle/ itself: the engine uploads the tarball there.
  dir=${CRIMIG_STATE_DIR:?CRIMIG_STATE_DIR is required}/$CRIMIG_RUN_ID/bundle/unpacked
  rm -rf "$dir"
  mkdir -p "$dir"
  tar -xzf "$CRIMIG_BUNDLE" -C "$dir" || die "cannot unpack $CRIMIG_BUNDLE: is it a .tar.gz?"
}

install_crio_bundle() {
  unpack_bundle
  src=$dir/cri-o
  [ -d "$src" ] || die "$CRIMIG_BUNDLE holds no cri-o/ directory; want CRI-O's static release bundle cri-o.<arch>.v<version>.tar.gz"
  cd "$src"
  if [ -f install ]; then
    # Upstream's install is bash (source, [[) and its first line is not a
    # valid "#!": ./install or sh would run it under dash on Debian and
    # Ubuntu, which fails halfway ("source: not found").
    command -v bash >/dev/null 2>&1 ||
      die "the CRI-O bundle's install script needs bash, which this host lacks; install bash, or use --source pkgs or repo=URL"
    bash ./install >&2 || die "the bundle's install script failed"
  elif [ -f Makefile ]; then
    command -v make >/dev/null 2>&1 || die "this bundle installs with make, which the host lacks"
    make install >&2 || die "make install in the bundle failed"
  else
    die "the bundle has neither an install script nor a Makefile"
  fi
  cd /
}

containerd_unit='[Unit]
Description=containerd container runtime
Documentation=https://containerd.io
After=network.target local-fs.target

[Service]
ExecStartPre=-/sbin/modprobe overlay
ExecStart=/usr/local/bin/containerd
Type=notify
Delegate=yes
KillMode=process
Restart=always
RestartSec=5
LimitNPROC=infinity
LimitCORE=infinity
TasksMax=infinity
OOMScoreAdjust=-999

[Install]
WantedBy=multi-user.target'

install_containerd_bundle() {
  unpack_bundle
  # The plain release holds bin/...; cri-containerd bundles hold usr/local/bin/...
  if [ -f "$dir/usr/local/bin/containerd" ]; then
    cp -a "$dir/." /
  elif [ -f "$dir/bin/containerd" ]; then
    mkdir -p /usr/local/bin
    for f in "$dir"/bin/*; do
      cp -p "$f" "/usr/local/bin/$(basename "$f")"
    done
  else
    die "$CRIMIG_BUNDLE holds no bin/containerd; want containerd's release tarball"
  fi
  if [ -n "${CRIMIG_RUNC:-}" ]; then
    [ -f "$CRIMIG_RUNC" ] || die "runc binary $CRIMIG_RUNC does not exist; upload it first"
    mkdir -p /usr/local/sbin
    cp "$CRIMIG_RUNC" /usr/local/sbin/runc
    chmod 0755 /usr/local/sbin/runc
  fi
  command -v runc >/dev/null 2>&1 || [ -x /usr/local/sbin/runc ] ||
    die "containerd needs runc: upload a runc binary and set CRIMIG_RUNC"
  have_unit=
  for d in /etc/systemd/system /usr/local/lib/systemd/system /usr/lib/systemd/system /lib/systemd/system; do
    [ ! -f "$d/containerd.service" ] || have_unit=1
  done
  if [ -z "$have_unit" ]; then
    ensure_file /usr/local/lib/systemd/system/containerd.service "$containerd_unit"
  fi
}

if path=$(find_bin); then
  echo "install: $bin is already installed at $path ($(version_of "$path")); not installing" >&2
  pod=skipped
  [ "$target" != cri-o ] || pod=$(install_podman)
  result false present "$pod"
  exit 0
fi

case $source in
  pkgs | repo) install_pkgs ;;
  bundle)
    if [ "$target" = cri-o ]; then
      install_crio_bundle
    else
      install_containerd_bundle
    fi
    ;;
esac
find_bin >/dev/null || die "$bin is still missing after the install"
pod=skipped
[ "$target" != cri-o ] || pod=$(install_podman)
result true "$source" "$pod"
