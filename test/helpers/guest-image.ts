/**
 * A bootable disk image of the test guest for the guests' end-to-end test: the migration test's own
 * guest (a node's kernel and a busybox initramfs serving HTTP on a fixed address, built on a lab
 * node by buildGuestScript) with the node's qemu-ga as its guest agent, put on a FAT filesystem with syslinux as its boot loader, on the lab
 * host, as a customer's image would arrive: a file on the installer's machine (raw or qcow2).
 */
import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { buildGuestScript, GUEST_FILES, ipv4WithPrefix } from '../../installer/verify/migration/guest.js';
import type { LabHandle } from './lab.js';

function run(argv: string[]): void {
  const r = spawnSync(argv[0]!, argv.slice(1), { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`${argv.join(' ')}: exit ${r.status}: ${r.stderr}`);
}

const SYSLINUX_CFG = `DEFAULT guest
PROMPT 0
TIMEOUT 0
LABEL guest
  KERNEL vmlinuz
  INITRD initrd.img
  APPEND console=ttyS0 panic=-1 net.ifnames=0 quiet
`;

/**
 * Builds the image in `dir` (`NAME.raw`, or converted to `NAME.qcow2`): the guest answers HTTP on
 * `address` (CIDR) once booted. The kernel and initramfs are built on `node` and read back over SSH.
 */
export async function bootableGuestImage(lab: LabHandle, node: string, address: string, dir: string, name: string, format: 'raw' | 'qcow2'): Promise<string> {
  const built = await lab.ssh(node, buildGuestScript(ipv4WithPrefix(address), { agent: true }), { timeoutMs: 120_000 });
  if (built.code !== 0) throw new Error(`building the test guest on ${node}: exit ${built.code}: ${built.stderr}`);
  const fetch = async (path: string) => {
    const r = await lab.ssh(node, `base64 -w0 ${path}`, { timeoutMs: 120_000 });
    if (r.code !== 0) throw new Error(`reading ${path} on ${node}: ${r.stderr}`);
    return Buffer.from(r.stdout.trim(), 'base64');
  };
  const kernel = join(dir, `${name}.vmlinuz`);
  const initrd = join(dir, `${name}.initrd.img`);
  const cfg = join(dir, `${name}.syslinux.cfg`);
  writeFileSync(kernel, await fetch(GUEST_FILES.kernel));
  writeFileSync(initrd, await fetch(GUEST_FILES.initrd));
  writeFileSync(cfg, SYSLINUX_CFG);
  await lab.ssh(node, `rm -f ${GUEST_FILES.kernel} ${GUEST_FILES.initrd}`);
  const raw = join(dir, `${name}.raw`);
  // A 24 MiB FAT filesystem over the whole disk (no partition table): SeaBIOS boots its first sector, syslinux's.
  run(['mkfs.vfat', '-C', '-n', 'GUEST', raw, String(24 * 1024)]);
  run(['syslinux', '--install', raw]);
  run(['mcopy', '-i', raw, kernel, '::vmlinuz']);
  run(['mcopy', '-i', raw, initrd, '::initrd.img']);
  run(['mcopy', '-i', raw, cfg, '::syslinux.cfg']);
  if (format === 'raw') return raw;
  const qcow2 = join(dir, `${name}.qcow2`);
  run(['qemu-img', 'convert', '-f', 'raw', '-O', 'qcow2', raw, qcow2]);
  return qcow2;
}
