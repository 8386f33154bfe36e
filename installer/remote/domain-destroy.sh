#!/bin/sh
# hvcluster: destroys a running libvirt domain (like pulling the plug); one that no longer runs is fine.
# Usage: sh -s -- DOMAIN
[ $# -eq 1 ] || { echo 'usage: domain-destroy.sh DOMAIN' >&2; exit 2; }
virsh destroy "$1" && exit 0
# It stopped in between (its own shutdown finished first; a transient domain is then gone): nothing to destroy.
running=$(virsh list --name) || exit 1
printf '%s\n' "$running" | grep -qxF -- "$1" && exit 1
exit 0
