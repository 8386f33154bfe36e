#!/bin/sh
# hvcluster: the node's watchdog and sbd, for the watchdog fencing level (read-only).
# Usage: sh -s -- DEVICE CONFIG
# Prints `sbd KEY VALUE` lines:
#   device present|missing       DEVICE is a character device
#   identity TEXT                the watchdog driver's identity (sysfs), `-` when unknown
#   max-timeout SECONDS          the longest timeout the driver accepts, `-` when it does not say
#   holders PID:NAME,...         processes other than sbd holding DEVICE (or its watchdogN) open, `-` for none
#   systemd-runtime USEC         systemd's RuntimeWatchdogUSec (a systemd feeding the watchdog holds it), `-` unknown
#   enabled yes|no               sbd.service enabled (RequiredBy corosync.service)
#   active yes|no                sbd.service active
#   config current|newer|missing whether CONFIG changed after sbd started (sbd reads it when it starts)
set -u
LC_ALL=C; export LC_ALL
device=$1 config=$2
if [ -c "$device" ]; then echo 'sbd device present'; else echo 'sbd device missing'; fi
real=$(readlink -f "$device" 2>/dev/null || echo "$device")
name=${real##*/}
# /dev/watchdog is the legacy node of watchdog0.
[ "$name" = watchdog ] && name=watchdog0
sys=/sys/class/watchdog/$name
if [ -r "$sys/identity" ]; then echo "sbd identity $(cat "$sys/identity")"; else echo 'sbd identity -'; fi
if [ -r "$sys/max_timeout" ]; then echo "sbd max-timeout $(cat "$sys/max_timeout")"; else echo 'sbd max-timeout -'; fi
holders=
for fd in /proc/[0-9]*/fd/*; do
  target=$(readlink "$fd" 2>/dev/null) || continue
  case $target in
    "$real" | /dev/watchdog | "/dev/$name")
      pid=${fd#/proc/}; pid=${pid%%/*}
      comm=$(cat "/proc/$pid/comm" 2>/dev/null || echo '?')
      [ "$comm" = sbd ] && continue
      case ",$holders," in *",$pid:$comm,"*) ;; *) holders=${holders:+$holders,}$pid:$comm ;; esac
      ;;
  esac
done
echo "sbd holders ${holders:--}"
runtime=$(systemctl show -p RuntimeWatchdogUSec --value 2>/dev/null)
echo "sbd systemd-runtime ${runtime:--}"
if systemctl is-enabled --quiet sbd.service 2>/dev/null; then echo 'sbd enabled yes'; else echo 'sbd enabled no'; fi
if systemctl is-active --quiet sbd.service; then
  echo 'sbd active yes'
  started=$(systemctl show -p ActiveEnterTimestamp --value sbd.service 2>/dev/null)
  since=$(date -d "$started" +%s 2>/dev/null || echo 0)
  if [ ! -e "$config" ]; then echo 'sbd config missing'
  elif [ "$(stat -c %Y "$config")" -gt "$since" ]; then echo 'sbd config newer'
  else echo 'sbd config current'; fi
else
  echo 'sbd active no'
  if [ -e "$config" ]; then echo 'sbd config current'; else echo 'sbd config missing'; fi
fi
