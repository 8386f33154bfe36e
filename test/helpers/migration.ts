/** What `verify --migration-test` may leave on the lab's nodes, read straight from the VMs: must be nothing. */
import { expect } from 'vitest';
import type { LabHandle } from './lab.js';

/** The test guest, its DRBD resource, files and volume, and any Primary role on a node, one per line ('' when none). */
export async function migrationLeftovers(lab: LabHandle, node: string): Promise<string> {
  const r = await lab.ssh(
    node,
    'virsh list --all --name | grep -x hvc-migtest; drbdsetup show hvc-migtest >/dev/null 2>&1 && echo resource-up; ' +
      'ls /etc/drbd.d/hvc-migtest.res /var/lib/libvirt/boot/hvc-migtest.* 2>/dev/null; lvs --noheadings -o lv_name hvdata | grep -w hvc-migtest; ' +
      'grep -c "ro:Primary" /proc/drbd | grep -v "^0$"; true',
  );
  expect(r.code, r.stderr).toBe(0);
  return r.stdout.trim();
}

export async function expectNoMigrationLeftovers(lab: LabHandle): Promise<void> {
  for (const node of lab.nodes) expect(await migrationLeftovers(lab, node.name), node.name).toBe('');
}
