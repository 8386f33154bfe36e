#!/bin/sh
# hvcluster: what a node holds of its replicated volumes (read-only).
# Usage: sh -s -- VG NAME...
# Per NAME: `lv NAME present|absent` (VG/NAME), `state NAME CSTATE DSTATE ROLE` (drbdadm; `-` for
# what it cannot tell, e.g. a resource that is down), `md NAME present|absent|unknown|-` (DRBD metadata
# on the volume; read only for a configured resource that is down; unknown: drbdadm could not tell). Then every /etc/drbd.d/*.res file
# (for the minors and ports in use, and to compare with the plan): a `res FILENAME` line, its content
# in base64, an `end` line.
LC_ALL=C; export LC_ALL
PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin; export PATH
[ $# -ge 1 ] || { echo 'usage: volume-state.sh VG NAME...' >&2; exit 2; }
vg=$1
shift
have() { command -v "$1" >/dev/null 2>&1; }
for name in "$@"; do
  if have lvs && lvs "$vg/$name" >/dev/null 2>&1; then echo "lv $name present"; else echo "lv $name absent"; fi
  cstate=- dstate=- role=-
  if have drbdadm; then
    cstate=$(drbdadm cstate "$name" 2>/dev/null) || cstate=-
    dstate=$(drbdadm dstate "$name" 2>/dev/null) || dstate=-
    role=$(drbdadm role "$name" 2>/dev/null) || role=-
  fi
  echo "state $name ${cstate:--} ${dstate:--} ${role:--}"
  md=-
  if [ "$cstate" = - ] && [ -e "/etc/drbd.d/$name.res" ] && have drbdadm; then
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
