#!/bin/sh
# hvcluster: Corosync takes a changed corosync.conf or authkey.
# Usage: sh -s -- CLUSTER
# Not running: nothing (the services step starts it). Running as a member of CLUSTER: reload
# (corosync-cfgtool -R: timing and nodelist changes, no restart, guests keep running). Running
# otherwise (Debian's one-node default started by the package, another cluster): restart, and
# Pacemaker, which requires Corosync, restarts with it.
set -eu
cluster=$1
systemctl is-active --quiet corosync.service || exit 0
running=$(corosync-cmapctl -g totem.cluster_name 2>/dev/null | sed -n 's/^totem\.cluster_name (str) = //p')
if [ "$running" = "$cluster" ]; then
  exec corosync-cfgtool -R
fi
exec systemctl restart corosync.service
