#!/bin/sh
# hvcluster: breaks a stale cluster lock (--force-unlock): stops the process that holds it on this
# server and removes its record. Usage: sh -s -- CLUSTER [peek]
# Prints `free` (nobody held it), or `broken HOLDER-LINE`; with `peek`, only the holder's line
# (nothing when none is recorded), changing nothing.
set -eu
cluster=$1
lock=/run/hvcluster/$cluster.lock
if [ "${2:-}" = peek ]; then
  cat "$lock.holder" 2>/dev/null || true
  exit 0
fi
[ -e "$lock" ] || { echo free; exit 0; }
exec 9>>"$lock"
if flock -n 9; then
  rm -f "$lock.holder"
  echo free
  exit 0
fi
holder=$(cat "$lock.holder" 2>/dev/null || echo 'unknown')
pid=$(printf '%s\n' "$holder" | sed -n 's/.* pid=\([0-9][0-9]*\)$/\1/p')
# The holder's shell and what runs under it (its cat): flock is released when they exit.
if [ -n "$pid" ]; then
  pkill -TERM -P "$pid" 2>/dev/null || true
  kill -TERM "$pid" 2>/dev/null || true
fi
flock -w 10 9 || { printf 'stuck %s\n' "$holder"; exit 4; }
rm -f "$lock.holder"
printf 'broken %s\n' "$holder"
