#!/bin/sh
# upload.sh receives one file on stdin and puts it in place atomically.
#
# Environment:
#   CRIMIG_DEST  absolute path of the file to write
#   CRIMIG_SIZE  number of data bytes that will arrive on stdin
#   CRIMIG_MODE  octal permission bits, for example 0644
#
# stdin carries CRIMIG_SIZE data bytes followed by 64 lowercase hex characters:
# the sha256 the client computed while sending. The input is ended by length,
# never by EOF, because some exec transports never deliver stdin EOF.
set -eu
: "${CRIMIG_DEST:?CRIMIG_DEST is required}"
: "${CRIMIG_SIZE:?CRIMIG_SIZE is required}"
: "${CRIMIG_MODE:=0644}"

case $CRIMIG_SIZE in
  *[!0-9]*) echo "upload: CRIMIG_SIZE is not a number: $CRIMIG_SIZE" >&2; exit 2 ;;
esac
case $CRIMIG_DEST in
  /*) ;;
  *) echo "upload: CRIMIG_DEST must be an absolute path: $CRIMIG_DEST" >&2; exit 2 ;;
esac

dir=$(dirname "$CRIMIG_DEST")
mkdir -p "$dir"
tmp="$CRIMIG_DEST.crimig-upload.$$"
trap 'rm -f "$tmp"' EXIT
trap 'exit 130' INT TERM HUP

total=$((CRIMIG_SIZE + 64))
head -c "$total" >"$tmp"

got=$(wc -c <"$tmp" | tr -d ' ')
if [ "$got" -ne "$total" ]; then
  echo "upload: received $got of $total bytes for $CRIMIG_DEST" >&2
  exit 3
fi

want=$(tail -c 64 "$tmp")
# Cut the checksum off the end: dd without conv=notrunc truncates at the seek offset.
dd if=/dev/null of="$tmp" bs=1 seek="$CRIMIG_SIZE" 2>/dev/null
have=$(sha256sum "$tmp" | cut -d ' ' -f 1)
if [ "$have" != "$want" ]; then
  echo "upload: checksum mismatch for $CRIMIG_DEST: sent $want, received $have" >&2
  exit 4
fi

chmod "$CRIMIG_MODE" "$tmp"
mv -f "$tmp" "$CRIMIG_DEST"
trap - EXIT
echo "$have"
