/**
 * meta.json, the document of a backup set's meta archive (docs/design/backups.md, section 3
 * "Archives"): what was backed up (each disk's archive, DRBD data bytes and digest), how (node,
 * instant, freeze result, versions), and what restore needs to bring it back anywhere (the domain
 * XML, the guest's declaration). Written last, it is the set's commit.
 *
 * Written on the node by installer/remote/backup-node.sh (from what it measured and the declaration
 * backup.conf gives it); read back here strictly: a meta restore trusts must name its guest's
 * archives, sizes and digests exactly, so anything unexpected is an error that names the key (never
 * a guess).
 */
import { z } from 'zod';
import { GUEST_NAME_RE } from '../answers/schema.js';
import { diskResource, type GuestModel } from '../plan/guest-model.js';
import { backupStamp, diskArchiveName, metaArchiveName } from './archives.js';

/** This hvcluster's meta.json format; a reader refuses another one rather than misread it. */
export const META_FORMAT = 'hvcluster-backup-meta/v1';

/**
 * What freezing the guest's filesystems gave before the snapshot (the guest agent's answer), and
 * whether they were thawed after it: `frozen` (agent-consistent), `timed-out` or `none` (no agent:
 * crash-consistent), `stopped` (the guest did not run: nothing to freeze).
 */
export type FreezeResult =
  | { result: 'frozen'; filesystems: number; thaw: 'ok' | 'abandoned' }
  | { result: 'timed-out'; thaw: 'ok' | 'abandoned' }
  | { result: 'none'; reason: string }
  | { result: 'stopped' };

export type Consistency = 'agent' | 'crash' | 'stopped';

export interface BackupMetaDisk {
  index: number;
  /** Its DRBD resource (and logical volume) when backed up: `web-disk0`. */
  resource: string;
  archive: string;
  /** The DRBD device's data size: what the archive holds, and what a restore writes. */
  bytes: number;
  /** The logical volume's size under it (DRBD's metadata at its end). */
  lvBytes: number;
  /** sha256 of the `bytes` bytes, hex. */
  sha256: string;
}

/** The guest as declared when backed up: what restore prints for a target to declare, and checks it against. */
export interface GuestDeclaration {
  vcpus: number;
  memoryMiB: number;
  machine: string;
  boot: string[];
  disks: Array<{ sizeMiB: number }>;
  nics: Array<{ bridge: string; mac: string }>;
}

export interface BackupMeta {
  format: typeof META_FORMAT;
  cluster: string;
  guest: string;
  /** The node that took the snapshot. */
  node: string;
  /** The snapshot's instant, UTC to the second: `2026-12-08T10:15:00Z`; the set's stamp. */
  takenAt: string;
  consistency: Consistency;
  freeze: FreezeResult;
  versions: { hvcluster: string; drbd: string };
  disks: BackupMetaDisk[];
  /** /etc/hvcluster/guests/GUEST.xml as defined when backed up. */
  domainXml: string;
  declaration: GuestDeclaration;
}

/** A meta.json that cannot be trusted: every problem found, each naming its key. */
export class BackupMetaError extends Error {
  constructor(
    readonly problems: string[],
    /** The meta archive it came from, when known. */
    readonly archive?: string,
  ) {
    super(`${archive ? `meta.json of ${archive}` : 'meta.json'} is not valid: ${problems.join('; ')}`);
    this.name = 'BackupMetaError';
  }
}

/**
 * A guest's declaration as a set records it (and backup.conf hands it to backup-node.sh, which
 * copies it into meta.json): keys in this order, nothing else. Pure.
 */
export function guestDeclaration(guest: Pick<GuestModel, 'vcpus' | 'memoryMiB' | 'machine' | 'boot' | 'disks' | 'nics'>): GuestDeclaration {
  return {
    vcpus: guest.vcpus,
    memoryMiB: guest.memoryMiB,
    machine: guest.machine,
    boot: [...guest.boot],
    disks: guest.disks.map((d) => ({ sizeMiB: d.sizeMiB })),
    nics: guest.nics.map((n) => ({ bridge: n.bridge, mac: n.mac })),
  };
}

/** What the consistency of a set is, from its freeze result. */
export function consistencyOf(freeze: FreezeResult): Consistency {
  return freeze.result === 'frozen' ? 'agent' : freeze.result === 'stopped' ? 'stopped' : 'crash';
}

/**
 * A meta.json read back (`borg extract --stdout ::SET.meta`). Strict: unknown keys, a missing key, a
 * wrong type or a relation that does not hold (archive names of another set, bytes beyond the
 * volume, a digest that is not one) make it a BackupMetaError listing every problem. With `archive`,
 * the meta must also be that archive's.
 */
export function parseBackupMeta(text: string, archive?: string): BackupMeta {
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch (error) {
    throw new BackupMetaError([`not JSON (${(error as Error).message})`], archive);
  }
  const format = (data as { format?: unknown } | null)?.format;
  if (typeof format === 'string' && format !== META_FORMAT && format.startsWith('hvcluster-backup-meta/')) {
    throw new BackupMetaError([`format ${format} was written by another hvcluster version; this one reads ${META_FORMAT}`], archive);
  }
  const problems = problemsOf(data);
  if (problems.length === 0 && archive !== undefined) {
    const meta = data as BackupMeta;
    const own = metaArchiveName(meta.guest, backupStamp(new Date(meta.takenAt)));
    if (own !== archive) problems.push(`guest and takenAt name the archive ${own}, not ${archive}`);
  }
  if (problems.length > 0) throw new BackupMetaError(problems, archive);
  return data as BackupMeta;
}

// ---------------------------------------------------------------------------------------------
// The schema of meta.json and the relations between its keys

const TAKEN_AT_RE = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$/;
const SHA256_RE = /^[0-9a-f]{64}$/;
const MAC_RE = /^[0-9a-f]{2}(:[0-9a-f]{2}){5}$/;

const count = (min: number) => z.number({ error: `expected a whole number of at least ${min}` }).int({ error: `expected a whole number of at least ${min}` }).min(min, { error: `expected a whole number of at least ${min}` });
const name = (what: string) => z.string({ error: `expected ${what}` }).min(1, { error: `expected ${what}` });
const thaw = z.enum(['ok', 'abandoned'], { error: 'expected ok or abandoned' });

const MetaSchema = z.strictObject(
  {
    format: z.literal(META_FORMAT, { error: `expected ${META_FORMAT}` }),
    cluster: name('the cluster name'),
    guest: z.string({ error: 'expected a guest name' }).regex(GUEST_NAME_RE, { error: 'expected a guest name' }),
    node: name('the name of the node that took it'),
    takenAt: z
      .string({ error: 'expected an instant like 2026-12-08T10:15:00Z' })
      .regex(TAKEN_AT_RE, { error: 'expected an instant like 2026-12-08T10:15:00Z', abort: true })
      .refine((t) => isoSecond(new Date(t)) === t, { error: 'expected an instant like 2026-12-08T10:15:00Z' }),
    consistency: z.enum(['agent', 'crash', 'stopped'], { error: 'expected agent, crash or stopped' }),
    freeze: z.discriminatedUnion(
      'result',
      [
        z.strictObject({ result: z.literal('frozen'), filesystems: count(0), thaw }),
        z.strictObject({ result: z.literal('timed-out'), thaw }),
        z.strictObject({ result: z.literal('none'), reason: name('why nothing was frozen') }),
        z.strictObject({ result: z.literal('stopped') }),
      ],
      { error: 'expected a freeze result: frozen, timed-out, none or stopped' },
    ),
    versions: z.strictObject({ hvcluster: name('the hvcluster version'), drbd: name('the DRBD version') }),
    disks: z
      .array(
        z.strictObject({
          index: count(0),
          resource: name('a DRBD resource name'),
          archive: name('an archive name'),
          bytes: count(1),
          lvBytes: count(1),
          sha256: z.string({ error: 'expected 64 lowercase hex digits' }).regex(SHA256_RE, { error: 'expected 64 lowercase hex digits' }),
        }),
        { error: 'expected a list of disks' },
      )
      .min(1, { error: 'expected at least one disk' }),
    // hvcluster's domain XML starts with its <!-- Managed by hvcluster ... --> comment.
    domainXml: z.string({ error: "expected the guest's domain XML" }).refine((x) => x.replace(/^\s*(<!--[\s\S]*?-->\s*)*/, '').startsWith('<domain'), { error: "expected the guest's domain XML, starting with <domain" }),
    declaration: z.strictObject({
      vcpus: count(1),
      memoryMiB: count(1),
      machine: name('a machine type'),
      boot: z.array(name('a boot device'), { error: 'expected a list of boot devices' }),
      disks: z.array(z.strictObject({ sizeMiB: count(1) }), { error: 'expected a list of disk sizes' }),
      nics: z.array(
        z.strictObject({
          bridge: name('a bridge name'),
          mac: z.string({ error: 'expected a MAC address in lowercase' }).regex(MAC_RE, { error: 'expected a MAC address in lowercase' }),
        }),
        { error: 'expected a list of network interfaces' },
      ),
    }),
  },
  { error: 'expected a JSON object' },
);

/** Every problem of a meta: its shape (MetaSchema), then what must hold between its keys. */
function problemsOf(data: unknown): string[] {
  const parsed = MetaSchema.safeParse(data);
  if (!parsed.success) return parsed.error.issues.map((issue) => problemOf(issue, data));
  return relationProblems(parsed.data);
}

/** What must hold between the keys: a set's own archive names, sizes that fit, a consistency its freeze gives. */
function relationProblems(meta: BackupMeta): string[] {
  const problems: string[] = [];
  const stamp = backupStamp(new Date(meta.takenAt));
  if (meta.consistency !== consistencyOf(meta.freeze)) {
    problems.push(`consistency: ${meta.consistency} does not follow from freeze ${meta.freeze.result} (expected ${consistencyOf(meta.freeze)})`);
  }
  if (meta.declaration.disks.length !== meta.disks.length) {
    problems.push(`declaration.disks: ${meta.declaration.disks.length} disks declared, ${meta.disks.length} backed up`);
  }
  meta.disks.forEach((disk, i) => {
    const at = `disks[${i}]`;
    if (disk.index !== i) problems.push(`${at}.index: expected ${i}, found ${disk.index}`);
    const archive = diskArchiveName(meta.guest, stamp, i);
    if (disk.archive !== archive) problems.push(`${at}.archive: expected ${archive} (the set's disk ${i}), found ${JSON.stringify(disk.archive)}`);
    const resource = diskResource(meta.guest, i);
    if (disk.resource !== resource) problems.push(`${at}.resource: expected ${resource}, found ${JSON.stringify(disk.resource)}`);
    if (disk.bytes > disk.lvBytes) problems.push(`${at}.bytes: ${disk.bytes} is more than its volume's lvBytes ${disk.lvBytes}`);
    // Not against the declared size: DRBD's data size is the LV's less its metadata, and the LV is the
    // declared size plus room for that metadata rounded up to whole extents (24 MiB declared: 27.96 MiB).
  });
  return problems;
}

/** `disks[1].sha256: expected ...`; a key that is not there says so. */
function problemOf(issue: z.core.$ZodIssue, data: unknown): string {
  const path = issue.path.map((p) => (typeof p === 'number' ? `[${p}]` : `.${String(p)}`)).join('').replace(/^\./, '');
  const missing = issue.code !== 'unrecognized_keys' && issue.path.length > 0 && valueAt(data, issue.path) === undefined;
  const message =
    issue.code === 'unrecognized_keys' ? `unknown key${issue.keys.length > 1 ? 's' : ''} ${issue.keys.map((k) => `'${k}'`).join(', ')}` : missing ? `missing, ${issue.message}` : issue.message;
  return path ? `${path}: ${message}` : message;
}

function valueAt(data: unknown, path: readonly PropertyKey[]): unknown {
  let current = data;
  for (const key of path) {
    if (current === null || typeof current !== 'object') return undefined;
    current = (current as Record<PropertyKey, unknown>)[key];
  }
  return current;
}

/** An instant as meta.json writes it: UTC, to the second. */
function isoSecond(date: Date): string {
  return `${date.toISOString().slice(0, 19)}Z`;
}
