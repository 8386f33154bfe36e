#!/bin/sh
# hvcluster: the witness's corosync-qnetd (read-only).
# Usage: sh -s -- CLUSTER
# Prints `qnetd package installed|missing`, `qnetd service ENABLED ACTIVE`, `qnetd ca BASE64|-` (the
# certificate authority's certificate, DER, base64 on one line) and `qnetd cluster-cert yes|no`
# (a certificate for CLUSTER was signed here).
set -u
cluster=$1
db=/etc/corosync/qnetd/nssdb
if command -v corosync-qnetd >/dev/null 2>&1; then echo 'qnetd package installed'; else echo 'qnetd package missing'; fi
echo "qnetd service $(systemctl is-enabled corosync-qnetd.service 2>/dev/null || true) $(systemctl is-active corosync-qnetd.service 2>/dev/null || true)"
ca=$(certutil -L -d "$db" -n 'QNet CA' -r 2>/dev/null | base64 -w 0)
echo "qnetd ca ${ca:--}"
if [ -s "$db/cluster-$cluster.crt" ]; then echo 'qnetd cluster-cert yes'; else echo 'qnetd cluster-cert no'; fi
