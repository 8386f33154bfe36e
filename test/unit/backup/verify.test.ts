/** `backup verify`'s scratch domain (from the set's own XML) and where its scratch volumes go. */
import { describe, expect, it } from 'vitest';
import { scratchDomainXml, verifyFailed, verifyNode } from '../../../installer/backup/verify.js';
import { parseSnapshotState } from '../../../installer/snapshots/state.js';
import { TemplateEnvironment } from '../../../installer/render/environment.js';

const MIB = 2 ** 20;
const node = (freeMiB: number) => ({ snapshots: parseSnapshotState(`vgfree ${freeMiB * MIB}\n`) });

describe('backup verify', () => {
  it("boots the set's own domain renamed, without UUID or network, each disk on its scratch volume", () => {
    const xml = new TemplateEnvironment().render('guest-domain.xml.hbs', {
      name: 'db', cluster: 'lab', holders: ['hv1', 'hv2'], uuid: '0a2b6a1e-0000-4000-8000-000000000001', ha: false, memoryMiB: 128, vcpus: 1, machine: 'q35', boot: ['hd'], cpuModel: 'qemu64',
      disks: [{ resource: 'db-disk0', device: '/dev/drbd10', target: 'vda' }, { resource: 'db-disk1', device: '/dev/drbd11', target: 'vdb' }],
      nics: [{ bridge: 'br0', mac: '52:54:00:aa:bb:cc' }],
    });
    const scratch = scratchDomainXml(xml, 'db', ['/dev/hvdata/hvc-bkverify-db-disk0', '/dev/hvdata/hvc-bkverify-db-disk1']);
    expect(scratch).toContain('<name>hvc-bkverify-db</name>');
    expect(scratch).not.toContain('<uuid>');
    expect(scratch).not.toContain('<interface');
    expect(scratch).not.toContain('52:54:00:aa:bb:cc');
    expect([...scratch.matchAll(/<source dev='([^']+)'\/>/g)].map((m) => m[1])).toEqual(['/dev/hvdata/hvc-bkverify-db-disk0', '/dev/hvdata/hvc-bkverify-db-disk1']);
    expect(scratch).toContain("name='org.qemu.guest_agent.0'");
    expect(() => scratchDomainXml(xml, 'db', ['/dev/hvdata/x'])).toThrow("the set's domain XML has 2 disk(s), the set 1");
  });

  it('puts the scratch volumes where there is most room (or --on), refused without room', () => {
    const reads = new Map([['hv1', node(100)], ['hv2', node(900)]]);
    expect(verifyNode(reads, [24 * MIB, 32 * MIB])).toBe('hv2');
    expect(verifyNode(reads, [24 * MIB], 'hv1')).toBe('hv1');
    expect(() => verifyNode(reads, [96 * MIB, 8 * MIB], 'hv1')).toThrow("verifying needs 104 MiB of scratch volumes; hv1's volume group has 100 MiB free");
  });

  it('fails on a failed restore, boot or repository check; an inconclusive boot is a warning', () => {
    const ok = { guest: 'db', set: 'db.20261208t101500z', takenAt: null, ageHours: 1, node: 'hv1', restore: 'ok', boot: 'ok' } as const;
    expect(verifyFailed([ok, { ...ok, boot: 'inconclusive' }], true)).toBe(false);
    expect(verifyFailed([ok], false)).toBe(true);
    expect(verifyFailed([{ ...ok, restore: 'failed' }], true)).toBe(true);
  });
});
