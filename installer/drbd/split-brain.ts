/**
 * Guided recovery of a DRBD split brain (`hvcluster drbd resolve RES --survivor NODE`), the recovery
 * of DRBD's user guide made safe: both sides shown (what each holds out of sync, when the split
 * brain was seen), the victim's data kept as an LVM snapshot of its backing volume before it is
 * discarded, then the victim reconnects with --discard-my-data, the survivor reconnects, and the
 * resync is waited for. DRBD's after-sb policies stay `disconnect`: nothing is discarded without an
 * operator. Pure: parsing and deciding; the command acts.
 */
import { ChecksFailedError } from '../errors.js';

export interface SplitBrainSide {
  node: string;
  /** /etc/drbd.d/RES.res exists here (a holder). */
  holds: boolean;
  cstate: string | null;
  dstate: string | null;
  role: string | null;
  /** Out of sync as this side knows it, KiB. */
  outOfSyncKiB: number | null;
  lvBytes: number | null;
  vgFreeBytes: number | null;
  /** The last split brain of this resource in this boot's kernel log. */
  detectedAt: string | null;
  /** drbdadm get-gi: the data generation (current UUID first). */
  generation: string | null;
}

const value = (v: string | undefined): string | null => (v === undefined || v === '-' || v === '' ? null : v);
const number = (v: string | undefined): number | null => {
  const s = value(v);
  return s !== null && /^\d+$/.test(s) ? Number(s) : null;
};

/** `split-brain.sh state` output. Pure. */
export function parseSplitBrainSide(node: string, stdout: string): SplitBrainSide {
  const kv = new Map<string, string>();
  for (const line of stdout.split('\n')) {
    const m = /^(\S+) (.*)$/.exec(line.trim());
    if (m) kv.set(m[1]!, m[2]!);
  }
  return {
    node,
    holds: kv.get('resfile') === 'yes',
    cstate: value(kv.get('cstate')),
    dstate: value(kv.get('dstate')),
    role: value(kv.get('role')),
    outOfSyncKiB: number(kv.get('oos')),
    lvBytes: number(kv.get('lv-bytes')),
    vgFreeBytes: number(kv.get('vg-free-bytes')),
    detectedAt: value(kv.get('detected')),
    generation: value(kv.get('gi')),
  };
}

export interface ResolvePlan {
  resource: string;
  survivor: SplitBrainSide;
  victim: SplitBrainSide;
  /** The LVM snapshot of the victim's backing volume: VG/NAME, its size. */
  snapshot: { vg: string; name: string; sizeMiB: number };
}

/** A resolution refused: what is wrong, and what to do (exit 1, nothing changed). */
const refuse = (message: string, hint: string) => new ChecksFailedError(message, { hint });

const MIB = 1024 * 1024;
const local = (s: string | null) => (s ?? '-').split('/')[0]!;

/**
 * The snapshot's size: the whole volume when the group has room for it (it can then never overflow,
 * whatever the resync rewrites), else twice what is out of sync plus 256 MiB (DRBD resyncs only
 * those blocks, and the bitmap's 4 KiB granularity rounds up); never more than the volume. Pure.
 */
export function snapshotSizeMiB(lvBytes: number, vgFreeBytes: number, outOfSyncKiB: number): number {
  const whole = Math.ceil(lvBytes / MIB);
  if (vgFreeBytes >= lvBytes) return whole;
  return Math.min(whole, Math.ceil((2 * outOfSyncKiB) / 1024) + 256);
}

/** The split brain's two sides and what resolving it does, or a refusal that says why and what to do. Pure. */
export function planResolve(resource: string, survivorName: string, sides: SplitBrainSide[], vg: string, now: Date): ResolvePlan {
  const holders = sides.filter((s) => s.holds);
  if (holders.length === 0) throw refuse(`no node holds a DRBD resource ${resource} (/etc/drbd.d/${resource}.res)`, '`drbdadm status` or /proc/drbd on a node lists its resources');
  if (holders.length !== 2) throw refuse(`${resource} is held by ${holders.map((h) => h.node).join(', ')}: a split brain needs exactly two`, 'DRBD 8.4 resources have two replicas');
  const survivor = holders.find((h) => h.node === survivorName);
  if (!survivor) throw refuse(`--survivor ${survivorName} does not hold ${resource}`, `its holders: ${holders.map((h) => h.node).join(', ')}`);
  const victim = holders.find((h) => h !== survivor)!;
  if (holders.every((h) => h.cstate === 'Connected' || (h.cstate ?? '').startsWith('Sync') || (h.cstate ?? '').startsWith('WFBitMap'))) {
    throw refuse(`${resource} is connected (${holders.map((h) => `${h.node} ${h.cstate}`).join(', ')}): there is no split brain to resolve`, 'verify reports a split brain as DRBD_SPLIT_BRAIN');
  }
  if (holders.every((h) => h.cstate !== 'StandAlone')) {
    throw refuse(`${resource} is not StandAlone on either node (${holders.map((h) => `${h.node} ${h.cstate ?? 'down'}`).join(', ')}): DRBD did not detect a split brain`,
      'a node waiting for its peer (WFConnection) connects by itself once the replication link is back; a resource that is down comes up with `drbdadm up`',
    );
  }
  if (local(victim.role) === 'Primary') {
    throw refuse(`${victim.node} is Primary for ${resource}: something uses its data (a guest?), and discarding it under that would corrupt it`,
      `stop what uses ${resource} on ${victim.node} (\`hvcluster guest stop NAME\`), then \`drbdadm secondary ${resource}\` there, and run this again`,
    );
  }
  if (local(survivor.dstate) !== 'UpToDate') {
    throw refuse(`${survivor.node}'s data of ${resource} is ${local(survivor.dstate) || 'unknown'}, not UpToDate: it cannot be the survivor`, `choose the node with UpToDate data${local(victim.dstate) === 'UpToDate' ? ` (${victim.node})` : ''}`);
  }
  if (victim.lvBytes === null || victim.vgFreeBytes === null) {
    throw refuse(`the backing volume ${vg}/${resource} of ${victim.node} could not be read: its data cannot be kept before it is discarded`, `check \`lvs ${vg}/${resource}\` on ${victim.node}`);
  }
  const sizeMiB = snapshotSizeMiB(victim.lvBytes, victim.vgFreeBytes, victim.outOfSyncKiB ?? 0);
  if (sizeMiB * MIB > victim.vgFreeBytes) {
    throw refuse(`${victim.node}'s volume group ${vg} has ${Math.floor(victim.vgFreeBytes / MIB)} MiB free: a snapshot keeping its data of ${resource} needs ${sizeMiB} MiB`,
      `free space in ${vg} on ${victim.node} (an old snapshot: \`lvs ${vg}\`), or copy ${vg}/${resource} elsewhere yourself and resolve by hand (DRBD's user guide, "Manual split brain recovery")`,
    );
  }
  const stamp = now.toISOString().replace(/[-:]/g, '').replace(/\.\d+Z$/, 'Z');
  return { resource, survivor, victim, snapshot: { vg, name: `${resource}-splitbrain-${stamp}`, sizeMiB } };
}

/** One line per side, as the command shows them before it asks. Pure. */
export function describeSide(s: SplitBrainSide): string {
  const oos = s.outOfSyncKiB === null ? 'unknown' : `${(s.outOfSyncKiB / 1024).toFixed(1)} MiB`;
  return `${s.node}: ${local(s.role) || 'down'}, ${s.cstate ?? 'down'}, ${local(s.dstate) || 'unknown'}; out of sync as it knows it: ${oos}; split brain seen ${s.detectedAt ?? 'not in this boot\'s log'}; data generation ${s.generation ?? 'unknown'}`;
}
