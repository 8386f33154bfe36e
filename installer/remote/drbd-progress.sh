#!/bin/sh
# hvcluster: a DRBD resource's sync progress (read-only): /proc/drbd (8.4 lists its minors there),
# then `drbdsetup status NAME --statistics` (9).
# Usage: sh -s -- NAME
[ $# -eq 1 ] || { echo 'usage: drbd-progress.sh NAME' >&2; exit 2; }
cat /proc/drbd 2>/dev/null
drbdsetup status "$1" --statistics 2>/dev/null
exit 0
