#!/bin/sh
# hvcluster: does a node's BMC answer fence_ipmilan's power status from here? (ACTION status, the
# default: read-only) Or power the node off through it (ACTION off: the failover drill's crash, as a
# dead server looks to its peers), or on again (ACTION on: a drill gives back a node it left off).
# Usage: sh -c SCRIPT fence-status.sh PEER ADDRESS PORT USER CIPHER LANPLUS [ACTION], the BMC password
# on stdin (one line). The password goes to fence_ipmilan on its stdin, as Pacemaker's fencer passes
# options: it never appears on a command line.
# Prints one line: `fence PEER on|off|no-agent|failed EXIT` (for off: `off 0` once it is off; for on:
# `on 0` once it is on), then
# the agent's output on failure.
set -u
peer=$1 address=$2 port=$3 user=$4 cipher=$5 lanplus=$6 action=${7:-status}
case "$action" in status|off|on) ;; *) echo "fence-status.sh: ACTION must be status, off or on, not $action" >&2; exit 2 ;; esac
IFS= read -r password || true
if ! command -v fence_ipmilan >/dev/null 2>&1 || ! command -v ipmitool >/dev/null 2>&1; then
  echo "fence $peer no-agent 127"
  exit 0
fi
options() {
  printf 'ip=%s\nipport=%s\nusername=%s\npassword=%s\naction=%s\n' "$address" "$port" "$user" "$password" "$action"
  if [ "$lanplus" = 1 ]; then printf 'lanplus=1\ncipher=%s\n' "$cipher"; fi
}
out=$(options | timeout 90 fence_ipmilan 2>&1)
rc=$?
case $action:$rc in
  off:0)
    logger -t hvcluster -- "powered $peer off through its BMC $address:$port (fence_ipmilan -o off)" 2>/dev/null || true
    echo "fence $peer off 0"
    ;;
  on:0)
    logger -t hvcluster -- "powered $peer on through its BMC $address:$port (fence_ipmilan -o on)" 2>/dev/null || true
    echo "fence $peer on 0"
    ;;
  status:0) echo "fence $peer on 0" ;;
  status:2) echo "fence $peer off 2" ;;
  *) echo "fence $peer failed $rc"; printf '%s\n' "$out" | tail -n 5 ;;
esac
exit 0
