#!/bin/sh
# hvcluster: the cluster stack of this node restarted with sbd (the watchdog fencing level) or
# without it. sbd runs only as Corosync starts it (sbd.service is RequiredBy corosync.service and
# refuses a start or stop of its own), so taking it in or out means stopping Pacemaker (what it
# still runs here moves to the other nodes; apply's sbd step live-migrates the guests away first),
# Corosync and the quorum device, then starting them again. Run on one node at a time: it refuses while another member is not online,
# which would leave the cluster without quorum or a node to take the resources.
# Usage: sh -s -- with-sbd|without-sbd NODE QDEVICE(yes|no) SECONDS
# Waits up to SECONDS for NODE to be an online member again. On a failure, prints what systemd
# says of sbd and Corosync and sbd's journal on stderr, and exits 1.
set -u
LC_ALL=C; export LC_ALL
PATH=$PATH:/usr/sbin:/usr/bin:/sbin:/bin; export PATH
[ $# -eq 4 ] || { echo 'usage: cluster-stack-restart.sh with-sbd|without-sbd NODE QDEVICE SECONDS' >&2; exit 2; }
mode=$1 node=$2 qdevice=$3 seconds=$4
case "$mode" in with-sbd|without-sbd) ;; *) echo "cluster-stack-restart.sh: unknown mode $mode" >&2; exit 2 ;; esac
case "$seconds" in ''|*[!0-9]*) echo "cluster-stack-restart.sh: SECONDS must be a number, not $seconds" >&2; exit 2 ;; esac

stopped=no
explain() {
  echo "$1" >&2
  echo "--- systemctl status sbd corosync:" >&2
  systemctl --no-pager --lines=0 status sbd.service corosync.service >&2 2>&1 || true
  echo "--- sbd enabled: $(systemctl is-enabled sbd.service 2>&1); corosync requires: $(systemctl show -p Requires --value corosync.service 2>&1)" >&2
  echo "--- journalctl -u sbd -u corosync (last 30 lines):" >&2
  journalctl --no-pager -n 30 -u sbd.service -u corosync.service >&2 2>&1 || true
  # sbd would not run: the node rejoins as it was, without it, rather than stay out of the cluster.
  if [ "$mode" = with-sbd ] && [ "$stopped" = yes ]; then
    systemctl disable sbd.service >/dev/null 2>&1
    systemctl stop corosync.service >/dev/null 2>&1
    if systemctl start corosync.service && { [ "$qdevice" != yes ] || systemctl start corosync-qdevice.service; } && systemctl start pacemaker.service; then
      echo "--- $node's cluster stack started again without sbd (sbd disabled): it rejoins as it was" >&2
    else
      echo "--- $node's cluster stack could not be started again without sbd either: it is out of the cluster (systemctl start corosync pacemaker)" >&2
    fi
  fi
  exit 1
}

# Every other member online before this one leaves.
if systemctl is-active --quiet corosync.service && systemctl is-active --quiet pacemaker.service; then
  xml=$(crm_mon -1 --output-as=xml 2>/dev/null) || { echo 'crm_mon does not answer: the cluster is not settled; try again once crm_mon -1 shows every node online' >&2; exit 1; }
  away=$(printf '%s\n' "$xml" | sed -n '/<nodes>/,/<\/nodes>/p' | grep '<node name=' | grep -v "<node name=\"$node\"" | grep -v 'online="true"' | sed -n 's/.*<node name="\([^"]*\)".*/\1/p' | tr '\n' ' ')
  if [ -n "$away" ]; then
    echo "not restarting the cluster stack on $node: ${away% } not online (the cluster would lose quorum or the node that takes the resources); bring it back, then run apply again" >&2
    exit 1
  fi
fi

systemctl daemon-reload
if [ "$mode" = with-sbd ]; then systemctl enable sbd.service; else systemctl disable sbd.service; fi

echo "stopping pacemaker on $node (its resources move to the other nodes)"
systemctl stop pacemaker.service || explain "systemctl stop pacemaker failed on $node"
stopped=yes
[ "$qdevice" = yes ] && systemctl stop corosync-qdevice.service
systemctl stop corosync.service || explain "systemctl stop corosync failed on $node"

echo "starting corosync on $node ($mode)"
systemctl start corosync.service || explain "corosync did not start on $node"
if [ "$mode" = with-sbd ]; then
  # Started beside Corosync (no ordering between them): sbd is "activating" until its watchdog and
  # cluster watchers are up, which takes seconds on a slow machine.
  sbd_deadline=$(( $(date +%s) + 120 ))
  until systemctl is-active --quiet sbd.service; do
    state=$(systemctl is-active sbd.service 2>&1)
    case "$state" in activating) ;; *) explain "sbd did not start with corosync on $node ($state)" ;; esac
    [ "$(date +%s)" -lt "$sbd_deadline" ] || explain "sbd still not running 120 s after corosync started on $node ($state)"
    sleep 1
  done
else
  ! systemctl is-active --quiet sbd.service || explain "sbd still runs on $node after corosync restarted without it"
fi
[ "$qdevice" = yes ] && { systemctl start corosync-qdevice.service || explain "corosync-qdevice did not start on $node"; }
systemctl start pacemaker.service || explain "pacemaker did not start on $node"

deadline=$(( $(date +%s) + seconds ))
while :; do
  line=$(crm_mon -1 --output-as=xml 2>/dev/null | sed -n '/<nodes>/,/<\/nodes>/p' | grep "<node name=\"$node\"")
  case "$line" in *'online="true"'*) case "$line" in *'pending="false"'*'unclean="false"'* | *'unclean="false"'*'pending="false"'*) break ;; esac ;; esac
  [ "$(date +%s)" -lt "$deadline" ] || explain "$node is not an online member $seconds s after its cluster stack restarted: ${line:-not listed by crm_mon}"
  sleep 2
done
echo "$node is back in the cluster ($mode)"
