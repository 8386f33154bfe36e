#!/bin/sh
# hvcluster: creates root's live-migration key pair (ed25519, no passphrase), replacing an empty or
# half-written one.
# Usage: sh -s -- KEY_PATH COMMENT
set -eu
[ $# -eq 2 ] || { echo 'usage: make-migrate-key.sh KEY_PATH COMMENT' >&2; exit 2; }
umask 077
mkdir -p "$(dirname "$1")"
chmod 700 "$(dirname "$1")"
rm -f "$1" "$1.pub"
ssh-keygen -q -t ed25519 -N '' -C "$2" -f "$1"
