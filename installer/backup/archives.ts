/**
 * Archive names in the cluster's borg repository, and the sets they make (docs/design/backups.md,
 * section 3 "Archives"): one backup of a guest is the set GUEST.STAMP, an archive per disk
 * (GUEST.STAMP.disk0, .disk1, ...) and GUEST.STAMP.meta written last. The meta archive is the
 * commit: disk archives without it are leftovers of a run that failed, never a backup.
 *
 * No node name in a name: where a backup ran never matters for the chain (a guest that migrated
 * keeps its sets). Guest names contain no '.', so the parts split without ambiguity. Pure.
 */
import { GUEST_NAME_RE } from '../answers/schema.js';

/** The instant of a set, UTC to the second: `20261208t101500z` (lowercase, like every name hvcluster makes). */
const STAMP_RE = /^(\d{4})(\d{2})(\d{2})t(\d{2})(\d{2})(\d{2})z$/;
const PART_RE = /^(?:disk(0|[1-9]\d{0,2})|(meta))$/;

/** The stamp of an instant (its milliseconds dropped): 2026-12-08T10:15:00.250Z -> 20261208t101500z. */
export function backupStamp(date: Date): string {
  const iso = date.toISOString(); // 2026-12-08T10:15:00.250Z, always UTC
  return `${iso.slice(0, 4)}${iso.slice(5, 7)}${iso.slice(8, 10)}t${iso.slice(11, 13)}${iso.slice(14, 16)}${iso.slice(17, 19)}z`;
}

/** The instant a stamp names; undefined for text that is not a stamp of a real instant (20261332t...). */
export function stampDate(stamp: string): Date | undefined {
  const match = STAMP_RE.exec(stamp);
  if (!match) return undefined;
  const [, y, mo, d, h, mi, s] = match;
  const date = new Date(`${y}-${mo}-${d}T${h}:${mi}:${s}Z`);
  return Number.isNaN(date.getTime()) || backupStamp(date) !== stamp ? undefined : date;
}

/** `web.20261208t101500z`: one backup of a guest. */
export function setName(guest: string, stamp: string): string {
  return `${checkedGuest(guest)}.${checkedStamp(stamp)}`;
}

/** `web.20261208t101500z.disk1`: the data of disk `index` (its DRBD device's bytes) in a set. */
export function diskArchiveName(guest: string, stamp: string, index: number): string {
  if (!Number.isInteger(index) || index < 0 || index > 999) throw new Error(`not a disk index: ${index}`);
  return `${setName(guest, stamp)}.disk${index}`;
}

/** `web.20261208t101500z.meta`: the set's meta.json, written last. */
export function metaArchiveName(guest: string, stamp: string): string {
  return `${setName(guest, stamp)}.meta`;
}

export interface ArchiveName {
  guest: string;
  stamp: string;
  takenAt: Date;
  /** `{ kind: 'disk', index }` for GUEST.STAMP.diskN, `{ kind: 'meta' }` for GUEST.STAMP.meta. */
  part: { kind: 'disk'; index: number } | { kind: 'meta' };
}

/** The parts of an archive name hvcluster makes; undefined for any other name (another tool's archive, a borg checkpoint). */
export function parseArchiveName(name: string): ArchiveName | undefined {
  const pieces = name.split('.');
  if (pieces.length !== 3) return undefined;
  const [guest, stamp, part] = pieces as [string, string, string];
  const takenAt = stampDate(stamp);
  const match = PART_RE.exec(part);
  if (!GUEST_NAME_RE.test(guest) || !takenAt || !match) return undefined;
  return { guest, stamp, takenAt, part: match[2] ? { kind: 'meta' } : { kind: 'disk', index: Number(match[1]) } };
}

/** A complete backup of a guest: its meta archive exists. */
export interface BackupSet {
  /** GUEST.STAMP */
  name: string;
  guest: string;
  stamp: string;
  takenAt: Date;
  meta: string;
  /** Its disk archives found, by index (the meta says how many there must be). */
  disks: Array<{ index: number; archive: string }>;
}

/** Disk archives whose set has no meta archive: what a failed run left, deleted by the next one. */
export interface SetLeftovers {
  name: string;
  guest: string;
  stamp: string;
  archives: string[];
}

export interface ArchiveSets {
  /** Complete sets, by guest, oldest first. */
  complete: BackupSet[];
  /** Disk archives without their meta, by guest, oldest first. */
  incomplete: SetLeftovers[];
  /** Names hvcluster does not make, as given. */
  foreign: string[];
}

/**
 * The sets that archive names make. A set is complete only when its meta archive exists: the meta is
 * written after every disk of the set, so without it some disk may be missing or cut short.
 * (`borg list` leaves out checkpoint archives; given anyway, they count as foreign.)
 */
export function archiveSets(names: Iterable<string>): ArchiveSets {
  const bySet = new Map<string, { guest: string; stamp: string; takenAt: Date; meta?: string; disks: Array<{ index: number; archive: string }> }>();
  const foreign: string[] = [];
  for (const name of names) {
    const parsed = parseArchiveName(name);
    if (!parsed) {
      foreign.push(name);
      continue;
    }
    const key = setName(parsed.guest, parsed.stamp);
    const set = bySet.get(key) ?? { guest: parsed.guest, stamp: parsed.stamp, takenAt: parsed.takenAt, disks: [] };
    if (parsed.part.kind === 'meta') set.meta = name;
    else set.disks.push({ index: parsed.part.index, archive: name });
    bySet.set(key, set);
  }
  const ordered = [...bySet.entries()]
    .sort(([, a], [, b]) => (a.guest < b.guest ? -1 : a.guest > b.guest ? 1 : a.takenAt.getTime() - b.takenAt.getTime()))
    .map(([name, set]) => ({ name, ...set, disks: set.disks.sort((a, b) => a.index - b.index) }));
  return {
    complete: ordered.flatMap(({ meta, ...set }) => (meta ? [{ ...set, meta }] : [])),
    incomplete: ordered.flatMap((set) => (set.meta ? [] : [{ name: set.name, guest: set.guest, stamp: set.stamp, archives: set.disks.map((d) => d.archive) }])),
    foreign,
  };
}

function checkedGuest(guest: string): string {
  if (!GUEST_NAME_RE.test(guest)) throw new Error(`not a guest name: ${JSON.stringify(guest)}`);
  return guest;
}

function checkedStamp(stamp: string): string {
  if (!stampDate(stamp)) throw new Error(`not a backup stamp: ${JSON.stringify(stamp)}`);
  return stamp;
}
