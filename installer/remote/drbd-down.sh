#!/bin/sh
# hvcluster: takes a DRBD resource down, with drbdsetup when its .res file is already gone.
# Usage: sh -s -- RESOURCE
[ $# -eq 1 ] || { echo 'usage: drbd-down.sh RESOURCE' >&2; exit 2; }
drbdadm down "$1" 2>/dev/null || drbdsetup down "$1"
