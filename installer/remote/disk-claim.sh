#!/bin/sh
# hvcluster: the data disk's state read at the moment of the write, and the write itself, in one root
# script. The verdict (blank, ours, wipe, refused) is the installer's (installer/facts/disk-verdict.ts,
# from what `probe` printed); `create` and `wipe` write only when the state they read again is the
# very one that verdict was made on (its fingerprint), else they refuse and write nothing.
# Usage: sh -s -- DISK VG ACTION [FINGERPRINT] < disk-claim.sh
#   DISK         the data disk as the answer file names it (resolved with readlink -f)
#   VG           the cluster's volume group
#   ACTION       probe   read only: print the state and its fingerprint
#                create  the disk was blank: create VG on it (vgcreate -qq: any prompt, such as
#                        "signature detected, wipe it?", is answered no, so the command fails instead)
#                wipe    wipe: true on a disk nothing uses: erase its signatures (wipefs -a), create VG
#   FINGERPRINT  for create and wipe: the fingerprint the probe printed
# Prints, one item a line: `device PATH`, `size BYTES`, `ro 0|1`, `signature TYPE OFFSET` (wipefs) or
# `wipefs-error TEXT`, `part NAME`, `holder NAME KIND` (KIND: lvm for LVM's device-mapper volumes, else
# the kernel name's kind), `mount NAME MOUNTPOINT` (NAME: the disk, a partition or a holder; swap is
# [SWAP]), `lvm none|unavailable|orphan|vg NAME` (pvs), `head` and `tail` zero|nonzero|unreadable|skipped
# (the first and last MiB against /dev/zero), then `fingerprint SHA256` of those lines; after a write,
# `claimed`.
# Exit codes: 0 done; 2 usage; 3 DISK is not a block device; 4 refused, nothing written: the state
# differs from FINGERPRINT (`changed` is printed), or is not one that ACTION may write on (`refused
# WHY`); 5 the write failed (wipefs or vgcreate; their messages on stderr).
set -u
[ $# -ge 3 ] || { echo 'usage: disk-claim.sh DISK VG probe|create|wipe [FINGERPRINT]' >&2; exit 2; }
disk=$1
vg=$2
action=$3
expected=${4:-}
case $action in
  probe) ;;
  create|wipe) [ -n "$expected" ] || { echo "disk-claim.sh: $action needs the probe's fingerprint" >&2; exit 2; } ;;
  *) echo "disk-claim.sh: unknown action $action" >&2; exit 2 ;;
esac
dev=$(readlink -f "$disk") || dev=
if [ -z "$dev" ] || [ ! -b "$dev" ]; then
  echo "not a block device: $disk${dev:+ ($dev)}" >&2
  exit 3
fi
name=${dev##*/}
sys=/sys/class/block/$name
MIB=1048576

# The mount points of one block device (by its major:minor in mountinfo), and swap on it.
mounts_of() {
  mo_id=$(cat "/sys/class/block/$1/dev" 2>/dev/null) || return 0
  awk -v id="$mo_id" -v n="$1" '$3 == id { print "mount " n " " $5 }' /proc/self/mountinfo
  awk 'NR > 1 { print $1 }' /proc/swaps 2>/dev/null | while read -r mo_swap; do
    [ "$(readlink -f "$mo_swap")" = "/dev/$1" ] && echo "mount $1 [SWAP]"
  done
  return 0
}

zero_check() {
  if [ "$size" -lt $((2 * MIB)) ]; then echo skipped; return; fi
  cmp -s -i "$1:0" -n "$MIB" "$dev" /dev/zero 2>/dev/null
  case $? in 0) echo zero ;; 1) echo nonzero ;; *) echo unreadable ;; esac
}

observe() {
  echo "device $dev"
  size=0
  { read -r sectors < "$sys/size"; } 2>/dev/null && size=$((sectors * 512))
  echo "size $size"
  ro=0
  { read -r ro < "$sys/ro"; } 2>/dev/null
  echo "ro $ro"
  if sigs=$(wipefs --no-act --noheadings --output TYPE,OFFSET "$dev" 2>&1); then
    [ -z "$sigs" ] || printf '%s\n' "$sigs" | sed 's/^/signature /'
  else
    printf 'wipefs-error %s\n' "$(printf '%s' "$sigs" | tr '\n' ' ')"
  fi
  for p in "$sys"/"$name"*; do
    [ -e "$p/partition" ] || continue
    echo "part ${p##*/}"
    mounts_of "${p##*/}"
  done
  for h in "$sys"/holders/*; do
    [ -e "$h" ] || continue
    h=${h##*/}
    kind=${h%%[0-9]*}
    case $(cat "/sys/class/block/$h/dm/uuid" 2>/dev/null) in LVM-*) kind=lvm ;; esac
    echo "holder $h $kind"
    mounts_of "$h"
  done
  mounts_of "$name"
  if ! command -v pvs >/dev/null 2>&1; then
    echo 'lvm unavailable'
  elif pv=$(pvs --noheadings -o vg_name "$dev" 2>/dev/null </dev/null); then
    pv=$(printf '%s' "$pv" | tr -d ' \n')
    if [ -n "$pv" ]; then echo "lvm vg $pv"; else echo 'lvm orphan'; fi
  else
    echo 'lvm none'
  fi
  echo "head $(zero_check 0)"
  echo "tail $(zero_check $((size - MIB)))"
}

state=$(observe)
printf '%s\n' "$state"
fingerprint=$(printf '%s\n' "$state" | sha256sum | cut -c1-64)
echo "fingerprint $fingerprint"
[ "$action" = probe ] && exit 0

if [ "$fingerprint" != "$expected" ]; then
  echo changed
  exit 4
fi
# What no verdict may write on, whatever fingerprint it was given.
has() { printf '%s\n' "$state" | grep -q "$1"; }
if has '^part \|^holder \|^mount \|^wipefs-error \|^lvm vg \|^ro 1$'; then
  echo "refused the disk has partitions, holders, mounts or a volume group, or cannot be read"
  exit 4
fi
if [ "$action" = create ] && has '^signature \|^lvm orphan$\|^head nonzero$\|^tail nonzero$'; then
  echo 'refused the disk is not blank'
  exit 4
fi
if [ "$action" = wipe ]; then
  wipefs -a -q "$dev" </dev/null || exit 5
fi
vgcreate -qq "$vg" "$dev" </dev/null >&2 || exit 5
echo claimed
