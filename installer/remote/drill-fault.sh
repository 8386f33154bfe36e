#!/bin/sh
# hvcluster: the faults a drill puts on a node, each undone by a transient timer if the installer
# never undoes it (killed, or the node cut off from it), and undone at once by the matching verb.
# Usage:
#   drill-fault.sh links-down SECONDS IFACE...
#       Sets each IFACE down 2 s from now (detached: the SSH session that asked may run over one of
#       them) and up again after SECONDS. Prints `cut IFACE... restore-in SECONDS`.
#   drill-fault.sh links-up IFACE...
#       Cancels the restore timer and sets each IFACE up. Prints `up IFACE...`.
#   drill-fault.sh block ADDR SECONDS
#       Makes ADDR unreachable from this node (a blackhole host route: a BMC that does not answer),
#       removed after SECONDS. Prints `blocked ADDR restore-in SECONDS`.
#   drill-fault.sh unblock ADDR
#       Removes the route and its timer. Prints `unblocked ADDR`.
#   drill-fault.sh freeze SECONDS
#       A hung node: 2 s from now (detached: the SSH session that asked returns first) every process
#       but PID 1 is stopped (`kill -STOP -- -1` from a transient unit: kill(2) skips PID 1 and the
#       caller; kernel threads ignore SIGSTOP, so the kernel and DRBD run on). A transient timer set
#       first continues every process after SECONDS (`kill -CONT -- -1` run by systemd itself: no
#       shell, no journald or D-Bus needed, its output to /dev/null). Nothing answers meanwhile, sshd
#       included: only fencing (a power cycle) or that timer ends it. SECONDS >= 10. Prints
#       `freeze-in 2 thaw-in SECONDS`.
#   drill-fault.sh thaw
#       Cancels a freeze not yet done, continues every process, cancels the thaw timer (after a
#       reboot: nothing left to do). Prints `thawed` and, when the thaw timer was still pending,
#       ` timer-cancelled`.
# procps-ng's kill (Debian 12) exits 1 after `kill -STOP -1` although the signal went out; with
# `--` before the pid it exits 0. HVC_KILL names another kill (the unit tests).
set -eu

die() {
  echo "drill-fault.sh: $*" >&2
  exit 2
}

iface_ok() {
  case $1 in
    '' | *[!A-Za-z0-9_.:-]*) die "not an interface name: $1" ;;
  esac
  [ -e "/sys/class/net/$1" ] || die "no such interface: $1"
}

seconds_ok() {
  case $1 in
    '' | *[!0-9]*) die "not a number of seconds: $1" ;;
  esac
}

addr_ok() {
  case $1 in
    '' | *[!0-9.]*) die "not an IPv4 address: $1" ;;
  esac
}

unit_of() {
  printf 'hvcluster-drill-%s' "$(printf '%s' "$1" | tr -c 'A-Za-z0-9\n' '-')"
}

stop_unit() {
  systemctl stop "$1.timer" "$1.service" 2>/dev/null || true
  systemctl reset-failed "$1.timer" "$1.service" 2>/dev/null || true
}

ip_bin=$(command -v ip || echo /sbin/ip)
kill_bin=${HVC_KILL:-/bin/kill}
verb=${1:-}
[ $# -gt 0 ] && shift
case $verb in
  links-down)
    [ $# -ge 2 ] || die 'usage: links-down SECONDS IFACE...'
    seconds=$1
    shift
    seconds_ok "$seconds"
    down=''
    up=''
    for i in "$@"; do
      iface_ok "$i"
      down="$down $ip_bin link set dev $i down;"
      up="$up $ip_bin link set dev $i up;"
    done
    restore=$(unit_of links-restore)
    cut=$(unit_of links-cut)
    stop_unit "$restore"
    stop_unit "$cut"
    systemd-run --quiet --unit "$restore" --on-active="$seconds" --timer-property=AccuracySec=1s /bin/sh -c "$up"
    systemd-run --quiet --unit "$cut" --on-active=2 --timer-property=AccuracySec=100ms /bin/sh -c "$down"
    echo "cut $* restore-in $seconds"
    ;;
  links-up)
    [ $# -ge 1 ] || die 'usage: links-up IFACE...'
    for i in "$@"; do iface_ok "$i"; done
    stop_unit "$(unit_of links-cut)"
    stop_unit "$(unit_of links-restore)"
    for i in "$@"; do "$ip_bin" link set dev "$i" up; done
    echo "up $*"
    ;;
  block)
    [ $# -eq 2 ] || die 'usage: block ADDR SECONDS'
    addr_ok "$1"
    seconds_ok "$2"
    restore=$(unit_of "unblock-$1")
    stop_unit "$restore"
    "$ip_bin" route replace blackhole "$1/32"
    systemd-run --quiet --unit "$restore" --on-active="$2" --timer-property=AccuracySec=1s "$ip_bin" route del blackhole "$1/32"
    echo "blocked $1 restore-in $2"
    ;;
  unblock)
    [ $# -eq 1 ] || die 'usage: unblock ADDR'
    addr_ok "$1"
    stop_unit "$(unit_of "unblock-$1")"
    "$ip_bin" route del blackhole "$1/32" 2>/dev/null || true
    echo "unblocked $1"
    ;;
  freeze)
    [ $# -eq 1 ] || die 'usage: freeze SECONDS'
    seconds_ok "$1"
    [ "$1" -ge 10 ] || die "freeze $1: the thaw must come well after the freeze (2 s): give at least 10 seconds"
    [ -x "$kill_bin" ] || die "no $kill_bin: systemd must run kill itself (a shell's builtin would need a shell)"
    thaw=$(unit_of thaw)
    freeze=$(unit_of freeze)
    stop_unit "$freeze"
    stop_unit "$thaw"
    systemd-run --quiet --unit "$thaw" --on-active="$1" --timer-property=AccuracySec=1s \
      --property=StandardOutput=null --property=StandardError=null "$kill_bin" -CONT -- -1
    systemd-run --quiet --unit "$freeze" --on-active=2 --timer-property=AccuracySec=100ms "$kill_bin" -STOP -- -1
    echo "freeze-in 2 thaw-in $1"
    ;;
  thaw)
    [ $# -eq 0 ] || die 'usage: thaw'
    [ -x "$kill_bin" ] || die "no $kill_bin"
    thaw=$(unit_of thaw)
    stop_unit "$(unit_of freeze)"
    pending=''
    [ "$(systemctl show --property=SubState --value "$thaw.timer" 2>/dev/null)" = waiting ] && pending=' timer-cancelled'
    "$kill_bin" -CONT -- -1
    stop_unit "$thaw"
    echo "thawed$pending"
    ;;
  *) die "unknown verb: ${verb:-none} (links-down, links-up, block, unblock, freeze, thaw)" ;;
esac
