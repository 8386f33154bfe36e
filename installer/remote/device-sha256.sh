#!/bin/sh
# hvcluster: the sha256 of the first BYTES bytes of a block device, read with O_DIRECT (past the page
# cache: what the device holds, not what was cached of it): how an import checks what it wrote.
# Usage: sh -s -- DEVICE BYTES < device-sha256.sh
# Prints the hex digest.
set -eu
LC_ALL=C; export LC_ALL
[ $# -eq 2 ] || { echo 'usage: device-sha256.sh DEVICE BYTES' >&2; exit 2; }
dev=$1
bytes=$2
[ -b "$dev" ] || { echo "$dev is not a block device" >&2; exit 2; }
case $bytes in ''|*[!0-9]*) echo "BYTES must be a number: $bytes" >&2; exit 2 ;; esac
dd if="$dev" iflag=direct,count_bytes bs=4M count="$bytes" status=none | sha256sum | cut -d' ' -f1
