#!/bin/sh
# hvcluster: a DRBD split brain, read and resolved on one node (DRBD 8.4, drbd-utils).
# Usage:
#   split-brain.sh state VG RES
#       Read-only. Prints `key value` lines: resfile yes|no; cstate, dstate, role (`-` when down);
#       oos KIB (out of sync as this side knows it, /proc/drbd); lv-bytes and vg-free-bytes (the
#       backing volume VG/RES and its group's free space); detected ISO (the last "Split-Brain
#       detected" of RES in this boot's kernel log, or -); gi (drbdadm get-gi: its data generation).
#   split-brain.sh snapshot VG RES SNAP MIB
#       Keeps this side's data before it is discarded: an LVM snapshot VG/SNAP of VG/RES, MIB MiB.
#   split-brain.sh discard RES
#       This side gives up its data: Secondary, then connect --discard-my-data (a resync from the peer).
#   split-brain.sh connect RES
#       The survivor connects again if it is StandAlone (else nothing).
LC_ALL=C; export LC_ALL
PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin; export PATH
set -u

die() {
  echo "split-brain.sh: $*" >&2
  exit 2
}

name_ok() {
  case $1 in
    '' | *[!A-Za-z0-9_.+-]*) die "not a valid name: $1" ;;
  esac
}

verb=${1:-}
[ $# -gt 0 ] && shift
case $verb in
  state)
    [ $# -eq 2 ] || die 'usage: state VG RES'
    vg=$1 res=$2
    name_ok "$vg"
    name_ok "$res"
    if [ -e "/etc/drbd.d/$res.res" ]; then echo 'resfile yes'; else echo 'resfile no'; fi
    cstate=$(drbdadm cstate "$res" 2>/dev/null) || cstate=-
    dstate=$(drbdadm dstate "$res" 2>/dev/null) || dstate=-
    role=$(drbdadm role "$res" 2>/dev/null) || role=-
    echo "cstate ${cstate:--}"
    echo "dstate ${dstate:--}"
    echo "role ${role:--}"
    minor=$(drbdadm sh-minor "$res" 2>/dev/null) || minor=
    oos=-
    if [ -n "$minor" ] && [ -r /proc/drbd ]; then
      oos=$(awk -v m="$minor" '
        $1 == m ":" { found = 1; next }
        found && /oos:/ { for (i = 1; i <= NF; i++) if ($i ~ /^oos:/) { sub(/^oos:/, "", $i); print $i; exit } }
        found && /^ *[0-9]+:/ { exit }
      ' /proc/drbd)
    fi
    echo "oos ${oos:--}"
    lv=$(lvs --noheadings --nosuffix --units b -o lv_size "$vg/$res" 2>/dev/null | tr -d ' ') || lv=
    echo "lv-bytes ${lv:--}"
    free=$(vgs --noheadings --nosuffix --units b -o vg_free "$vg" 2>/dev/null | tr -d ' ') || free=
    echo "vg-free-bytes ${free:--}"
    # DRBD 8.4 logs the split brain on the device (`block drbdN: Split-Brain detected ...`).
    detected=-
    if [ -n "$minor" ]; then
      detected=$(journalctl -k -b -o short-iso --no-pager 2>/dev/null | grep -E "(block drbd$minor|drbd $res): Split-Brain detected" | tail -n 1 | cut -d' ' -f1)
    fi
    echo "detected ${detected:--}"
    gi=$(drbdadm get-gi "$res" 2>/dev/null | tail -n 1) || gi=
    echo "gi ${gi:--}"
    ;;
  snapshot)
    [ $# -eq 4 ] || die 'usage: snapshot VG RES SNAP MIB'
    name_ok "$1"
    name_ok "$2"
    name_ok "$3"
    case $4 in '' | *[!0-9]*) die "not a size in MiB: $4" ;; esac
    lvcreate --quiet --snapshot --name "$3" --size "${4}m" "$1/$2"
    ;;
  discard)
    [ $# -eq 1 ] || die 'usage: discard RES'
    name_ok "$1"
    drbdadm disconnect "$1" 2>/dev/null || true
    drbdadm secondary "$1"
    drbdadm connect --discard-my-data "$1"
    ;;
  connect)
    [ $# -eq 1 ] || die 'usage: connect RES'
    name_ok "$1"
    if [ "$(drbdadm cstate "$1" 2>/dev/null)" = StandAlone ]; then drbdadm connect "$1"; fi
    ;;
  *) die "unknown verb: ${verb:-none} (state, snapshot, discard, connect)" ;;
esac
