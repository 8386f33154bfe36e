#!/bin/sh
# hvcluster: a node's public keys (read-only).
# Usage: sh -s -- MIGRATE_KEY HOST_KEY_PUB LEGACY_KEY
# Prints three parts separated by `@@hvcluster-keys` lines: the migration key's public half (or
# `none` when the private key is missing or empty), the SSH server's public host key, and root's
# legacy key's public half (or `none`).
[ $# -eq 3 ] || { echo 'usage: node-keys.sh MIGRATE_KEY HOST_KEY_PUB LEGACY_KEY' >&2; exit 2; }
if [ -s "$1" ] && [ -r "$1.pub" ]; then cat "$1.pub"; else echo none; fi
echo @@hvcluster-keys
cat "$2"
echo @@hvcluster-keys
if [ -r "$3.pub" ]; then cat "$3.pub"; else echo none; fi
