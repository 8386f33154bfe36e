#!/bin/sh
# hvcluster: removes what `backup verify` made on a node: its scratch domain (destroyed: transient,
# it is then gone) and its scratch volumes. Only names hvcluster makes (hvc-bkverify-*); what is
# not there is skipped. Usage: sh -s -- VG DOMAIN LV...
LC_ALL=C; export LC_ALL
PATH=$PATH:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin; export PATH
[ $# -ge 2 ] || { echo 'usage: backup-verify-cleanup.sh VG DOMAIN LV...' >&2; exit 2; }
vg=$1 domain=$2
shift 2
case $domain in hvc-bkverify-*) ;; *) echo "$domain is not a scratch domain of backup verify" >&2; exit 3 ;; esac
if virsh domstate "$domain" >/dev/null 2>&1; then virsh destroy "$domain" >/dev/null || exit 1; fi
for lv in "$@"; do
  case $lv in hvc-bkverify-*) ;; *) echo "$lv is not a scratch volume of backup verify" >&2; exit 3 ;; esac
  if lvs "$vg/$lv" >/dev/null 2>&1; then lvremove -qy "$vg/$lv" >/dev/null || exit 1; fi
done
