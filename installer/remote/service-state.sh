#!/bin/sh
# hvcluster: whether services are enabled and running (read-only).
# Usage: sh -s -- SERVICE...
# One line per service: `NAME ENABLED ACTIVE`, and for a service started by its socket of the same
# name (libvirtd) `NAME ENABLED ACTIVE SOCKET-ENABLED SOCKET-ACTIVE`: what `systemctl is-enabled` and
# `is-active` say, read in one `systemctl show` (one block per unit, in the order asked). For a unit
# systemd does not know, ENABLED is empty (two spaces) and ACTIVE is inactive.
units=
for service in "$@"; do
  units="$units $service.service"
  case $service in libvirtd) units="$units $service.socket" ;; esac
done
# shellcheck disable=SC2086 # one word per unit
systemctl show -p UnitFileState,ActiveState $units 2>/dev/null | awk -v services="$*" '
  BEGIN { RS = ""; FS = "\n" }
  { enabled[NR] = ""; active[NR] = ""
    for (i = 1; i <= NF; i++) {
      if ($i ~ /^UnitFileState=/) enabled[NR] = substr($i, 15)
      else if ($i ~ /^ActiveState=/) active[NR] = substr($i, 13)
    } }
  END {
    n = split(services, name, " "); u = 0
    for (s = 1; s <= n; s++) {
      u++; line = name[s] " " enabled[u] " " active[u]
      if (name[s] == "libvirtd") { u++; line = line " " enabled[u] " " active[u] }
      print line
    } }'
