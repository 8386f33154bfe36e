#!/bin/sh
# hvcluster: before a file is replaced, its directory exists and the file it replaces is kept.
# Usage: sh -s -- BACKUP_DIR PATH
#   BACKUP_DIR  the run's backup directory on this server (the old file goes to BACKUP_DIR/PATH),
#               or - to keep no copy
#   PATH        the absolute path about to be written
# Prints `kept BACKUP_DIR/PATH` when there was a file to keep.
set -eu
[ $# -eq 2 ] || { echo 'usage: prepare-file.sh BACKUP_DIR PATH' >&2; exit 2; }
backup=$1
path=$2
case $path in
  /*) ;;
  *) echo "prepare-file.sh: not an absolute path: $path" >&2; exit 2 ;;
esac
mkdir -p "$(dirname "$path")"
if [ "$backup" != - ] && [ -e "$path" ]; then
  target=$backup$path
  mkdir -p "$(dirname "$target")"
  cp -a "$path" "$target"
  printf 'kept %s\n' "$target"
fi
