#!/bin/sh
# hvcluster: whether a whole block device reads as zeroes (read-only; cmp against /dev/zero over its
# size). A new logical volume on a disk claimed blank does; DRBD may then skip its initial sync.
# Usage: sh -s -- DEVICE
# Prints `zero` or `nonzero` (also when the device cannot be read).
[ $# -eq 1 ] || { echo 'usage: zero-check.sh DEVICE' >&2; exit 2; }
n=$(blockdev --getsize64 "$1" 2>/dev/null) || { echo nonzero; exit 0; }
if cmp -s -n "$n" "$1" /dev/zero; then echo zero; else echo nonzero; fi
