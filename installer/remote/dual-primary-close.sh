#!/bin/sh
# hvcluster: closes a DRBD resource's dual-primary window on this node when the installer does not
# (it was killed, its connection cut, its machine gone). The installer arms it before it allows two
# primaries and disarms it once it has closed the window itself.
# Usage (as root, from its copy on the server: the timer runs that copy):
#   sh /run/hvcluster/dual-primary-close.sh arm RESOURCE SECONDS [CLONE]
#       (re)arms the transient timer hvcluster-dual-primary-RESOURCE: in SECONDS, `close RESOURCE
#       [CLONE]` runs as a systemd service; prints `armed UNIT SECONDS`
#   sh /run/hvcluster/dual-primary-close.sh disarm RESOURCE
#       stops that timer (and a close already running); prints `disarmed UNIT`
#   sh /run/hvcluster/dual-primary-close.sh close RESOURCE [CLONE]
#       what the timer runs. On an HA cluster CLONE is the resource's Pacemaker clone: its
#       promoted-max goes back to 1 first (Pacemaker then demotes the node without the guest).
#       Then, until the window is closed here (or RETRY_S seconds have passed):
#       if RESOURCE is Primary and DRBD lets it go (DRBD refuses while its device is open, i.e. a
#       guest uses it), demote it to Secondary; then forbid two primaries, in the running resource
#       (drbdadm net-options) and in /etc/drbd.d/RESOURCE.res (so no adjust or reboot reopens it).
#       DRBD refuses to forbid two primaries while both sides are Primary: a migration still in
#       flight keeps both devices open, so it retries until that migration has ended either way.
#       Safe whether the migration finished, failed or never started; a resource that is not up
#       only gets its file corrected. Every action goes to the journal (logger -t hvcluster).
#       Exit 0: closed (or nothing to close); 1: still open after RETRY_S (the journal says why).
LC_ALL=C; export LC_ALL
PATH=$PATH:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin; export PATH
RETRY_S=${HVC_CLOSE_RETRY_S:-900}
mode=$1
res=$2
unit=hvcluster-dual-primary-$res
case "$mode" in
  arm) clone=${4:-} ;;
  *) clone=${3:-} ;;
esac

log() {
  logger -t hvcluster -- "dual-primary window of $res: $*" 2>/dev/null || true
  printf '%s\n' "$*"
}

case "$mode" in
  arm)
    seconds=$3
    systemctl stop "$unit.timer" "$unit.service" >/dev/null 2>&1 || true
    systemctl reset-failed "$unit.timer" "$unit.service" >/dev/null 2>&1 || true
    systemd-run --quiet --unit="$unit" --on-active="$seconds" --timer-property=RemainAfterElapse=no \
      --description="hvcluster: close the dual-primary window of DRBD resource $res" \
      /bin/sh "$0" close "$res" "$clone" || { echo "systemd-run could not arm $unit" >&2; exit 1; }
    logger -t hvcluster -- "dual-primary window of $res: timer $unit armed, closes it in $seconds s unless disarmed" 2>/dev/null || true
    echo "armed $unit $seconds"
    exit 0
    ;;
  disarm)
    systemctl stop "$unit.timer" "$unit.service" >/dev/null 2>&1 || true
    systemctl reset-failed "$unit.timer" "$unit.service" >/dev/null 2>&1 || true
    echo "disarmed $unit"
    exit 0
    ;;
  close) ;;
  *)
    echo "usage: $0 arm RESOURCE SECONDS | disarm RESOURCE | close RESOURCE" >&2
    exit 2
    ;;
esac

if [ -n "$clone" ]; then
  if out=$(crm_resource --resource "$clone" --meta --set-parameter promoted-max --parameter-value 1 2>&1); then
    log "promoted-max of $clone set back to 1 (Pacemaker demotes the node without the guest)"
  else
    log "could not set promoted-max of $clone back to 1: $(printf '%s' "$out" | tr '\n' ' ')"
  fi
fi
file=${HVC_DRBD_DIR:-/etc/drbd.d}/$res.res
if [ -f "$file" ] && grep -q 'allow-two-primaries[[:space:]]*yes' "$file"; then
  sed -i 's/allow-two-primaries\([[:space:]]*\)yes/allow-two-primaries\1no/' "$file"
  log "set allow-two-primaries no in $file"
fi
if ! drbdsetup show "$res" >/dev/null 2>&1; then
  log "resource not up here: nothing else to close"
  exit 0
fi

start=$(date +%s)
said=
while :; do
  role=$(drbdadm role "$res" 2>/dev/null || true)
  case "$role" in
    Primary*)
      if out=$(drbdadm secondary "$res" 2>&1); then
        log "demoted to Secondary (was $role; no guest had its device open)"
        role=$(drbdadm role "$res" 2>/dev/null || true)
      elif [ -z "$said" ]; then
        log "stays Primary ($role): DRBD refused to demote it, its device is in use: $(printf '%s' "$out" | tr '\n' ' ')"
        said=1
      fi
      ;;
  esac
  if ! drbdsetup show "$res" 2>/dev/null | grep -q 'allow-two-primaries[[:space:]]*yes'; then
    log "closed: two primaries are not allowed (role here: ${role:-unknown})"
    exit 0
  fi
  if out=$(drbdadm net-options --allow-two-primaries=no "$res" 2>&1); then
    log "closed: allow-two-primaries set to no (role here: ${role:-unknown})"
    exit 0
  fi
  if [ $(($(date +%s) - start)) -ge "$RETRY_S" ]; then
    log "still open after ${RETRY_S} s (role here: ${role:-unknown}): $(printf '%s' "$out" | tr '\n' ' ')"
    exit 1
  fi
  sleep 3
done
