#!/bin/sh
# kernel.sh makes sure the kernel modules and sysctls that CRI-O and
# containerd need are loaded now and after a reboot.
#
# Environment: none. (The engine backs up both files before it runs this.)
#
# It writes /etc/modules-load.d/crimig.conf and /etc/sysctl.d/99-crimig.conf
# only when their content differs, then loads each module with modprobe and
# applies the sysctl file with sysctl -p. A module the kernel already has,
# built in or loaded, is not modprobe'd: modprobe needs /lib/modules/$(uname -r),
# which is gone after a kernel upgrade until the next reboot. A loaded module
# shows under /sys/module, but a built-in one only when it has parameters:
# built-in br_netfilter shows only as /proc/sys/net/bridge, overlay also in
# /proc/filesystems.
#
# On stdout: {"changed":["<file written>",...],"modules":["overlay","br_netfilter"],
#             "present":["<module the kernel already had>",...]}
set -eu

modules_file=/etc/modules-load.d/crimig.conf
sysctl_file=/etc/sysctl.d/99-crimig.conf
modules='overlay
br_netfilter'
sysctls='net.bridge.bridge-nf-call-iptables = 1
net.ipv4.ip_forward = 1
net.bridge.bridge-nf-call-ip6tables = 1'
header='# Written by kubectl crimig: needed by the CRI container runtime.'

written=
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

ensure_file "$modules_file" "$header
$modules"
ensure_file "$sysctl_file" "$header
$sysctls"

# module_present MODULE succeeds when the kernel already has MODULE.
module_present() {
  [ -d "/sys/module/$1" ] && return 0
  case $1 in
    br_netfilter) [ -e /proc/sys/net/bridge/bridge-nf-call-iptables ] ;;
    overlay) grep -qw overlay /proc/filesystems 2>/dev/null ;;
    *) return 1 ;;
  esac
}

# Modules first: the net.bridge sysctls only exist once br_netfilter is loaded.
present=
for m in $modules; do
  if module_present "$m"; then
    present="$present${present:+,}\"$m\""
    continue
  fi
  modprobe "$m" || { echo "kernel: modprobe $m failed" >&2; exit 1; }
done
sysctl -p "$sysctl_file" >/dev/null || { echo "kernel: sysctl -p $sysctl_file failed" >&2; exit 1; }

printf '{"changed":[%s],"modules":["overlay","br_netfilter"],"present":[%s]}\n' "$written" "$present"
