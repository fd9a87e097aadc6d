#!/bin/sh
# carry-images.sh copies images from docker's store into the new runtime's,
# for nodes that cannot pull them once docker is gone (air-gapped): the
# pause image, the DaemonSet and static pods' images, crimig's own pod image.
# It saves the images docker has into one archive, then loads it with podman
# (CRI-O: podman and CRI-O share /var/lib/containers/storage, or the root
# CRI-O is configured with, given as CRIMIG_STORAGE_ROOT) or imports it
# into containerd's k8s.io namespace (the kubelet's). Images already in the
# new runtime's store are left alone, so a second run does nothing.
#
# Environment:
#   CRIMIG_RUN_ID     the run; the archive is <state>/<run-id>/images.tar
#   CRIMIG_TARGET     cri-o or containerd
#   CRIMIG_IMAGES     newline separated image references
#   CRIMIG_STORAGE_ROOT  CRI-O's storage root when not the default (podman --root)
#   CRIMIG_STATE_DIR  crimig's directory on the host (hostscripts.StateDir)
#
# Last line on stdout: {"carried":[...],"present":[...],"missing":[...]}:
# carried now, already in the new runtime's store, and in neither store
# (missing is a warning: the node must pull those itself).
# Exit 1 when docker cannot save or the import fails, 2 on bad input.
set -eu
# No globbing: references are split into words, never expanded.
set -f
: "${CRIMIG_RUN_ID:?CRIMIG_RUN_ID is required}"
: "${CRIMIG_TARGET:?CRIMIG_TARGET is required}"
images=${CRIMIG_IMAGES:-}

die() {
  code=$1
  shift
  echo "carry-images: $*" >&2
  exit "$code"
}

case $CRIMIG_RUN_ID in
  *[!A-Za-z0-9._-]* | .*) die 2 "bad run id: $CRIMIG_RUN_ID" ;;
esac
root=${CRIMIG_STORAGE_ROOT:-}
case $root in
  '') ;;
  /*[!A-Za-z0-9._/-]* | *..* | [!/]*) die 2 "bad storage root: $root" ;;
esac
case $CRIMIG_TARGET in
  cri-o) tool=podman ;;
  containerd) tool=ctr ;;
  *) die 2 "CRIMIG_TARGET must be cri-o or containerd, got $CRIMIG_TARGET" ;;
esac
# Only what a reference may hold: also keeps the JSON below unescaped. A
# reference starts with a letter or digit, so docker never reads it as an
# option (the plan leaves such names out, with finding CRIMIG015).
for img in $images; do
  case $img in
    [!A-Za-z0-9]* | *[!A-Za-z0-9._/:@-]*) die 2 "bad image reference: $img: a reference starts with a letter or digit and holds only letters, digits and ._/:@-" ;;
  esac
done

command -v docker >/dev/null 2>&1 || die 1 "docker is not installed: there is no image store to carry images from"
if ! command -v "$tool" >/dev/null 2>&1; then
  if [ "$tool" = podman ]; then
    die 1 "podman is not installed: CRI-O's image store is written with podman; install podman (from your mirror) and run migrate again, or drop --carry-images"
  fi
  die 1 "ctr is not installed: containerd's image store is written with ctr; check the containerd install"
fi
docker info >/dev/null 2>&1 || die 1 "docker is not running: start it (systemctl start docker) and run migrate again"

# norm qualifies a reference as docker and containerd do: nginx:1.25 is
# docker.io/library/nginx:1.25.
norm() {
  r=$1
  case $r in
    */*) first=${r%%/*} ;;
    *) first= ;;
  esac
  case $first in
    *.* | *:* | localhost) ;;
    '') r=docker.io/library/$r ;;
    *) r=docker.io/$r ;;
  esac
  case ${r##*/} in
    *:* | *@*) ;;
    *) r=$r:latest ;;
  esac
  echo "$r"
}

# pm runs podman on CRI-O's store.
pm() {
  if [ -n "$root" ]; then
    podman --root "$root" "$@"
  else
    podman "$@"
  fi
}

# in_store tells whether the new runtime's store holds the image.
in_store() {
  if [ "$tool" = podman ]; then
    pm image exists "$1" 2>/dev/null
  else
    ctr -n k8s.io images ls -q 2>/dev/null | grep -qxF "$(norm "$1")"
  fi
}

nl='
'
carried='' present='' missing='' save='' seen=' '
for img in $images; do
  case $seen in *" $img "*) continue ;; esac
  seen="$seen$img "
  if in_store "$img"; then
    present=$present$img$nl
  elif docker image inspect "$img" >/dev/null 2>&1; then
    save=$save$img$nl
  else
    missing=$missing$img$nl
    echo "carry-images: warning: $img is not in docker's image store; the node must pull it after the swap" >&2
  fi
done

if [ -n "$save" ]; then
  dir=${CRIMIG_STATE_DIR:?CRIMIG_STATE_DIR is required}/$CRIMIG_RUN_ID
  archive=$dir/images.tar
  mkdir -p "$dir"
  trap 'rm -f "$archive"' EXIT
  # The archive holds about what docker reports as the images' size, and
  # the import needs as much again in the new runtime's store.
  # shellcheck disable=SC2086 # one reference per word, checked above
  need=$(docker image inspect --format '{{.Size}}' $save 2>/dev/null | awk '{s += $1} END {printf "%d", s / 1024}') || need=
  free=$(df -Pk "$dir" 2>/dev/null | awk 'NR == 2 {print $4}') || free=
  if [ -n "$need" ] && [ -n "$free" ] && [ "$free" -lt "$need" ]; then
    die 1 "not enough space in $dir: the images need about $((need / 1024)) MiB, $((free / 1024)) MiB are free"
  fi
  # shellcheck disable=SC2086
  docker save -o "$archive" $save >&2 || die 1 "docker save failed; the images are still in docker's store"
  if [ "$tool" = podman ]; then
    pm load -i "$archive" >&2 || die 1 "podman load -i $archive failed: the images are not in CRI-O's store${root:+ at $root}"
  else
    ctr -n k8s.io images import "$archive" >&2 || die 1 "ctr -n k8s.io images import $archive failed: the images are not in containerd's store"
  fi
  rm -f "$archive"
  for img in $save; do
    in_store "$img" || die 1 "$img is still not in the $CRIMIG_TARGET image store after the import"
    carried=$carried$img$nl
  done
fi

list() {
  printf '%s' "$1" | awk 'NF {printf "%s\"%s\"", (n++ ? "," : ""), $0}'
}
printf '{"carried":[%s],"present":[%s],"missing":[%s]}\n' "$(list "$carried")" "$(list "$present")" "$(list "$missing")"
