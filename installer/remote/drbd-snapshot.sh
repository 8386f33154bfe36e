#!/bin/sh
# hvcluster: one read-only look at a DRBD resource around a live migration's dual-primary window
# (the migration test reads every holder before the window opens and after it closed).
# Usage: sh -s -- RESOURCE PATTERN [SINCE]
#   PATTERN  extended regexp of the kernel lines about the resource (by name, and by its device
#            drbdN: 8.4 logs a split brain as `block drbd100: ...`)
#   SINCE    a journalctl cursor from an earlier read: the kernel lines after it are printed
# Prints sections, each after a line `@@hvc-NAME`: cursor (the kernel log's cursor now), gi
# (drbdadm get-gi), events (drbdsetup events2 --now all), kernel (the matching kernel lines since
# SINCE; empty without it), then `@@hvc-end`.
LC_ALL=C; export LC_ALL
PATH=$PATH:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin; export PATH
res=$1
pattern=$2
since=${3:-}
echo '@@hvc-cursor'
journalctl -k -n 1 --show-cursor --no-pager -o cat 2>/dev/null | sed -n 's/^-- cursor: //p'
echo '@@hvc-gi'
drbdadm get-gi "$res" 2>&1
echo '@@hvc-events'
drbdsetup events2 --now all 2>&1
echo '@@hvc-kernel'
if [ -n "$since" ]; then
  journalctl -k --no-pager -o short-iso --after-cursor="$since" 2>/dev/null | grep -E -- "$pattern" || true
fi
echo '@@hvc-end'
