/**
 * What `snapshot create|rollback|remove` do, decided from what was read of the nodes (volumes,
 * guests, snapshots), and what `snapshot list` shows. A snapshot set is one LVM snapshot per disk of
 * a guest, on one node (where the guest was Primary when it was taken), with its RAM file there when
 * it was taken with `--ram`. Every refusal is said here, before anything changes. Pure.
 */
import type { Answers } from '../answers/schema.js';
import { ChecksFailedError, UsageError } from '../errors.js';
import { domainOf } from '../engine/guest-state.js';
import { declaredGuest, promotedNode, type NodeRead } from '../guests/moves.js';
import { backupStamp } from '../backup/archives.js';
import { RAM_DIR, ramFile, stampTime, type Consistency, type SnapshotState, type TaggedSnapshot } from './state.js';

export interface SnapshotNodeRead extends NodeRead {
  snapshots: SnapshotState;
}

/** A guest's snapshot: its disks' LVM snapshots on one node. */
export interface SnapshotSet {
  guest: string;
  name: string;
  node: string;
  stamp: string;
  consistency: Consistency;
  disks: TaggedSnapshot[];
  /** Taken with the guest's RAM: its file on `node`, and its size (null: the file is missing). */
  ram: { file: string; bytes: number | null } | null;
}

/** A RAM file no snapshot LV of its node claims (a snapshot create --ram that died between save and snapshot, or whose LVs were removed by hand). */
export interface RamLeftover {
  node: string;
  guest: string;
  name: string;
  file: string;
  bytes: number;
}

/** What a snapshot's size may be: the origin's (cannot overflow) or a percentage of it (watched). */
export type SnapshotSize = { kind: 'full' } | { kind: 'percent'; percent: number };

const NAME = /^[a-z0-9][a-z0-9-]{0,31}$/;
const MIB = 1024 * 1024;
/**
 * Room a RAM file needs beyond the guest's memory: `virsh save` writes QEMU's migration stream
 * (every page of RAM at most, then the devices' state) after libvirt's header and the domain XML.
 */
const RAM_OVERHEAD = 1.05;
const RAM_MARGIN_BYTES = 64 * MIB;

/** The free bytes a guest of `memoryMiB` needs for its RAM file. */
export const ramNeedBytes = (memoryMiB: number) => Math.ceil(memoryMiB * MIB * RAM_OVERHEAD) + RAM_MARGIN_BYTES;
/** LVM keeps its exception store beside the copied chunks: 1 % on top of what is copied (measured on the lab: a full-size snapshot never overflows). */
const COW_OVERHEAD = 1.01;

/** `--size`: `full` or `N%` (5-99). */
export function parseSnapshotSize(text: string | undefined): SnapshotSize {
  if (text === undefined || text === 'full') return { kind: 'full' };
  const m = /^(\d{1,2})%$/.exec(text);
  const percent = m ? Number(m[1]) : NaN;
  if (!(percent >= 5 && percent <= 99)) throw new UsageError(`--size ${text}: give full (the origin's size: the snapshot can never overflow) or a percentage from 5% to 99%`);
  return { kind: 'percent', percent };
}

/** What the snapshot sets are read from: a node's tagged LVs, and its RAM files when read (verify reads the LVs only). */
type SetsRead = { snapshots?: Pick<SnapshotState, 'tagged'> & Partial<Pick<SnapshotState, 'ramFiles'>> };

/** The guest's snapshot sets on every node read, oldest first. */
export function snapshotSets(reads: ReadonlyMap<string, SetsRead>, guest?: string): SnapshotSet[] {
  const sets = new Map<string, SnapshotSet>();
  for (const [node, read] of reads) {
    for (const s of read.snapshots?.tagged ?? []) {
      if (s.kind !== 'snapshot' || (guest !== undefined && s.guest !== guest)) continue;
      const key = `${node}\0${s.guest}\0${s.name}`;
      const set = sets.get(key) ?? { guest: s.guest, name: s.name, node, stamp: s.stamp, consistency: s.consistency, disks: [], ram: null };
      set.disks.push(s);
      if (s.ram && !set.ram) {
        const found = read.snapshots?.ramFiles?.find((f) => f.guest === s.guest && f.name === s.name);
        set.ram = { file: ramFile(s.guest, s.name), bytes: found ? found.bytes : null };
      }
      sets.set(key, set);
    }
  }
  for (const set of sets.values()) set.disks.sort((a, b) => a.origin.localeCompare(b.origin, 'en', { numeric: true }));
  return [...sets.values()].sort((a, b) => a.stamp.localeCompare(b.stamp) || a.guest.localeCompare(b.guest) || a.name.localeCompare(b.name));
}

/** The RAM files of every node read that no snapshot with RAM (LVs tagged hvc_ram) of that node claims (of one guest), by guest and name. */
export function ramLeftovers(reads: ReadonlyMap<string, SetsRead>, guest?: string): RamLeftover[] {
  const out: RamLeftover[] = [];
  for (const [node, read] of reads) {
    const claimed = new Set((read.snapshots?.tagged ?? []).filter((t) => t.kind === 'snapshot' && t.ram).map((t) => `${t.guest}\0${t.name}`));
    for (const f of read.snapshots?.ramFiles ?? []) {
      if ((guest === undefined || f.guest === guest) && !claimed.has(`${f.guest}\0${f.name}`)) out.push({ node, guest: f.guest, name: f.name, file: ramFile(f.guest, f.name), bytes: f.bytes });
    }
  }
  return out.sort((a, b) => a.guest.localeCompare(b.guest) || a.name.localeCompare(b.name) || a.node.localeCompare(b.node));
}

const own = (pair: string | null | undefined) => (pair ? pair.split('/')[0]! : null);

export interface SnapshotCreate {
  guest: string;
  name: string;
  stamp: string;
  /** Where the snapshots are made: where the guest is Primary (a stopped guest: its first UpToDate holder). */
  node: string;
  /** The guest runs there (its filesystems can be frozen); false: stopped. */
  running: boolean;
  resources: string[];
  size: SnapshotSize;
  needBytes: number;
  freeBytes: number;
  /** `--ram`: the guest saved into `file` on `node` around the snapshot, then restored from it. */
  ram: { file: string; memoryMiB: number; needBytes: number; freeBytes: number } | null;
}

/**
 * A snapshot of every disk of `guest`, refused when: the guest is not declared or has no disks, runs
 * on two nodes, a disk is Primary on two nodes (a live migration's window), a disk is not UpToDate
 * where it is taken, NAME is not a valid name or already taken, or the volume group has not room.
 * With `ram` also when: the guest is under Pacemaker, does not run, or the RAM files' filesystem on
 * its node has not room for its memory (plus a margin).
 */
export function planSnapshotCreate(answers: Answers, reads: ReadonlyMap<string, SnapshotNodeRead>, guest: string, options: { name?: string; at: Date; size: SnapshotSize; ram?: boolean }): SnapshotCreate {
  const stamp = backupStamp(options.at);
  const name = options.name ?? stamp;
  if (!NAME.test(name)) throw new UsageError(`snapshot name ${name}: use 1-32 lower-case letters, digits and dashes, starting with a letter or digit`);
  const d = declaredGuest(answers, reads, guest);
  if (options.ram && d.ha) {
    throw new UsageError(`guest ${guest} is under Pacemaker: --ram stops it while its RAM is saved, and Pacemaker's monitor would find the domain gone, count a failure and recover it (stop it, start it again, maybe elsewhere)`, {
      hint: `take a snapshot of its disks without --ram (frozen through its guest agent): \`hvcluster snapshot create ${guest}${options.name ? ` ${name}` : ''} -f site.yaml\``,
    });
  }
  if (options.ram && d.running[0] === undefined) {
    throw new ChecksFailedError(`guest ${guest} does not run: it has nothing in RAM to save`, { hint: `take a snapshot of its disks without --ram, or start it first (\`hvcluster guest start ${guest}\`)` });
  }
  for (const resource of d.resources) {
    const primaries = d.holders.filter((n) => own(reads.get(n)!.volumes.byName.get(resource)?.state.role) === 'Primary');
    if (primaries.length > 1) throw new ChecksFailedError(`${resource} is Primary on ${primaries.join(' and ')}: a live migration is in progress`, { hint: 'try again once it has finished (`hvcluster guest list`)' });
  }
  const upToDate = (n: string) => d.resources.every((r) => own(reads.get(n)!.volumes.byName.get(r)?.state.dstate) === 'UpToDate');
  const node = d.running[0] ?? d.holders.find(upToDate);
  if (node === undefined) throw new ChecksFailedError(`no node holds guest ${guest}'s disks UpToDate`, { hint: 'wait for the resync to finish (`hvcluster guest list`)' });
  for (const resource of d.resources) {
    const state = reads.get(node)!.volumes.byName.get(resource)?.state;
    if (own(state?.dstate) !== 'UpToDate') throw new ChecksFailedError(`${resource} is ${state?.dstate ?? 'down'} on ${node}: a snapshot of it would hold data that is not current`, { hint: 'wait for the resync to finish (`hvcluster guest list`)' });
    if (d.running[0] && own(state?.role) !== 'Primary') throw new ChecksFailedError(`guest ${guest} runs on ${node} but ${resource} is ${state?.role ?? 'down'} there`, { hint: 'check the guest with `hvcluster guest list` and `hvcluster verify`' });
  }
  const taken = snapshotSets(reads, guest).find((s) => s.name === name);
  if (taken) throw new UsageError(`guest ${guest} already has a snapshot named ${name} (on ${taken.node})`, { hint: `choose another name, or \`hvcluster snapshot remove ${guest} ${name}\`` });
  const leftover = ramLeftovers(reads, guest).find((l) => l.name === name);
  if (leftover) throw new UsageError(`guest ${guest} already has a RAM file named ${name} on ${leftover.node} (${leftover.file}, the RAM of no snapshot: left by a snapshot create --ram that did not finish)`, { hint: `choose another name, or delete it: \`hvcluster snapshot remove ${guest} ${name}\`` });
  const snaps = reads.get(node)!.snapshots;
  const needBytes = Math.ceil(
    d.resources.reduce((sum, r) => {
      const origin = snaps.lvSizes.get(r) ?? NaN;
      return sum + (options.size.kind === 'full' ? origin : (origin * options.size.percent) / 100);
    }, 0) * COW_OVERHEAD,
  );
  if (!Number.isFinite(needBytes)) throw new ChecksFailedError(`the logical volumes of guest ${guest} were not found on ${node}`, { hint: 'run `hvcluster verify`' });
  if (needBytes > snaps.vgFreeBytes) {
    throw new ChecksFailedError(`a snapshot of guest ${guest} needs ${Math.ceil(needBytes / MIB)} MiB on ${node}, its volume group has ${Math.floor(snaps.vgFreeBytes / MIB)} MiB free`, {
      hint: `remove old snapshots (\`hvcluster snapshot list -f site.yaml\`), or a smaller one with --size N% (it becomes invalid if the guest rewrites more than that before it is removed)`,
    });
  }
  let ram: SnapshotCreate['ram'] = null;
  if (options.ram) {
    const memoryMiB = answers.spec.guests.find((g) => g.name === guest)!.memory;
    const need = ramNeedBytes(memoryMiB);
    if (snaps.ramFreeBytes === null) throw new ChecksFailedError(`the free space of ${RAM_DIR} on ${node} was not read`, { hint: 'run `hvcluster verify`' });
    if (need > snaps.ramFreeBytes) {
      throw new ChecksFailedError(`saving the RAM of guest ${guest} (${memoryMiB} MiB) needs ${Math.ceil(need / MIB)} MiB free in ${RAM_DIR} on ${node}, its filesystem has ${Math.floor(snaps.ramFreeBytes / MIB)} MiB free`, {
        hint: `free room on that filesystem (the RAM files of other snapshots: \`hvcluster snapshot list -f site.yaml\`), or take a snapshot of its disks only (without --ram)`,
      });
    }
    ram = { file: ramFile(guest, name), memoryMiB, needBytes: need, freeBytes: snaps.ramFreeBytes };
  }
  return { guest, name, stamp, node, running: d.running[0] !== undefined, resources: d.resources, size: options.size, needBytes, freeBytes: snaps.vgFreeBytes, ram };
}

/** The set named `name` of `guest`, or a UsageError listing what there is. */
export function findSet(reads: ReadonlyMap<string, { snapshots?: SnapshotState }>, guest: string, name: string): SnapshotSet {
  const set = snapshotSets(reads, guest).find((s) => s.name === name);
  if (!set) throw findSetError(reads, guest, name);
  return set;
}

function findSetError(reads: ReadonlyMap<string, { snapshots?: SnapshotState }>, guest: string, name: string): UsageError {
  const sets = snapshotSets(reads, guest);
  return new UsageError(`guest ${guest} has no snapshot named ${name}`, { hint: sets.length > 0 ? `its snapshots: ${sets.map((s) => `${s.name} (on ${s.node})`).join(', ')}` : `it has none: \`hvcluster snapshot create ${guest} -f site.yaml\`` });
}

export interface SnapshotRemove {
  guest: string;
  name: string;
  node: string;
  /** Its LVs (none: only a RAM file no snapshot claims is removed). */
  lvs: string[];
  /** Its RAM file, deleted after the LVs (null: none). */
  ramFile: string | null;
  /** Only a leftover RAM file is removed. */
  leftover: boolean;
}

/**
 * What `snapshot remove GUEST NAME` removes: the set's LVs and its RAM file; or, with no such set, a
 * RAM file of that name no snapshot claims (a leftover), refused while the guest does not run (it may
 * be the state it was saved in, by a create --ram whose restore failed). Pure.
 */
export function planSnapshotRemove(answers: Answers, reads: ReadonlyMap<string, SnapshotNodeRead>, guest: string, name: string): SnapshotRemove {
  if (!answers.spec.guests.some((g) => g.name === guest)) throw new UsageError(`guest ${guest} is not declared in the answer file`);
  const set = snapshotSets(reads, guest).find((s) => s.name === name);
  if (set) return { guest, name, node: set.node, lvs: set.disks.map((d) => d.lv), ramFile: set.ram?.file ?? null, leftover: false };
  const left = ramLeftovers(reads, guest).find((l) => l.name === name);
  if (!left) throw findSetError(reads, guest, name);
  const runs = [...reads].some(([, r]) => ['running', 'paused'].includes(domainOf(r.guests, guest).state));
  if (!runs) {
    throw new ChecksFailedError(`guest ${guest} does not run, and ${left.file} on ${left.node} is the RAM of no snapshot: it may be the state the guest was saved in by a snapshot create --ram whose restore failed`, {
      hint: `resume the guest from it first (\`virsh restore ${left.file}\` on ${left.node}, as root), or start it cold (\`hvcluster guest start ${guest}\`); then remove it`,
    });
  }
  return { guest, name, node: left.node, lvs: [], ramFile: left.file, leftover: true };
}

export interface SnapshotRollback {
  guest: string;
  name: string;
  /** The node holding the snapshots: the data is written back there, through its DRBD devices. */
  node: string;
  /** Where the guest runs now (stopped first, started there again), null when stopped. */
  runningOn: string | null;
  holders: string[];
  disks: { resource: string; lv: string; bytes: number }[];
  consistency: Consistency;
  /** Under Pacemaker: stopped and started through it (target-role); its disks stay Promoted on `node`. */
  ha: boolean;
  /** The snapshot was taken with the guest's RAM: its file on `node` (bytes null: missing). */
  ram: { file: string; bytes: number | null } | null;
  /**
   * The guest resumes from the RAM file on `node` (`virsh restore`, its disks Primary there) instead
   * of a cold start where it ran: a snapshot with RAM, neither --no-ram nor --no-start. It does
   * even when it was stopped: the snapshot is of a running guest.
   */
  restore: boolean;
}

/**
 * The guest's disks set back to snapshot `name`: refused when the set is missing a disk or one of
 * its snapshots is invalid (overflowed), a disk is not Connected and UpToDate on every holder (the
 * peers must receive what is written back), or the guest is under Pacemaker and its disks are
 * Promoted (it runs) elsewhere than on the snapshot's node, or on no one node (guests/moves.ts
 * promotedNode). A snapshot with RAM is resumed from it (options.ram false: --no-ram; options.start
 * false: --no-start, nothing resumed), refused when the guest is under Pacemaker, its RAM file is
 * missing, or the snapshot's node is in standby.
 */
export function planSnapshotRollback(answers: Answers, reads: ReadonlyMap<string, SnapshotNodeRead>, guest: string, name: string, options: { ram?: boolean; start?: boolean } = {}): SnapshotRollback {
  const d = declaredGuest(answers, reads, guest);
  const set = findSet(reads, guest, name);
  const restore = set.ram !== null && options.ram !== false && options.start !== false;
  const noRam = `roll back its disks only, the guest started cold: \`hvcluster snapshot rollback ${guest} ${name} --yes --no-ram\``;
  if (restore && d.ha) {
    throw new UsageError(`snapshot ${name} of guest ${guest} holds its RAM, and the guest is under Pacemaker: a guest resumed from its RAM outside Pacemaker would not be Pacemaker's (it starts and monitors the guest itself)`, { hint: noRam });
  }
  if (restore && set.ram!.bytes === null) throw new ChecksFailedError(`the RAM file of snapshot ${name} of guest ${guest} is missing on ${set.node} (${set.ram!.file})`, { hint: noRam });
  if (restore && reads.get(set.node)!.guests.standby) {
    throw new ChecksFailedError(`${set.node} is in standby (node drain), and guest ${guest} would resume there from the RAM of snapshot ${name} (its file is on that node)`, { hint: `\`hvcluster node resume ${set.node}\` first, or ${noRam}` });
  }
  if (d.ha) {
    // Pacemaker keeps its disks Promoted where it ran while the guest is stopped: the snapshot must be there.
    const where = promotedNode(reads, guest, d);
    if (where !== set.node) {
      throw new ChecksFailedError(`guest ${guest} is under Pacemaker and ${d.running[0] ? 'runs' : 'has its disks Promoted'} on ${where}, but snapshot ${name} is on ${set.node}: the snapshot is written back where Pacemaker keeps its disks Promoted`, {
        hint: d.running[0] ? `move it there first: \`hvcluster guest migrate ${guest} --to ${set.node}\`` : `start it and move it to ${set.node} first (\`hvcluster guest start ${guest}\`, then \`guest migrate ${guest} --to ${set.node}\`)`,
      });
    }
  }
  const disks = d.resources.map((resource) => {
    const snap = set.disks.find((s) => s.origin === resource);
    if (!snap) throw new ChecksFailedError(`snapshot ${name} of guest ${guest} has no snapshot of ${resource} (the guest's disks changed since it was taken)`, { hint: `remove it: \`hvcluster snapshot remove ${guest} ${name}\`` });
    if (snap.invalid) throw new ChecksFailedError(`snapshot ${name} of guest ${guest} is invalid on ${set.node}: ${snap.lv} overflowed (the guest rewrote more than its ${Math.round(snap.sizeBytes / MIB)} MiB), its data is gone`, { hint: `remove it: \`hvcluster snapshot remove ${guest} ${name}\`` });
    if (!Number.isInteger(snap.bytes) || snap.bytes <= 0) throw new ChecksFailedError(`${snap.lv} on ${set.node} does not record the size it holds (tag hvc_bytes)`, { hint: 'it was not made by this version of hvcluster: remove it' });
    for (const holder of d.holders) {
      const state = reads.get(holder)!.volumes.byName.get(resource)?.state;
      if (state?.cstate !== 'Connected' || state.dstate !== 'UpToDate/UpToDate') {
        throw new ChecksFailedError(`${resource} is ${state?.cstate ?? 'down'} and ${state?.dstate ?? 'unknown'} on ${holder}: a rollback writes through DRBD, every copy must be Connected and UpToDate`, { hint: 'wait for the resync to finish, or reconnect the resource (`hvcluster guest list`)' });
      }
    }
    return { resource, lv: snap.lv, bytes: snap.bytes };
  });
  if (!d.holders.includes(set.node)) throw new ChecksFailedError(`snapshot ${name} is on ${set.node}, which no longer holds guest ${guest}'s disks`);
  return { guest, name, node: set.node, runningOn: d.running[0] ?? null, holders: d.holders, disks, consistency: set.consistency, ha: d.ha, ram: set.ram, restore };
}

/** One row of `snapshot list`. */
export interface SnapshotRow {
  guest: string;
  name: string;
  node: string;
  takenAt: string | null;
  consistency: Consistency;
  disks: { lv: string; origin: string; sizeBytes: number; fillPercent: number | null; invalid: boolean }[];
  /** valid, or invalid (an overflowed disk: its data is gone). */
  state: 'valid' | 'invalid';
  thawAbandoned: boolean;
  /** Where the guest runs now (null: stopped or unknown). */
  guestRunsOn: string | null;
  /** Taken with the guest's RAM: its file on `node` and its size (null: the file is missing). */
  ram: { file: string; bytes: number | null } | null;
}

export function snapshotList(reads: ReadonlyMap<string, { snapshots?: SnapshotState; guests?: NodeRead['guests'] }>, guest?: string): SnapshotRow[] {
  return snapshotSets(reads, guest).map((set) => ({
    guest: set.guest,
    name: set.name,
    node: set.node,
    takenAt: stampTime(set.stamp),
    consistency: set.consistency,
    disks: set.disks.map((s) => ({ lv: s.lv, origin: s.origin, sizeBytes: s.sizeBytes, fillPercent: s.fillPercent, invalid: s.invalid })),
    state: set.disks.some((s) => s.invalid) ? 'invalid' : 'valid',
    thawAbandoned: set.disks.some((s) => s.thawAbandoned),
    guestRunsOn: [...reads].find(([, r]) => r.guests && ['running', 'paused'].includes(domainOf(r.guests, set.guest).state))?.[0] ?? null,
    ram: set.ram,
  }));
}

/** The list as a table and notes (and the RAM files no snapshot claims), for a terminal. Pure. */
export function formatSnapshotList(rows: SnapshotRow[], unread: string[], leftovers: readonly RamLeftover[] = []): string {
  const cells = rows.map((r) => [
    r.guest,
    r.name,
    r.node,
    r.takenAt ?? '?',
    r.consistency,
    r.state === 'invalid' ? 'INVALID' : `${Math.max(...r.disks.map((d) => d.fillPercent ?? 0)).toFixed(1)}%`,
    r.ram === null ? '-' : r.ram.bytes === null ? 'MISSING' : `${Math.ceil(r.ram.bytes / MIB)}MiB`,
    r.guestRunsOn === null ? 'guest stopped' : r.guestRunsOn === r.node ? `guest runs here` : `guest runs on ${r.guestRunsOn}`,
  ]);
  const header = ['GUEST', 'NAME', 'ON', 'TAKEN (UTC)', 'CONSISTENCY', 'FILL', 'RAM', 'WHERE'];
  const widths = header.map((h, i) => Math.max(h.length, ...cells.map((c) => c[i]!.length)));
  const line = (c: string[]) => c.map((v, i) => (i === c.length - 1 ? v : v.padEnd(widths[i]!))).join('  ').trimEnd();
  const out = rows.length === 0 ? ['no snapshots'] : [line(header), ...cells.map(line)];
  for (const r of rows) {
    if (r.state === 'invalid') out.push(`! ${r.guest} ${r.name}: invalid (its copy-on-write area overflowed: the data is gone); remove it`);
    if (r.thawAbandoned) out.push(`! ${r.guest} ${r.name}: the guest agent did not answer the thaw when it was taken; check that the guest's filesystems are writable`);
    if (r.ram && r.ram.bytes === null) out.push(`! ${r.guest} ${r.name}: its RAM file ${r.ram.file} is missing on ${r.node}: it can be rolled back with --no-ram only (its disks, the guest started cold)`);
  }
  for (const l of leftovers) {
    out.push(`! ${l.node}: ${l.file} (${Math.ceil(l.bytes / MIB)} MiB) is the RAM of no snapshot (a snapshot create --ram that did not finish); delete it: \`hvcluster snapshot remove ${l.guest} ${l.name}\``);
  }
  for (const node of unread) out.push(`${node} could not be read: its snapshots are not listed`);
  return `${out.join('\n')}\n`;
}
