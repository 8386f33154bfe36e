#!/bin/sh
# hvcluster: whether services are enabled and running (read-only).
# Usage: sh -s -- SERVICE...
# One line per service: `NAME ENABLED ACTIVE`, and for a service started by its socket of the same
# name (libvirtd) `NAME ENABLED ACTIVE SOCKET-ENABLED SOCKET-ACTIVE`. systemctl prints nothing for a
# unit it does not know: that column is then empty (two spaces).
for service in "$@"; do
  line="$service $(systemctl is-enabled "$service.service" 2>/dev/null) $(systemctl is-active "$service.service" 2>/dev/null)"
  case $service in
    libvirtd) line="$line $(systemctl is-enabled "$service.socket" 2>/dev/null) $(systemctl is-active "$service.socket" 2>/dev/null)" ;;
  esac
  printf '%s\n' "$line"
done
