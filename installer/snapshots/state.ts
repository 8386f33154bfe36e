/**
 * What a node holds of snapshots, as `snapshot.sh state VG RAMDIR` prints it: the volume group's
 * free bytes and every LVM snapshot in it; the free bytes of the RAM files' filesystem and the RAM
 * files there (snapshots with RAM). hvcluster's own snapshots are told apart by their tags
 * (`hvc_snapshot` for a guest's named snapshot, `hvc_backup` for a backup's temporary one), which
 * carry everything known of them: the guest, the name, when, how consistent, the DRBD data size it
 * holds, whether it has RAM (`hvc_ram`). Pure.
 */

import { stampDate } from '../backup/archives.js';
import type { Consistency as BackupConsistency } from '../backup/meta.js';

/** A backup's, or `ram`: the guest was saved with its RAM around the snapshot (`snapshot create --ram`). */
export type Consistency = BackupConsistency | 'ram';

export interface SnapshotLv {
  /** The snapshot LV (`web-disk0.snap.before`). */
  lv: string;
  /** The LV it is a snapshot of (the DRBD resource's backing LV, `web-disk0`). */
  origin: string;
  /** Its copy-on-write area in bytes. */
  sizeBytes: number;
  /** How full its copy-on-write area is (0-100), null when LVM does not say. */
  fillPercent: number | null;
  /** LVM dropped it: its area overflowed (or it was invalidated); its data is gone. */
  invalid: boolean;
  tags: string[];
}

/** A snapshot hvcluster made (tagged), one disk of a guest's snapshot set. */
export interface TaggedSnapshot extends SnapshotLv {
  kind: 'snapshot' | 'backup';
  guest: string;
  name: string;
  /** The instant it was taken, UTC, `20261208t101500z`. */
  stamp: string;
  consistency: Consistency;
  /** The DRBD device's data size when it was taken: what a rollback writes back. */
  bytes: number;
  /** The agent did not answer the thaw: the guest's filesystems may have stayed frozen. */
  thawAbandoned: boolean;
  /** Taken with the guest's RAM (tag `hvc_ram`): its file is RAMDIR/GUEST/NAME.ram on the same node. */
  ram: boolean;
}

/** A RAM file of the node (RAMDIR/GUEST/NAME.ram). */
export interface RamFile {
  guest: string;
  name: string;
  bytes: number;
}

export interface SnapshotState {
  vgFreeBytes: number;
  /** Every LV of the volume group by name with its size (origins' sizes size a new snapshot). */
  lvSizes: Map<string, number>;
  tagged: TaggedSnapshot[];
  /** Snapshots someone else made (no hvcluster tag): listed, never touched. */
  foreign: SnapshotLv[];
  /** Free bytes on the filesystem of the RAM files (null: not read). */
  ramFreeBytes: number | null;
  ramFiles: RamFile[];
}

/** What a node's LVs say (verify reads them itself, without the RAM files). */
export type SnapshotLvState = Omit<SnapshotState, 'vgFreeBytes' | 'ramFreeBytes' | 'ramFiles'>;

/** The value of tag `key=value` among `tags`, or undefined. */
const tagValue = (tags: readonly string[], key: string) => tags.find((t) => t.startsWith(`${key}=`))?.slice(key.length + 1);

function tagged(lv: SnapshotLv): TaggedSnapshot | null {
  const kind = lv.tags.includes('hvc_snapshot') ? 'snapshot' : lv.tags.includes('hvc_backup') ? 'backup' : null;
  if (!kind) return null;
  const consistency = tagValue(lv.tags, 'hvc_consistency');
  return {
    ...lv,
    kind,
    guest: tagValue(lv.tags, 'hvc_guest') ?? '',
    name: tagValue(lv.tags, 'hvc_name') ?? '',
    stamp: tagValue(lv.tags, 'hvc_time') ?? '',
    consistency: consistency === 'agent' || consistency === 'stopped' || consistency === 'ram' ? consistency : 'crash',
    bytes: Number(tagValue(lv.tags, 'hvc_bytes') ?? NaN),
    thawAbandoned: tagValue(lv.tags, 'hvc_thaw') === 'abandoned',
    ram: lv.tags.includes('hvc_ram'),
  };
}

export function parseSnapshotState(stdout: string): SnapshotState {
  let vgFreeBytes = NaN;
  let ramFreeBytes: number | null = null;
  const rows: string[] = [];
  const ramFiles: RamFile[] = [];
  for (const line of stdout.split('\n')) {
    if (line.startsWith('vgfree ')) vgFreeBytes = Number(line.slice(7).trim());
    if (line.startsWith('lv ')) rows.push(line.slice(3));
    if (line.startsWith('ramfree ')) {
      const free = Number(line.slice(8).trim());
      ramFreeBytes = line.slice(8).trim() !== '' && Number.isFinite(free) ? free : null;
    }
    if (line.startsWith('ram ')) {
      const [guest, name, bytes] = line.slice(4).trim().split(' ');
      if (!guest || !name || !Number.isFinite(Number(bytes))) throw new Error(`unexpected line: ${line}`);
      ramFiles.push({ guest, name, bytes: Number(bytes) });
    }
  }
  if (!Number.isFinite(vgFreeBytes)) throw new Error('no vgfree line: is the volume group there?');
  return { vgFreeBytes, ...parseSnapshotLvs(rows), ramFreeBytes, ramFiles };
}

/**
 * The rows of `lvs --noheadings --units b --nosuffix --separator '|' -o
 * lv_name,origin,lv_size,data_percent,lv_attr,lv_tags VG` (leading blanks as lvs prints them; blank
 * rows skipped): every LV's size, and its snapshots sorted into hvcluster's (tagged) and others'.
 * What `snapshot.sh state` prints after `lv `, and what verify reads itself (SNAPSHOT_FILL,
 * SNAPSHOT_LEFTOVER). Throws on a row that is not one. Pure.
 */
export function parseSnapshotLvs(rows: readonly string[]): SnapshotLvState {
  const lvSizes = new Map<string, number>();
  const all: SnapshotLv[] = [];
  for (const raw of rows) {
    const row = raw.trim();
    if (row === '') continue;
    const [lv, origin, size, data, attr, tags] = row.split('|');
    if (!lv || attr === undefined) throw new Error(`unexpected line: ${raw}`);
    lvSizes.set(lv, Number(size));
    if (!origin) continue;
    const fill = data && data.trim() !== '' ? Number(data.replace(',', '.')) : null;
    // lv_attr: 's' snapshot, 'S' an invalid one (older LVM); its 5th character 'I' invalid.
    const invalid = attr.startsWith('S') || attr[4] === 'I' || (fill !== null && fill >= 100);
    all.push({ lv, origin, sizeBytes: Number(size), fillPercent: fill, invalid, tags: (tags ?? '').split(',').filter(Boolean) });
  }
  const taggedLvs: TaggedSnapshot[] = [];
  const foreign: SnapshotLv[] = [];
  for (const lv of all) {
    const t = tagged(lv);
    if (t) taggedLvs.push(t);
    else foreign.push(lv);
  }
  return { lvSizes, tagged: taggedLvs, foreign };
}

/** The name of the snapshot LV of a guest's disk resource. */
export const snapshotLv = (resource: string, name: string) => `${resource}.snap.${name}`;

/** The ISO time (to the second) of a stamp (`20261208t101500z`, the backups' format too), or null. */
export function stampTime(stamp: string): string | null {
  return stampDate(stamp)?.toISOString().replace('.000Z', 'Z') ?? null;
}

/** Where a node keeps the RAM files of the snapshots taken with `--ram` (one directory per guest, mode 700). */
export const RAM_DIR = '/var/lib/hvcluster/snapshots';

/** The RAM file of a guest's snapshot, on the node holding its LVs. */
export const ramFile = (guest: string, name: string) => `${RAM_DIR}/${guest}/${name}.ram`;
