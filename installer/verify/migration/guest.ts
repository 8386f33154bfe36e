/**
 * The test guest, built from what every node already has: its own kernel, a static (or dynamic,
 * with its libraries) busybox and the virtio modules of that kernel, packed into a ~1.2 MB
 * initramfs whose init sets a static address on eth0 and serves HTTP with busybox httpd:
 *   /               "hvcluster migration test guest boot=<boot id>" (what the client probe polls)
 *   /cgi-bin/write  writes DATA_BYTES of random data to /dev/vda (the DRBD device; `?dev=vdb&at=8`:
 *                   the guest's second disk, 8 MiB in), flushes, drops the guest's caches and answers
 *                   `md5=<checksum of what is on the disk now>`
 *   /cgi-bin/check  drops the caches, re-reads the same bytes from the same disk and answers `md5=...`
 * Built with its agent (buildGuestScript's `agent`, the guests' end-to-end test), it also runs the
 * node's own qemu-ga on the `org.qemu.guest_agent.0` port when its domain has that channel, with a
 * freeze hook that does not return while /tmp/hang exists (an agent stuck mid-call):
 *   /cgi-bin/agent  `?hang` creates /tmp/hang, `?ok` removes it; answers `hang` or `ok`
 * Everything here is pure (scripts and XML as strings), tested in test/unit/verify/migration.test.ts.
 */
import { formatIpv4, inSubnet as inIpv4Subnet, networkOf, parseCidr, parseIpv4 } from '../../net/ipv4.js';
import { shellQuote } from '../../ssh/quote.js';

export const GUEST_NAME = 'hvc-migtest';
/** The DRBD resource (and LV) of the test guest's disk. */
export const TEST_RESOURCE = 'hvc-migtest';
/** Where the guest's kernel, initramfs, domain XML live on every node (libvirt's own boot directory). */
export const GUEST_DIR = '/var/lib/libvirt/boot';
export const GUEST_FILES = {
  kernel: `${GUEST_DIR}/${GUEST_NAME}.vmlinuz`,
  initrd: `${GUEST_DIR}/${GUEST_NAME}.initrd.img`,
  xml: `${GUEST_DIR}/${GUEST_NAME}.xml`,
  consoleLog: `/var/log/libvirt/qemu/${GUEST_NAME}-console.log`,
} as const;

/** The virtio modules, in load order (all modules in Debian's kernel; built-in ones are skipped). */
export const VIRTIO_MODULES = [
  'virtio',
  'virtio_ring',
  'virtio_pci_modern_dev',
  'virtio_pci_legacy_dev',
  'virtio_pci',
  'failover',
  'net_failover',
  'virtio_net',
  'virtio_blk',
  'virtio_console',
] as const;

/** qemu-ga's virtio port (the name libvirt gives the channel), and the test guest's freeze hook. */
export const AGENT_PORT = 'org.qemu.guest_agent.0';
const AGENT_HOOK = '/etc/qga-hook';

/** 4 MiB of test data, 64 blocks of 64 KiB. */
export const DATA_BLOCK = 65536;
export const DATA_BLOCKS = 64;
export const GUEST_BANNER = 'hvcluster migration test guest';

export interface Ipv4WithPrefix {
  address: string;
  prefix: number;
}

/** An address with prefix (`198.18.1.200/24`), the address kept as text; throws on anything else. */
export function ipv4WithPrefix(text: string): Ipv4WithPrefix {
  const { address, prefix } = parseCidr(text);
  return { address: formatIpv4(address), prefix };
}

/** Host number 200 of the subnet of `cidr` (a node's management address), with the same prefix. */
export function defaultGuestAddress(cidr: string): string {
  const parsed = parseCidr(cidr);
  if (2 ** (32 - parsed.prefix) < 256) throw new Error(`the management subnet /${parsed.prefix} is too small for a default test guest address; give one explicitly`);
  return `${formatIpv4(networkOf(parsed) + 200)}/${parsed.prefix}`;
}

/** Whether `address` is in the subnet of `cidr`. */
export function inSubnet(address: string, cidr: string): boolean {
  return inIpv4Subnet(parseIpv4(address), parseCidr(cidr));
}

/** A locally administered MAC derived from the guest address (02:68:76 = "hv"). */
export function guestMac(address: string): string {
  return `02:68:76:${address
    .split('.')
    .slice(1)
    .map((o) => Number(o).toString(16).padStart(2, '0'))
    .join(':')}`;
}

/** The init lines that start qemu-ga on its port, when the guest has the agent and its domain the channel. */
const START_AGENT = `if [ -x /bin/qemu-ga ]; then
  mkdir -p /var/run /run
  # in the background: the port appears with virtio_console, or never (a domain without the channel)
  (
    port=
    i=0
    while [ -z "$port" ] && [ $i -lt 100 ]; do
      for p in /sys/class/virtio-ports/*; do [ "$(cat "$p/name" 2>/dev/null)" = ${AGENT_PORT} ] && port=/dev/\${p##*/}; done
      [ -n "$port" ] || { sleep 0.1; i=$((i+1)); }
    done
    [ -n "$port" ] && exec qemu-ga -m virtio-serial -p "$port" -F${AGENT_HOOK} >/dev/ttyS0 2>&1
  ) &
fi`;

export function initScript(guest: Ipv4WithPrefix): string {
  return `#!/bin/busybox sh
# init of the hvcluster migration test guest (PID 1: never exits)
/bin/busybox mount -t proc proc /proc
/bin/busybox mount -t sysfs sysfs /sys
/bin/busybox mount -t devtmpfs devtmpfs /dev
/bin/busybox --install -s /bin
export PATH=/bin
for m in ${VIRTIO_MODULES.join(' ')}; do
  [ -e /lib/modules/$m.ko ] && insmod /lib/modules/$m.ko
done
i=0
while { [ ! -e /sys/class/net/eth0 ] || [ ! -e /dev/vda ]; } && [ $i -lt 200 ]; do sleep 0.1; i=$((i+1)); done
ip link set lo up
ip addr add ${guest.address}/${guest.prefix} dev eth0
ip link set eth0 up
boot=$(cat /proc/sys/kernel/random/boot_id)
echo "${GUEST_BANNER} boot=$boot" > /www/index.html
httpd -p 80 -h /www
${START_AGENT}
arping -U -c 2 -I eth0 ${guest.address} >/dev/null 2>&1 &
echo "${GUEST_BANNER} ready: ${guest.address} boot=$boot" > /dev/ttyS0
while true; do sleep 3600; done
`;
}

/** Where a CGI works: /dev/vda from its start, or the disk and offset its query names (`?dev=vdb&at=8`: MiB). */
const CGI_DISK = `dev=vda
at=0
for kv in $(echo "$QUERY_STRING" | tr '&' ' '); do
  case $kv in
    dev=vd[a-z]) dev=\${kv#dev=} ;;
    at=[0-9]|at=[0-9][0-9]|at=[0-9][0-9][0-9]) at=\${kv#at=} ;;
  esac
done
skip=$((at * ${(1024 * 1024) / DATA_BLOCK}))`;

const READ_BACK = `sync; echo 3 > /proc/sys/vm/drop_caches
echo "md5=$(dd if=/dev/$dev bs=${DATA_BLOCK} skip=$skip count=${DATA_BLOCKS} 2>/dev/null | md5sum | cut -d' ' -f1)"`;

export const WRITE_CGI = `#!/bin/sh
printf 'Content-Type: text/plain\\r\\n\\r\\n'
${CGI_DISK}
dd if=/dev/urandom of=/dev/$dev bs=${DATA_BLOCK} seek=$skip count=${DATA_BLOCKS} conv=fsync 2>/dev/null || { echo write-failed; exit 0; }
${READ_BACK}
`;

export const CHECK_CGI = `#!/bin/sh
printf 'Content-Type: text/plain\\r\\n\\r\\n'
${CGI_DISK}
${READ_BACK}
`;

/** qemu-ga runs it before a freeze and after a thaw: it does not return while /tmp/hang exists. */
export const AGENT_HOOK_SCRIPT = `#!/bin/sh
while [ -e /tmp/hang ]; do sleep 1; done
exit 0
`;

export const AGENT_CGI = `#!/bin/sh
printf 'Content-Type: text/plain\\r\\n\\r\\n'
case "$QUERY_STRING" in
  hang) : > /tmp/hang ;;
  ok) rm -f /tmp/hang ;;
esac
if [ -e /tmp/hang ]; then echo hang; else echo ok; fi
`;

/** `md5=...` of a CGI answer, or null. */
export function parseMd5(body: string): string | null {
  return /md5=([0-9a-f]{32})/.exec(body)?.[1] ?? null;
}

/** The boot id in the guest's index page, or null. */
export function parseBootId(body: string): string | null {
  return body.includes(GUEST_BANNER) ? (/boot=([0-9a-f-]{36})/.exec(body)?.[1] ?? null) : null;
}

function heredoc(path: string, content: string, mode: string): string {
  const marker = 'HVC_MIGTEST_EOF';
  if (content.includes(marker)) throw new Error('heredoc marker inside content');
  return `cat > "$W${path}" <<'${marker}'\n${content}${content.endsWith('\n') ? '' : '\n'}${marker}\nchmod ${mode} "$W${path}"`;
}

/** Copies a binary of the node and the libraries it loads into the initramfs at $W. */
const copyWithLibs = (binary: string, to: string) => `cp "${binary}" "$W${to}"
if ldd "${binary}" >/dev/null 2>&1; then
  for lib in $(ldd "${binary}" | grep -o '/[^ ]*'); do mkdir -p "$W$(dirname "$lib")"; cp -L "$lib" "$W$lib"; done
fi`;

/**
 * The shell script that builds the guest's kernel and initramfs on a node (as root). Exit 3: no
 * busybox on the node; 5: `agent` asked for and no qemu-ga on the node. Prints `kernel=RELEASE` and
 * `initrd=BYTES` on success.
 */
export function buildGuestScript(guest: Ipv4WithPrefix, options: { agent?: boolean } = {}): string {
  return `set -eu
KVER=$(uname -r)
BB=$(command -v busybox || true)
[ -n "$BB" ] || { echo "busybox is not installed" >&2; exit 3; }
[ -r "/boot/vmlinuz-$KVER" ] || { echo "/boot/vmlinuz-$KVER is missing" >&2; exit 4; }
W=$(mktemp -d /tmp/${GUEST_NAME}.XXXXXX)
trap 'rm -rf "$W"' EXIT
mkdir -p "$W/bin" "$W/lib/modules" "$W/proc" "$W/sys" "$W/dev" "$W/tmp" "$W/www/cgi-bin"
# a dynamic busybox brings its libraries
${copyWithLibs('$BB', '/bin/busybox')}${
    options.agent
      ? `
QGA=$(command -v qemu-ga || echo /usr/sbin/qemu-ga)
[ -x "$QGA" ] || { echo "qemu-ga is not installed (package qemu-guest-agent)" >&2; exit 5; }
mkdir -p "$W/etc"
${copyWithLibs('$QGA', '/bin/qemu-ga')}
${heredoc(AGENT_HOOK, AGENT_HOOK_SCRIPT, '755')}
${heredoc('/www/cgi-bin/agent', AGENT_CGI, '755')}`
      : ''
  }
for m in ${VIRTIO_MODULES.join(' ')}; do
  f=$(modinfo -k "$KVER" -n "$m" 2>/dev/null || true)
  case "$f" in
    *.ko) cp "$f" "$W/lib/modules/$m.ko" ;;
    *.ko.xz) xz -dc "$f" > "$W/lib/modules/$m.ko" ;;
    *.ko.zst) zstd -dcq "$f" > "$W/lib/modules/$m.ko" ;;
    *) ;; # built into the kernel
  esac
done
${heredoc('/init', initScript(guest), '755')}
${heredoc('/www/cgi-bin/write', WRITE_CGI, '755')}
${heredoc('/www/cgi-bin/check', CHECK_CGI, '755')}
mkdir -p ${shellQuote(GUEST_DIR)}
if command -v cpio >/dev/null 2>&1; then CPIO="cpio --quiet -o -H newc"; else CPIO="$W/bin/busybox cpio -o -H newc"; fi
(cd "$W" && find . | $CPIO | gzip -1) > ${shellQuote(`${GUEST_FILES.initrd}.tmp`)}
cp "/boot/vmlinuz-$KVER" ${shellQuote(`${GUEST_FILES.kernel}.tmp`)}
chmod 644 ${shellQuote(`${GUEST_FILES.initrd}.tmp`)} ${shellQuote(`${GUEST_FILES.kernel}.tmp`)}
mv -f ${shellQuote(`${GUEST_FILES.initrd}.tmp`)} ${shellQuote(GUEST_FILES.initrd)}
mv -f ${shellQuote(`${GUEST_FILES.kernel}.tmp`)} ${shellQuote(GUEST_FILES.kernel)}
echo "kernel=$KVER"
echo "initrd=$(stat -c %s ${shellQuote(GUEST_FILES.initrd)})"
`;
}

export interface DomainSpec {
  name: string;
  memoryMiB: number;
  device: string;
  bridge: string;
  mac: string;
}

/** The libvirt domain: KVM, direct kernel boot, the DRBD device as virtio disk without host cache, a NIC on the bridge. */
export function domainXml(spec: DomainSpec): string {
  return `<domain type='kvm'>
  <name>${spec.name}</name>
  <description>hvcluster migration test guest: removed by the test itself; safe to destroy and undefine</description>
  <memory unit='MiB'>${spec.memoryMiB}</memory>
  <vcpu>1</vcpu>
  <os>
    <type arch='x86_64' machine='pc'>hvm</type>
    <kernel>${GUEST_FILES.kernel}</kernel>
    <initrd>${GUEST_FILES.initrd}</initrd>
    <cmdline>console=ttyS0 panic=-1 net.ifnames=0 quiet</cmdline>
  </os>
  <features><acpi/></features>
  <on_poweroff>destroy</on_poweroff>
  <on_reboot>destroy</on_reboot>
  <on_crash>destroy</on_crash>
  <devices>
    <disk type='block' device='disk'>
      <driver name='qemu' type='raw' cache='none' io='native'/>
      <source dev='${spec.device}'/>
      <target dev='vda' bus='virtio'/>
    </disk>
    <interface type='bridge'>
      <source bridge='${spec.bridge}'/>
      <mac address='${spec.mac}'/>
      <model type='virtio'/>
    </interface>
    <serial type='pty'>
      <log file='${GUEST_FILES.consoleLog}' append='off'/>
    </serial>
    <console type='pty'/>
    <memballoon model='none'/>
  </devices>
</domain>
`;
}
