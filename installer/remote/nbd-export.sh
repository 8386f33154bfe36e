#!/bin/sh
# hvcluster: exports a block device (a guest's DRBD device, Primary on this node) over NBD on a Unix
# socket, for one connection: the installer writes a disk image into it through its SSH connection
# (streamlocal forwarding), without a copy on this node's disks.
# Usage: sh -s -- DEVICE SOCKET_DIR OWNER DEADLINE_S < nbd-export.sh
#   SOCKET_DIR: a directory of its own (created here, mode 700, owned by OWNER; the socket is
#   SOCKET_DIR/nbd.sock, qemu-nbd's messages SOCKET_DIR/qemu-nbd.log).
#   OWNER: the SSH login user, who opens the socket through SSH.
#   DEADLINE_S: qemu-nbd is stopped after this many seconds whatever happens, so that a killed
#   installer never leaves the device open (DRBD cannot be demoted while it is).
# qemu-nbd serves one connection and exits when the installer disconnects.
# Prints `ready PID SOCKET` once the socket is there.
set -eu
[ $# -eq 4 ] || { echo 'usage: nbd-export.sh DEVICE SOCKET_DIR OWNER DEADLINE_S' >&2; exit 2; }
dev=$1
dir=$2
owner=$3
deadline=$4
[ -b "$dev" ] || { echo "$dev is not a block device" >&2; exit 2; }
command -v qemu-nbd >/dev/null 2>&1 || { echo 'qemu-nbd is not installed (package qemu-utils)' >&2; exit 3; }
mkdir -p "$dir"
chmod 700 "$dir"
chown "$owner" "$dir"
sock=$dir/nbd.sock
rm -f "$sock"
# Its own session (not killed with this script's), bounded by timeout; O_DIRECT on the device.
setsid timeout --kill-after=10 "$deadline" qemu-nbd --format=raw --cache=none --aio=native --discard=unmap --socket="$sock" "$dev" \
  </dev/null >/dev/null 2>"$dir/qemu-nbd.log" &
pid=$!
i=0
while [ ! -S "$sock" ]; do
  if ! kill -0 "$pid" 2>/dev/null; then
    echo "qemu-nbd exited before it listened: $(cat "$dir/qemu-nbd.log")" >&2
    exit 1
  fi
  i=$((i + 1))
  if [ "$i" -gt 200 ]; then
    kill "$pid" 2>/dev/null || true
    echo "qemu-nbd did not open $sock within 20 s" >&2
    exit 1
  fi
  sleep 0.1
done
chown "$owner" "$sock"
echo "ready $pid $sock"
