#!/bin/sh
# hvcluster: files of a server, to compare with the plan (read-only).
# Usage: sh -s -- PATH...
# Per PATH: `@@hvcluster-file present PATH` and the content in base64 (so any content, a last line
# without newline or a marker-like line, comes back exactly), `@@hvcluster-file absent PATH`, or
# `@@hvcluster-file unreadable PATH`; then `@@hvcluster-file end`.
mark=@@hvcluster-file
for path in "$@"; do
  if [ -f "$path" ]; then
    printf '%s present %s\n' "$mark" "$path"
    base64 < "$path" || printf '%s unreadable %s\n' "$mark" "$path"
  else
    printf '%s absent %s\n' "$mark" "$path"
  fi
done
printf '%s end\n' "$mark"
