#!/bin/sh
# hvcluster: does a node's BMC answer fence_ipmilan's power status from here? (read-only: status only)
# Usage: sh -c SCRIPT fence-status.sh PEER ADDRESS PORT USER CIPHER LANPLUS, the BMC password on stdin
# (one line). The password goes to fence_ipmilan on its stdin, as Pacemaker's fencer passes options:
# it never appears on a command line.
# Prints one line: `fence PEER on|off|no-agent|failed EXIT`, then the agent's output on failure.
set -u
peer=$1 address=$2 port=$3 user=$4 cipher=$5 lanplus=$6
IFS= read -r password || true
if ! command -v fence_ipmilan >/dev/null 2>&1 || ! command -v ipmitool >/dev/null 2>&1; then
  echo "fence $peer no-agent 127"
  exit 0
fi
options() {
  printf 'ip=%s\nipport=%s\nusername=%s\npassword=%s\naction=status\n' "$address" "$port" "$user" "$password"
  if [ "$lanplus" = 1 ]; then printf 'lanplus=1\ncipher=%s\n' "$cipher"; fi
}
out=$(options | timeout 90 fence_ipmilan 2>&1)
rc=$?
case $rc in
  0) echo "fence $peer on 0" ;;
  2) echo "fence $peer off 2" ;;
  *) echo "fence $peer failed $rc"; printf '%s\n' "$out" | tail -n 5 ;;
esac
exit 0
