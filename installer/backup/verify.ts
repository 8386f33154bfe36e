/**
 * `hvcluster backup verify`: proof that the latest backup of each guest restores and boots. Each set
 * is written into scratch logical volumes (`hvc-bkverify-GUEST-diskN`: hvc- names are hvcluster's own)
 * on the node with the most free space, its checksums compared with the set's meta, then booted as a
 * transient domain made from the set's own domain XML with no network interface (it must not answer
 * on the original's addresses) until its guest agent answers; everything removed afterwards. Pure.
 */
import { ChecksFailedError, UsageError } from '../errors.js';
import type { SnapshotState } from '../snapshots/state.js';

/** The scratch domain of a guest's verification. */
export const scratchDomain = (guest: string) => `hvc-bkverify-${guest}`;
/** The scratch LV of disk `i`. */
export const scratchLv = (guest: string, i: number) => `${scratchDomain(guest)}-disk${i}`;

/** LVM's extents (4 MiB by default) and a margin: a scratch LV of `bytes` takes at most this much. */
const EXTENT = 4 * 2 ** 20;

/** The node that holds the scratch volumes: `on`, else the one with the most free space; refused when it has not room. */
export function verifyNode(reads: ReadonlyMap<string, { snapshots?: SnapshotState }>, bytes: readonly number[], on?: string): string {
  const need = bytes.reduce((s, b) => s + Math.ceil(b / EXTENT) * EXTENT, 0);
  const free = [...reads].map(([node, r]) => ({ node, free: r.snapshots?.vgFreeBytes ?? 0 }));
  if (on !== undefined && !reads.has(on)) throw new UsageError(`${on} is not a node of the cluster (${[...reads.keys()].join(', ')})`);
  const pick = on !== undefined ? free.find((f) => f.node === on)! : free.reduce((a, b) => (b.free > a.free ? b : a));
  if (pick.free < need) throw new ChecksFailedError(`verifying needs ${Math.ceil(need / 2 ** 20)} MiB of scratch volumes; ${pick.node}'s volume group has ${Math.floor(pick.free / 2 ** 20)} MiB free`, { hint: 'free space, or verify one guest at a time (`backup verify GUEST`)' });
  return pick.node;
}

/**
 * The set's domain XML made a scratch domain: renamed, no UUID (libvirt makes one: never the
 * original's), each disk on its scratch volume in order, every network interface removed. Throws
 * when the XML does not have as many disks as the set.
 */
export function scratchDomainXml(xml: string, guest: string, devices: readonly string[]): string {
  let disk = 0;
  const out = xml
    .replace(/<!--[\s\S]*?-->\s*/g, '')
    .replace(/<name>[^<]*<\/name>/, `<name>${scratchDomain(guest)}</name>`)
    .replace(/\s*<uuid>[^<]*<\/uuid>/, '')
    .replace(/<title>[^<]*<\/title>/, `<title>${scratchDomain(guest)}</title>`)
    .replace(/\s*<interface\b[\s\S]*?<\/interface>/g, '')
    .replace(/(<disk type='block' device='disk'>[\s\S]*?<source dev=')[^']*('\/>)/g, (_, head: string, tail: string) => `${head}${devices[disk++] ?? '?'}${tail}`);
  if (disk !== devices.length) throw new ChecksFailedError(`the set's domain XML has ${disk} disk(s), the set ${devices.length}`);
  return out;
}

export interface GuestVerification {
  guest: string;
  set: string | null;
  takenAt: string | null;
  /** Hours since the set was taken. */
  ageHours: number | null;
  node: string;
  /** Every disk written and read back with the meta's sha256. */
  restore: 'ok' | 'failed';
  /** The scratch domain's agent answered (ok), did not within the time (inconclusive), not tried (skipped: --no-boot or a failed restore), or the domain did not start (failed). */
  boot: 'ok' | 'inconclusive' | 'skipped' | 'failed';
  error?: string;
}

/** The verification's exit: 1 when a restore, a boot or the repository check failed; inconclusive boots are warnings. */
export function verifyFailed(guests: readonly GuestVerification[], repositoryOk: boolean): boolean {
  return !repositoryOk || guests.some((g) => g.restore === 'failed' || g.boot === 'failed');
}
