/** What `snapshot create|rollback|remove|list` decide from the nodes' reads, and what they refuse before any change. */
import { describe, expect, it } from 'vitest';
import { parseAnswers } from '../../../installer/answers/load.js';
import { parseGuestState } from '../../../installer/engine/guest-state.js';
import { parseVolumeState } from '../../../installer/engine/volume-state.js';
import { findSet, formatSnapshotList, parseSnapshotSize, planSnapshotCreate, planSnapshotRollback, snapshotList, type SnapshotNodeRead } from '../../../installer/snapshots/plan.js';
import { backupStamp } from '../../../installer/backup/archives.js';
import { parseSnapshotState, stampTime } from '../../../installer/snapshots/state.js';
import { siteYaml } from '../plan/helpers.js';

const guests = `  guests:\n    - name: web\n      memory: 128MiB\n      disks:\n        - size: 32MiB\n    - name: db\n      memory: 128MiB\n      disks:\n        - size: 32MiB\n        - size: 64MiB\n`;
const answers = parseAnswers(`${siteYaml()}${guests}`, 'site.yaml').answers;
const MIB = 2 ** 20;
const AT = new Date('2026-12-08T10:15:00.123Z');
const RESOURCES = ['web-disk0', 'db-disk0', 'db-disk1'];

interface ReadOptions {
  running?: string[];
  role?: string;
  dstate?: string;
  cstate?: string;
  vgFreeMiB?: number;
  snaps?: string[];
}

/** One node's reads: the guests running there, every disk in the same state, `snaps` as `lv` lines of snapshot.sh state. */
function read(o: ReadOptions = {}): SnapshotNodeRead {
  const running = o.running ?? [];
  const guestState = parseGuestState(['virsh yes', 'standby no', 'libvirt yes', 'domains web db', ...['web', 'db'].map((g) => `domain ${g} ${running.includes(g) ? 'running' : 'shut-off'} no`)].join('\n'));
  const volumes = parseVolumeState(RESOURCES.flatMap((r) => [`lv ${r} present`, `state ${r} ${o.cstate ?? 'Connected'} ${o.dstate ?? 'UpToDate/UpToDate'} ${running.includes(r.split('-')[0]!) ? 'Primary/Secondary' : (o.role ?? 'Secondary/Secondary')}`]).join('\n'));
  const sizes = { 'web-disk0': 36 * MIB, 'db-disk0': 36 * MIB, 'db-disk1': 68 * MIB };
  const snapshots = parseSnapshotState([`vgfree ${(o.vgFreeMiB ?? 1024) * MIB}`, ...Object.entries(sizes).map(([lv, size]) => `lv ${lv}||${size}||-wi-ao----|`), ...(o.snaps ?? [])].join('\n'));
  return { guests: guestState, volumes, snapshots };
}

/** A snapshot line of snapshot.sh state: hvcluster's tags for `guest`'s snapshot `name` of `origin`. */
const snap = (origin: string, name: string, o: { fill?: string; attr?: string; bytes?: number; consistency?: string; stamp?: string } = {}) =>
  `lv ${origin}.snap.${name}|${origin}|${37 * MIB}|${o.fill ?? '1.25'}|${o.attr ?? 'swi-a-s---'}|hvc_snapshot,hvc_guest=${origin.split('-')[0]},hvc_name=${name},hvc_time=${o.stamp ?? '20261208t101500z'},hvc_consistency=${o.consistency ?? 'crash'},hvc_bytes=${o.bytes ?? 33550336}`;

describe('snapshot state', () => {
  it("tells hvcluster's snapshots from others and reads their tags, fill and validity", () => {
    const state = parseSnapshotState(['vgfree 1073741824', `lv web-disk0||${36 * MIB}||-wi-ao----|`, snap('web-disk0', 'before', { consistency: 'agent' }), `lv web-disk0.snap.old|web-disk0|${8 * MIB}|100.00|Swi-I-s---|hvc_snapshot,hvc_guest=web,hvc_name=old,hvc_time=20261207t000000z,hvc_consistency=crash,hvc_bytes=33550336,hvc_thaw=abandoned`, `lv mine|web-disk0|${8 * MIB}|3.00|swi-a-s---|`].join('\n'));
    expect(state.vgFreeBytes).toBe(1024 * MIB);
    expect(state.lvSizes.get('web-disk0')).toBe(36 * MIB);
    expect(state.tagged.map((t) => [t.lv, t.guest, t.name, t.consistency, t.bytes, t.fillPercent, t.invalid, t.thawAbandoned])).toEqual([
      ['web-disk0.snap.before', 'web', 'before', 'agent', 33550336, 1.25, false, false],
      ['web-disk0.snap.old', 'web', 'old', 'crash', 33550336, 100, true, true],
    ]);
    expect(state.foreign.map((f) => f.lv)).toEqual(['mine']);
    expect(() => parseSnapshotState('')).toThrow('no vgfree line');
  });

  it('stamps are UTC, sortable, and read back as ISO times', () => {
    expect(backupStamp(AT)).toBe('20261208t101500z');
    expect(stampTime('20261208t101500z')).toBe('2026-12-08T10:15:00Z');
    expect(stampTime('nonsense')).toBeNull();
  });
});

describe('planSnapshotCreate', () => {
  it('snapshots every disk where the guest runs, named by the time unless named, sized to its origins', () => {
    const reads = new Map([['hv1', read()], ['hv2', read({ running: ['db'] })]]);
    const plan = planSnapshotCreate(answers, reads, 'db', { at: AT, size: { kind: 'full' } });
    expect(plan).toMatchObject({ guest: 'db', name: '20261208t101500z', node: 'hv2', running: true, resources: ['db-disk0', 'db-disk1'] });
    expect(plan.needBytes).toBe(Math.ceil(104 * MIB * 1.01));
    expect(planSnapshotCreate(answers, reads, 'db', { name: 'before', at: AT, size: { kind: 'percent', percent: 10 } }).needBytes).toBe(Math.ceil(10.4 * MIB * 1.01));
  });

  it("a stopped guest's snapshot is taken on its first holder whose disks are UpToDate", () => {
    const reads = new Map([['hv1', read({ dstate: 'Inconsistent/UpToDate' })], ['hv2', read()]]);
    expect(planSnapshotCreate(answers, reads, 'web', { at: AT, size: { kind: 'full' } })).toMatchObject({ node: 'hv2', running: false });
  });

  it('refuses before any change: not declared, a bad or taken name, two primaries, a disk not UpToDate, no room', () => {
    const healthy = new Map([['hv1', read({ running: ['web'] })], ['hv2', read()]]);
    const create = (reads: Map<string, SnapshotNodeRead>, guest: string, name?: string) => () => planSnapshotCreate(answers, reads, guest, { ...(name ? { name } : {}), at: AT, size: { kind: 'full' } });
    expect(create(healthy, 'nosuch')).toThrow('guest nosuch is not declared in the answer file');
    expect(create(healthy, 'web', 'Bad_Name')).toThrow('snapshot name Bad_Name: use 1-32 lower-case letters');
    expect(create(healthy, 'web', 'x'.repeat(33))).toThrow('use 1-32 lower-case letters');
    const taken = new Map([['hv1', read({ running: ['web'] })], ['hv2', read({ snaps: [snap('web-disk0', 'before')] })]]);
    expect(create(taken, 'web', 'before')).toThrow('guest web already has a snapshot named before (on hv2)');
    const window = new Map([['hv1', read({ running: ['web'] })], ['hv2', read({ role: 'Primary/Primary' })]]);
    expect(create(window, 'web')).toThrow('web-disk0 is Primary on hv1 and hv2: a live migration is in progress');
    const syncing = new Map([['hv1', read({ running: ['web'], dstate: 'Inconsistent/UpToDate' })], ['hv2', read()]]);
    expect(create(syncing, 'web')).toThrow('web-disk0 is Inconsistent/UpToDate on hv1: a snapshot of it would hold data that is not current');
    const full = new Map([['hv1', read({ running: ['db'], vgFreeMiB: 100 })], ['hv2', read()]]);
    expect(create(full, 'db')).toThrow('a snapshot of guest db needs 106 MiB on hv1, its volume group has 100 MiB free');
  });

  it('--size: full, or 5% to 99%', () => {
    expect(parseSnapshotSize(undefined)).toEqual({ kind: 'full' });
    expect(parseSnapshotSize('full')).toEqual({ kind: 'full' });
    expect(parseSnapshotSize('20%')).toEqual({ kind: 'percent', percent: 20 });
    for (const bad of ['4%', '100%', '20', 'half']) expect(() => parseSnapshotSize(bad)).toThrow(`--size ${bad}: give full`);
  });
});

describe('planSnapshotRollback', () => {
  const withSnap = (hv1: ReadOptions, hv2: ReadOptions = {}) => new Map([['hv1', read(hv1)], ['hv2', read({ ...hv2, snaps: [snap('db-disk0', 'before'), snap('db-disk1', 'before', { bytes: 67104768 })] })]]);

  it("writes each disk's snapshot back on the node holding it, the guest stopped where it runs first", () => {
    const plan = planSnapshotRollback(answers, withSnap({ running: ['db'] }), 'db', 'before');
    expect(plan).toMatchObject({ guest: 'db', name: 'before', node: 'hv2', runningOn: 'hv1', holders: ['hv1', 'hv2'] });
    expect(plan.disks).toEqual([
      { resource: 'db-disk0', lv: 'db-disk0.snap.before', bytes: 33550336 },
      { resource: 'db-disk1', lv: 'db-disk1.snap.before', bytes: 67104768 },
    ]);
  });

  it('refuses: no such snapshot (naming those there are), an invalid one, a copy not Connected and UpToDate, a guest under Pacemaker running away from its snapshot', () => {
    expect(() => planSnapshotRollback(answers, withSnap({}), 'db', 'after')).toThrow('guest db has no snapshot named after');
    try {
      planSnapshotRollback(answers, withSnap({}), 'db', 'after');
    } catch (error) {
      expect((error as { hint?: string }).hint).toBe('its snapshots: before (on hv2)');
    }
    const overflowed = new Map([['hv1', read()], ['hv2', read({ snaps: [snap('db-disk0', 'before', { fill: '100.00', attr: 'swi-I-s---' }), snap('db-disk1', 'before')] })]]);
    expect(() => planSnapshotRollback(answers, overflowed, 'db', 'before')).toThrow('snapshot before of guest db is invalid on hv2: db-disk0.snap.before overflowed');
    const half = new Map([['hv1', read()], ['hv2', read({ snaps: [snap('db-disk0', 'before')] })]]);
    expect(() => planSnapshotRollback(answers, half, 'db', 'before')).toThrow('snapshot before of guest db has no snapshot of db-disk1');
    expect(() => planSnapshotRollback(answers, withSnap({ cstate: 'StandAlone', dstate: 'UpToDate/DUnknown' }), 'db', 'before')).toThrow('db-disk0 is StandAlone and UpToDate/DUnknown on hv1: a rollback writes through DRBD');
    // Under Pacemaker: written back where Pacemaker keeps its disks Promoted, so the snapshot must be there.
    const ha = { ...answers, spec: { ...answers.spec, ha: { ...answers.spec.ha!, enabled: true } } } as typeof answers;
    expect(() => planSnapshotRollback(ha, withSnap({ running: ['db'] }), 'db', 'before')).toThrow('guest db is under Pacemaker and runs on hv1, but snapshot before is on hv2');
    expect(planSnapshotRollback(ha, withSnap({}, { running: ['db'] }), 'db', 'before')).toMatchObject({ node: 'hv2', runningOn: 'hv2', ha: true });
    // Stopped: Pacemaker keeps its disks Promoted where it ran (the node promotedNode finds, as backup restore does).
    expect(planSnapshotRollback(ha, withSnap({}, { role: 'Primary/Secondary' }), 'db', 'before')).toMatchObject({ node: 'hv2', runningOn: null, ha: true });
    expect(() => planSnapshotRollback(ha, withSnap({ role: 'Primary/Secondary' }), 'db', 'before')).toThrow('guest db is under Pacemaker and has its disks Promoted on hv1, but snapshot before is on hv2');
    expect(() => planSnapshotRollback(ha, withSnap({}), 'db', 'before')).toThrow('guest db is under Pacemaker, but its disks are not all Promoted on one node (db-disk0 nowhere, db-disk1 nowhere)');
  });
});

describe('snapshot list', () => {
  it('lists the sets oldest first with where the guest runs now, and flags invalid ones and abandoned thaws', () => {
    const reads = new Map([
      ['hv1', read({ running: ['db'], snaps: [snap('web-disk0', 'late', { stamp: '20261209t000000z' })] })],
      ['hv2', read({ snaps: [snap('db-disk0', 'before'), snap('db-disk1', 'before', { fill: '100.00', attr: 'swi-I-s---' })] })],
    ]);
    const rows = snapshotList(reads);
    expect(rows.map((r) => [r.guest, r.name, r.node, r.takenAt, r.state, r.guestRunsOn])).toEqual([
      ['db', 'before', 'hv2', '2026-12-08T10:15:00Z', 'invalid', 'hv1'],
      ['web', 'late', 'hv1', '2026-12-09T00:00:00Z', 'valid', null],
    ]);
    expect(snapshotList(reads, 'web').map((r) => r.name)).toEqual(['late']);
    const text = formatSnapshotList(rows, ['hv3']);
    expect(text).toContain('db     before  hv2');
    expect(text).toContain('INVALID');
    expect(text).toContain('guest runs on hv1');
    expect(text).toContain('! db before: invalid');
    expect(text).toContain('hv3 could not be read');
    expect(findSet(reads, 'db', 'before').disks.map((d) => d.lv)).toEqual(['db-disk0.snap.before', 'db-disk1.snap.before']);
  });
});
