#!/bin/sh
# facts.sh gathers what crimig needs to know about a Docker host and prints it
# as one JSON document on stdout. It only reads; it changes nothing.
#
# Environment:
#   CRIMIG_HOST_PREFIX  optional root prefix for every host path (tests point
#                       it at a directory tree); empty on a real host
#   CRIMIG_CMD_TIMEOUT  optional seconds allowed for each host command, default 10
#
# Never printed: credentials. From /root/.docker/config.json only the registry
# names (keys of "auths" and "credHelpers") are read, and for scripts that call
# docker only the path and line number, because such lines may hold passwords.
set -u
P=${CRIMIG_HOST_PREFIX:-}
T=${CRIMIG_CMD_TIMEOUT:-10}

# --- json escaper: keep identical in every script that has it ---
# json_awk is an awk program that prints its input as one JSON string literal.
# With -v lines=1 it prints a JSON array holding one string per input line.
# With -v nl=1 it appends the newline that the last input line ended with.
# It walks characters instead of using gsub because awks disagree about
# backslashes in gsub replacements.
# shellcheck disable=SC2016 # awk program, expanded by awk not sh
json_awk='
BEGIN {
  ORS = ""
  for (i = 1; i < 32; i++) { c = sprintf("%c", i); esc[c] = sprintf("\\u%04x", i); ctl = ctl c }
  esc["\t"] = "\\t"; esc["\n"] = "\\n"; esc["\r"] = "\\r"
  esc["\\"] = "\\\\"; esc["\""] = "\\\""
  ctlre = "[" ctl "]"
  if (lines) printf "["; else printf "\""
}
function quote(s,   out, n, j, ch) {
  if (!index(s, "\\") && !index(s, "\"") && s !~ ctlre) return s
  out = ""; n = length(s)
  for (j = 1; j <= n; j++) { ch = substr(s, j, 1); out = out ((ch in esc) ? esc[ch] : ch) }
  return out
}
{
  if (lines) { printf "%s\"%s\"", (NR > 1 ? "," : ""), quote($0) }
  else { printf "%s%s", (NR > 1 ? "\\n" : ""), quote($0) }
}
END {
  if (lines) { printf "]"; exit }
  if (nl && NR > 0) printf "\\n"
  printf "\""
}'

# json_str prints its argument as a JSON string literal.
json_str() {
  printf '%s\n' "$1" | awk -v lines=0 -v nl=0 "$json_awk"
}
# --- end of json escaper ---

# json_file PATH prints the file as a JSON string, or null when it is missing.
json_file() {
  if [ -f "$1" ] && [ -r "$1" ]; then
    nl=0
    [ -s "$1" ] && [ "$(tail -c 1 "$1" | wc -l)" -eq 1 ] && nl=1
    awk -v lines=0 -v nl="$nl" "$json_awk" "$1"
  else
    printf 'null'
  fi
}

# json_opt prints a JSON string, or null for an empty value.
json_opt() {
  if [ -n "$1" ]; then json_str "$1"; else printf 'null'; fi
}

json_bool() {
  if "$@"; then printf 'true'; else printf 'false'; fi
}

# have NAME prints the path of a host command, looking only in the host's
# standard directories so that a test prefix never picks up the test machine's.
have() {
  for d in /usr/local/sbin /usr/local/bin /usr/sbin /usr/bin /sbin /bin; do
    if [ -x "$P$d/$1" ] && [ ! -d "$P$d/$1" ]; then
      printf '%s' "$P$d/$1"
      return 0
    fi
  done
  return 1
}

# run CMD ARGS... runs a host command with a time limit when timeout exists.
run() {
  if command -v timeout >/dev/null 2>&1; then
    timeout "$T" "$@" 2>/dev/null
  else
    "$@" 2>/dev/null
  fi
}

# version_of CMD prints the first x.y.z found in "CMD --version".
version_of() {
  run "$1" --version </dev/null |
    sed -n 's/^[^0-9]*\([0-9][0-9]*\.[0-9][0-9]*\(\.[0-9][0-9]*\)\{0,1\}\).*/\1/p' | head -n 1
}

os_release() {
  f=$P/etc/os-release
  [ -f "$f" ] || f=$P/usr/lib/os-release
  id="" version_id="" pretty=""
  if [ -f "$f" ]; then
    id=$(os_field ID "$f")
    version_id=$(os_field VERSION_ID "$f")
    pretty=$(os_field PRETTY_NAME "$f")
  fi
  printf '{"id":%s,"versionId":%s,"prettyName":%s}' \
    "$(json_opt "$id")" "$(json_opt "$version_id")" "$(json_opt "$pretty")"
}

# os_field KEY FILE reads KEY=value or KEY="value" without sourcing the file.
os_field() {
  sed -n "s/^$1=//p" "$2" | head -n 1 | sed -e 's/^"\(.*\)"$/\1/' -e "s/^'\(.*\)'\$/\1/"
}

package_manager() {
  if have dnf >/dev/null; then echo dnf
  elif have yum >/dev/null; then echo yum
  elif have apt-get >/dev/null; then echo apt
  fi
}

systemd_running() { [ -d "$P/run/systemd/system" ]; }

# storage_dir_state tells what a directory that CRI-O would take as its
# storage root holds: absent, empty, containers-storage (an earlier CRI-O or
# podman store, which CRI-O can use) or other (data CRI-O must not touch).
storage_dir_state() {
  d=$P$1
  if [ ! -e "$d" ]; then
    echo absent
  elif [ ! -d "$d" ]; then
    echo other
  elif [ -z "$(ls -A "$d" 2>/dev/null)" ]; then
    echo empty
  elif [ -e "$d/storage.lock" ] || [ -d "$d/overlay-images" ]; then
    echo containers-storage
  else
    echo other
  fi
}

docker_facts() {
  docker=$(have docker) || docker=""
  version="" driver="" active="" root_dir="" root_exists=false sibling_state=""
  if [ -n "$docker" ]; then
    version=$(run "$docker" version --format '{{.Server.Version}}' </dev/null | head -n 1)
    [ -n "$version" ] || version=$(version_of "$docker")
    driver=$(run "$docker" info --format '{{.CgroupDriver}}' </dev/null | head -n 1)
    root_dir=$(run "$docker" info --format '{{.DockerRootDir}}' </dev/null | head -n 1)
  fi
  case $root_dir in
    /?*)
      [ -d "$P$root_dir" ] && root_exists=true
      sibling_state=$(storage_dir_state "$(dirname "$root_dir")/containers/storage")
      ;;
    *) root_dir="" ;;
  esac
  if systemctl=$(have systemctl); then
    active=$(run "$systemctl" is-active docker </dev/null | head -n 1)
  fi
  printf '{"installed":%s,"version":%s,"active":%s,"cgroupDriver":%s,"daemonJson":%s,"registries":%s,"dataRootSeparateMount":%s,"missingRuntimePaths":%s,"certDirs":%s,"rootDir":%s,"rootDirExists":%s,"siblingStorage":%s,"criDockerdPauseImage":%s}' \
    "$(json_bool test -n "$docker")" "$(json_opt "$version")" "$(json_opt "$active")" \
    "$(json_opt "$driver")" "$(json_file "$P/etc/docker/daemon.json")" "$(registry_names)" \
    "$(json_bool is_mountpoint /var/lib/docker)" "$(missing_runtime_paths)" "$(cert_dirs)" \
    "$(json_opt "$root_dir")" "$root_exists" "$(json_opt "$sibling_state")" "$(json_opt "$(cri_dockerd_pause_image)")"
}

# cri_dockerd_pause_image prints the --pod-infra-container-image that
# cri-docker.service passes to cri-dockerd: on a cri-dockerd node that is the
# pause image pods run with, and an air-gapped node has no other. It reads
# the unit wherever it lives and its drop-ins in systemd's order, takes the
# last ExecStart=, and expands $VAR and ${VAR} from Environment= lines and
# the EnvironmentFile= files (later assignments win), as systemd would.
cri_dockerd_pause_image() {
  unit=cri-docker.service
  files=
  for d in /etc/systemd/system /run/systemd/system /usr/local/lib/systemd/system /usr/lib/systemd/system /lib/systemd/system; do
    if [ -f "$P$d/$unit" ]; then
      files=$P$d/$unit
      break
    fi
  done
  [ -n "$files" ] || return 0
  # Drop-ins sort by file name across the directories; earlier directories
  # shadow later ones of the same name.
  dropins=$(for d in /lib/systemd/system /usr/lib/systemd/system /usr/local/lib/systemd/system /run/systemd/system /etc/systemd/system; do
    for f in "$P$d/$unit.d"/*.conf; do
      [ -f "$f" ] && printf '%s\t%s\n' "${f##*/}" "$f"
    done
  done | awk -F '\t' '{ last[$1] = $2 } END { for (n in last) print n "\t" last[n] }' | sort | cut -f 2)
  # shellcheck disable=SC2086 # file names without blanks, one per word
  printf '%s\n' $files $dropins | awk -v prefix="$P" '
    function assign(s,   k) {
      gsub(/^["\047]|["\047]$/, "", s)
      k = index(s, "=")
      if (k > 1) env[substr(s, 1, k - 1)] = substr(s, k + 1)
    }
    function envfile(path,   line) {
      sub(/^-/, "", path)
      while ((getline line < (prefix path)) > 0) {
        if (line ~ /^[ \t]*(#|$)/) continue
        sub(/^[ \t]*export[ \t]+/, "", line)
        assign(line)
      }
      close(prefix path)
    }
    function expand(s,   out, name) {
      out = ""
      while (match(s, /\$(\{[A-Za-z_][A-Za-z0-9_]*\}|[A-Za-z_][A-Za-z0-9_]*)/)) {
        name = substr(s, RSTART + 1, RLENGTH - 1)
        gsub(/[{}]/, "", name)
        out = out substr(s, 1, RSTART - 1) env[name]
        s = substr(s, RSTART + RLENGTH)
      }
      return out s
    }
    {
      file = $0
      text = ""
      while ((getline line < file) > 0) {
        if (sub(/\\$/, "", line)) { text = text line " "; continue }
        text = text line
        if (text ~ /^ExecStart=/) { exec = substr(text, 11) }
        else if (text ~ /^Environment=/) {
          rest = substr(text, 13)
          while (match(rest, /"[^"]*"|[^ \t]+/)) { assign(substr(rest, RSTART, RLENGTH)); rest = substr(rest, RSTART + RLENGTH) }
        } else if (text ~ /^EnvironmentFile=/) envfile(substr(text, 17))
        text = ""
      }
      close(file)
    }
    END {
      n = split(expand(exec), w, /[ \t]+/)
      for (i = 1; i <= n; i++) {
        if (w[i] ~ /^--pod-infra-container-image=/) img = substr(w[i], 29)
        else if (w[i] == "--pod-infra-container-image" && i < n) img = w[i + 1]
      }
      gsub(/["\047]/, "", img)
      if (img != "") print img
    }'
}

# cert_dirs lists docker's per-registry certificate directories and the
# names of the files in them (never their content): the new runtime needs
# the same ca.crt / client.cert / client.key under its own certs.d.
cert_dirs() {
  printf '['
  sep=""
  for d in "$P"/etc/docker/certs.d/*/; do
    [ -d "$d" ] || continue
    host=${d%/}
    host=${host##*/}
    printf '%s{"host":%s,"files":[' "$sep" "$(json_str "$host")"
    fsep=""
    for f in "$d"*; do
      [ -f "$f" ] || continue
      printf '%s%s' "$fsep" "$(json_str "${f##*/}")"
      fsep=","
    done
    printf ']}'
    sep=","
  done
  printf ']'
}

# missing_runtime_paths lists the absolute "path" values of daemon.json's
# runtimes whose binary is not on the host: CRI-O refuses to start with a
# handler whose runtime_path does not exist. In daemon.json only runtime
# entries have a "path" key.
missing_runtime_paths() {
  printf '['
  if [ -f "$P/etc/docker/daemon.json" ]; then
    # One "path" per line, wherever the file broke its lines.
    # shellcheck disable=SC2020 # three characters, each to a newline
    tr '{},' '\n\n\n' <"$P/etc/docker/daemon.json" |
      sed -n 's/.*"path"[[:space:]]*:[[:space:]]*"\(\/[^"]*\)".*/\1/p' | {
      sep=""
      while IFS= read -r rp; do
        [ -x "$P$rp" ] && continue
        printf '%s%s' "$sep" "$(json_str "$rp")"
        sep=,
      done
    }
  fi
  printf ']'
}

# registry_names prints the keys of "auths" and "credHelpers" in the docker
# client config as a JSON array. It tokenizes the JSON and prints only object
# keys at that one depth, so the auth values are never printed.
registry_names() {
  f=$P/root/.docker/config.json
  if [ ! -f "$f" ]; then printf '[]'; return; fi
  awk '
    {
      n = length($0)
      for (i = 1; i <= n; i++) {
        c = substr($0, i, 1)
        if (instr) {
          if (bs) { bs = 0; buf = buf c }
          else if (c == "\\") { bs = 1; buf = buf c }
          else if (c == "\"") { instr = 0; str = buf; havestr = 1 }
          else buf = buf c
          continue
        }
        if (c == "\"") { instr = 1; buf = ""; continue }
        if (c == " " || c == "\t" || c == "\r") continue
        if (c == ":") {
          if (havestr) {
            if (target && depth == target) print str
            want = (depth == 1 && (str == "auths" || str == "credHelpers"))
          }
          havestr = 0
          continue
        }
        havestr = 0
        if (c == "{") { depth++; if (want) target = depth; want = 0 }
        else if (c == "}") { if (depth == target) target = 0; depth-- }
        else want = 0
      }
    }' "$f" | sort -u | awk -v lines=1 "$json_awk"
}

# is_mountpoint DIR tells whether DIR is a mount point of its own.
is_mountpoint() {
  [ -f "$P/proc/mounts" ] && awk -v d="$1" '$2 == d { found = 1 } END { exit !found }' "$P/proc/mounts"
}

kubelet_facts() {
  find_kubelet_cmdline
  cmdline=null
  if [ -n "$cmdline_file" ]; then
    cmdline=$(tr '\000' '\n' <"$cmdline_file" | awk 'NF' | awk -v lines=1 "$json_awk")
  fi
  printf '{"cmdline":%s,"cmdlineSource":%s,"flagsFiles":{' "$cmdline" "$(json_opt "${cmdline_file#"$P"}")"
  sep=""
  for f in /var/lib/kubelet/kubeadm-flags.env /etc/sysconfig/kubelet /etc/default/kubelet; do
    [ -f "$P$f" ] || continue
    printf '%s%s:%s' "$sep" "$(json_str "$f")" "$(json_file "$P$f")"
    sep=","
  done
  printf '},"configYaml":%s}' "$(json_file "$P/var/lib/kubelet/config.yaml")"
}

# find_kubelet_cmdline sets cmdline_file to the running kubelet's
# /proc/PID/cmdline, or to "" when no kubelet runs (the flags files still
# tell how it would start). The sandbox's simulated hosts keep a fake /proc
# with the same layout, so this one path serves both.
find_kubelet_cmdline() {
  cmdline_file=""
  for d in "$P"/proc/[0-9]*; do
    if [ -s "$d/cmdline" ] && [ "$(cat "$d/comm" 2>/dev/null)" = kubelet ]; then
      cmdline_file=$d/cmdline
      return
    fi
  done
}

cgroup_facts() {
  version=0 hybrid=false
  if [ -f "$P/sys/fs/cgroup/cgroup.controllers" ]; then
    version=2
  elif [ -d "$P/sys/fs/cgroup" ] && [ -n "$(ls -A "$P/sys/fs/cgroup" 2>/dev/null)" ]; then
    version=1
    [ -f "$P/sys/fs/cgroup/unified/cgroup.controllers" ] && hybrid=true
  fi
  kubelet_driver=""
  if [ -f "$P/var/lib/kubelet/config.yaml" ]; then
    kubelet_driver=$(sed -n 's/^cgroupDriver:[[:space:]]*["'\'']\{0,1\}\([a-z]*\).*/\1/p' "$P/var/lib/kubelet/config.yaml" | head -n 1)
  fi
  printf '{"version":%d,"hybrid":%s,"kubeletDriver":%s}' "$version" "$hybrid" "$(json_opt "$kubelet_driver")"
}

module_loaded() {
  if [ -f "$P/proc/modules" ] && grep -q "^$1 " "$P/proc/modules"; then return 0; fi
  [ -d "$P/sys/module/$1" ] && return 0
  if lsmod=$(have lsmod); then
    run "$lsmod" </dev/null | awk -v m="$1" '$1 == m { found = 1 } END { exit !found }'
    return
  fi
  return 1
}

sysctl_value() {
  f=$P/proc/sys/$(printf '%s' "$1" | tr . /)
  if [ -f "$f" ]; then
    v=$(cat "$f" 2>/dev/null)
  elif sysctl=$(have sysctl); then
    v=$(run "$sysctl" -n "$1" </dev/null | head -n 1)
  else
    v=""
  fi
  json_opt "$v"
}

kernel_facts() {
  printf '{"modules":{"overlay":%s,"br_netfilter":%s},"sysctls":{"net.ipv4.ip_forward":%s,"net.bridge.bridge-nf-call-iptables":%s}}' \
    "$(json_bool module_loaded overlay)" "$(json_bool module_loaded br_netfilter)" \
    "$(sysctl_value net.ipv4.ip_forward)" "$(sysctl_value net.bridge.bridge-nf-call-iptables)"
}

disk_facts() {
  free=$(df -Pk "$P/var/lib" 2>/dev/null | awk 'NR == 2 && $4 ~ /^[0-9]+$/ { printf "%.0f", $4 * 1024 }')
  [ -n "$free" ] || free=null
  printf '{"varLibFreeBytes":%s,"varLibDockerSeparateMount":%s}' "$free" "$(json_bool is_mountpoint /var/lib/docker)"
}

# docker_callers lists cron jobs, systemd units and /usr/local/bin scripts that
# call docker, as path and line number only.
docker_callers() {
  printf '['
  sep=""
  for f in "$P"/etc/crontab "$P"/etc/cron.d/* "$P"/etc/cron.hourly/* "$P"/etc/cron.daily/* \
    "$P"/etc/cron.weekly/* "$P"/etc/cron.monthly/* "$P"/var/spool/cron/* "$P"/var/spool/cron/crontabs/* \
    "$P"/etc/systemd/system/*.service "$P"/usr/lib/systemd/system/*.service "$P"/lib/systemd/system/*.service \
    "$P"/usr/local/bin/*; do
    [ -f "$f" ] || continue
    case $f in
      *.service) is_custom_unit "$f" || continue ;;
    esac
    # shellcheck disable=SC2013 # the output is line numbers, one word each
    for line in $(grep -nIE '(^|[^A-Za-z0-9_.-])docker(-compose)?([^A-Za-z0-9_.-]|$)' "$f" 2>/dev/null |
      grep -vE '^[0-9]+:[[:space:]]*#' | cut -d : -f 1); do
      printf '%s{"path":%s,"line":%d}' "$sep" "$(json_str "${f#"$P"}")" "$line"
      sep=","
    done
  done
  printf ']'
}

# Units that belong to docker itself call dockerd by design; skip them.
is_custom_unit() {
  case ${1##*/} in
    docker* | cri-docker* | containerd* | moby*) return 1 ;;
  esac
  return 0
}

# runtime NAME [LOOKUP] prints whether NAME is installed, where, and its
# version; LOOKUP (default have) is the function that finds it.
runtime() {
  if p=$("${2:-have}" "$1"); then
    printf '{"installed":true,"path":%s,"version":%s}' "$(json_str "${p#"$P"}")" "$(json_opt "$(version_of "$p")")"
  else
    printf '{"installed":false}'
  fi
}

# crio_helper NAME prints where an installed CRI-O finds its helper NAME
# (conmon, crun, runc): CRI-O's packages and its bundle keep their own in
# /usr/libexec/crio, which is not on $PATH; older packages used $PATH.
crio_helper() {
  for d in /usr/libexec/crio /usr/local/libexec/crio; do
    if [ -x "$P$d/$1" ] && [ ! -d "$P$d/$1" ]; then
      printf '%s' "$P$d/$1"
      return 0
    fi
  done
  have "$1"
}

printf '{"os":%s' "$(os_release)"
printf ',"packageManager":%s' "$(json_opt "$(package_manager)")"
printf ',"systemd":%s' "$(json_bool systemd_running)"
printf ',"docker":%s' "$(docker_facts)"
printf ',"kubelet":%s' "$(kubelet_facts)"
printf ',"cgroup":%s' "$(cgroup_facts)"
printf ',"kernel":%s' "$(kernel_facts)"
printf ',"disk":%s' "$(disk_facts)"
printf ',"dockerCallers":%s' "$(docker_callers)"
printf ',"runtimes":{"crio":%s,"containerd":%s,"podman":%s,"crun":%s,"runc":%s,"conmon":%s,"criDockerd":%s}' \
  "$(runtime crio)" "$(runtime containerd)" "$(runtime podman)" "$(runtime crun crio_helper)" \
  "$(runtime runc crio_helper)" "$(runtime conmon crio_helper)" "$(runtime cri-dockerd)"
printf '}\n'
