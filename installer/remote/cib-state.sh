#!/bin/sh
# hvcluster: the Pacemaker configuration (CIB) of a running cluster (read-only).
# Usage: sh -s -- CLUSTER WAIT_SECONDS
# Pacemaker not running, or Corosync running another cluster (Debian's one-node default, started
# when the package was installed): prints `cib inactive`. Else waits up to WAIT_SECONDS for the
# cluster to have a designated controller (a node just started joins first), then prints
# `cib active` and the CIB's configuration section as XML. The XML holds the fence devices'
# passwords: the caller keeps this output out of logs.
set -u
cluster=$1 wait=$2
running=$(corosync-cmapctl -g totem.cluster_name 2>/dev/null | sed -n 's/^totem\.cluster_name (str) = //p')
if ! systemctl is-active --quiet pacemaker.service || [ "$running" != "$cluster" ] || ! command -v cibadmin >/dev/null 2>&1; then
  echo 'cib inactive'
  exit 0
fi
deadline=$(( $(date +%s) + wait ))
# Each tool bounded by timeout(1): while the controllers elect, crmadmin and cibadmin can block
# longer than their own timeouts, and the deadline must hold.
until timeout 10 crmadmin -D -t 5000 >/dev/null 2>&1 && xml=$(timeout 30 cibadmin --query --scope configuration 2>/dev/null); do
  if [ "$(date +%s)" -ge "$deadline" ]; then
    echo 'cib unsettled'
    exit 0
  fi
  sleep 2
done
echo 'cib active'
printf '%s\n' "$xml"
