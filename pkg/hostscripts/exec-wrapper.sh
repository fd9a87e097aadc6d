# shellcheck shell=sh
# exec-wrapper.sh runs one host script for crimig and reports how it ended.
#
# It is executed as: /bin/sh -c "$WRAPPER" crimig-exec NONCE SCRIPT [NAME=VALUE ...]
# The script body and every environment item arrive as separate argv items, so
# nothing the caller passes is ever parsed as shell text by this wrapper.
#
# The last line on stdout is "__CRIMIG_EXIT__ NONCE CODE". The caller reads the
# exit code from it because some exec transports drop the real exit status, and
# a missing trailer means the stream broke before the script finished.
nonce=$1
script=$2
shift 2
PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
# Scripts that start detached work wait for this process to end (detach.sh).
CRIMIG_EXEC_PID=$$
export PATH CRIMIG_EXEC_PID
env "$@" /bin/sh -c "$script" crimig-script
rc=$?
printf '\n__CRIMIG_EXIT__ %s %d\n' "$nonce" "$rc"
