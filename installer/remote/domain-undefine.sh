#!/bin/sh
# hvcluster: removes a libvirt domain's definition; a domain that is already gone is fine.
# Usage: sh -s -- DOMAIN
[ $# -eq 1 ] || { echo 'usage: domain-undefine.sh DOMAIN' >&2; exit 2; }
virsh undefine "$1" && exit 0
# Gone in between (a transient domain that was destroyed): nothing to remove.
if virsh domstate "$1" >/dev/null 2>&1; then exit 1; fi
exit 0
