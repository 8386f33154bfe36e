#!/bin/sh
# hvcluster: what a node holds of the cluster's guests (read-only).
# Usage: sh -s -- GUESTS_DIR NAME...
# Prints:
#   `file NAME` base64... `end`           GUESTS_DIR/NAME.xml, GUESTS_DIR/NAME-disk*.import and
#                                         GUESTS_DIR/NAME.stopped (`hvcluster guest stop`), per NAME
#   `standby yes|no`                      the node is drained (GUESTS_DIR/../standby: `hvcluster node drain`)
#   `virsh yes|no`                        libvirt's client is installed (nothing more is read without it)
#   `libvirt yes|no`                      libvirtd answers (without it no domain can be seen)
#   `domains NAME...`                     every libvirt domain defined on the node (hvcluster's or not)
#   `domain NAME STATE AUTOSTART`         per NAME: STATE absent, running, paused, shut-off, ...;
#                                         AUTOSTART yes, no or - (absent)
#   `cpu host-model MODEL`                the CPU model libvirt's host-model mode would use (- if none)
#   `cpu usable MODEL...`                 the named CPU models this node's QEMU can run as they are
LC_ALL=C; export LC_ALL
PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin; export PATH
[ $# -ge 1 ] || { echo 'usage: guest-state.sh GUESTS_DIR NAME...' >&2; exit 2; }
dir=$1
shift
for name in "$@"; do
  for f in "$dir/$name.xml" "$dir/$name"-disk*.import "$dir/$name.stopped"; do
    [ -f "$f" ] || continue
    echo "file ${f##*/}"
    base64 < "$f"
    echo end
  done
done
if [ -e "$dir/../standby" ]; then echo 'standby yes'; else echo 'standby no'; fi
if ! command -v virsh >/dev/null 2>&1; then
  echo 'virsh no'
  exit 0
fi
echo 'virsh yes'
v() { virsh -q -c qemu:///system "$@" 2>/dev/null; }
# Few virsh calls whatever the number of guests (each costs a connection to libvirtd): every domain
# with its state (`virsh list` names the states as `virsh domstate` does; it fails when libvirtd does
# not answer), and those that autostart.
if list=$(v list --all); then echo 'libvirt yes'; else echo 'libvirt no'; list=; fi
autostarts=$(v list --all --autostart --name) || autostarts=
# shellcheck disable=SC2046 # one word per domain name
echo "domains" $(printf '%s\n' "$list" | awk 'NF >= 3 { print $2 }')
nl='
'
for name in "$@"; do
  state=$(printf '%s\n' "$list" | awk -v n="$name" 'NF >= 3 && $2 == n { $1 = ""; $2 = ""; sub(/^ +/, ""); gsub(/ /, "-"); print; exit }')
  if [ -n "$state" ]; then
    autostart=no
    case "$nl$autostarts$nl" in *"$nl$name$nl"*) autostart=yes ;; esac
    echo "domain $name $state $autostart"
  else
    echo "domain $name absent -"
  fi
done
# KVM's capabilities where the node has KVM (libvirt offers none without /dev/kvm), else QEMU's.
caps=
[ -e /dev/kvm ] && { caps=$(v domcapabilities --virttype kvm) || caps=; }
[ -n "$caps" ] || caps=$(v domcapabilities) || caps=
printf '%s\n' "$caps" | awk -v q="'" '
  /<mode name=/ { mode = $0; sub(".*<mode name=[" q "\"]", "", mode); sub("[" q "\"].*", "", mode) }
  /<\/mode>/ { mode = "" }
  mode == "host-model" && /<model[ >]/ { m = $0; sub(/.*<model[^>]*>/, "", m); sub(/<.*/, "", m); host = m }
  mode == "custom" && /<model / && index($0, "usable=" q "yes" q) { m = $0; sub(/.*<model[^>]*>/, "", m); sub(/<.*/, "", m); usable = usable " " m }
  END { print "cpu host-model " (host == "" ? "-" : host); print "cpu usable" usable }'
exit 0
