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

/**
 * Node trust is least privilege, and the migrations used it: on each node the only line that lets a
 * peer's root in (the lab's own login key aside) is the peer's migration key, from the peer's
 * addresses, restricted; and sshd logged the peer logging in with that key (this boot), never with
 * another one from the peer's addresses.
 */
export async function expectMigrationKeyLogins(lab: LabHandle): Promise<void> {
  const fingerprints = new Map<string, string>();
  for (const node of lab.nodes) {
    const peer = lab.nodes.find((n) => n.name !== node.name)!;
    const r = await lab.ssh(node.name, "grep -v 'hvcluster-lab$' /root/.ssh/authorized_keys; ssh-keygen -l -E sha256 -f /root/.ssh/hvcluster_migrate.pub | cut -d' ' -f2");
    const [line = '', fingerprint = ''] = r.stdout.trim().split('\n');
    expect(line, r.stderr).toMatch(new RegExp(`^from="${peer.management.address},${peer.replication.address}",restrict ssh-ed25519 \\S+ hvcluster-migrate@${peer.name}$`));
    fingerprints.set(node.name, fingerprint);
  }
  for (const node of lab.nodes) {
    const peer = lab.nodes.find((n) => n.name !== node.name)!;
    const log = await lab.ssh(node.name, "journalctl -q --no-pager -b -u ssh.service | grep 'Accepted publickey for root from' || true");
    const fromPeer = log.stdout.split('\n').filter((l) => [peer.management.address, peer.replication.address].some((a) => l.includes(` from ${a} `)));
    expect(fromPeer.length, `${node.name}: logins from ${peer.name}\n${log.stdout}`).toBeGreaterThan(0);
    expect(fromPeer.filter((l) => !l.includes(`ED25519 ${fingerprints.get(peer.name)}`)), log.stdout).toEqual([]);
  }
}
