#!/bin/sh
# hvcluster: waits until the running Corosync has the quorum device in its configuration
# (quorum.device.net.host in cmap): corosync-qdevice exits at once when started before a reload of
# corosync.conf has reached cmap ("Qdevice net daemon address is not defined").
# Usage: sh -s -- SECONDS
# Prints `ready HOST`, exit 0; after SECONDS without it, what cmap says on stderr, exit 1.
LC_ALL=C; export LC_ALL
PATH=$PATH:/usr/sbin:/usr/bin:/sbin:/bin; export PATH
[ $# -eq 1 ] || { echo 'usage: qdevice-config-ready.sh SECONDS' >&2; exit 2; }
case "$1" in ''|*[!0-9]*) echo "qdevice-config-ready.sh: SECONDS must be a number, not $1" >&2; exit 2 ;; esac
deadline=$(( $(date +%s) + $1 ))
while :; do
  if out=$(corosync-cmapctl -g quorum.device.net.host 2>&1); then
    echo "ready ${out##* }"
    exit 0
  fi
  [ "$(date +%s)" -lt "$deadline" ] || break
  sleep 1
done
echo "the running Corosync has no quorum device after $1 s (corosync-cmapctl -g quorum.device.net.host: $out); check /etc/corosync/corosync.conf and corosync-cfgtool -R" >&2
exit 1
