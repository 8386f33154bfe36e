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

/** One node's reads: the guests running there (their disks Primary), `primary`: guests or single disks Primary there too (a stopped guest under Pacemaker keeps its disks Promoted where it ran). */
function read(running: string[], o: { cstate?: string; primary?: string[] } = {}): NodeRead {
  const primary = [...running, ...(o.primary ?? [])];
  const g = parseGuestState(['virsh yes', 'standby no', 'libvirt yes', 'domains db db-r', ...['db', 'db-r'].map((n) => `domain ${n} ${running.includes(n) ? 'running' : 'shut-off'} no`)].join('\n'));
  const v = parseVolumeState(RESOURCES.flatMap((r, i) => [`lv ${r} present`, `state ${r} ${o.cstate ?? 'Connected'} UpToDate/UpToDate ${primary.some((p) => r === p || r.startsWith(`${p}-disk`)) ? 'Primary/Secondary' : 'Secondary/Secondary'}`, `res ${r}.res`, Buffer.from(resourceFile(model(r, 10 + i)).content).toString('base64'), 'end']).join('\n'));
  return { guests: g, volumes: v };
}

/** The thrown error's message and hint. */
function refusal(f: () => unknown): { message: string; hint?: string } {
  try {
    f();
  } catch (error) {
    return { message: (error as Error).message, hint: (error as { hint?: string }).hint };
  }
  throw new Error('not refused');
}

const sha = (c: string) => c.repeat(64);
const meta = { guest: 'db', disks: [{ index: 0, resource: 'db-disk0', archive: 'db.20261208t101500z.disk0', bytes: 33554432, lvBytes: 34603008, sha256: sha('a') }, { index: 1, resource: 'db-disk1', archive: 'db.20261208t101500z.disk1', bytes: 33554432, lvBytes: 34603008, sha256: sha('b') }] } as unknown as BackupMeta;

describe('planRestore', () => {
  it('restores a set into a declared copy, on its preferred node, each disk through its own DRBD device', () => {
    const reads = new Map([['hv1', read(['db'])], ['hv2', read([])]]);
    const plan = planRestore(answers, reads, 'db', { as: 'db-r' });
    expect(plan).toEqual({ source: 'db', target: 'db-r', node: 'hv2', runningOn: null, holders: ['hv1', 'hv2'], resources: ['db-r-disk0', 'db-r-disk1'], ha: false, start: false });
    expect(restoreDisks(plan, meta, reads.get('hv2')!)).toEqual([
      { resource: 'db-r-disk0', device: '/dev/drbd12', archive: 'db.20261208t101500z.disk0', bytes: 33554432, sha256: sha('a') },
      { resource: 'db-r-disk1', device: '/dev/drbd13', archive: 'db.20261208t101500z.disk1', bytes: 33554432, sha256: sha('b') },
    ]);
  });

  it('refuses: a target not declared (saying how to declare it), one that runs (without --force), a copy not Connected, a set with another number of disks', () => {
    const reads = new Map([['hv1', read(['db', 'db-r'])], ['hv2', read([])]]);
    expect(() => planRestore(answers, reads, 'db', { as: 'db-x' })).toThrow('guest db-x is not declared in the answer file: restore writes into a declared guest');
    expect(() => planRestore(answers, reads, 'db', {})).toThrow('guest db runs on hv1: restoring would overwrite the disks it uses');
    // Not under Pacemaker: a target destroyed with --force stays stopped (and marked) unless --start.
    expect(planRestore(answers, reads, 'db', { force: true })).toMatchObject({ target: 'db', runningOn: 'hv1', node: 'hv1', ha: false, start: false });
    expect(planRestore(answers, reads, 'db', { force: true, start: true })).toMatchObject({ start: true });
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

describe('planRestore into a guest under Pacemaker', () => {
  const ha = { ...answers, spec: { ...answers.spec, ha: { ...answers.spec.ha!, enabled: true } } } as typeof answers;

  it('a running target is refused without --force; with --force it is stopped through Pacemaker, written where it runs (its disks stay Promoted there, whatever its preferred node); restored into itself, started again; a copy stays stopped unless --start', () => {
    const reads = new Map([['hv1', read(['db-r'])], ['hv2', read([])]]);
    const refused = refusal(() => planRestore(ha, reads, 'db', { as: 'db-r' }));
    expect(refused.message).toBe('guest db-r runs on hv1: restoring would overwrite the disks it uses');
    expect(refused.hint).toBe('stop it first (`hvcluster guest stop db-r`), or --force to stop it through Pacemaker (destroyed at once), write over it and leave it stopped (--start starts it)');
    expect(planRestore(ha, reads, 'db', { as: 'db-r', force: true })).toEqual({ source: 'db', target: 'db-r', node: 'hv1', runningOn: 'hv1', holders: ['hv1', 'hv2'], resources: ['db-r-disk0', 'db-r-disk1'], ha: true, start: false });
    expect(planRestore(ha, reads, 'db', { as: 'db-r', force: true, start: true })).toMatchObject({ start: true });
    const itself = new Map([['hv1', read(['db'])], ['hv2', read([])]]);
    expect(refusal(() => planRestore(ha, itself, 'db', {})).hint).toBe('stop it first (`hvcluster guest stop db`), or --force to stop it through Pacemaker (destroyed at once), write over it and start it again');
    expect(planRestore(ha, itself, 'db', { force: true })).toMatchObject({ target: 'db', node: 'hv1', runningOn: 'hv1', ha: true, start: true });
  });

  it('a stopped target is written where Pacemaker keeps its disks Promoted (where it ran), and stays stopped unless --start', () => {
    const reads = new Map([['hv1', read([], { primary: ['db-r'] })], ['hv2', read([])]]);
    expect(planRestore(ha, reads, 'db', { as: 'db-r' })).toMatchObject({ node: 'hv1', runningOn: null, ha: true, start: false });
    expect(planRestore(ha, reads, 'db', { as: 'db-r', start: true })).toMatchObject({ node: 'hv1', start: true });
    expect(planRestore(ha, reads, 'db', { as: 'db-r', to: 'hv1' })).toMatchObject({ node: 'hv1' });
    // The same reads without HA: hvcluster's own guest must not have a disk Primary where it does not run.
    expect(() => planRestore(answers, reads, 'db', { as: 'db-r' })).toThrow('db-r-disk0 is Primary on hv1 though guest db-r does not run there');
  });

  it('--to another node is refused: Pacemaker decides where its disks are Promoted (guest migrate it there first)', () => {
    const running = refusal(() => planRestore(ha, new Map([['hv1', read(['db-r'])], ['hv2', read([])]]), 'db', { as: 'db-r', to: 'hv2', force: true }));
    expect(running.message).toBe('guest db-r is under Pacemaker, which keeps its disks Promoted on hv1: a restore writes them there, not on hv2 (hvcluster does not move a disk Pacemaker manages)');
    expect(running.hint).toBe('move it first (`hvcluster guest migrate db-r --to hv2`), then restore; or restore on hv1 without --to');
    const stopped = refusal(() => planRestore(ha, new Map([['hv1', read([], { primary: ['db-r'] })], ['hv2', read([])]]), 'db', { as: 'db-r', to: 'hv2' }));
    expect(stopped.message).toContain('keeps its disks Promoted on hv1: a restore writes them there, not on hv2');
    expect(stopped.hint).toBe('move it first (`hvcluster guest start db-r`, `hvcluster guest migrate db-r --to hv2`, `hvcluster guest stop db-r`: its disks stay Promoted on hv2), then restore; or restore on hv1 without --to');
    expect(() => planRestore(ha, new Map([['hv1', read([], { primary: ['db-r'] })], ['hv2', read([])]]), 'db', { as: 'db-r', to: 'hv3' })).toThrow('hv3 does not hold guest db-r');
  });

  it('refused when no one node has every disk Promoted (nowhere, on different nodes, or on two: a migration), or a copy is not Connected and UpToDate', () => {
    const nowhere = refusal(() => planRestore(ha, new Map([['hv1', read([])], ['hv2', read([])]]), 'db', { as: 'db-r' }));
    expect(nowhere.message).toBe('guest db-r is under Pacemaker, but its disks are not all Promoted on one node (db-r-disk0 nowhere, db-r-disk1 nowhere)');
    expect(nowhere.hint).toBe('start it (`hvcluster guest start db-r`: Pacemaker promotes its disks where it starts it), stop it (`hvcluster guest stop db-r`: they stay Promoted there), and try again');
    const split = new Map([['hv1', read([], { primary: ['db-r-disk0'] })], ['hv2', read([], { primary: ['db-r-disk1'] })]]);
    expect(() => planRestore(ha, split, 'db', { as: 'db-r' })).toThrow('its disks are not all Promoted on one node (db-r-disk0 on hv1, db-r-disk1 on hv2)');
    const window = new Map([['hv1', read(['db-r'])], ['hv2', read([], { primary: ['db-r'] })]]);
    expect(() => planRestore(ha, window, 'db', { as: 'db-r', force: true })).toThrow('db-r-disk0 is Primary on hv1 and hv2: a live migration of guest db-r is in progress');
    const apart = new Map([['hv1', read([], { primary: ['db-r'], cstate: 'StandAlone' })], ['hv2', read([])]]);
    expect(() => planRestore(ha, apart, 'db', { as: 'db-r' })).toThrow('db-r-disk0 is StandAlone and UpToDate/UpToDate on hv1: a restore writes through DRBD');
  });

  it('a copy to declare is told that `autostart: false` keeps it from starting (under Pacemaker too)', () => {
    expect(refusal(() => planRestore(ha, new Map([['hv1', read([])], ['hv2', read([])]]), 'db', { as: 'db-x' })).hint).toBe(
      'declare db-x in spec.guests with as many disks as db, each at least as large (`autostart: false` keeps it from starting on empty disks), run `hvcluster apply`, then restore',
    );
  });
});
