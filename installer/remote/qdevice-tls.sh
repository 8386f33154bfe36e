#!/bin/sh
# hvcluster: the TLS certificates between the nodes' corosync-qdevice and the witness's corosync-qnetd
# (the exchange crmsh and pcs make: the witness's CA signs one client certificate per cluster).
# Usage: sh -s -- ACTION ARGS
#   witness-init                      on the witness: its CA, when it has none yet
#   witness-sign CLUSTER REQUEST      on the witness: sign a node's request (a file), print the certificate, base64
#   node-request CA_FILE CLUSTER      on the first node: trust the CA (a new database), print a request, base64
#   node-import-signed CERT_FILE      on the first node: import the signed certificate, print the PKCS#12 bundle, base64
#   node-import CA_FILE P12_FILE      on the other nodes: trust the CA and import the bundle (a new database)
# Files given as arguments hold base64 text (uploaded as text) and are removed after use. A node's previous database is kept aside as
# nssdb.hvcluster-old (a certificate of another witness).
set -eu
qnetd_db=/etc/corosync/qnetd/nssdb
node_db=/etc/corosync/qdevice/net/nssdb
# decode FILE: the file's base64 content decoded into FILE.bin (printed).
decode() {
  base64 -d "$1" >"$1.bin"
  rm -f "$1"
  echo "$1.bin"
}
fresh_node_db() {
  if [ -d "$node_db" ]; then rm -rf "$node_db.hvcluster-old"; mv "$node_db" "$node_db.hvcluster-old"; fi
  corosync-qdevice-net-certutil -i -c "$1" >/dev/null
}
action=$1
shift
case $action in
  witness-init)
    [ -d "$qnetd_db" ] || corosync-qnetd-certutil -i >/dev/null
    ;;
  witness-sign)
    cluster=$1 request=$(decode "$2")
    (cd "$qnetd_db" && corosync-qnetd-certutil -s -c "$request" -n "$cluster" >/dev/null)
    rm -f "$request"
    base64 -w 0 "$qnetd_db/cluster-$cluster.crt"
    echo
    ;;
  node-request)
    ca=$(decode "$1") cluster=$2
    fresh_node_db "$ca"
    rm -f "$ca"
    corosync-qdevice-net-certutil -r -n "$cluster" >/dev/null
    base64 -w 0 "$node_db/qdevice-net-node.crq"
    echo
    ;;
  node-import-signed)
    cert=$(decode "$1")
    corosync-qdevice-net-certutil -M -c "$cert" >/dev/null
    rm -f "$cert"
    base64 -w 0 "$node_db/qdevice-net-node.p12"
    echo
    ;;
  node-import)
    ca=$(decode "$1") p12=$(decode "$2")
    fresh_node_db "$ca"
    corosync-qdevice-net-certutil -m -c "$p12" >/dev/null
    rm -f "$ca" "$p12"
    ;;
  *)
    echo "qdevice-tls.sh: unknown action $action" >&2
    exit 2
    ;;
esac
