#!/bin/sh
# hvcluster: verify's read of the guests' backup status files (read-only; no secret is read). After
# each complete set, backup-node.sh writes DIR/GUEST.json, one line of JSON: guest, node, set,
# finishedAt, readBytes, storedBytes.
# Usage: sh -s -- DIR GUEST...
#   DIR    the status directory on the shared storage (spec.backup.repository.path/CLUSTER/status)
# Prints one line per GUEST:
#   status GUEST JSON        its status file (one line of JSON)
#   status GUEST none        no status file: no complete set yet
#   status GUEST timeout     the storage did not answer within 10 s (the guests after it are not tried)
#   status GUEST error TEXT  the file could not be read (TEXT: why)
# Every look is bounded (timeout -k 2 10): a dead NFS server never hangs verify (a process stuck on
# a hard NFS mount still dies of SIGKILL).
LC_ALL=C; export LC_ALL
PATH=$PATH:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin; export PATH
[ $# -ge 1 ] || { echo 'usage: backup-verify-state.sh DIR GUEST...' >&2; exit 2; }
dir=$1
shift

stuck=no
for guest in "$@"; do
  if [ "$stuck" = yes ]; then echo "status $guest timeout"; continue; fi
  # shellcheck disable=SC2016 # expanded by the inner sh
  out=$(timeout -k 2 10 sh -c '[ -e "$1" ] || exit 3; head -c 65536 "$1"' sh "$dir/$guest.json" 2>&1)
  rc=$?
  case $rc in
    0) printf 'status %s %s\n' "$guest" "$(printf '%s' "$out" | tr -d '\n')" ;;
    3) echo "status $guest none" ;;
    124|137) echo "status $guest timeout"; stuck=yes ;;
    *) printf 'status %s error %s\n' "$guest" "$(printf '%s' "${out:-exit $rc}" | tr '\n' ' ')" ;;
  esac
done
