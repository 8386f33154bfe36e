#!/bin/sh
# hvcluster: a guest's snapshots, LVM snapshots of the logical volumes under its DRBD disks, made on
# the node where the guest is Primary (what Ganeti and LINSTOR do). Described by LV tags only: no
# libvirt snapshot object, nothing that blocks a live migration.
# Usage:
#   sh -s -- state VG
#       read-only: `vgfree BYTES`, then one `lv NAME|ORIGIN|SIZE|DATA%|ATTR|TAGS` line per LV of VG
#       (bytes; ORIGIN empty but for a snapshot; DATA% how full a snapshot's copy-on-write area is;
#       TAGS comma-separated).
#   sh -s -- create [--backup] VG DOMAIN NAME STAMP FREEZE_S SIZE RES...
#       one snapshot per RES (the guest's disks, in order): LV RES.snap.NAME of VG/RES, tagged
#       hvc_snapshot (--backup: a backup's temporary one, RES.bk.NAME, tagged hvc_backup).
#       FREEZE_S 0: no freeze; else the guest's filesystems are frozen through its agent around the
#       snapshots, each agent call bounded by FREEZE_S, and thawed in a trap (plus a transient systemd
#       timer that thaws if this script dies first). Several disks: the guest is paused around them,
#       so that all are taken at one instant. SIZE: `full` (the origin's size: it cannot overflow) or
#       a percentage of the origin. All or nothing: a failed lvcreate removes the ones made.
#       Prints `freeze frozen N|none REASON|timed-out|skipped`, `thaw ok|abandoned REASON|none`,
#       `consistency agent|crash|stopped`, `retry-thaw-at EPOCH` (abandoned thaws only) and per disk
#       `snapshot RES LV BYTES` (BYTES: the DRBD device's data size, never the LV's).
#   sh -s -- remove VG LV...
#       lvremove of each LV, refused (exit 3) for one not tagged hvc_snapshot or hvc_backup.
#   sh -s -- write-back VG LV DEVICE BYTES
#       the snapshot's first BYTES written through DEVICE (the DRBD device, Primary here: the peers
#       receive every byte); prints `source SHA256` (the snapshot's) and `device SHA256` (read back).
# Exit 2: usage; 3: refused; 1: a command failed (its stderr follows).
LC_ALL=C; export LC_ALL
PATH=$PATH:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin; export PATH

usage() { echo "usage: snapshot.sh state VG | create VG DOMAIN NAME STAMP FREEZE_S SIZE RES... | remove VG LV... | write-back VG LV DEVICE BYTES" >&2; exit 2; }

# The data size of a resource's DRBD device in bytes (lsblk reads sysfs: a Secondary refuses opens).
drbd_bytes() {
  dev=$(drbdadm sh-dev "$1" 2>/dev/null) || return 1
  bytes=$(lsblk -bdno SIZE "$dev" 2>/dev/null | tr -d ' ') || return 1
  [ "${bytes:-0}" -gt 0 ] || return 1
  echo "$bytes"
}

# sha256 of the first $2 bytes of $1, read without the page cache.
sha_of() {
  dd if="$1" bs=4M iflag=direct,count_bytes count="$2" status=none | sha256sum | cut -d' ' -f1
}

cmd_state() {
  [ $# -eq 1 ] || usage
  echo "vgfree $(vgs --noheadings --units b --nosuffix -o vg_free "$1" | tr -d ' ')"
  lvs --noheadings --units b --nosuffix --separator '|' -o lv_name,origin,lv_size,data_percent,lv_attr,lv_tags "$1" |
    sed 's/^ *//' | while IFS='|' read -r name origin size data attr tags; do
      echo "lv $name|$origin|$size|${data:-}|$attr|$tags"
    done
}

cmd_create() {
  kind=snap tag=hvc_snapshot
  if [ "${1:-}" = --backup ]; then kind=bk tag=hvc_backup; shift; fi
  [ $# -ge 7 ] || usage
  vg=$1 domain=$2 name=$3 stamp=$4 freeze_s=$5 size=$6
  shift 6
  case $size in full) extents=100%ORIGIN ;; *[!0-9]*|'') usage ;; *) extents=$size%ORIGIN ;; esac
  ndisks=$#
  # What each disk's snapshot records: its DRBD data size (the stream a backup reads, the size a rollback checks).
  for res in "$@"; do
    drbd_bytes "$res" >/dev/null || { echo "cannot read the DRBD device size of $res" >&2; exit 1; }
    lvs "$vg/$res.$kind.$name" >/dev/null 2>&1 && { echo "$vg/$res.$kind.$name exists already" >&2; exit 3; }
  done
  state=$(virsh domstate "$domain" 2>/dev/null | head -n 1)
  frozen=no paused=no freeze=skipped consistency=crash timer=
  [ "$state" = running ] || { freeze='skipped'; consistency=stopped; }
  [ "$state" = paused ] && consistency=crash
  thaw_result=none
  finish() {
    if [ "$paused" = yes ]; then virsh resume "$domain" >/dev/null 2>&1 || echo "resuming $domain failed" >&2; paused=no; fi
    if [ "$frozen" = yes ]; then
      if out=$(timeout -k 5 $((freeze_s + 10)) virsh domfsthaw "$domain" 2>&1); then
        thaw_result=ok
        [ -n "$timer" ] && systemctl stop "$timer.timer" >/dev/null 2>&1
      else
        thaw_result="abandoned $(echo "$out" | tr '\n' ' ' | sed 's/ *$//')"
        [ -n "$timer" ] && echo "retry-thaw-at $retry_at"
      fi
      frozen=no
    elif [ -n "$timer" ]; then
      systemctl stop "$timer.timer" >/dev/null 2>&1
    fi
    timer=
  }
  made=
  cleanup() {
    status=$?
    finish
    if [ "$status" -ne 0 ]; then for lv in $made; do lvremove -qy "$vg/$lv" >/dev/null 2>&1; done; fi
  }
  trap cleanup EXIT
  trap 'exit 1' HUP INT TERM
  if [ "$state" = running ] && [ "$freeze_s" -gt 0 ]; then
    # If this script dies between freeze and thaw, the node thaws the guest by itself.
    timer="hvc-thaw-$domain-$stamp"
    retry_at=$(( $(date +%s) + 2 * freeze_s + 60 ))
    systemd-run --quiet --unit="$timer" --on-active=$((2 * freeze_s + 60)) \
      /bin/sh -c "virsh resume '$domain'; virsh domfsthaw '$domain'" >/dev/null 2>&1 || timer=
    # libvirt waits for an agent forever by default: bound each agent call.
    virsh guest-agent-timeout "$domain" --timeout "$freeze_s" >/dev/null 2>&1 || true
    frozen=yes
    if out=$(timeout -k 5 $((freeze_s + 10)) virsh domfsfreeze "$domain" 2>&1); then
      freeze="frozen $(echo "$out" | sed -n 's/^Froze \([0-9]*\).*/\1/p')"
      consistency=agent
    else
      rc=$?
      reason=$(echo "$out" | tr '\n' ' ' | sed 's/^error: //; s/ *$//')
      # libvirt: "QEMU guest agent is not connected" (no agent: nothing frozen); "Guest agent not
      # available for now" (its timeout: the agent may still be freezing, so the thaw is tried).
      if [ "$rc" -eq 124 ] || [ "$rc" -eq 137 ]; then
        freeze=timed-out
      else
        case $out in
          *'not available for now'*|*'timed out'*) freeze=timed-out ;;
          *) frozen=no; freeze="none $reason" ;;
        esac
      fi
    fi
  fi
  if [ "$state" = running ] && [ "$ndisks" -gt 1 ]; then
    virsh suspend "$domain" >/dev/null && paused=yes
  fi
  for res in "$@"; do
    bytes=$(drbd_bytes "$res")
    lvcreate -qy -s -l "$extents" -n "$res.$kind.$name" \
      --addtag "$tag" --addtag "hvc_guest=$domain" --addtag "hvc_name=$name" --addtag "hvc_time=$stamp" \
      --addtag "hvc_consistency=$consistency" --addtag "hvc_bytes=$bytes" "$vg/$res" >/dev/null || exit 1
    made="$made $res.$kind.$name"
  done
  finish
  echo "freeze $freeze"
  echo "thaw $thaw_result"
  echo "consistency $consistency"
  for res in "$@"; do echo "snapshot $res $res.$kind.$name $(drbd_bytes "$res")"; done
  case $thaw_result in abandoned*)
    for res in "$@"; do lvchange -qy --addtag hvc_thaw=abandoned "$vg/$res.$kind.$name" >/dev/null 2>&1; done ;;
  esac
}

cmd_remove() {
  [ $# -ge 2 ] || usage
  vg=$1
  shift
  for lv in "$@"; do
    tags=$(lvs --noheadings -o lv_tags "$vg/$lv" 2>/dev/null) || { echo "$vg/$lv does not exist" >&2; exit 3; }
    case ",$(echo "$tags" | tr -d ' ')," in
      *,hvc_snapshot,*|*,hvc_backup,*) ;;
      *) echo "$vg/$lv is not a snapshot hvcluster made (no hvc_snapshot tag): not removed" >&2; exit 3 ;;
    esac
  done
  for lv in "$@"; do lvremove -qy "$vg/$lv" >/dev/null || exit 1; done
}

cmd_write_back() {
  [ $# -eq 4 ] || usage
  vg=$1 lv=$2 dev=$3 bytes=$4
  snap="/dev/$vg/$lv"
  [ -b "$snap" ] || { echo "$snap does not exist" >&2; exit 3; }
  [ -b "$dev" ] || { echo "$dev does not exist" >&2; exit 3; }
  [ "$(blockdev --getsize64 "$dev")" = "$bytes" ] || { echo "$dev holds $(blockdev --getsize64 "$dev") bytes, the snapshot $bytes: the disk was resized" >&2; exit 3; }
  dd if="$snap" of="$dev" bs=4M iflag=direct,count_bytes count="$bytes" oflag=direct conv=fsync status=none || exit 1
  echo "source $(sha_of "$snap" "$bytes")"
  echo "device $(sha_of "$dev" "$bytes")"
}

[ $# -ge 1 ] || usage
sub=$1
shift
case $sub in
  state) cmd_state "$@" ;;
  create) cmd_create "$@" ;;
  remove) cmd_remove "$@" ;;
  write-back) cmd_write_back "$@" ;;
  *) usage ;;
esac
