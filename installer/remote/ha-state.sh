#!/bin/sh
# hvcluster: reads what the cluster stack holds that needs filtering before it leaves the server
# (read-only), for verify's HA checks.
# Usage: sh -s -- WHAT
#   cib    the CIB (`cibadmin --query`) with the value of every nvpair whose name contains "pass"
#          (fence_ipmilan's password, passwd...) replaced by "(redacted)": the fence devices'
#          passwords never leave the server.
#   cmap   the keys of `corosync-cmapctl` verify reads: totem.token, runtime.config.totem.*,
#          quorum.*, runtime.votequorum.* (`KEY (TYPE) = VALUE` lines).
# Exit code: the command's (cibadmin, corosync-cmapctl), 127 when it is not installed.
LC_ALL=C; export LC_ALL
PATH=$PATH:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin; export PATH
[ $# -eq 1 ] || { echo 'usage: ha-state.sh cib|cmap' >&2; exit 2; }
out=$(mktemp) || exit 1
trap 'rm -f "$out"' EXIT
case $1 in
  cib)
    command -v cibadmin >/dev/null 2>&1 || { echo 'cibadmin is not installed (package pacemaker-cli-utils)' >&2; exit 127; }
    timeout 20 cibadmin --query >"$out"
    rc=$?
    # One element per line in cibadmin's output; the value is removed whatever the attributes' order.
    sed -e '/<nvpair[^>]*name="[^"]*[Pp][Aa][Ss][Ss][^"]*"/s/value="[^"]*"/value="(redacted)"/g' "$out"
    exit "$rc"
    ;;
  cmap)
    command -v corosync-cmapctl >/dev/null 2>&1 || { echo 'corosync-cmapctl is not installed (package corosync)' >&2; exit 127; }
    timeout 10 corosync-cmapctl >"$out"
    rc=$?
    grep -E '^(totem\.token |totem\.token_|runtime\.config\.totem\.|quorum\.|runtime\.votequorum\.)' "$out"
    exit "$rc"
    ;;
  *)
    echo "ha-state.sh: unknown WHAT $1 (cib or cmap)" >&2
    exit 2
    ;;
esac
