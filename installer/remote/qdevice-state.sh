#!/bin/sh
# hvcluster: a node's corosync-qdevice certificates (read-only).
# Usage: sh -s --
# Prints `qdevice ca BASE64|-` (the witness CA the node trusts, DER, base64 on one line) and
# `qdevice client yes|no` (the cluster's client certificate is imported).
set -u
db=/etc/corosync/qdevice/net/nssdb
ca=$(certutil -L -d "$db" -n 'QNet CA' -r 2>/dev/null | base64 -w 0)
echo "qdevice ca ${ca:--}"
if certutil -L -d "$db" -n 'Cluster Cert' >/dev/null 2>&1; then echo 'qdevice client yes'; else echo 'qdevice client no'; fi
