#!/bin/sh
# hvcluster: what a node holds of its replicated volumes (read-only).
# Usage: sh -s -- VG NAME...
# Per NAME: `lv NAME present|absent` (VG/NAME), `state NAME CSTATE DSTATE ROLE` (what drbdadm
# cstate, dstate and role say; `-` for what it cannot tell, e.g. a resource that is down), `md NAME
# present|absent|unknown|-` (DRBD metadata on the volume; read only for a configured resource that is
# down; unknown: drbdadm could not tell). Then every /etc/drbd.d/*.res file (for the minors and ports
# in use, and to compare with the plan): a `res FILENAME` line, its content in base64, an `end` line.
#
# Cheap on purpose (every hvcluster command reads it, on emulated CPUs too): one `lvs` for the volume
# group, and a resource that is up is read from /proc/drbd by the minor its file
# /etc/drbd.d/NAME.res gives (what drbdadm itself does); only a resource that is configured but down
# costs drbdadm calls (dstate reads its on-disk state; dump-md). A NAME without /etc/drbd.d/NAME.res is
# not configured: hvcluster writes each resource to its own file.
LC_ALL=C; export LC_ALL
PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin; export PATH
[ $# -ge 1 ] || { echo 'usage: volume-state.sh VG NAME...' >&2; exit 2; }
vg=$1
shift
have() { command -v "$1" >/dev/null 2>&1; }
nl='
'
lvs_list=
if have lvs; then lvs_list=$(lvs --noheadings -o lv_name "$vg" 2>/dev/null | awk '{ print $1 }') || lvs_list=; fi
# `MINOR CSTATE ROLE DSTATE` of every minor the kernel has configured.
kernel=
[ -r /proc/drbd ] && kernel=$(awk '$1 ~ /^[0-9]+:$/ && $2 ~ /^cs:/ && $2 != "cs:Unconfigured" {
  m = $1; sub(/:$/, "", m); cs = $2; sub(/^cs:/, "", cs); ro = $3; sub(/^ro:/, "", ro); ds = $4; sub(/^ds:/, "", ds)
  print m, cs, ro, ds }' /proc/drbd)
for name in "$@"; do
  case "$nl$lvs_list$nl" in
    *"$nl$name$nl"*) echo "lv $name present" ;;
    *) echo "lv $name absent" ;;
  esac
  cstate=- dstate=- role=-
  res=/etc/drbd.d/$name.res
  if [ -e "$res" ] && have drbdadm; then
    # The file's one `device ... minor N;` line (a file with several volumes is read through drbdadm).
    minor=$(awk '$1 == "device" { n++; for (i = 2; i < NF; i++) if ($i == "minor") { m = $(i + 1); sub(/;$/, "", m) } } END { if (n == 1 && m ~ /^[0-9]+$/) print m }' "$res")
    line=
    [ -n "$minor" ] && line=$(printf '%s\n' "$kernel" | awk -v m="$minor" '$1 == m { print $2, $3, $4; exit }')
    if [ -n "$line" ]; then
      cstate=${line%% *} line=${line#* }
      role=${line%% *} dstate=${line#* }
    else
      cstate=$(drbdadm cstate "$name" 2>/dev/null) || cstate=-
      dstate=$(drbdadm dstate "$name" 2>/dev/null) || dstate=-
      role=$(drbdadm role "$name" 2>/dev/null) || role=-
    fi
  fi
  echo "state $name ${cstate:--} ${dstate:--} ${role:--}"
  md=-
  if [ "$cstate" = - ] && [ -e "$res" ] && have drbdadm; then
    # A node that crashed with the resource up leaves its metadata "unclean" (an activity log to
    # replay): dump-md refuses it, but it is there, and `drbdadm up` replays it. Only DRBD's own
    # "no valid meta data" is absent: anything else must never lead to create-md.
    if out=$(drbdadm dump-md "$name" 2>&1); then
      md=present
    else
      case $out in
        *unclean*|*apply-al*) md=present ;;
        *'No valid meta'*|*'no valid meta'*) md=absent ;;
        *) md=unknown ;;
      esac
    fi
  fi
  echo "md $name $md"
done
for f in /etc/drbd.d/*.res; do
  [ -r "$f" ] || continue
  echo "res ${f##*/}"
  base64 < "$f"
  echo end
done
exit 0
