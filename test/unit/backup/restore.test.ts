/** Where `backup restore` writes a set, into which declared guest, and what it refuses before any change. */
import { describe, expect, it } from 'vitest';
import { parseAnswers } from '../../../installer/answers/load.js';
import type { BackupMeta } from '../../../installer/backup/meta.js';
import { parseRestoreDisk, planRestore, restoreDisks, splitMetaOutput } from '../../../installer/backup/restore.js';
import { parseGuestState } from '../../../installer/engine/guest-state.js';
import { parseVolumeState } from '../../../installer/engine/volume-state.js';
import { resourceFile } from '../../../installer/engine/volumes.js';
import type { NodeRead } from '../../../installer/guests/moves.js';
import type { DrbdResourceModel } from '../../../installer/plan/model.js';
import { siteYaml } from '../plan/helpers.js';

const guests = `  guests:\n    - name: db\n      memory: 128MiB\n      disks:\n        - size: 32MiB\n        - size: 32MiB\n    - name: db-r\n      memory: 128MiB\n      autostart: false\n      preferredNode: hv2\n      disks:\n        - size: 32MiB\n        - size: 64MiB\n`;
const backup = `  backup:\n    repository:\n      path: /srv/backup\n    encryption: none\n    guests: [db]\n`;
const answers = parseAnswers(`${siteYaml()}${guests}${backup}`, 'site.yaml').answers;
const RESOURCES = ['db-disk0', 'db-disk1', 'db-r-disk0', 'db-r-disk1'];
const model = (name: string, minor: number): DrbdResourceModel => ({ name, major: '8.4', minor, port: 7788 + minor, device: `/dev/drbd${minor}`, disk: `/dev/hvdata/${name}`, hosts: [{ name: 'hv1', nodeId: 0, address: '198.19.1.1' }, { name: 'hv2', nodeId: 1, address: '198.19.1.2' }], allowTwoPrimaries: false });

function read(running: string[], o: { cstate?: string } = {}): NodeRead {
  const g = parseGuestState(['virsh yes', 'standby no', 'libvirt yes', 'domains db db-r', ...['db', 'db-r'].map((n) => `domain ${n} ${running.includes(n) ? 'running' : 'shut-off'} no`)].join('\n'));
  const v = parseVolumeState(RESOURCES.flatMap((r, i) => [`lv ${r} present`, `state ${r} ${o.cstate ?? 'Connected'} UpToDate/UpToDate ${running.some((n) => r.startsWith(`${n}-disk`)) ? 'Primary/Secondary' : 'Secondary/Secondary'}`, `res ${r}.res`, Buffer.from(resourceFile(model(r, 10 + i)).content).toString('base64'), 'end']).join('\n'));
  return { guests: g, volumes: v };
}

const sha = (c: string) => c.repeat(64);
const meta = { guest: 'db', disks: [{ index: 0, resource: 'db-disk0', archive: 'db.20261208t101500z.disk0', bytes: 33554432, lvBytes: 34603008, sha256: sha('a') }, { index: 1, resource: 'db-disk1', archive: 'db.20261208t101500z.disk1', bytes: 33554432, lvBytes: 34603008, sha256: sha('b') }] } as unknown as BackupMeta;

describe('planRestore', () => {
  it('restores a set into a declared copy, on its preferred node, each disk through its own DRBD device', () => {
    const reads = new Map([['hv1', read(['db'])], ['hv2', read([])]]);
    const plan = planRestore(answers, reads, 'db', { as: 'db-r' });
    expect(plan).toEqual({ source: 'db', target: 'db-r', node: 'hv2', runningOn: null, holders: ['hv1', 'hv2'], resources: ['db-r-disk0', 'db-r-disk1'] });
    expect(restoreDisks(plan, meta, reads.get('hv2')!)).toEqual([
      { resource: 'db-r-disk0', device: '/dev/drbd12', archive: 'db.20261208t101500z.disk0', bytes: 33554432, sha256: sha('a') },
      { resource: 'db-r-disk1', device: '/dev/drbd13', archive: 'db.20261208t101500z.disk1', bytes: 33554432, sha256: sha('b') },
    ]);
  });

  it('refuses: a target not declared (saying how to declare it), one that runs (without --force), a copy not Connected, a set with another number of disks', () => {
    const reads = new Map([['hv1', read(['db', 'db-r'])], ['hv2', read([])]]);
    expect(() => planRestore(answers, reads, 'db', { as: 'db-x' })).toThrow('guest db-x is not declared in the answer file: restore writes into a declared guest');
    expect(() => planRestore(answers, reads, 'db', {})).toThrow('guest db runs on hv1: restoring would overwrite the disks it uses');
    expect(planRestore(answers, reads, 'db', { force: true })).toMatchObject({ target: 'db', runningOn: 'hv1', node: 'hv1' });
    const apart = new Map([['hv1', read([], { cstate: 'StandAlone' })], ['hv2', read([])]]);
    expect(() => planRestore(answers, apart, 'db', { as: 'db-r' })).toThrow('db-r-disk0 is StandAlone and UpToDate/UpToDate on hv1: a restore writes through DRBD');
    const plan = planRestore(answers, new Map([['hv1', read([])], ['hv2', read([])]]), 'db', { as: 'db-r' });
    const oneDisk = { ...meta, disks: [meta.disks[0]!] } as BackupMeta;
    expect(() => restoreDisks(plan, oneDisk, read([]))).toThrow('the backup of db has 1 disk(s), guest db-r 2');
  });

  it("reads backup-node.sh's outputs: the set and its meta, the two checksums of a disk", () => {
    expect(splitMetaOutput('@set db.20261208t101500z\n{"format":1}\n')).toEqual({ set: 'db.20261208t101500z', json: '{"format":1}\n' });
    expect(() => splitMetaOutput('borg: error')).toThrow('printed no set');
    expect(parseRestoreDisk(`stream ${sha('c')}\ndevice ${sha('d')}\n`)).toEqual({ stream: sha('c'), device: sha('d') });
  });
});
