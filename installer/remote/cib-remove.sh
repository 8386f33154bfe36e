#!/bin/sh
# hvcluster: removes objects from Pacemaker's configuration by id (resources, clones, constraints),
# after clearing the resources' failure history (so no failed action outlives them). Ids not in the
# configuration are skipped: removing twice is safe. Stop resources first (target-role Stopped):
# Pacemaker stops a removed resource that still runs, but then as an orphan.
# Usage: sh -s -- ID...
# Prints `removed ID` or `absent ID` per id; exit 1 when cibadmin refuses a removal.
LC_ALL=C; export LC_ALL
PATH=$PATH:/usr/sbin:/usr/bin:/sbin:/bin; export PATH
[ $# -ge 1 ] || { echo 'usage: cib-remove.sh ID...' >&2; exit 2; }
rc=0
for id in "$@"; do
  case "$id" in
    *\'*|*\"*) echo "cib-remove.sh: refusing an id with quotes: $id" >&2; exit 2 ;;
  esac
  if ! cibadmin --query --xpath "//*[@id='$id']" >/dev/null 2>&1; then
    echo "absent $id"
    continue
  fi
  crm_resource --cleanup --resource "$id" >/dev/null 2>&1 || true
  if cibadmin --delete --xpath "//*[@id='$id']" >/dev/null; then
    echo "removed $id"
  else
    rc=1
  fi
done
exit $rc
