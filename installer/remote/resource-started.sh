#!/bin/sh
# hvcluster: waits until Pacemaker runs a resource (Started, active, not failed): a fence device apply
# wrote (apply ends with every node fenceable, not with a device still starting or failed to start),
# a guest apply handed to Pacemaker (apply ends with it running).
# Usage: sh -s -- ID SECONDS
# Prints `started ID on NODE` and exits 0; after SECONDS without it, prints crm_mon's view of the
# resource and its failed operations on stderr and exits 1.
LC_ALL=C; export LC_ALL
PATH=$PATH:/usr/sbin:/usr/bin:/sbin:/bin; export PATH
[ $# -eq 2 ] || { echo 'usage: resource-started.sh ID SECONDS' >&2; exit 2; }
id=$1 seconds=$2
case "$id" in *\"*|*\'*|*' '*) echo "resource-started.sh: refusing an id with quotes or spaces: $id" >&2; exit 2 ;; esac
case "$seconds" in ''|*[!0-9]*) echo "resource-started.sh: SECONDS must be a number, not $seconds" >&2; exit 2 ;; esac
deadline=$(( $(date +%s) + seconds ))
line=''
while :; do
  xml=$(crm_mon -1 --output-as=xml 2>/dev/null)
  line=$(printf '%s\n' "$xml" | grep "<resource id=\"$id\" " | head -n 1)
  case "$line" in
    *'role="Started"'*'active="true"'*'failed="false"'*)
      node=$(printf '%s\n' "$xml" | sed -n "/<resource id=\"$id\" /,/<\/resource>/s/.*<node name=\"\([^\"]*\)\".*/\1/p" | head -n 1)
      echo "started $id on ${node:-?}"
      exit 0
      ;;
  esac
  [ "$(date +%s)" -lt "$deadline" ] || break
  sleep 2
done
echo "$id is not Started after $seconds s: ${line:-not in the status crm_mon prints}" >&2
printf '%s\n' "$xml" | grep "<failure .*$id" >&2 || true
exit 1
