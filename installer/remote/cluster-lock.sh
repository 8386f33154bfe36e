#!/bin/sh
# hvcluster: holds the cluster's lock on this server for as long as the installer keeps this
# command's standard input open (a run's lifetime); a killed installer's connection closes it too.
# Usage: sh -c "$(cat cluster-lock.sh)" cluster-lock CLUSTER HOLDER [READ_SCRIPT]
#   HOLDER: one line saying who holds it (run id, command, user@host, pid, since), recorded beside
#   the lock for whoever finds it taken.
#   READ_SCRIPT: a read-only script to run once the lock is held (the run's first read of the
#   server, so that taking the lock and reading cost one exec); its output follows the `held` line.
# Prints `held PID` once the lock is taken (PID: this shell's, for a later --force-unlock), or
# `busy HOLDER-LINE` and exits 3 when another run holds it.
set -eu
cluster=$1
holder=$2
dir=/run/hvcluster
mkdir -p "$dir"
chmod 700 "$dir"
lock=$dir/$cluster.lock
# Opened for appending: never truncates what the current holder recorded.
exec 9>>"$lock"
if ! flock -n 9; then
  printf 'busy %s\n' "$(cat "$lock.holder" 2>/dev/null || echo 'unknown (no holder recorded)')"
  exit 3
fi
printf '%s pid=%s\n' "$holder" "$$" > "$lock.holder"
printf 'held %s\n' "$$"
if [ -n "${3:-}" ]; then
  # Not on our standard input: that is the hold.
  sh -c "$3" </dev/null 9>&- || true
fi
# Until the installer closes our standard input (or its connection goes away).
cat > /dev/null || true
rm -f "$lock.holder"
