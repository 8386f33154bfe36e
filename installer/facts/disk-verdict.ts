/**
 * The one verdict on a data disk, pure. Preflight (plan/check-facts.ts, from the gathered facts) and
 * the storage step (engine/steps/storage.ts, from installer/remote/disk-claim.sh run again at the
 * moment of the write) both decide with `claimVerdict`; the disk listings show `diskVerdict`.
 *
 * - blank: no signature (wipefs), no partition or partition table, nothing stacked on it or holding
 *   it, not mounted, the first and last MiB read as zero. An LVM physical volume is never blank,
 *   even one in no volume group: it may be the orphan of a group whose other disks are absent.
 * - ours: a physical volume of the cluster's own volume group with only its logical volumes on it
 *   (a previous apply): nothing to write.
 * - create: blank, so the volume group is created on it.
 * - wipe: not blank, `wipe: true`, and nothing on it can be in use: its signatures are erased, then
 *   the volume group is created. Never with partitions (they may be in use elsewhere), devices stacked
 *   on it, a mount, or a physical volume of another volume group LVM knows.
 * - refused: everything else, with every reason and what to do next.
 */
import type { BlockChild, Disk, DiskSignature, DiskVerdict, LvmFacts } from './types.js';

/** cmp's answer for one end of the disk: zero, nonzero, unreadable, or not checked. */
export type ZeroCheck = 'zero' | 'nonzero' | 'unreadable' | 'skipped';

export interface VerdictInput {
  sizeBytes: number;
  readOnly: boolean;
  partitionTable: string | null;
  fstype: string | null;
  signatures: DiskSignature[] | null;
  signatureProblem: string | null;
  mountpoints: string[];
  children: BlockChild[];
  holders: string[];
  head: ZeroCheck;
  tail: ZeroCheck;
}

const FILESYSTEMS = new Set([
  'ext2', 'ext3', 'ext4', 'xfs', 'btrfs', 'vfat', 'exfat', 'ntfs', 'f2fs', 'jfs', 'reiserfs', 'iso9660',
  'udf', 'squashfs', 'zfs_member', 'bcachefs', 'ocfs2', 'gfs2',
]);
export const PARTITION_TABLES = new Set(['gpt', 'dos', 'PMBR', 'atari', 'sun', 'sgi', 'bsd', 'mac']);

export function describeSignature(type: string): string {
  if (type === 'PMBR') return 'protective MBR';
  if (PARTITION_TABLES.has(type)) return `partition table ${type}`;
  if (FILESYSTEMS.has(type)) return `filesystem ${type}`;
  if (type === 'swap') return 'swap signature';
  return `signature ${type}`;
}

/** Blank = safe to write on without `wipe: true`. Every reason against it is listed. */
export function diskVerdict(d: VerdictInput): DiskVerdict {
  const reasons: string[] = [];
  const add = (r: string) => {
    if (!reasons.includes(r)) reasons.push(r);
  };
  for (const m of d.mountpoints) add(m === '[SWAP]' ? 'active swap' : `mounted at ${m}`);
  const nested = (cs: BlockChild[]): string[] => cs.flatMap((c) => [...c.mountpoints, ...nested(c.children)]);
  for (const m of nested(d.children)) add(m === '[SWAP]' ? 'swap active on a child device' : `mounted at ${m} (child device)`);
  if (d.sizeBytes === 0) add('empty device (size 0)');
  if (d.readOnly) add('read-only');
  if (d.partitionTable) add(`partition table ${d.partitionTable}`);
  const parts = d.children.filter((c) => c.type === 'part');
  if (parts.length > 0) add(`partitions: ${parts.map((p) => p.name).join(', ')}`);
  for (const c of d.children.filter((c) => c.type !== 'part')) add(`holds ${c.type} ${c.name}`);
  const listed = new Set(d.children.map((c) => c.name));
  for (const h of d.holders) if (!listed.has(h)) add(`held by ${h}`);
  if (d.fstype) add(describeSignature(d.fstype));
  for (const s of d.signatures ?? []) add(describeSignature(s.type));
  if (d.signatures === null) add(`signatures not checked (${d.signatureProblem ?? 'wipefs unavailable'})`);
  if (d.head === 'nonzero') add('first MiB not zero');
  if (d.tail === 'nonzero') add('last MiB not zero');
  if (d.head === 'unreadable') add('first MiB unreadable');
  if (d.tail === 'unreadable') add('last MiB unreadable');
  // Checks are skipped only when partitions or holders already made it "in use"; if not, say so.
  if (reasons.length === 0 && (d.head === 'skipped' || d.tail === 'skipped')) add('first/last MiB not checked');
  return { blank: reasons.length === 0, reasons };
}

/** What LVM says of the disk: a physical volume (of a group, or of none), or not one. */
export type PvState = { volumeGroup: string | null } | null;

export interface ClaimInput extends VerdictInput {
  /** The device's kernel path, for the hints (/dev/vdb). */
  device: string;
  pv: PvState;
}

export type ClaimVerdict =
  | { kind: 'ours' }
  | { kind: 'create' }
  | { kind: 'wipe'; erase: string[] }
  | { kind: 'refused'; reasons: string[]; hint: string; mounted: boolean };

const isLvmSignature = (d: VerdictInput) => d.fstype === 'LVM2_member' || (d.signatures ?? []).some((s) => s.type === 'LVM2_member');

/** The verdict for writing volume group `volumeGroup` on the disk, `wipe` as the answer file says. Pure. */
export function claimVerdict(d: ClaimInput, options: { volumeGroup: string; wipe: boolean }): ClaimVerdict {
  const { volumeGroup, wipe } = options;
  const parts = d.children.filter((c) => c.type === 'part');
  const stacked = d.children.filter((c) => c.type !== 'part');
  const listed = new Set(d.children.map((c) => c.name));
  // lsblk names stacked devices (hvdata-vm1) where sysfs names their holders (dm-3): a holder counts only when lsblk shows nothing.
  const unlistedHolders = stacked.length === 0 ? d.holders.filter((h) => !listed.has(h)) : [];

  // Ours already: nothing will be written, so mounted logical volumes of ours are no concern.
  if (
    d.pv?.volumeGroup === volumeGroup &&
    d.partitionTable === null &&
    parts.length === 0 &&
    d.mountpoints.length === 0 &&
    stacked.every((c) => c.type === 'lvm')
  ) {
    return { kind: 'ours' };
  }

  const blank = diskVerdict(d);
  const reasons = [...blank.reasons];
  const pvReason =
    d.pv === null
      ? null
      : d.pv.volumeGroup === null
        ? 'an LVM physical volume in no volume group (it may belong to a volume group whose other disks are absent)'
        : `an LVM physical volume of volume group ${d.pv.volumeGroup}`;
  if (pvReason) reasons.unshift(pvReason);
  if (blank.blank && d.pv === null) return { kind: 'create' };

  const mounts = [...d.mountpoints, ...d.children.flatMap(function all(c): string[] {
    return [...c.mountpoints, ...c.children.flatMap(all)];
  })];
  const refused = (hint: string): ClaimVerdict => ({ kind: 'refused', reasons, hint, mounted: mounts.length > 0 });
  if (mounts.length > 0) {
    const paths = mounts.filter((m) => m !== '[SWAP]');
    const what = [...(paths.length > 0 ? [`is mounted at ${paths.join(', ')}`] : []), ...(paths.length < mounts.length ? ['holds active swap'] : [])];
    return refused(`it ${what.join(' and ')}; hvcluster never erases a mounted disk, even with wipe: true: choose another disk`);
  }
  if (d.pv?.volumeGroup) {
    return refused(
      `wipe: true does not remove another volume group: choose another disk, or, if ${d.pv.volumeGroup} is no longer needed, remove it (vgremove ${d.pv.volumeGroup}, then pvremove ${d.device}) and run again`,
    );
  }
  // wipe: true erases signatures on a disk nothing uses; partitions and stacked devices may be in use.
  if (parts.length > 0 || stacked.length > 0 || unlistedHolders.length > 0) {
    const what = [
      ...(parts.length > 0 ? [`partitions ${parts.map((p) => p.name).join(', ')}`] : []),
      ...stacked.map((c) => `${c.type} ${c.name}`),
      ...unlistedHolders.map((h) => `holder ${h}`),
    ];
    return refused(
      `${what.join(', ')} may be in use, and hvcluster erases signatures, not those (even with wipe: true): choose another disk, or remove them yourself (e.g. wipefs -a on each partition, then delete them) and set wipe: true`,
    );
  }
  if (d.readOnly || d.sizeBytes === 0 || d.signatures === null || d.head === 'unreadable' || d.tail === 'unreadable') {
    return refused('hvcluster writes only on a disk it can read and write, even with wipe: true: check the disk (dmesg, wipefs, lsblk), or choose another one');
  }
  if (!wipe) {
    const orphanHint = d.pv !== null || isLvmSignature(d) ? `, or check with pvs and vgs that no volume group misses it and remove it yourself (pvremove ${d.device})` : '';
    return refused(`choose a blank disk, or set wipe: true for this disk to have hvcluster erase it (everything on it is lost)${orphanHint}`);
  }
  return { kind: 'wipe', erase: reasons };
}

/** One line for a refusal: the reasons, then what to do. */
export function refusalText(disk: string, server: string, verdict: Extract<ClaimVerdict, { kind: 'refused' }>): string {
  return `${disk} on ${server} is not blank: ${verdict.reasons.join('; ')}; ${verdict.hint}`;
}

/** The claim input from the gathered facts (preflight): the disk, and what LVM said of it. Pure. */
export function claimInputFromFacts(disk: Disk, lvm: LvmFacts | null): ClaimInput {
  const pv = lvm?.physicalVolumes.find((p) => p.device === disk.path);
  // The facts read the first and last MiB only of disks without partitions or holders.
  const inUse = disk.children.length > 0 || disk.holders.length > 0;
  const zero = (z: boolean | null): ZeroCheck => (z === true ? 'zero' : z === false ? 'nonzero' : inUse ? 'skipped' : 'unreadable');
  return {
    device: disk.path,
    sizeBytes: disk.sizeBytes,
    readOnly: disk.readOnly,
    partitionTable: disk.partitionTable,
    fstype: disk.fstype,
    signatures: disk.signatures,
    signatureProblem: disk.signatures === null ? (/^signatures not checked \((.*)\)$/.exec(disk.verdict.reasons.find((r) => r.startsWith('signatures not checked')) ?? '')?.[1] ?? null) : null,
    mountpoints: disk.mountpoints,
    children: disk.children,
    holders: disk.holders,
    head: zero(disk.headZero),
    tail: zero(disk.tailZero),
    pv: pv ? { volumeGroup: pv.volumeGroup } : null,
  };
}
