// The image recipe: everything that decides the content of the cached images lives in this file.
// Its text (plus the host's apt sources and the lab public key) is hashed into the cache key, so
// editing it triggers a rebuild and nothing else does.

/** Bump to force a rebuild when image.ts mechanics change in a way that matters. */
export const RECIPE_VERSION = 5;
export const SUITE = 'bookworm';

/** debootstrap --variant=minbase --include=... */
export const DEBOOTSTRAP_INCLUDE = [
  'openssh-server', 'systemd-sysv', 'udev', 'kmod', 'iproute2', 'ifupdown', 'iputils-ping',
  'linux-image-amd64', 'ca-certificates', 'procps', 'sudo', 'lvm2', 'ethtool', 'pciutils',
  'dmidecode', 'gdisk', 'parted', 'less',
];

/** Downloaded (not installed) into /var/cache/apt/archives so `apt-get install --no-download` works offline. */
export const OFFLINE_PACKAGES = [
  'drbd-utils', 'qemu-system-x86', 'qemu-utils', 'libvirt-daemon-system', 'libvirt-clients', 'chrony',
  'lvm2', 'busybox-static', 'bridge-utils', 'ifenslave', 'vlan', 'pacemaker', 'corosync',
  'corosync-qdevice', 'corosync-qnetd', 'resource-agents', 'fence-agents', 'ipmitool', 'crmsh',
  'thin-provisioning-tools', 'qemu-guest-agent', 'borgbackup', 'nfs-common', 'nfs-kernel-server', 'sbd',
];

/**
 * Installed in the "prepared" layer (services not started in the chroot). fence-agents does not
 * depend on ipmitool, which fence_ipmilan needs. corosync-qnetd is for the witness VM: disabled in the
 * image, the lab enables it on the witness only. The HA stack (pacemaker, corosync, corosync-qdevice,
 * resource-agents, crmsh) is installed but its services are disabled (HA_UNITS): the installer finds
 * it "installed, not configured" and an HA e2e skips the package step. qemu-guest-agent is not for
 * the nodes themselves: the test guest runs the node's qemu-ga (test/helpers/guest-image.ts). The
 * backups' packages: borgbackup and nfs-common on the nodes, nfs-kernel-server for the witness, which
 * serves the lab's backup repository (its service disabled in the image).
 */
export const PREPARED_PACKAGES = [
  'drbd-utils', 'qemu-system-x86', 'qemu-utils', 'libvirt-daemon-system', 'libvirt-clients', 'chrony',
  'lvm2', 'busybox-static', 'bridge-utils', 'fence-agents', 'ipmitool', 'corosync-qnetd',
  'pacemaker', 'corosync', 'corosync-qdevice', 'resource-agents', 'crmsh',
  'qemu-guest-agent', 'borgbackup', 'nfs-common', 'nfs-kernel-server',
];

/**
 * Services of the prepared layer that must not run at boot: the packages enable them (Debian's corosync
 * would start with its default one-node corosync.conf, which is left in place as the package ships it).
 */
export const DISABLED_UNITS = [
  'corosync-qnetd.service', 'corosync.service', 'pacemaker.service', 'corosync-qdevice.service',
  'nfs-server.service', 'rpcbind.service', 'rpcbind.socket',
];

/**
 * Units masked for a fast, quiet boot (masking a unit that does not exist is harmless). A boot is
 * emulated work every lab pays again and again (each lab's first boot, every fenced or power-cycled
 * node): systemd-analyze blame on a prepared node put exim4 (pulled in as the recommended mail
 * transport) at 8.6 s and openipmi (local IPMI drivers; fencing goes over the network to the BMC) at
 * 4.7 s of a 24 s userspace boot. logd is cluster-glue's logging daemon, which Pacemaker 2 does not use.
 */
export const MASKED_UNITS = [
  'apt-daily.timer', 'apt-daily-upgrade.timer', 'apt-daily.service', 'apt-daily-upgrade.service',
  'man-db.timer', 'e2scrub_all.timer', 'e2scrub_reap.service', 'fstrim.timer',
  'systemd-networkd-wait-online.service', 'getty@tty1.service', 'systemd-timesyncd.service',
  'exim4.service', 'exim4-base.timer', 'exim4-base.service', 'openipmi.service', 'logd.service',
  'dpkg-db-backup.timer', 'logrotate.timer',
];

const FIRSTBOOT_SH = `#!/bin/sh
# hvlab first boot: identity from the kernel command line (hvlab.hostname, hvlab.mgmt, hvlab.repl;
# no hvlab.repl: a management NIC only, as on the witness).
set -eu
arg() { for w in $(cat /proc/cmdline); do case "$w" in "$1="*) echo "\${w#*=}";; esac; done; }
name=$(arg hvlab.hostname); mgmt=$(arg hvlab.mgmt); repl=$(arg hvlab.repl)
[ -n "$name" ] || exit 0
echo "$name" > /etc/hostname
echo "$name" > /proc/sys/kernel/hostname
cat > /etc/hosts <<EOT
127.0.0.1	localhost
\${mgmt%/*}	$name

::1	localhost ip6-localhost ip6-loopback
ff02::1	ip6-allnodes
ff02::2	ip6-allrouters
EOT
cat > /etc/network/interfaces <<EOT
# This file describes the network interfaces available on your system
# and how to activate them. For more information, see interfaces(5).

source /etc/network/interfaces.d/*

# The loopback network interface
auto lo
iface lo inet loopback

# management
auto ens3
iface ens3 inet static
	address $mgmt
EOT
if [ -n "$repl" ]; then
	cat >> /etc/network/interfaces <<EOT

# replication
auto ens4
iface ens4 inet static
	address $repl
EOT
fi
touch /var/lib/hvlab-firstboot.done
`;

const FIRSTBOOT_UNIT = `[Unit]
Description=hvlab first boot identity (hostname, addresses)
DefaultDependencies=no
After=local-fs.target
Before=network-pre.target networking.service ssh.service sysinit.target
Wants=network-pre.target
ConditionPathExists=!/var/lib/hvlab-firstboot.done

[Service]
Type=oneshot
RemainAfterExit=yes
ExecStart=/usr/local/sbin/hvlab-firstboot

[Install]
WantedBy=sysinit.target
`;

/**
 * Per-VM host keys: generated before sshd's own config test; fingerprints echoed to the console.
 * ED25519 (the one the lab pins) and ECDSA only: an RSA 3072 key took 4 s of emulated CPU at each
 * VM's first boot (sshd_config below names the two keys).
 */
const SSH_DROPIN = `[Service]
ExecStartPre=
ExecStartPre=/bin/sh -c 'for t in ed25519 ecdsa; do f=/etc/ssh/ssh_host_"$t"_key; [ -s "$f" ] || ssh-keygen -q -t "$t" -N "" -f "$f"; done'
ExecStartPre=/bin/sh -c 'for k in /etc/ssh/ssh_host_*_key.pub; do echo "hvlab-hostkey: $(ssh-keygen -lf $k)"; done > /dev/ttyS0 2>&1 || true'
ExecStartPre=/usr/sbin/sshd -t
`;

/**
 * The BMC network (hvlab.bmcnet, reached through the lab host hvlab.bmcvia): an ifupdown hook adds
 * the route each time an interface comes up, so it follows the management address when the
 * installer moves it from ens3 onto a bridge.
 */
const BMC_ROUTE_HOOK = `#!/bin/sh
# hvlab: route to the lab's BMC network through the lab host (from the kernel command line).
net=""; via=""
for w in $(cat /proc/cmdline); do
	case "$w" in
	hvlab.bmcnet=*) net=\${w#*=} ;;
	hvlab.bmcvia=*) via=\${w#*=} ;;
	esac
done
[ -n "$net" ] && [ -n "$via" ] || exit 0
ip route replace "$net" via "$via" 2>/dev/null || true
exit 0
`;

const SSHD_CONF = `# hvlab: root by key only; the host keys the first boot makes (SSH_DROPIN)
HostKey /etc/ssh/ssh_host_ed25519_key
HostKey /etc/ssh/ssh_host_ecdsa_key
PermitRootLogin prohibit-password
PasswordAuthentication no
KbdInteractiveAuthentication no
UseDNS no
`;

export const GUEST_PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';

/** Files written into the root filesystem (path -> content, mode). */
export function guestFiles(pubkey: string): Array<{ path: string; content: string; mode: number }> {
  return [
    { path: '/usr/local/sbin/hvlab-firstboot', content: FIRSTBOOT_SH, mode: 0o755 },
    { path: '/etc/systemd/system/hvlab-firstboot.service', content: FIRSTBOOT_UNIT, mode: 0o644 },
    { path: '/etc/systemd/system/ssh.service.d/hvlab-hostkeys.conf', content: SSH_DROPIN, mode: 0o644 },
    { path: '/etc/ssh/sshd_config.d/hvlab.conf', content: SSHD_CONF, mode: 0o644 },
    { path: '/etc/network/if-up.d/hvlab-bmc-route', content: BMC_ROUTE_HOOK, mode: 0o755 },
    { path: '/root/.ssh/authorized_keys', content: pubkey.trim() + '\n', mode: 0o600 },
    { path: '/etc/fstab', content: '/dev/vda\t/\text4\trw,errors=remount-ro\t0\t1\n', mode: 0o644 },
    { path: '/etc/hostname', content: 'localhost\n', mode: 0o644 },
    { path: '/etc/environment', content: `PATH="${GUEST_PATH}"\n`, mode: 0o644 },
    { path: '/root/.bashrc', content: `export PATH=${GUEST_PATH}\nPS1='\\h:\\w\\$ '\n`, mode: 0o644 },
    { path: '/root/.profile', content: `export PATH=${GUEST_PATH}\n[ -n "$BASH" ] && [ -f ~/.bashrc ] && . ~/.bashrc\n`, mode: 0o644 },
    { path: '/etc/default/locale', content: 'LANG=C.UTF-8\n', mode: 0o644 },
    // No IPv6 in the lab: no multicast (ND, MLD) on the lab bridges.
    { path: '/etc/sysctl.d/90-hvlab.conf', content: 'net.ipv6.conf.all.disable_ipv6 = 1\nnet.ipv6.conf.default.disable_ipv6 = 1\n', mode: 0o644 },
    { path: '/etc/apt/apt.conf.d/90hvlab', content: 'Acquire::Languages "none";\nAPT::Periodic::Enable "0";\n', mode: 0o644 },
    { path: '/etc/network/interfaces', content: 'source /etc/network/interfaces.d/*\nauto lo\niface lo inet loopback\n', mode: 0o644 },
  ];
}

/** Bash run inside the chroot after the files are written: apt sources, offline cache, boot tuning. */
export function baseChrootScript(): string {
  return `
export DEBIAN_FRONTEND=noninteractive LC_ALL=C PATH=${GUEST_PATH}
apt-get update
apt-get install --download-only -y ${OFFLINE_PACKAGES.join(' ')}
systemctl enable hvlab-firstboot.service
# The lab boots the kernel and initramfs copied out of the image (image.ts), never the VM's own
# /boot: a package trigger rebuilding the initramfs inside a VM (busybox-static, drbd-utils, lvm2 run
# it) is emulated work for nothing, measured at 11 minutes under TCG. Man pages and docs likewise.
# A small initramfs (the lab's is unpacked and run, emulated, at every boot): the modules that mount
# the root filesystem (virtio disk, ext4), not MODULES=most's 39 MB of drivers for any hardware.
printf 'MODULES=list\n' > /etc/initramfs-tools/conf.d/hvlab-modules
printf 'virtio_pci\nvirtio_blk\next4\n' >> /etc/initramfs-tools/modules
update-initramfs -u -k all
sed -i 's/^update_initramfs=.*/update_initramfs=no/' /etc/initramfs-tools/update-initramfs.conf
grep -qx 'update_initramfs=no' /etc/initramfs-tools/update-initramfs.conf
printf 'path-exclude /usr/share/man/*\npath-exclude /usr/share/doc/*\npath-include /usr/share/doc/*/copyright\n' > /etc/dpkg/dpkg.cfg.d/90hvlab-nodoc
echo 'man-db man-db/auto-update boolean false' | debconf-set-selections
for u in ${MASKED_UNITS.join(' ')}; do ln -sf /dev/null /etc/systemd/system/$u; done
rm -f /etc/ssh/ssh_host_*
: > /etc/machine-id
rm -f /var/lib/dbus/machine-id
chmod 700 /root/.ssh
passwd -l root >/dev/null
`;
}

/** Bash run inside a copy of the base chroot to make the prepared layer. */
export function preparedChrootScript(): string {
  return `
export DEBIAN_FRONTEND=noninteractive LC_ALL=C PATH=${GUEST_PATH}
apt-get install --no-download -y ${PREPARED_PACKAGES.join(' ')}
# libvirt's default NAT network would put 192.168.122.0/24 on the nodes: the lab uses only 198.18.0.0/15.
rm -f /etc/libvirt/qemu/networks/autostart/default.xml
# corosync-qnetd only runs on the witness (the lab enables it there); the HA stack is installed, not
# configured: the installer (or the HA e2e) enables it.
systemctl disable ${DISABLED_UNITS.join(' ')}
# Installing packages may have made a machine-id: every VM must make its own at first boot (systemd
# derives MAC addresses of bridges from it; clones sharing one put the same MAC on every node).
: > /etc/machine-id
rm -f /var/lib/dbus/machine-id
`;
}
