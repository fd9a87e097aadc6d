# Installs the CRI-O static bundle, laid out as the project's release
# tarball (cri-o/install, bin/, cni-plugins/, contrib/, etc/).
#
# Like upstream's install script, this is bash, and its first line is not a
# valid "#!" line: run as ./install, the kernel refuses it and the calling
# shell runs it, so under dash (Debian's and Ubuntu's /bin/sh) it fails at
# the first bash-only construct ("source: not found"). Only `bash install`
# works everywhere. Same destinations and variables as upstream.
# shellcheck shell=bash
set -eu

DESTDIR=${DESTDIR:-}
PREFIX=${PREFIX:-/usr/local}
BINDIR=${BINDIR:-$PREFIX/bin}
LIBEXECDIR=${LIBEXECDIR:-/usr/libexec}
LIBEXEC_CRIO_DIR=${LIBEXEC_CRIO_DIR:-$LIBEXECDIR/crio}
ETCDIR=${ETCDIR:-/etc}
CONTAINERS_DIR=${CONTAINERS_DIR:-$ETCDIR/containers}
CNIDIR=${CNIDIR:-$ETCDIR/cni/net.d}
OPT_CNI_BIN_DIR=${OPT_CNI_BIN_DIR:-/opt/cni/bin}
SYSTEMDDIR=${SYSTEMDDIR:-$PREFIX/lib/systemd/system}

cd "$(dirname "$0")"
# shellcheck source=/dev/null
source ./VERSION.env

copy() { # copy MODE SRC DSTDIR
	mkdir -p "$3"
	cp "$2" "$3/"
	chmod "$1" "$3/$(basename "$2")"
}

copy_if_missing() { # copy_if_missing SRC DST
	mkdir -p "$(dirname "$2")"
	if [[ ! -e $2 ]]; then
		cp "$1" "$2"
	fi
}

# As upstream: conmon and the OCI runtimes go off $PATH, where the bundle's
# 10-crio.conf points its handlers.
for f in bin/*; do
	case ${f#bin/} in
	conmon | conmonrs | crun | runc) copy 755 "$f" "$DESTDIR$LIBEXEC_CRIO_DIR" ;;
	*) copy 755 "$f" "$DESTDIR$BINDIR" ;;
	esac
done
for f in cni-plugins/*; do
	copy 755 "$f" "$DESTDIR$OPT_CNI_BIN_DIR"
done
copy 644 contrib/crio.service "$DESTDIR$SYSTEMDDIR"
copy_if_missing etc/10-crio.conf "$DESTDIR$ETCDIR/crio/crio.conf.d/10-crio.conf"
copy_if_missing etc/crictl.yaml "$DESTDIR$ETCDIR/crictl.yaml"
copy_if_missing contrib/policy.json "$DESTDIR$CONTAINERS_DIR/policy.json"
copy_if_missing contrib/registries.conf "$DESTDIR$CONTAINERS_DIR/registries.conf"
copy_if_missing contrib/11-crio-ipv4-bridge.conflist "$DESTDIR$CNIDIR/11-crio-ipv4-bridge.conflist"
echo "CRI-O $CRIO_VERSION installed to $DESTDIR$BINDIR"
