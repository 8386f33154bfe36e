#!/bin/sh
# hvcluster: makes the cluster's backup repository usable from a node (apply's backup step; see
# docs/design/backups.md, section 5). Each subcommand is idempotent: run again, it changes nothing.
# Usage:
#   sh -s -- mount PATH UNIT WAIT_S
#       looks PATH up (its automount then mounts the export, unit UNIT) and requires an NFS
#       filesystem mounted there within WAIT_S seconds. Prints `mounted PATH TYPE`.
#   sh -s -- init PATH ROOT PASSFILE|- BASE CACHE -- borg init -e ENC
#       the repository ROOT/borg, made with the command after -- unless it exists (its config file),
#       and ROOT/locks and ROOT/status. PATH must exist: it is the storage every node shares, never
#       made here (a directory made on one node's own disk would not be shared). Refused (exit 3)
#       when ROOT/borg holds other files. Prints `repository present|initialised ROOT/borg`.
#   sh -s -- open ROOT PASSFILE|- BASE CACHE MARKER -- borg info ...
#       runs the command after -- (it opens the repository: the shared storage, the passphrase, this
#       node's borg state), then writes MARKER (root-only): the digest backup-state.sh compares.
# PASSFILE: the passphrase file (-: an unencrypted repository); borg reads it through BORG_PASSCOMMAND,
# so the secret is never in an argument or the environment. BASE and CACHE: BORG_BASE_DIR and
# BORG_CACHE_DIR (borg's state and chunks cache on the node).
# Exit 2: usage; 3: refused (the storage or repository is not what it must be); 1: a command failed.
LC_ALL=C; export LC_ALL
PATH=$PATH:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin; export PATH

usage() {
  echo 'usage: backup-init.sh mount PATH UNIT WAIT_S | init PATH ROOT PASSFILE|- BASE CACHE -- borg ... | open ROOT PASSFILE|- BASE CACHE MARKER -- borg ...' >&2
  exit 2
}

# The environment of borg on a node, as backup-node.sh sets it.
borg_env() {
  unset BORG_PASSPHRASE BORG_PASSPHRASE_FD
  BORG_REPO=$root/borg; export BORG_REPO
  BORG_BASE_DIR=$base; export BORG_BASE_DIR
  BORG_CACHE_DIR=$cache; export BORG_CACHE_DIR
  (umask 077 && mkdir -p "$base" "$cache") || exit 1
  if [ "$passfile" = - ]; then
    # The other nodes would be asked whether to trust an unencrypted repository they do not know: the answer file said yes.
    BORG_UNKNOWN_UNENCRYPTED_REPO_ACCESS_IS_OK=yes; export BORG_UNKNOWN_UNENCRYPTED_REPO_ACCESS_IS_OK
  else
    [ -r "$passfile" ] || { echo "$passfile is missing: run hvcluster apply (its backup-files step writes it)" >&2; exit 3; }
    BORG_PASSCOMMAND="cat $passfile"; export BORG_PASSCOMMAND
  fi
  # Every node reaches the repository at the same path: borg must not object to a new location.
  BORG_RELOCATED_REPO_ACCESS_IS_OK=yes; export BORG_RELOCATED_REPO_ACCESS_IS_OK
}

# The command after --: borg, and nothing else.
borg_command() {
  if [ "${1:-}" != -- ] || [ "${2:-}" != borg ]; then usage; fi
}

cmd_mount() {
  [ $# -eq 3 ] || usage
  where=$1 unit=$2 wait=$3
  # A lookup mounts it; a server that does not answer ends the wait, not the script.
  timeout -k 2 "$wait" test -d "$where/." 2>/dev/null
  types=$(findmnt -rn -M "$where" -o FSTYPE 2>/dev/null | tr '\n' ' ')
  types=${types% }
  case " $types " in
    *" nfs "*|*" nfs4 "*) echo "mounted $where $(echo "$types" | awk '{ print $NF }')"; exit 0 ;;
  esac
  echo "no NFS filesystem is mounted at $where after ${wait} s (mounted there: ${types:-nothing}); what systemd says of $unit:" >&2
  systemctl status --no-pager --lines 5 "$unit" >&2 2>&1
  exit 1
}

cmd_init() {
  [ $# -ge 7 ] || usage
  where=$1 root=$2 passfile=$3 base=$4 cache=$5
  shift 5
  borg_command "$@"
  shift
  [ -d "$where" ] || { echo "$where does not exist on this node: mount the storage every node shares there (or give spec.backup.repository.nfs)" >&2; exit 3; }
  if [ -f "$root/borg/config" ]; then
    mkdir -p "$root/locks" "$root/status" || exit 1
    echo "repository present $root/borg"
    exit 0
  fi
  if [ -e "$root/borg" ] && [ -n "$(ls -A "$root/borg" 2>/dev/null)" ]; then
    echo "$root/borg holds files but no borg repository (no config file): hvcluster does not write over them; move them away and apply again" >&2
    exit 3
  fi
  mkdir -p "$root/locks" "$root/status" || exit 1
  borg_env
  "$@" || { echo "borg init of $root/borg failed" >&2; exit 1; }
  echo "repository initialised $root/borg"
}

cmd_open() {
  [ $# -ge 7 ] || usage
  root=$1 passfile=$2 base=$3 cache=$4 marker=$5
  shift 5
  borg_command "$@"
  shift
  dir=$(dirname "$root")
  [ -f "$root/borg/config" ] || { echo "$root/borg holds no borg repository on this node, though the first node made it there: is $dir the same shared storage on every node?" >&2; exit 3; }
  borg_env
  "$@"
  rc=$?
  # borg 1.2: 1 is a warning (it said why), 2 an error.
  if [ "$rc" -gt 1 ]; then
    echo "borg could not open $root/borg from this node (exit $rc, above); a passphrase it calls incorrect is not the one the repository was made with (spec.backup.passphraseFrom; a repository's passphrase is changed with borg key change-passphrase)" >&2
    exit 1
  fi
  # The digest backup-state.sh compares: the repository's id, ROOT and the passphrase file, in this order.
  id=$(sed -n 's/^id = //p' "$root/borg/config")
  digest=$({ printf '%s\n%s\n' "$id" "$root"; [ "$passfile" = - ] || cat "$passfile"; } | sha256sum | cut -d' ' -f1)
  (umask 077 && printf '%s\n' "$digest" > "$marker.tmp" && mv -f "$marker.tmp" "$marker") || exit 1
  echo "opened $root/borg"
}

[ $# -ge 1 ] || usage
sub=$1
shift
case $sub in
  mount) cmd_mount "$@" ;;
  init) cmd_init "$@" ;;
  open) cmd_open "$@" ;;
  *) usage ;;
esac
