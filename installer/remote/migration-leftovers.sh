#!/bin/sh
# hvcluster: everything the migration test could have left on a node, in one read (read-only).
# Usage: sh -s -- VG RESOURCE DOMAIN CLOSE_UNIT RES_FILE CIB_IDS GUEST_FILE...
#   CIB_IDS: comma-separated ids of the test guest's Pacemaker objects on an HA cluster; empty
#   elsewhere: then the cluster stack is not read at all
# Prints `domain=STATE` (empty: none), `up=yes|no`, `role=ROLE`, `twoprimaries=yes|no`,
# `resfile=yes|no`, `lv=yes|no`, `closetimer=yes|no`, `cib=ID` for each of CIB_IDS in Pacemaker's
# configuration (none where Pacemaker does not run), and `file=PATH` for each guest file present.
[ $# -ge 6 ] || { echo 'usage: migration-leftovers.sh VG RESOURCE DOMAIN CLOSE_UNIT RES_FILE CIB_IDS GUEST_FILE...' >&2; exit 2; }
vg=$1 res=$2 dom=$3 unit=$4 resfile=$5 cibids=$6
shift 6
yesno() { if "$@" >/dev/null 2>&1; then echo yes; else echo no; fi; }
echo "domain=$(virsh domstate "$dom" 2>/dev/null | head -n1)"
echo "up=$(yesno drbdsetup show "$res")"
echo "role=$(drbdadm role "$res" 2>/dev/null || true)"
echo "twoprimaries=$(drbdsetup show "$res" 2>/dev/null | grep -q 'allow-two-primaries[[:space:]]*yes' && echo yes || echo no)"
echo "resfile=$(yesno test -e "$resfile")"
echo "lv=$(yesno lvs --noheadings -o lv_name "$vg/$res")"
echo "closetimer=$(systemctl is-active "$unit.timer" "$unit.service" 2>/dev/null | grep -qx -e active -e activating && echo yes || echo no)"
if [ -n "$cibids" ] && command -v cibadmin >/dev/null 2>&1 && cib=$(cibadmin --query --scope configuration 2>/dev/null); then
  for id in $(printf '%s' "$cibids" | tr ',' ' '); do
    if printf '%s' "$cib" | grep -q "id=\"$id\""; then echo "cib=$id"; fi
  done
fi
for f in "$@"; do
  if [ -e "$f" ]; then echo "file=$f"; fi
done
exit 0
