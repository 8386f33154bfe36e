/** What `snapshot create|rollback|remove|list` decide from the nodes' reads, and what they refuse before any change. */
import { describe, expect, it } from 'vitest';
import { parseAnswers } from '../../../installer/answers/load.js';
import { parseGuestState } from '../../../installer/engine/guest-state.js';
import { parseVolumeState } from '../../../installer/engine/volume-state.js';
import { findSet, formatSnapshotList, parseSnapshotSize, planSnapshotCreate, planSnapshotRemove, planSnapshotRollback, ramLeftovers, ramNeedBytes, snapshotList, type SnapshotNodeRead } from '../../../installer/snapshots/plan.js';
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
  /** Free MiB for RAM files (default 4096; null: no ramfree line). */
  ramFreeMiB?: number | null;
  /** `ram GUEST NAME BYTES` lines of snapshot.sh state. */
  ramFiles?: string[];
  standby?: boolean;
}

/** One node's reads: the guests running there, every disk in the same state, `snaps` as `lv` lines of snapshot.sh state. */
function read(o: ReadOptions = {}): SnapshotNodeRead {
  const running = o.running ?? [];
  const guestState = parseGuestState(['virsh yes', `standby ${o.standby ? 'yes' : 'no'}`, 'libvirt yes', 'domains web db', ...['web', 'db'].map((g) => `domain ${g} ${running.includes(g) ? 'running' : 'shut-off'} no`)].join('\n'));
  const volumes = parseVolumeState(RESOURCES.flatMap((r) => [`lv ${r} present`, `state ${r} ${o.cstate ?? 'Connected'} ${o.dstate ?? 'UpToDate/UpToDate'} ${running.includes(r.split('-')[0]!) ? 'Primary/Secondary' : (o.role ?? 'Secondary/Secondary')}`]).join('\n'));
  const sizes = { 'web-disk0': 36 * MIB, 'db-disk0': 36 * MIB, 'db-disk1': 68 * MIB };
  const ramFree = o.ramFreeMiB === undefined ? 4096 : o.ramFreeMiB;
  const snapshots = parseSnapshotState([`vgfree ${(o.vgFreeMiB ?? 1024) * MIB}`, ...Object.entries(sizes).map(([lv, size]) => `lv ${lv}||${size}||-wi-ao----|`), ...(o.snaps ?? []), ...(ramFree === null ? [] : [`ramfree ${ramFree * MIB}`]), ...(o.ramFiles ?? [])].join('\n'));
  return { guests: guestState, volumes, snapshots };
}

/** A snapshot line of snapshot.sh state: hvcluster's tags for `guest`'s snapshot `name` of `origin`. */
const snap = (origin: string, name: string, o: { fill?: string; attr?: string; bytes?: number; consistency?: string; stamp?: string; ram?: boolean } = {}) =>
  `lv ${origin}.snap.${name}|${origin}|${37 * MIB}|${o.fill ?? '1.25'}|${o.attr ?? 'swi-a-s---'}|hvc_snapshot,hvc_guest=${origin.split('-')[0]},hvc_name=${name},hvc_time=${o.stamp ?? '20261208t101500z'},hvc_consistency=${o.ram ? 'ram' : (o.consistency ?? 'crash')},hvc_bytes=${o.bytes ?? 33550336}${o.ram ? ',hvc_ram' : ''}`;
/** db's snapshot `name` with its RAM: both disks' LVs (and the RAM file of `ramBytes`, unless null). */
const ramSnap = (name: string, ramBytes: number | null = 140 * MIB) => ({ snaps: [snap('db-disk0', name, { ram: true }), snap('db-disk1', name, { ram: true, bytes: 67104768 })], ramFiles: ramBytes === null ? [] : [`ram db ${name} ${ramBytes}`] });
const HA = { ...answers, spec: { ...answers.spec, ha: { ...answers.spec.ha!, enabled: true } } } as typeof answers;

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

describe('snapshots with RAM', () => {
  it('state: the RAM files and their free room; a snapshot tagged hvc_ram has consistency ram', () => {
    const state = parseSnapshotState(['vgfree 1', snap('db-disk0', 'warm', { ram: true }), `ramfree ${3 * MIB}`, 'ram db warm 1234', 'ram web old 99'].join('\n'));
    expect(state.ramFreeBytes).toBe(3 * MIB);
    expect(state.ramFiles).toEqual([{ guest: 'db', name: 'warm', bytes: 1234 }, { guest: 'web', name: 'old', bytes: 99 }]);
    expect(state.tagged.map((t) => [t.consistency, t.ram])).toEqual([['ram', true]]);
    expect(parseSnapshotState('vgfree 1\nramfree \n').ramFreeBytes).toBeNull();
    expect(() => parseSnapshotState('vgfree 1\nram db\n')).toThrow('unexpected line: ram db');
  });

  it("create --ram: where the guest runs, its file under /var/lib/hvcluster/snapshots, room for its memory and a margin", () => {
    const reads = new Map([['hv1', read()], ['hv2', read({ running: ['db'] })]]);
    const plan = planSnapshotCreate(answers, reads, 'db', { name: 'warm', at: AT, size: { kind: 'full' }, ram: true });
    expect(plan).toMatchObject({ node: 'hv2', running: true, ram: { file: '/var/lib/hvcluster/snapshots/db/warm.ram', memoryMiB: 128, needBytes: ramNeedBytes(128), freeBytes: 4096 * MIB } });
    expect(ramNeedBytes(128)).toBe(Math.ceil(128 * MIB * 1.05) + 64 * MIB);
    expect(planSnapshotCreate(answers, reads, 'db', { name: 'cold', at: AT, size: { kind: 'full' } }).ram).toBeNull();
  });

  it('create --ram refuses: a guest under Pacemaker (saying why and what instead), one that does not run, no room for its RAM (with the figures), a leftover RAM file of that name, free room not read', () => {
    const create = (reads: Map<string, SnapshotNodeRead>, o: { answers?: typeof answers; guest?: string } = {}) => () => planSnapshotCreate(o.answers ?? answers, reads, o.guest ?? 'db', { name: 'warm', at: AT, size: { kind: 'full' }, ram: true });
    const healthy = new Map([['hv1', read()], ['hv2', read({ running: ['db'] })]]);
    expect(create(healthy, { answers: HA })).toThrow("guest db is under Pacemaker: --ram stops it while its RAM is saved, and Pacemaker's monitor would find the domain gone, count a failure and recover it");
    try {
      create(healthy, { answers: HA })();
    } catch (error) {
      expect((error as { hint?: string }).hint).toBe('take a snapshot of its disks without --ram (frozen through its guest agent): `hvcluster snapshot create db warm -f site.yaml`');
    }
    expect(create(healthy, { guest: 'web' })).toThrow('guest web does not run: it has nothing in RAM to save');
    const small = new Map([['hv1', read()], ['hv2', read({ running: ['db'], ramFreeMiB: 100 })]]);
    expect(create(small)).toThrow('saving the RAM of guest db (128 MiB) needs 199 MiB free in /var/lib/hvcluster/snapshots on hv2, its filesystem has 100 MiB free');
    const left = new Map([['hv1', read({ ramFiles: ['ram db warm 5'] })], ['hv2', read({ running: ['db'] })]]);
    expect(create(left)).toThrow('guest db already has a RAM file named warm on hv1 (/var/lib/hvcluster/snapshots/db/warm.ram, the RAM of no snapshot');
    const unread = new Map([['hv1', read()], ['hv2', read({ running: ['db'], ramFreeMiB: null })]]);
    expect(create(unread)).toThrow('the free space of /var/lib/hvcluster/snapshots on hv2 was not read');
  });

  it('rollback of a snapshot with RAM resumes the guest from it on the snapshot node, even a stopped one; not with --no-ram or --no-start', () => {
    const reads = new Map([['hv1', read({ running: ['db'] })], ['hv2', read(ramSnap('warm'))]]);
    expect(planSnapshotRollback(answers, reads, 'db', 'warm')).toMatchObject({ node: 'hv2', runningOn: 'hv1', consistency: 'ram', ram: { file: '/var/lib/hvcluster/snapshots/db/warm.ram', bytes: 140 * MIB }, restore: true });
    expect(planSnapshotRollback(answers, reads, 'db', 'warm', { ram: false }).restore).toBe(false);
    expect(planSnapshotRollback(answers, reads, 'db', 'warm', { start: false })).toMatchObject({ restore: false, ram: { bytes: 140 * MIB } });
    const stopped = new Map([['hv1', read()], ['hv2', read(ramSnap('warm'))]]);
    expect(planSnapshotRollback(answers, stopped, 'db', 'warm')).toMatchObject({ runningOn: null, restore: true });
    const plain = new Map([['hv1', read({ running: ['db'] })], ['hv2', read({ snaps: [snap('db-disk0', 'cold'), snap('db-disk1', 'cold')] })]]);
    expect(planSnapshotRollback(answers, plain, 'db', 'cold')).toMatchObject({ ram: null, restore: false });
  });

  it('rollback with RAM refuses, hinting at --no-ram: a guest under Pacemaker, a missing RAM file, the snapshot node in standby', () => {
    const hint = (f: () => unknown) => {
      try {
        f();
      } catch (error) {
        return (error as { hint?: string }).hint;
      }
      return undefined;
    };
    const ha = new Map([['hv1', read()], ['hv2', read({ ...ramSnap('warm'), running: ['db'] })]]);
    expect(() => planSnapshotRollback(HA, ha, 'db', 'warm')).toThrow('snapshot warm of guest db holds its RAM, and the guest is under Pacemaker');
    expect(hint(() => planSnapshotRollback(HA, ha, 'db', 'warm'))).toContain('hvcluster snapshot rollback db warm --yes --no-ram');
    expect(planSnapshotRollback(HA, ha, 'db', 'warm', { ram: false })).toMatchObject({ ha: true, restore: false });
    const missing = new Map([['hv1', read({ running: ['db'] })], ['hv2', read(ramSnap('warm', null))]]);
    expect(() => planSnapshotRollback(answers, missing, 'db', 'warm')).toThrow('the RAM file of snapshot warm of guest db is missing on hv2 (/var/lib/hvcluster/snapshots/db/warm.ram)');
    expect(planSnapshotRollback(answers, missing, 'db', 'warm', { ram: false }).restore).toBe(false);
    const standby = new Map([['hv1', read({ running: ['db'] })], ['hv2', read({ ...ramSnap('warm'), standby: true })]]);
    expect(() => planSnapshotRollback(answers, standby, 'db', 'warm')).toThrow('hv2 is in standby (node drain), and guest db would resume there');
    expect(hint(() => planSnapshotRollback(answers, standby, 'db', 'warm'))).toBe('`hvcluster node resume hv2` first, or roll back its disks only, the guest started cold: `hvcluster snapshot rollback db warm --yes --no-ram`');
  });

  it('list: which snapshots have RAM and its size (MISSING when gone), and the RAM files no snapshot claims', () => {
    const reads = new Map([
      ['hv1', read({ running: ['db'], ramFiles: ['ram db lost 10485760'] })],
      ['hv2', read({ snaps: [...ramSnap('warm').snaps, ...ramSnap('gone').snaps, snap('web-disk0', 'cold')], ramFiles: ramSnap('warm').ramFiles })],
    ]);
    const rows = snapshotList(reads);
    expect(rows.map((r) => [r.guest, r.name, r.consistency, r.ram])).toEqual([
      ['db', 'gone', 'ram', { file: '/var/lib/hvcluster/snapshots/db/gone.ram', bytes: null }],
      ['db', 'warm', 'ram', { file: '/var/lib/hvcluster/snapshots/db/warm.ram', bytes: 140 * MIB }],
      ['web', 'cold', 'crash', null],
    ]);
    const leftovers = ramLeftovers(reads);
    expect(leftovers).toEqual([{ node: 'hv1', guest: 'db', name: 'lost', file: '/var/lib/hvcluster/snapshots/db/lost.ram', bytes: 10 * MIB }]);
    expect(ramLeftovers(reads, 'web')).toEqual([]);
    // Only a snapshot with RAM claims a RAM file: one without, of the same name, leaves it a leftover.
    const plainSameName = new Map([['hv1', read({ snaps: [snap('db-disk0', 'lost'), snap('db-disk1', 'lost')], ramFiles: ['ram db lost 5'] })]]);
    expect(ramLeftovers(plainSameName).map((l) => l.name)).toEqual(['lost']);
    const text = formatSnapshotList(rows, [], leftovers);
    expect(text).toMatch(/^GUEST\s+NAME\s+ON\s+TAKEN \(UTC\)\s+CONSISTENCY\s+FILL\s+RAM\s+WHERE$/m);
    expect(text).toMatch(/^db\s+warm\s+hv2\s+\S+\s+ram\s+1\.3%\s+140MiB\s+guest runs on hv1$/m);
    expect(text).toMatch(/^db\s+gone\s+hv2\s+\S+\s+ram\s+1\.3%\s+MISSING\s+guest runs on hv1$/m);
    expect(text).toMatch(/^web\s+cold\s+hv2\s+\S+\s+crash\s+1\.3%\s+-\s+guest stopped$/m);
    expect(text).toContain('! db gone: its RAM file /var/lib/hvcluster/snapshots/db/gone.ram is missing on hv2: it can be rolled back with --no-ram only');
    expect(text).toContain('! hv1: /var/lib/hvcluster/snapshots/db/lost.ram (10 MiB) is the RAM of no snapshot (a snapshot create --ram that did not finish); delete it: `hvcluster snapshot remove db lost`');
    expect(formatSnapshotList([], [], leftovers)).toMatch(/^no snapshots\n! hv1: /);
  });

  it("remove: a snapshot's LVs and its RAM file; a leftover RAM file alone, refused while the guest does not run", () => {
    const reads = new Map([['hv1', read({ running: ['db'], ramFiles: ['ram db lost 5'] })], ['hv2', read(ramSnap('warm'))]]);
    expect(planSnapshotRemove(answers, reads, 'db', 'warm')).toEqual({ guest: 'db', name: 'warm', node: 'hv2', lvs: ['db-disk0.snap.warm', 'db-disk1.snap.warm'], ramFile: '/var/lib/hvcluster/snapshots/db/warm.ram', leftover: false });
    expect(planSnapshotRemove(answers, reads, 'db', 'lost')).toEqual({ guest: 'db', name: 'lost', node: 'hv1', lvs: [], ramFile: '/var/lib/hvcluster/snapshots/db/lost.ram', leftover: true });
    const stopped = new Map([['hv1', read({ ramFiles: ['ram db lost 5'] })], ['hv2', read()]]);
    expect(() => planSnapshotRemove(answers, stopped, 'db', 'lost')).toThrow('guest db does not run, and /var/lib/hvcluster/snapshots/db/lost.ram on hv1 is the RAM of no snapshot');
    expect(() => planSnapshotRemove(answers, reads, 'db', 'nosuch')).toThrow('guest db has no snapshot named nosuch');
    expect(() => planSnapshotRemove(answers, reads, 'nosuch', 'warm')).toThrow('guest nosuch is not declared');
    const plain = new Map([['hv1', read({ snaps: [snap('web-disk0', 'cold')] })], ['hv2', read()]]);
    expect(planSnapshotRemove(answers, plain, 'web', 'cold')).toMatchObject({ lvs: ['web-disk0.snap.cold'], ramFile: null });
  });
});
