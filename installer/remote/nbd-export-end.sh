#!/bin/sh
# hvcluster: the end of a disk import's NBD export (nbd-export.sh): waits for its qemu-nbd to exit
# (it does when the installer disconnects, after flushing to the device), stops it if it has not
# within 30 s, and removes its socket directory. The device is closed afterwards, so DRBD can be
# demoted.
# Usage: sh -s -- PID SOCKET_DIR < nbd-export-end.sh
set -eu
[ $# -eq 2 ] || { echo 'usage: nbd-export-end.sh PID SOCKET_DIR' >&2; exit 2; }
pid=$1
dir=$2
case $pid in ''|*[!0-9]*) echo "PID must be a number: $pid" >&2; exit 2 ;; esac
case $dir in /run/hvcluster/import-*) ;; *) echo "not an import socket directory: $dir" >&2; exit 2 ;; esac
i=0
while kill -0 "$pid" 2>/dev/null; do
  i=$((i + 1))
  if [ "$i" -gt 300 ]; then
    kill "$pid" 2>/dev/null || true
    echo "qemu-nbd (PID $pid) did not exit within 30 s after the installer disconnected: stopped" >&2
    break
  fi
  sleep 0.1
done
rm -rf "$dir"
