#!/bin/sh
# hvcluster: proves the replication path to each peer carries full-size frames (read-only: pings).
# Usage: sh -s -- MTU OWN_ADDRESS PEER_ADDRESS...
# Per peer, one line:
#   peer ADDRESS ok MTU                       a don't-fragment packet of MTU bytes got through
#   peer ADDRESS too-big MTU LARGEST          small packets get through, MTU-byte ones do not;
#                                             LARGEST is the largest packet that did (bytes, IP header included)
#   peer ADDRESS unreachable                  not even a small packet got through within REACH_S seconds
# then the last ping's output of a failure as `detail ...` lines. `noping` alone: ping is not installed.
# `noaddress OWN_ADDRESS` alone: no interface holds OWN_ADDRESS (yet), so nothing was pinged.
LC_ALL=C; export LC_ALL
PATH=$PATH:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin; export PATH
REACH_S=${HVC_REACH_S:-30}
mtu=$1
own=$2
shift 2
command -v ping >/dev/null 2>&1 || { echo noping; exit 0; }
# Before the network step has put it on a NIC, there is nothing to ping from (and no reason to wait).
if command -v ip >/dev/null 2>&1 && ! ip -o -4 addr show 2>/dev/null | grep -q " inet $own/"; then
  echo "noaddress $own"
  exit 0
fi

# A don't-fragment packet of $1 bytes (IPv4: 20 bytes of IP and 8 of ICMP header around the payload).
df_ping() {
  ping -n -q -M "do" -s "$(($1 - 28))" -c "$2" -W 1 -I "$own" "$peer" 2>&1
}

for peer in "$@"; do
  # A link just brought up may take seconds to negotiate: wait for any answer first.
  start=$(date +%s)
  reached=0
  while :; do
    if out=$(ping -n -q -c 1 -W 1 -I "$own" "$peer" 2>&1); then reached=1; break; fi
    if [ $(($(date +%s) - start)) -ge "$REACH_S" ]; then break; fi
    sleep 1
  done
  if [ "$reached" = 0 ]; then
    echo "peer $peer unreachable"
    printf '%s\n' "$out" | sed -n 's/^./detail &/p'
    continue
  fi
  if out=$(df_ping "$mtu" 3); then
    echo "peer $peer ok $mtu"
    continue
  fi
  # The largest size that passes: 84 bytes did (ping's default), $mtu did not.
  good=84
  bad=$mtu
  while [ $((bad - good)) -gt 1 ]; do
    mid=$(((good + bad) / 2))
    if df_ping "$mid" 1 >/dev/null; then good=$mid; else bad=$mid; fi
  done
  echo "peer $peer too-big $mtu $good"
  printf '%s\n' "$out" | sed -n 's/^./detail &/p'
done
