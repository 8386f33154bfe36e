#!/bin/sh
# hvcluster: installs packages with apt, non-interactive; offline only from a given cache.
# Usage: sh -s -- online|OFFLINE_CACHE_DIR PACKAGE...
#   online            download from the configured apt sources
#   OFFLINE_CACHE_DIR install only from the .debs in this directory (--no-download)
# apt's machine-readable status (APT::Status-Fd) comes on stdout, for the installer's progress;
# apt's usual output on stderr (shown when it fails). Conffiles the admin changed are kept.
set -eu
[ $# -ge 2 ] || { echo 'usage: apt-install.sh online|OFFLINE_CACHE_DIR PACKAGE...' >&2; exit 2; }
source=$1
shift
DEBIAN_FRONTEND=noninteractive
export DEBIAN_FRONTEND
exec 3>&1 1>&2
if [ "$source" = online ]; then
  apt-get install -y -q --no-install-recommends -o APT::Status-Fd=3 \
    -o Dpkg::Options::=--force-confdef -o Dpkg::Options::=--force-confold "$@"
else
  apt-get install -y -q --no-install-recommends -o APT::Status-Fd=3 \
    -o Dpkg::Options::=--force-confdef -o Dpkg::Options::=--force-confold \
    --no-download -o "Dir::Cache::Archives=$source" "$@"
fi
