#!/bin/sh
# hvcluster: backups of the guests a node holds, into the cluster's one BorgBackup repository on
# shared storage (docs/design/backups.md). Installed by apply as /usr/local/lib/hvcluster/backup-node.sh
# beside snapshot.sh; run by `hvcluster backup run` and by the node's hvcluster-backup.timer.
# Usage:
#   backup-node.sh guest CONF GUEST STAMP [--stopped]
#       one backup set of GUEST from this node: a temporary snapshot of each disk (frozen through the
#       guest agent when it answers), each disk streamed (exactly its DRBD data size) into archive
#       GUEST.STAMP.diskN, then GUEST.STAMP.meta (meta.json: what a restore needs, each disk's size and
#       sha256, the domain XML; written last: a set without it does not exist), the snapshots removed whatever happens, the guest's old sets pruned.
#       Refused (exit 75) when this node is not responsible for GUEST: it is not Primary here
#       (--stopped: the caller decided this node backs up the stopped guest), or it is migrating.
#       Prints `@borg ARCHIVE` followed by borg's JSON for each archive, then `@done`.
#   backup-node.sh run CONF
#       the timer's run: every guest of CONF this node is Primary for (one set each; a guest whose
#       last complete set started after this run began was backed up by another node: skipped).
#   backup-node.sh meta CONF GUEST [SET]
#       the set to restore: SET (GUEST.STAMP), or GUEST's latest complete one: `@set SET`, then its
#       meta.json (borg extract --stdout).
#   backup-node.sh restore-disk CONF ARCHIVE DEVICE BYTES
#       the archive (a disk's BYTES bytes) written into DEVICE (the target's DRBD device, Primary
#       here: its peers receive every byte), the rest of DEVICE zeroed; prints `stream SHA256` (what
#       borg gave) and `device SHA256` (the first BYTES read back). Fails on a short stream.
#   backup-node.sh check CONF [--verify-data]
#       borg's own check: the repository's segments (CRCs; at most 30 minutes a run, resumed by the
#       next), then the archives' metadata (--verify-data: every chunk decrypted and compared too).
#   backup-node.sh list CONF
#       the repository's archives (`borg list --json`; waits a minute at most for a writer's lock).
#   backup-node.sh key-export CONF [--paper]
#       the repository's key (repokey: kept inside the repository, protected by the passphrase) on
#       stdout, as `borg key export` writes it (--paper: the form to print and type back); with it
#       and the passphrase a damaged repository's data stays readable. Exit 3: not encrypted.
#   backup-node.sh stream DEVICE BYTES SHAFILE
#       (borg's --content-from-command) the first BYTES of DEVICE on stdout, their sha256 into SHAFILE;
#       fails when the read fails or is short (borg then stores no archive).
# CONF (written by apply, no secret): `key value` lines: cluster, vg, repo (the repository's
# directory), root (the cluster's directory on the shared storage), passphrase-file (none: an
# unencrypted repository), compression, freeze-timeout, snapshot-size, keep-daily|weekly|monthly,
# borg-base and borg-cache (borg's own directories on the node), guests-dir (the guests' domain XML), one `guest NAME RES...` per guest
# and its `declaration NAME JSON` (what meta.json records of it: vcpus, memory, machine, boot, disks, NICs).
# Exit 2: usage; 3: the configuration or repository is unusable; 75: not this node's guest; 1: failed.
LC_ALL=C; export LC_ALL
PATH=$PATH:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin; export PATH
# The writer lock's descriptor is inherited by the LVM commands: they need not warn about it.
LVM_SUPPRESS_FD_WARNINGS=1; export LVM_SUPPRESS_FD_WARNINGS
SELF=$0
HERE=$(dirname "$0")

usage() { echo "usage: backup-node.sh guest CONF GUEST STAMP [--stopped] | run CONF | meta CONF GUEST [SET] | restore-disk CONF ARCHIVE DEVICE BYTES | check CONF [--verify-data] | list CONF | key-export CONF [--paper] | stream DEVICE BYTES SHAFILE" >&2; exit 2; }

conf_get() { sed -n "s/^$1 //p" "$CONF" | head -n 1; }
disks_of() { awk -v g="$1" '$1 == "guest" && $2 == g { for (i = 3; i <= NF; i++) printf "%s%s", (i > 3 ? " " : ""), $i }' "$CONF"; }
# A file's text as a JSON string (the domain XML: no control characters but tabs and newlines).
json_string() { sed 's/\\/\\\\/g; s/"/\\"/g; s/\t/\\t/g' "$1" | awk 'BEGIN { printf "\"" } { printf "%s\\n", $0 } END { printf "\"" }'; }

load_conf() {
  [ -r "$CONF" ] || { echo "$CONF cannot be read: run hvcluster apply" >&2; exit 3; }
  VG=$(conf_get vg)
  ROOT=$(conf_get root)
  BORG_REPO=$(conf_get repo)
  passfile=$(conf_get passphrase-file)
  if [ -z "$VG" ] || [ -z "$ROOT" ] || [ -z "$BORG_REPO" ]; then echo "$CONF names no vg, root or repo" >&2; exit 3; fi
  [ -d "$ROOT" ] || { echo "$ROOT is not there: is the backup storage mounted?" >&2; exit 3; }
  export BORG_REPO
  BORG_BASE_DIR=$(conf_get borg-base); BORG_BASE_DIR=${BORG_BASE_DIR:-/var/lib/hvcluster/borg}; export BORG_BASE_DIR
  BORG_CACHE_DIR=$(conf_get borg-cache); BORG_CACHE_DIR=${BORG_CACHE_DIR:-/var/cache/hvcluster/borg}; export BORG_CACHE_DIR
  if [ -n "$passfile" ]; then
    # borg runs this to read the passphrase: the secret is never in an argument or the environment.
    BORG_PASSCOMMAND="cat $passfile"; export BORG_PASSCOMMAND
  else
    BORG_UNKNOWN_UNENCRYPTED_REPO_ACCESS_IS_OK=yes; export BORG_UNKNOWN_UNENCRYPTED_REPO_ACCESS_IS_OK
  fi
  # The repository is reached at the same path from every node: borg must not object to a new location.
  BORG_RELOCATED_REPO_ACCESS_IS_OK=yes; export BORG_RELOCATED_REPO_ACCESS_IS_OK
  mkdir -p "$ROOT/locks" "$ROOT/status" "$BORG_BASE_DIR" "$BORG_CACHE_DIR"
}

# This node's role for a resource: Primary, Secondary, or - (down); "both" when the peer is Primary too (a migration).
role_of() {
  r=$(drbdadm role "$1" 2>/dev/null) || { echo -; return; }
  case $r in Primary/Primary) echo both ;; Primary*) echo Primary ;; Secondary*) echo Secondary ;; *) echo - ;; esac
}

cmd_stream() {
  [ $# -eq 3 ] || usage
  dev=$1 bytes=$2 out=$3
  rm -f "$out.sha.fifo" "$out.count.fifo"
  mkfifo "$out.sha.fifo" "$out.count.fifo" || exit 1
  sha256sum < "$out.sha.fifo" | cut -d' ' -f1 > "$out" &
  sum=$!
  wc -c < "$out.count.fifo" > "$out.count" &
  count=$!
  # dash has no pipefail: dd's status is recorded beside the stream, which goes on to stdout (borg).
  { dd if="$dev" bs=4M iflag=direct,count_bytes count="$bytes" status=none; echo $? > "$out.rc"; } | tee "$out.sha.fifo" "$out.count.fifo"
  wait "$sum" "$count"
  rm -f "$out.sha.fifo" "$out.count.fifo"
  [ "$(cat "$out.rc")" = 0 ] || { echo "reading $dev failed" >&2; exit 1; }
  [ "$(tr -d ' ' < "$out.count")" = "$bytes" ] || { echo "read $(cat "$out.count") bytes of $dev instead of $bytes" >&2; exit 1; }
}

# The set of one guest (lock held by the caller).
backup_guest() {
  guest=$1 stamp=$2 stopped=$3
  disks=$(disks_of "$guest")
  [ -n "$disks" ] || { echo "guest $guest is not in $CONF" >&2; return 3; }
  for res in $disks; do
    role=$(role_of "$res")
    case $role in
      both) echo "guest $guest is migrating ($res is Primary on two nodes): not backed up now" >&2; return 75 ;;
      Primary) [ "$stopped" = no ] || { echo "guest $guest runs here: not --stopped" >&2; return 75; } ;;
      Secondary) [ "$stopped" = yes ] || { echo "guest $guest is not Primary here" >&2; return 75; } ;;
      *) echo "$res is down here" >&2; return 75 ;;
    esac
  done
  # Leftovers of an earlier run that died here: this guest's temporary snapshots.
  for lv in $(lvs --noheadings -o lv_name,lv_tags "$VG" 2>/dev/null | awk '$2 ~ /(^|,)hvc_backup(,|$)/ { print $1 }'); do
    for res in $disks; do case $lv in "$res".bk.*) lvremove -qy "$VG/$lv" >/dev/null 2>&1 ;; esac; done
  done
  work=$(mktemp -d "${TMPDIR:-/tmp}/hvcluster-backup.XXXXXX")
  made=
  cleanup_guest() {
    for lv in $made; do lvremove -qy "$VG/$lv" >/dev/null 2>&1 || echo "could not remove the temporary snapshot $VG/$lv" >&2; done
    made=
    rm -rf "$work"
  }
  trap 'cleanup_guest' EXIT
  trap 'exit 1' HUP INT TERM
  # shellcheck disable=SC2086 # the guest's disks, one argument each
  out=$(sh "$HERE/snapshot.sh" create --backup "$VG" "$guest" "$stamp" "$stamp" "$(conf_get freeze-timeout)" "$(conf_get snapshot-size)" $disks) || { echo "$out" >&2; cleanup_guest; return 1; }
  echo "$out" | sed 's/^/@snapshot /'
  made=$(echo "$out" | awk '$1 == "snapshot" { print $3 }' | tr '\n' ' ')
  iso=$(echo "$stamp" | sed 's/^\(....\)\(..\)\(..\)t\(..\)\(..\)\(..\)z$/\1-\2-\3T\4:\5:\6/')
  i=0 read_bytes=0 stored_bytes=0
  # The bytes borg stored for an archive (its --json stats; the cache's stats have no such key).
  stored_of() { printf '%s\n' "$1" | sed -n 's/.*"deduplicated_size": *\([0-9][0-9]*\).*/\1/p' | head -n 1; }
  for res in $disks; do
    bytes=$(echo "$out" | awk -v r="$res" '$1 == "snapshot" && $2 == r { print $4 }')
    dev=$(lvs --noheadings -o lv_path "$VG/$res.bk.$stamp" | tr -d ' ')
    archive="$guest.$stamp.disk$i"
    if ! json=$(borg create --json --lock-wait 3600 --files-cache disabled --chunker-params fixed,4194304 \
        --compression "$(conf_get compression)" --timestamp "$iso" --stdin-name "$res.raw" \
        --content-from-command "::$archive" -- sh "$SELF" stream "$dev" "$bytes" "$work/disk$i.sha256"); then
      echo "borg create of $archive failed" >&2; cleanup_guest; return 1
    fi
    # (No size check on borg's figures: its original_size counts the archive's own metadata too. The
    # stream fails on a short or long read, and borg then stores no archive.)
    echo "@borg $archive"
    echo "$json"
    read_bytes=$((read_bytes + bytes)) stored_bytes=$((stored_bytes + $(stored_of "$json")))
    [ "$i" -gt 0 ] && printf ',' >> "$work/disks"
    lv_bytes=$(lvs --noheadings --units b --nosuffix -o lv_size "$VG/$res" | tr -d ' ')
    printf '{"index":%s,"resource":"%s","archive":"%s","bytes":%s,"lvBytes":%s,"sha256":"%s"}' "$i" "$res" "$archive" "$bytes" "$lv_bytes" "$(cat "$work/disk$i.sha256")" >> "$work/disks"
    i=$((i + 1))
  done
  # What a restore needs (meta.json, installer/backup/meta.ts's format), written last: the set exists once its .meta archive does.
  field() { echo "$out" | sed -n "s/^$1 //p" | head -n 1 | tr -d '"\134'; }
  consistency=$(field consistency)
  freeze=$(field freeze)
  thaw=$(field thaw | cut -d' ' -f1)
  [ "$thaw" = abandoned ] || thaw=ok
  case $freeze in
    frozen*) freeze_json=$(printf '{"result":"frozen","filesystems":%s,"thaw":"%s"}' "${freeze#frozen }" "$thaw") ;;
    timed-out) freeze_json=$(printf '{"result":"timed-out","thaw":"%s"}' "$thaw") ;;
    none*) freeze_json=$(printf '{"result":"none","reason":"%s"}' "${freeze#none }") ;;
    *) if [ "$consistency" = stopped ]; then freeze_json='{"result":"stopped"}'; else freeze_json='{"result":"none","reason":"the guest was paused"}'; fi ;;
  esac
  drbd_version=$(sed -n 's/^version: \([^ ]*\).*/\1/p' /proc/drbd 2>/dev/null | head -n 1)
  xml="$(conf_get guests-dir)/$guest.xml"
  [ -r "$xml" ] || { echo "$xml is missing: run hvcluster apply" >&2; cleanup_guest; return 1; }
  printf '{"format":"hvcluster-backup-meta/v1","cluster":"%s","guest":"%s","node":"%s","takenAt":"%sZ","consistency":"%s","freeze":%s,"versions":{"hvcluster":"%s","drbd":"%s"},"disks":[%s],"domainXml":%s,"declaration":%s}\n' \
    "$(conf_get cluster)" "$guest" "$(hostname)" "$iso" "$consistency" "$freeze_json" "$(conf_get hvcluster-version)" "${drbd_version:-unknown}" \
    "$(cat "$work/disks")" "$(json_string "$xml")" "$(sed -n "s/^declaration $guest //p" "$CONF" | head -n 1)" > "$work/meta.json"
  json=$(borg create --json --lock-wait 3600 --timestamp "$iso" --stdin-name meta.json --content-from-command "::$guest.$stamp.meta" -- cat "$work/meta.json") || { echo "borg create of $guest.$stamp.meta failed" >&2; cleanup_guest; return 1; }
  echo "@borg $guest.$stamp.meta"
  echo "$json"
  stored_bytes=$((stored_bytes + $(stored_of "$json")))
  cleanup_guest
  trap - EXIT HUP INT TERM
  # Retention counts complete sets (their .meta archives); disk archives of pruned sets follow.
  borg prune --lock-wait 3600 --glob-archives "$guest.*.meta" --keep-last 1 \
    --keep-daily "$(conf_get keep-daily)" --keep-weekly "$(conf_get keep-weekly)" --keep-monthly "$(conf_get keep-monthly)" >&2 || echo "borg prune for $guest failed" >&2
  sets=$(borg list --short --glob-archives "$guest.*.meta" 2>/dev/null | sed 's/\.meta$//')
  for a in $(borg list --short --glob-archives "$guest.*.disk*" 2>/dev/null); do
    set_of=${a%.disk*}
    echo "$sets" | grep -qxF "$set_of" || borg delete --lock-wait 3600 "::$a" >&2 || true
  done
  # The last backup of the guest, whoever made it (the CLI or a node's timer): verify and the next run read it.
  printf '{"guest":"%s","node":"%s","set":"%s","finishedAt":"%s","readBytes":%s,"storedBytes":%s}\n' "$guest" "$(hostname)" "$guest.$stamp" "$(date -u +%Y-%m-%dT%H:%M:%SZ)" "$read_bytes" "$stored_bytes" > "$ROOT/status/$guest.json.tmp" && mv -f "$ROOT/status/$guest.json.tmp" "$ROOT/status/$guest.json"
  echo "@done $guest.$stamp"
}

cmd_guest() {
  [ $# -ge 3 ] || usage
  CONF=$1 guest=$2 stamp=$3 stopped=no
  [ "${4:-}" = --stopped ] && stopped=yes
  load_conf
  # One writer at a time on the repository (borg's own lock is exclusive and would fail the others).
  exec 9>"$ROOT/locks/writer"
  flock -w 3600 9 || { echo "the repository's writer lock ($ROOT/locks/writer) was not free within an hour" >&2; exit 1; }
  backup_guest "$guest" "$stamp" "$stopped"
}

cmd_run() {
  [ $# -eq 1 ] || usage
  CONF=$1
  load_conf
  started=$(date -u +%Y%m%dt%H%M%Sz)
  failed=0
  # shellcheck disable=SC2013 # guest names are single words
  for guest in $(awk '$1 == "guest" { print $2 }' "$CONF"); do
    exec 9>"$ROOT/locks/writer"
    flock -w 3600 9 || { echo "writer lock not free: $guest not backed up" >&2; failed=1; continue; }
    # Backed up by another node since this run began (it moved here after): not twice.
    last=$(sed -n 's/.*"set":"[^"]*\.\([0-9]\{8\}t[0-9]\{6\}z\)".*/\1/p' "$ROOT/status/$guest.json" 2>/dev/null)
    if [ -n "$last" ] && [ "$(printf '%s\n%s\n' "$last" "$started" | sort | tail -n 1)" = "$last" ] && [ "$last" != "$started" ]; then exec 9>&-; continue; fi
    stamp=$(date -u +%Y%m%dt%H%M%Sz)
    backup_guest "$guest" "$stamp" no
    rc=$?
    exec 9>&-
    case $rc in 0|75) ;; *) failed=1 ;; esac
  done
  borg compact --lock-wait 3600 >&2 || true
  exit $failed
}

cmd_meta() {
  [ $# -ge 2 ] || usage
  CONF=$1 guest=$2 set=${3:-}
  load_conf
  if [ -z "$set" ]; then
    # Stamps sort as text: the last is the latest.
    set=$(borg list --short --lock-wait 600 --glob-archives "$guest.*.meta" | sort | tail -n 1 | sed 's/\.meta$//')
    [ -n "$set" ] || { echo "the repository has no complete backup of $guest" >&2; exit 3; }
  fi
  echo "@set $set"
  borg extract --stdout --lock-wait 600 "::$set.meta"
}

cmd_restore_disk() {
  [ $# -eq 4 ] || usage
  CONF=$1 archive=$2 dev=$3 bytes=$4
  load_conf
  [ -b "$dev" ] || { echo "$dev is not a block device" >&2; exit 3; }
  size=$(blockdev --getsize64 "$dev")
  [ "$size" -ge "$bytes" ] || { echo "$dev holds $size bytes, the archive $bytes: the target disk is too small" >&2; exit 3; }
  work=$(mktemp -d "${TMPDIR:-/tmp}/hvcluster-restore.XXXXXX")
  mkfifo "$work/sha" "$work/count" || exit 1
  sha256sum < "$work/sha" | cut -d' ' -f1 > "$work/sha.out" &
  sum=$!
  wc -c < "$work/count" > "$work/count.out" &
  count=$!
  { borg extract --stdout --lock-wait 3600 "::$archive"; echo $? > "$work/rc"; } | tee "$work/sha" "$work/count" |
    dd of="$dev" bs=4M iflag=fullblock oflag=direct conv=fsync status=none || { echo "writing $dev failed" >&2; rm -rf "$work"; exit 1; }
  wait "$sum" "$count"
  rc=$(cat "$work/rc") got=$(tr -d ' ' < "$work/count.out") stream=$(cat "$work/sha.out")
  rm -rf "$work"
  [ "$rc" -le 1 ] || { echo "borg extract of $archive failed (exit $rc)" >&2; exit 1; }
  [ "$got" = "$bytes" ] || { echo "$archive gave $got bytes instead of $bytes" >&2; exit 1; }
  # The rest of a larger target: zeroes, never what the volume held before.
  if [ "$size" -gt "$bytes" ]; then
    dd if=/dev/zero of="$dev" bs=4M iflag=count_bytes count=$((size - bytes)) oflag=seek_bytes,direct seek="$bytes" conv=fsync status=none || { echo "zeroing $dev past $bytes bytes failed" >&2; exit 1; }
  fi
  echo "stream $stream"
  echo "device $(dd if="$dev" bs=4M iflag=direct,count_bytes count="$bytes" status=none | sha256sum | cut -d' ' -f1)"
}

cmd_check() {
  [ $# -ge 1 ] || usage
  CONF=$1
  load_conf
  rc=0
  borg check --repository-only --lock-wait 600 --max-duration 1800 || rc=1
  if [ "${2:-}" = --verify-data ]; then borg check --archives-only --verify-data --lock-wait 600 || rc=1
  else borg check --archives-only --lock-wait 600 || rc=1; fi
  exit $rc
}

cmd_list() {
  [ $# -eq 1 ] || usage
  CONF=$1
  load_conf
  borg list --json --lock-wait 60
}

cmd_key_export() {
  [ $# -ge 1 ] || usage
  CONF=$1
  load_conf
  [ -n "$passfile" ] || { echo "the repository is not encrypted: it has no key to export" >&2; exit 3; }
  # `-`: to stdout (borg 1.2 writes PATH; nothing is stored on the node).
  if [ "${2:-}" = --paper ]; then borg key export --paper :: -
  else borg key export :: -; fi
}

[ $# -ge 1 ] || usage
sub=$1
shift
case $sub in
  guest) cmd_guest "$@" ;;
  run) cmd_run "$@" ;;
  list) cmd_list "$@" ;;
  meta) cmd_meta "$@" ;;
  restore-disk) cmd_restore_disk "$@" ;;
  check) cmd_check "$@" ;;
  key-export) cmd_key_export "$@" ;;
  stream) cmd_stream "$@" ;;
  *) usage ;;
esac
