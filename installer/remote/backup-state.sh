#!/bin/sh
# hvcluster: where a node stands with the cluster's backup repository, or (--left) what earlier
# backups left on a node whose answers no longer have spec.backup (read-only: apply's backup step
# plans from it; see docs/design/backups.md, section 5).
# Usage: sh -s -- PATH ROOT PASSFILE|- MARKER UNIT...     (spec.backup: where the node stands)
#        sh -s -- --left UNIT_DIR UNIT...                 (no spec.backup: what earlier backups left)
#   PATH      spec.backup.repository.path: the storage every node shares (with nfs, its mount point)
#   ROOT      the cluster's directory in it (PATH/CLUSTER); the borg repository is ROOT/borg
#   PASSFILE  the passphrase file borg reads (-: an unencrypted repository)
#   MARKER    what backup-init.sh open wrote when borg last opened the repository from this node
#   UNIT      systemd units to report (the export's automount, the backup timer)
# Prints:
#   unit NAME ENABLED ACTIVE   per UNIT, as systemctl is-enabled and is-active say (- for nothing)
#   path yes|no|timeout        PATH is a directory (looked up: an automount mounts the export)
#   mount TYPE...|-            the filesystems mounted at PATH, bottom first (`autofs nfs4` once the
#                              automount mounted the export)
#   repository yes|no|timeout  ROOT/borg is a borg repository (its config file says so)
#   opened yes|no              MARKER holds the digest of the repository's id, ROOT and PASSFILE:
#                              borg opened this repository from this node with this passphrase
# Every look under PATH is bounded (10 s): a server that does not answer makes it `timeout`, never
# a hung read (a process stuck on a hard NFS mount still dies of SIGKILL).
#
# --left (the answers have no spec.backup; apply's backup step removes what earlier backups left):
#   UNIT_DIR  where apply wrote the units (/etc/systemd/system)
#   UNIT      the units of fixed names to report (the backup timer and service)
# Prints:
#   unit NAME ENABLED ACTIVE   per UNIT, then per unit found below
#   written NAME               a mount or automount unit of the repository's storage that apply wrote
#                              in UNIT_DIR (its header and Description say so; named after a path
#                              the answers no longer give)
#   end                        the last line
# Nothing under the repository's path is looked at: no lookup mounts the export again.
LC_ALL=C; export LC_ALL
PATH=$PATH:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin; export PATH

report_unit() {
  enabled=$(systemctl is-enabled "$1" 2>/dev/null)
  active=$(systemctl is-active "$1" 2>/dev/null)
  echo "unit $1 ${enabled:--} ${active:--}"
}

if [ "${1:-}" = --left ]; then
  [ $# -ge 2 ] || { echo 'usage: backup-state.sh --left UNIT_DIR UNIT...' >&2; exit 2; }
  dir=$2
  shift 2
  for unit in "$@"; do report_unit "$unit"; done
  for file in "$dir"/*.mount "$dir"/*.automount; do
    [ -f "$file" ] || continue
    if grep -q '^# Managed by hvcluster' "$file" && grep -q '^Description=hvcluster: backup repository storage' "$file"; then
      name=${file##*/}
      report_unit "$name"
      echo "written $name"
    fi
  done
  echo end
  exit 0
fi

[ $# -ge 4 ] || { echo 'usage: backup-state.sh PATH ROOT PASSFILE|- MARKER UNIT...' >&2; exit 2; }
where=$1 root=$2 passfile=$3 marker=$4
shift 4

for unit in "$@"; do report_unit "$unit"; done

bounded() { timeout -k 2 10 "$@"; }
# An exit status as an answer: 0 yes, timeout's 124 (137 once killed) timeout, anything else no.
answer() { case $1 in 0) echo yes ;; 124|137) echo timeout ;; *) echo no ;; esac; }

bounded test -d "$where/."
echo "path $(answer $?)"
types=$(findmnt -rn -M "$where" -o FSTYPE 2>/dev/null | tr '\n' ' ')
types=${types% }
echo "mount ${types:--}"

config=$(bounded cat "$root/borg/config" 2>/dev/null)
rc=$?
if [ "$rc" -eq 0 ] && printf '%s\n' "$config" | grep -q '^\[repository\]'; then
  echo 'repository yes'
elif [ "$rc" -eq 0 ]; then
  echo 'repository no'
else
  echo "repository $(answer "$rc")"
fi

# The digest backup-init.sh open writes (the same three things, in the same order).
id=$(printf '%s\n' "$config" | sed -n 's/^id = //p')
digest=$({ printf '%s\n%s\n' "$id" "$root"; [ "$passfile" = - ] || cat "$passfile" 2>/dev/null; } | sha256sum | cut -d' ' -f1)
if [ -n "$id" ] && [ -r "$marker" ] && [ "$(cat "$marker")" = "$digest" ]; then echo 'opened yes'; else echo 'opened no'; fi
