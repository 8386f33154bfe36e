#!/bin/sh
# hvcluster: a guest's snapshots, LVM snapshots of the logical volumes under its DRBD disks, made on
# the node where the guest is Primary (what Ganeti and LINSTOR do). Described by LV tags only: no
# libvirt snapshot object, nothing that blocks a live migration. A snapshot with RAM adds the
# guest's memory and device state (`virsh save`) as a file beside it, RAMDIR/GUEST/NAME.ram.
# Usage:
#   sh -s -- state VG [RAMDIR]
#       read-only: `vgfree BYTES`, then one `lv NAME|ORIGIN|SIZE|DATA%|ATTR|TAGS` line per LV of VG
#       (bytes; ORIGIN empty but for a snapshot; DATA% how full a snapshot's copy-on-write area is;
#       TAGS comma-separated). With RAMDIR: `ramfree BYTES` (free on RAMDIR's filesystem, or its
#       nearest existing parent's) and `ram GUEST NAME BYTES` per RAMDIR/GUEST/NAME.ram.
#   sh -s -- create [--backup] [--ram FILE NEED_BYTES] VG DOMAIN NAME STAMP FREEZE_S SIZE RES...
#       one snapshot per RES (the guest's disks, in order): LV RES.snap.NAME of VG/RES, tagged
#       hvc_snapshot (--backup: a backup's temporary one, RES.bk.NAME, tagged hvc_backup).
#       FREEZE_S 0: no freeze; else the guest's filesystems are frozen through its agent around the
#       snapshots, each agent call bounded by FREEZE_S, and thawed in a trap (plus a transient systemd
#       timer that thaws if this script dies first). Several disks: the guest is paused around them,
#       so that all are taken at one instant. SIZE: `full` (the origin's size: it cannot overflow) or
#       a percentage of the origin. All or nothing: a failed lvcreate removes the ones made.
#       --ram: the running guest saved into FILE first (`virsh save`, mode 600: its memory), refused
#       (exit 3) when FILE's filesystem has less than NEED_BYTES free; its disks are then quiescent
#       (no freeze, no pause), the snapshots tagged hvc_consistency=ram and hvc_ram, and the guest
#       restored from FILE in a trap, whatever happened (`virsh restore`). A failed snapshot: FILE
#       removed once restored. A failed restore: FILE kept, and said.
#       Prints `freeze frozen N|none REASON|timed-out|skipped`, `thaw ok|abandoned REASON|none`,
#       `consistency agent|crash|stopped|ram`, `retry-thaw-at EPOCH` (abandoned thaws only), per disk
#       `snapshot RES LV BYTES` (BYTES: the DRBD device's data size, never the LV's); with --ram
#       `ram FILE BYTES` and `restore ok|failed REASON` (exit 0 when the snapshot was taken).
#   sh -s -- restore DOMAIN FILE
#       the guest restored from FILE (`virsh restore`) unless it runs already; waits for a create
#       --ram of the same guest still running here. Prints `restore ok`, `restore running` (nothing
#       done) or `restore none` (the guest does not run and FILE does not exist).
#   sh -s -- remove [--ram FILE] VG LV...
#       lvremove of each LV, refused (exit 3) for one not tagged hvc_snapshot or hvc_backup; then FILE
#       deleted (--ram; it may be the only thing to remove: a RAM file left by a create that died).
#   sh -s -- write-back VG LV DEVICE BYTES
#       the snapshot's first BYTES written through DEVICE (the DRBD device, Primary here: the peers
#       receive every byte); prints `source SHA256` (the snapshot's) and `device SHA256` (read back).
# Exit 2: usage; 3: refused; 1: a command failed (its stderr follows).
LC_ALL=C; export LC_ALL
PATH=$PATH:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin; export PATH

usage() { echo "usage: snapshot.sh state VG [RAMDIR] | create [--backup] [--ram FILE NEED_BYTES] VG DOMAIN NAME STAMP FREEZE_S SIZE RES... | restore DOMAIN FILE | remove [--ram FILE] VG LV... | write-back VG LV DEVICE BYTES" >&2; exit 2; }

# A command's output on one line, without libvirt's `error: ` prefix.
one_line() { printf '%s\n' "$1" | tr '\n' ' ' | sed 's/^error: //; s/ *$//'; }

# A RAM file's path: absolute, ending in .ram (it is removed by path).
ram_path() { case $1 in *..*) usage ;; /*.ram) ;; *) usage ;; esac; }

# Holds the lock of a guest's RAM directory (fd 9) until the script ends: a create --ram and a
# restore of the same guest never overlap.
ram_lock() {
  exec 9>"$1/.lock"
  flock -w "$2" 9 || { echo "$1/.lock is held: a snapshot create --ram of this guest still runs here" >&2; exit 1; }
}

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
  [ $# -eq 1 ] || [ $# -eq 2 ] || usage
  echo "vgfree $(vgs --noheadings --units b --nosuffix -o vg_free "$1" | tr -d ' ')"
  lvs --noheadings --units b --nosuffix --separator '|' -o lv_name,origin,lv_size,data_percent,lv_attr,lv_tags "$1" |
    sed 's/^ *//' | while IFS='|' read -r name origin size data attr tags; do
      echo "lv $name|$origin|$size|${data:-}|$attr|$tags"
    done
  [ $# -eq 2 ] || return 0
  ramdir=$2 d=$2
  while [ ! -d "$d" ]; do d=$(dirname "$d"); done
  echo "ramfree $(df -P -B1 "$d" | awk 'NR == 2 { print $4 }')"
  for f in "$ramdir"/*/*.ram; do
    [ -f "$f" ] || continue
    g=${f%/*} n=${f##*/}
    echo "ram ${g##*/} ${n%.ram} $(stat -c %s "$f")"
  done
}

cmd_create() {
  kind=snap tag=hvc_snapshot ram_file='' ram_need=''
  while :; do
    case ${1:-} in
      --backup) kind=bk tag=hvc_backup; shift ;;
      --ram) [ $# -ge 3 ] || usage; ram_file=$2 ram_need=$3; shift 3 ;;
      *) break ;;
    esac
  done
  if [ -n "$ram_file" ]; then
    ram_path "$ram_file"
    [ "$kind" = snap ] || usage
    case $ram_need in *[!0-9]*|'') usage ;; esac
  fi
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
  thaw_result=none saved=no restore_result=
  if [ -n "$ram_file" ]; then
    case $state in running|paused) ;; *) echo "$domain is ${state:-not defined} here: nothing in RAM to save" >&2; exit 3 ;; esac
    [ -e "$ram_file" ] && { echo "$ram_file exists already" >&2; exit 3; }
    ram_dir=${ram_file%/*}
    (umask 077 && mkdir -p "$ram_dir") && chmod 700 "$ram_dir" || exit 1
    avail=$(df -P -B1 "$ram_dir" | awk 'NR == 2 { print $4 }')
    if [ "${avail:-0}" -lt "$ram_need" ]; then
      echo "saving the RAM of $domain needs $((ram_need / 1048576)) MiB in $ram_dir, its filesystem has $((${avail:-0} / 1048576)) MiB free" >&2
      exit 3
    fi
    ram_lock "$ram_dir" 60
  fi
  finish() {
    # A guest saved with its RAM runs on from it, whatever happened since.
    if [ "$saved" = yes ]; then
      if out=$(virsh restore "$ram_file" 2>&1); then restore_result=ok; else restore_result="failed $(one_line "$out")"; fi
      saved=no
    fi
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
    if [ "$status" -ne 0 ]; then
      for lv in $made; do lvremove -qy "$vg/$lv" >/dev/null 2>&1; done
      case $restore_result in
        ok) rm -f "$ram_file" ;;
        failed*) echo "$domain could not be restored (${restore_result#failed }): its RAM and device state stay in $ram_file; restore it with: virsh restore $ram_file" >&2 ;;
      esac
    fi
  }
  trap cleanup EXIT
  trap 'exit 1' HUP INT TERM
  if [ -n "$ram_file" ]; then
    # The guest stops with its RAM and device state in the file: its disks are quiescent, and
    # consistent with that state (no freeze, no pause needed).
    if ! out=$(umask 077 && virsh save "$domain" "$ram_file" 2>&1); then
      rm -f "$ram_file"
      echo "virsh save $domain $ram_file failed: $(one_line "$out")" >&2
      exit 1
    fi
    saved=yes state=saved freeze_s=0 consistency=ram
    chmod 600 "$ram_file"
  fi
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
      --addtag "hvc_consistency=$consistency" --addtag "hvc_bytes=$bytes" ${ram_file:+--addtag hvc_ram} "$vg/$res" >/dev/null || exit 1
    made="$made $res.$kind.$name"
  done
  finish
  echo "freeze $freeze"
  echo "thaw $thaw_result"
  echo "consistency $consistency"
  for res in "$@"; do echo "snapshot $res $res.$kind.$name $(drbd_bytes "$res")"; done
  if [ -n "$ram_file" ]; then
    echo "ram $ram_file $(stat -c %s "$ram_file")"
    echo "restore $restore_result"
  fi
  case $thaw_result in abandoned*)
    for res in "$@"; do lvchange -qy --addtag hvc_thaw=abandoned "$vg/$res.$kind.$name" >/dev/null 2>&1; done ;;
  esac
}

cmd_restore() {
  [ $# -eq 2 ] || usage
  domain=$1 file=$2
  ram_path "$file"
  [ -d "${file%/*}" ] && ram_lock "${file%/*}" 900
  case $(virsh domstate "$domain" 2>/dev/null | head -n 1) in
    running|paused) echo 'restore running'; return 0 ;;
  esac
  [ -f "$file" ] || { echo 'restore none'; return 0; }
  out=$(virsh restore "$file" 2>&1) || { echo "$out" >&2; exit 1; }
  echo 'restore ok'
}

cmd_remove() {
  ram_file=''
  if [ "${1:-}" = --ram ]; then
    [ $# -ge 2 ] || usage
    ram_file=$2
    ram_path "$ram_file"
    shift 2
  fi
  [ $# -ge 2 ] || { [ $# -eq 1 ] && [ -n "$ram_file" ]; } || usage
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
  [ -n "$ram_file" ] || return 0
  rm -f "$ram_file" || exit 1
  # The guest's directory goes with its last RAM file.
  dir=${ram_file%/*}
  for f in "$dir"/*.ram; do [ -e "$f" ] && return 0; done
  rm -f "$dir/.lock"
  rmdir "$dir" 2>/dev/null || true
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
  restore) cmd_restore "$@" ;;
  remove) cmd_remove "$@" ;;
  write-back) cmd_write_back "$@" ;;
  *) usage ;;
esac
