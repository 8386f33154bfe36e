#!/bin/sh
# hvcluster: the migration test's small reads of a node (read-only).
# Usage: sh -s -- ACTION ARGS...
#   disk-md5 DEVICE          md5 of the first 4 MiB of DEVICE, read with O_DIRECT (what is on the disk)
#   address-used ADDRESS     `used` when ADDRESS answers pings, `neighbour` when it is in the ARP table
#   console LOGFILE DOMAIN   the last 15 lines of the guest's console log, then its state
#   has COMMAND              `yes` when COMMAND is installed, else `no`
[ $# -ge 2 ] || { echo 'usage: migration-reads.sh disk-md5 DEVICE | address-used ADDRESS | console LOGFILE DOMAIN | has COMMAND' >&2; exit 2; }
case $1 in
  disk-md5)
    dd if="$2" bs=65536 count=64 iflag=direct 2>/dev/null | md5sum | cut -d' ' -f1 ;;
  address-used)
    if ping -c 2 -W 1 "$2" >/dev/null 2>&1; then echo used; fi
    if ip neigh show "$2" 2>/dev/null | grep -q lladdr; then echo neighbour; fi ;;
  console)
    tail -n 15 "$2" 2>/dev/null
    virsh domstate "$3" 2>&1 ;;
  has)
    if command -v "$2" >/dev/null 2>&1; then echo yes; else echo no; fi ;;
  *)
    echo "migration-reads.sh: unknown action $1" >&2; exit 2 ;;
esac
exit 0
