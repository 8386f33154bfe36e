#!/bin/sh
# hvcluster: the network window. A new network configuration is put in force behind an automatic
# revert that survives a reboot: the pending change (run id, file, backup, deadline) is kept under
# /var/lib/hvcluster/net-window, a transient timer reverts it if nobody confirms it in time, and an
# enabled boot unit (before the network comes up) restores the previous file if the server restarts
# while the change is still unconfirmed. Revert, boot restore and confirm take the same lock, so a
# confirm cannot succeed after a revert, and a revert cannot fire after a confirm.
#
# Installed by the installer as /var/lib/hvcluster/net-window/net-window.sh (the timer and the boot
# unit run that copy). Usage:
#   net-window.sh arm RUN PATH STAGED BACKUP MODE SECONDS
#       BACKUP: the previous file's copy, or - when there was none; MODE: ifupdown or netplan.
#       Records the pending change, schedules the revert in SECONDS, starts `apply` detached.
#       Prints `armed`, or `busy RUN` (exit 3) when another run's window is still open.
#   net-window.sh apply RUN           (detached, by arm) puts the staged file in force
#   net-window.sh revert RUN          (the timer) restores the previous file and network
#   net-window.sh boot                (the boot unit) restores the previous file before the network starts
#   net-window.sh confirm RUN BRIDGE MGMT_CIDR GATEWAY|- REPL_NIC REPL_CIDR MTU
#       Proves the new configuration and, only then and only if no revert happened, closes the window.
#       Prints one of: `confirmed`; `reverted timer|boot WHEN`; `applying`; `apply-failed RESULT`;
#       `none` (no window of RUN); or `missing WHAT` lines (not proven yet, the window stays open).
set -eu
# HVCLUSTER_NET_WINDOW_DIR: for the unit tests only (sudo does not pass it through).
state=${HVCLUSTER_NET_WINDOW_DIR:-/var/lib/hvcluster/net-window}
self=$state/net-window.sh
pending=$state/pending
unit=hvcluster-net-window.service

field() {
  sed -n "s/^$1=//p" "$pending"
}

load() {
  [ -f "$pending" ] || return 1
  p_run=$(field run)
  p_path=$(field path)
  p_staged=$(field staged)
  p_backup=$(field backup)
  p_mode=$(field mode)
}

lock() {
  mkdir -p "$state"
  exec 9>>"$state/lock"
  flock 9
}

network_down() {
  if [ "$p_mode" = ifupdown ]; then ifdown -a --exclude=lo --force >/dev/null 2>&1 || true; fi
}

network_up() {
  if [ "$p_mode" = ifupdown ]; then ifup -a --exclude=lo; else netplan apply; fi
}

# The previous file back in place (or none, when there was none), written atomically and synced.
restore_file() {
  if [ "$p_backup" = - ]; then
    rm -f "$p_path"
  else
    cp -a "$p_backup" "$p_path.hvcluster-restore"
    mv -f "$p_path.hvcluster-restore" "$p_path"
  fi
  rm -f "$p_staged"
}

# Closes the window as reverted: the marker first (confirm looks for it), then the pending state.
mark_reverted() {
  printf '%s %s\n' "$1" "$(date -Is)" > "$state/reverted-$p_run"
  rm -f "$pending"
  sync
}

boot_unit() {
  cat <<EOT
[Unit]
Description=hvcluster: restore the previous network configuration if the server restarted inside an unconfirmed network change
DefaultDependencies=no
After=local-fs.target
Before=network-pre.target networking.service systemd-networkd.service
Wants=network-pre.target
ConditionPathExists=$pending

[Service]
Type=oneshot
ExecStart=/bin/sh $self boot

[Install]
WantedBy=multi-user.target
EOT
}

cmd=${1:-}
[ $# -gt 0 ] && shift
case "$cmd" in
arm)
  run=$1 path=$2 staged=$3 backup=$4 mode=$5 seconds=$6
  lock
  if load; then
    printf 'busy %s\n' "$p_run"
    exit 3
  fi
  rm -f "$state"/reverted-* "$state"/confirmed-*
  # The boot unit, installed once and enabled.
  boot_unit > "$state/unit.new"
  if ! cmp -s "$state/unit.new" "/etc/systemd/system/$unit"; then
    mv -f "$state/unit.new" "/etc/systemd/system/$unit"
    systemctl daemon-reload
  else
    rm -f "$state/unit.new"
  fi
  systemctl enable --quiet "$unit"
  # The pending change is on disk before the new file can be.
  deadline=$(($(date +%s) + seconds))
  printf 'run=%s\npath=%s\nstaged=%s\nbackup=%s\nmode=%s\ndeadline=%s\n' "$run" "$path" "$staged" "$backup" "$mode" "$deadline" > "$pending.new"
  sync
  mv -f "$pending.new" "$pending"
  sync
  if ! systemd-run --quiet --unit="hvcluster-net-revert-$run" --on-active="$seconds" /bin/sh "$self" revert "$run"; then
    rm -f "$pending"
    echo "cannot schedule the automatic revert (systemd-run)" >&2
    exit 1
  fi
  systemd-run --quiet --unit="hvcluster-net-apply-$run" /bin/sh "$self" apply "$run"
  echo armed
  ;;
apply)
  run=$1
  if ! load || [ "$p_run" != "$run" ]; then
    echo "no pending network change of run $run" >&2
    exit 1
  fi
  network_down
  cp -p "$p_staged" "$p_path.hvcluster-apply"
  mv -f "$p_path.hvcluster-apply" "$p_path"
  sync
  network_up
  ;;
revert)
  run=$1
  lock
  # Nothing to do once confirmed, or already reverted.
  if ! load || [ "$p_run" != "$run" ]; then exit 0; fi
  systemctl stop "hvcluster-net-apply-$run.service" 2>/dev/null || true
  network_down
  restore_file
  mark_reverted timer
  network_up || true
  ;;
boot)
  lock
  load || exit 0
  restore_file
  mark_reverted boot
  # netplan's generator ran before this unit: generate again from the restored files.
  if [ "$p_mode" = netplan ]; then netplan generate || true; fi
  ;;
confirm)
  run=$1 bridge=$2 mgmt=$3 gateway=$4 repl=$5 repl_cidr=$6 mtu=$7
  lock
  if [ -f "$state/reverted-$run" ]; then
    printf 'reverted %s\n' "$(cat "$state/reverted-$run")"
    exit 0
  fi
  if [ -f "$state/confirmed-$run" ]; then
    echo confirmed
    exit 0
  fi
  if ! load || [ "$p_run" != "$run" ]; then
    echo none
    exit 0
  fi
  active=$(systemctl show -p ActiveState --value "hvcluster-net-apply-$run.service")
  case "$active" in
  active | activating | reloading)
    echo applying
    exit 0
    ;;
  esac
  result=$(systemctl show -p Result --value "hvcluster-net-apply-$run.service")
  if [ "$result" != success ]; then
    printf 'apply-failed %s\n' "$result"
    exit 0
  fi
  missing=0
  if ! ip -o -4 addr show dev "$bridge" 2>/dev/null | grep -qF " inet $mgmt "; then
    printf 'missing address %s on %s\n' "$mgmt" "$bridge"
    missing=1
  fi
  if [ "$gateway" != - ] && ! ip -4 route show default 2>/dev/null | grep -qF "via $gateway "; then
    printf 'missing default route via %s\n' "$gateway"
    missing=1
  fi
  if ! ip -o -4 addr show dev "$repl" 2>/dev/null | grep -qF " inet $repl_cidr "; then
    printf 'missing address %s on %s\n' "$repl_cidr" "$repl"
    missing=1
  fi
  actual=$(ip -o link show dev "$repl" 2>/dev/null | sed -n 's/.* mtu \([0-9]*\) .*/\1/p')
  [ -n "$actual" ] || actual=none
  if [ "$actual" != "$mtu" ]; then
    printf 'missing mtu %s on %s (it is %s)\n' "$mtu" "$repl" "$actual"
    missing=1
  fi
  [ "$missing" = 0 ] || exit 0
  systemctl stop "hvcluster-net-revert-$run.timer" "hvcluster-net-revert-$run.service" 2>/dev/null || true
  rm -f "$p_staged"
  date -Is > "$state/confirmed-$run"
  rm -f "$pending"
  sync
  echo confirmed
  ;;
*)
  echo "usage: net-window.sh arm|apply|revert|boot|confirm ..." >&2
  exit 2
  ;;
esac
