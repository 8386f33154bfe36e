#!/bin/sh
# hvcluster: applies the DRBD configuration on file to the resources that are configured (after
# global_common.conf changed); nothing when there are none.
# Usage: sh -s --
if [ -n "$(drbdadm sh-resources 2>/dev/null)" ]; then
  drbdadm adjust all
fi
