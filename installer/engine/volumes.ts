/**
 * A replicated volume: a logical volume of the same size on each node that holds it, with its own
 * DRBD resource on top (the model of Ganeti and LINSTOR). Creating one is one engine operation,
 * used by apply's replication probe and by the migration test; every part of it is idempotent.
 */
import type { DrbdResourceModel } from '../plan/model.js';
import type { PlannedFile } from '../plan/types.js';
import { TemplateEnvironment } from '../render/environment.js';
import { shellQuote } from '../ssh/quote.js';
import type { StepContext } from './context.js';
import { ensureFiles, readFilesAnd } from './files.js';
import { StepRefusedError, waitFor } from './steps/step.js';

export interface VolumeRequest {
  name: string;
  sizeMiB: number;
  /**
   * Skip the initial full sync if the volume is proven zero on every holder. The caller asks only for
   * volumes on disks claimed blank in this run (never after a wipe: a wiped disk's old data is still
   * under its erased signatures); the proof is made here, on each holder, before its DRBD metadata is
   * written: the whole new logical volume read back as zeroes (cmp against /dev/zero). Both sides
   * zero means both sides identical, so nothing needs syncing; anything else gets the full sync.
   */
  skipInitialSync: boolean;
  allowTwoPrimaries?: boolean;
}

export interface ExistingResources {
  /** name -> { minor, port } */
  byName: Map<string, { minor: number; port: number }>;
  minors: Set<number>;
  ports: Set<number>;
}

/** Reads the minors and ports of the resource files it is given (the text of /etc/drbd.d/*.res). Pure. */
export function parseResourceFiles(text: string): ExistingResources {
  const byName = new Map<string, { minor: number; port: number }>();
  const minors = new Set<number>();
  const ports = new Set<number>();
  for (const block of text.split(/^resource\s+/m).slice(1)) {
    const name = /^(\S+)/.exec(block)?.[1];
    const minor = Number(/minor\s+(\d+)\s*;/.exec(block)?.[1] ?? NaN);
    const port = Number(/address\s+[\d.]+:(\d+)\s*;/.exec(block)?.[1] ?? NaN);
    if (name && Number.isInteger(minor) && Number.isInteger(port)) {
      byName.set(name, { minor, port });
      minors.add(minor);
      ports.add(port);
    }
  }
  return { byName, minors, ports };
}

/** The resource's minor and port: kept when it exists, else the lowest free minor and basePort + minor. Pure. */
export function allocate(name: string, existing: ExistingResources, basePort: number): { minor: number; port: number } {
  const known = existing.byName.get(name);
  if (known) return known;
  for (let minor = 0; minor < 1000; minor++) {
    if (!existing.minors.has(minor) && !existing.ports.has(basePort + minor)) return { minor, port: basePort + minor };
  }
  throw new Error('no free DRBD minor below 1000');
}

const templates = new TemplateEnvironment();

export function resourceFile(model: DrbdResourceModel): PlannedFile {
  return {
    path: `/etc/drbd.d/${model.name}.res`,
    template: 'drbd-resource.res.hbs',
    content: templates.render('drbd-resource.res.hbs', model),
    mode: 0o644,
    owner: 'root:root',
    purpose: `DRBD resource ${model.name}`,
    notify: [],
  };
}

interface DrbdState {
  cstate: string | null;
  dstate: string | null;
  role: string | null;
}

const stateScript = (name: string) => `for q in cstate dstate role; do drbdadm $q ${shellQuote(name)} 2>/dev/null || echo -; done`;

function parseState(text: string): DrbdState {
  const [cstate, dstate, role] = text.trim().split('\n').map((s) => (s === '-' || s === undefined ? null : s.trim()));
  return { cstate: cstate ?? null, dstate: dstate ?? null, role: role ?? null };
}

async function drbdState(ctx: StepContext, name: string): Promise<DrbdState> {
  return parseState((await ctx.read(stateScript(name), { allowFailure: true })).stdout);
}

/** Everything a holder knows of the volume, in one read: every resource file, this one's text, its LV, its DRBD state. */
interface HolderView {
  resourceFiles: string;
  ownFile: string | null;
  lvPresent: boolean;
  state: DrbdState;
}

const SECTION = '@@hvcluster-volume';

async function readHolder(ctx: StepContext, name: string, vg: string): Promise<HolderView> {
  const path = `/etc/drbd.d/${name}.res`;
  const { files, more } = await readFilesAnd(
    ctx,
    [path],
    [
      `echo ${SECTION} res; cat /etc/drbd.d/*.res 2>/dev/null`,
      `echo ${SECTION} lv; lvs --noheadings -o lv_size --units m ${shellQuote(`${vg}/${name}`)} 2>/dev/null`,
      `echo ${SECTION} state; ${stateScript(name)}`,
      'true',
    ].join('\n'),
  );
  const sections = new Map<string, string>();
  for (const part of more.split(`${SECTION} `).slice(1)) {
    const newline = part.indexOf('\n');
    sections.set(part.slice(0, newline), part.slice(newline + 1));
  }
  return {
    resourceFiles: sections.get('res') ?? '',
    ownFile: files.get(path) ?? null,
    lvPresent: (sections.get('lv') ?? '').trim() !== '',
    state: parseState(sections.get('state') ?? ''),
  };
}

const allInconsistent = (dstate: string | null) => Boolean(dstate?.split('/').every((d) => d === 'Inconsistent'));

/** Sync progress from /proc/drbd (8.4: `sync'ed: 12.3%`) or drbdsetup status (9: `done:12.3`). */
export function syncPercent(text: string): number | undefined {
  const m = /sync'ed:\s*([\d.]+)%/.exec(text) ?? /done:([\d.]+)/.exec(text);
  return m ? Number(m[1]) : undefined;
}

/** A DRBD sync that makes no progress for this long fails the run instead of being waited on. */
export const SYNC_STALL_MS = Number(process.env.HVCLUSTER_SYNC_STALL_S ?? 120) * 1000;

export interface SyncProgress {
  percent?: number;
  /** What is still out of sync, KiB: 8.4's `oos:` in /proc/drbd, 9's `out-of-sync:` in drbdsetup status. */
  outOfSyncKiB?: number;
}

/**
 * The sync progress of one resource: its minor's lines of /proc/drbd (8.4), else the per-resource
 * `drbdsetup status NAME --statistics` text after it (9, whose /proc/drbd lists no minors). Pure.
 */
export function syncProgress(text: string, minor: number): SyncProgress {
  const lines = text.split('\n');
  const start = lines.findIndex((l) => new RegExp(`^\\s*${minor}:\\s+cs:`).test(l));
  let scope = text;
  if (start >= 0) {
    const end = lines.findIndex((l, i) => i > start && /^\s*\d+:\s+cs:|^\S/.test(l));
    scope = lines.slice(start, end < 0 ? undefined : end).join('\n');
  } else {
    // Not an 8.4 minor block: only the drbdsetup part (after /proc/drbd's own lines) is about this resource.
    scope = lines.filter((l) => !/^\s*\d+:\s+cs:|sync'ed:|\boos:/.test(l)).join('\n');
  }
  const percent = syncPercent(scope);
  const oos = /\boos:(\d+)/.exec(scope) ?? /\bout-of-sync:(\d+)/.exec(scope);
  return { ...(percent !== undefined ? { percent } : {}), ...(oos ? { outOfSyncKiB: Number(oos[1]) } : {}) };
}

/**
 * Watches a sync for progress: anything that changes (disk states, percentage, KiB out of sync)
 * counts. `observe` returns how long nothing has changed, ms. Pure (the caller passes the clock).
 */
export class SyncStallWatch {
  private lastKey: string | undefined;
  private since: number;
  constructor(now: number) {
    this.since = now;
  }
  observe(state: { dstate: string | null } & SyncProgress, now: number): number {
    const key = `${state.dstate}|${state.percent ?? '-'}|${state.outOfSyncKiB ?? '-'}`;
    if (key !== this.lastKey) {
      this.lastKey = key;
      this.since = now;
    }
    return now - this.since;
  }
}

/** Why a sync that stopped moving fails, with what it was stuck at. Pure. */
export function stalledSyncMessage(name: string, stalledMs: number, state: { dstate: string | null } & SyncProgress, mtu: number): string {
  const at = [
    state.percent !== undefined ? `${state.percent.toFixed(1)}%` : null,
    state.outOfSyncKiB !== undefined ? `${state.outOfSyncKiB} KiB still out of sync` : null,
    `disk states ${state.dstate ?? 'unknown'}`,
  ].filter(Boolean);
  return (
    `the initial sync of ${name} made no progress for ${Math.round(stalledMs / 1000)} s (stuck at ${at.join(', ')}); ` +
    `DRBD is connected but its data does not flow: a replication path that drops ${mtu}-byte frames does this (network.replicationMtu), ` +
    `check it with ping -M do -s ${mtu - 28} PEER-REPLICATION-ADDRESS from each node`
  );
}

/** The whole block device reads as zeroes (cmp against /dev/zero over its size). */
async function readsAsZero(ctx: StepContext, device: string): Promise<boolean> {
  const d = shellQuote(device);
  const r = await ctx.read(`n=$(blockdev --getsize64 ${d}) && cmp -s -n "$n" ${d} /dev/zero && echo zero || echo nonzero`, { allowFailure: true, timeoutMs: 30 * 60_000 });
  return r.stdout.trim() === 'zero';
}

export async function createReplicatedVolume(holders: StepContext[], request: VolumeRequest): Promise<DrbdResourceModel> {
  const first = holders[0]!;
  const spec = first.run.answers.spec;
  const vg = spec.storage.volumeGroup;
  const name = request.name;

  // 1. What each holder has (one read each), and from it the minor and port, consistent across the holders.
  const views = await Promise.all(holders.map((ctx) => readHolder(ctx, name, vg)));
  const { minor, port } = allocate(name, parseResourceFiles(views.map((v) => v.resourceFiles).join('\n')), spec.drbd.basePort);
  const major = first.run.plan.drbdMajor;
  const model: DrbdResourceModel = {
    name,
    major,
    minor,
    port,
    device: `/dev/drbd${minor}`,
    disk: `/dev/${vg}/${name}`,
    hosts: holders.map((ctx) => ({ name: ctx.server, nodeId: ctx.node.model.node.nodeId, address: ctx.node.model.node.replication.address })),
    allowTwoPrimaries: request.allowTwoPrimaries ?? false,
  };

  // In place already (the usual case of a second apply): the volume, its file as planned, connected and synced.
  const file = resourceFile(model);
  if (views.every((v) => v.lvPresent && v.ownFile === file.content && v.state.cstate === 'Connected' && !allInconsistent(v.state.dstate))) return model;

  // 2. Backing volume, resource file, metadata: on every holder before any connects.
  const provenZero = holders.map(() => false);
  await Promise.all(
    holders.map(async (ctx, i) => {
      if (!views[i]!.lvPresent) {
        await ctx.mutate(`create logical volume ${vg}/${name} (${request.sizeMiB} MiB)`, `lvcreate -q -y -Wy -Zy -L ${request.sizeMiB}m -n ${shellQuote(name)} ${shellQuote(vg)}`);
      }
      await ensureFiles(ctx, [file]);
      if (views[i]!.state.cstate !== null) return; // up already
      const md = await ctx.read(`drbdadm dump-md ${shellQuote(name)} >/dev/null 2>&1 && echo present || echo absent`, { allowFailure: true });
      if (md.stdout.trim() !== 'present') {
        // Before the metadata (at the volume's end) is written: the whole volume, read back.
        if (request.skipInitialSync && !ctx.dryRun) provenZero[i] = await readsAsZero(ctx, model.disk);
        await ctx.mutate(`create DRBD metadata for ${name} on ${model.disk}`, `drbdadm -- --force create-md ${shellQuote(name)}`);
      }
    }),
  );
  if (first.dryRun) {
    for (const ctx of holders) await ctx.change(`bring up DRBD resource ${name} and wait for its peers`, async () => undefined);
    return model;
  }

  // 3. Up everywhere, then connected everywhere.
  await Promise.all(
    holders.map(async (ctx) => {
      const cstate = (await drbdState(ctx, name)).cstate;
      if (cstate === null) await ctx.mutate(`bring up DRBD resource ${name}`, `drbdadm up ${shellQuote(name)}`);
      // A peer that failed authentication (the other node did not have the cluster's shared secret
      // yet, while `drbdadm adjust` ran on both) makes DRBD drop its network configuration:
      // adjust connects it again with the configuration on file.
      else if (cstate === 'StandAlone') await ctx.mutate(`connect DRBD resource ${name} again (drbdadm adjust)`, `drbdadm adjust ${shellQuote(name)}`);
    }),
  );
  await Promise.all(
    holders.map((ctx) =>
      waitFor(`DRBD resource ${name} on ${ctx.server} to connect to its peers`, async () => ((await drbdState(ctx, name)).cstate === 'Connected' ? true : undefined), {
        timeoutMs: 180_000,
      }).catch((error: Error) => {
        throw new StepRefusedError(ctx.server, ctx.step, `${error.message}; check the replication link and that port ${port} is open between the nodes`);
      }),
    ),
  );

  // 4. A new resource starts Inconsistent everywhere: skip or run the initial sync from the first holder.
  const states = await Promise.all(holders.map((ctx) => drbdState(ctx, name)));
  if (states.every((s) => allInconsistent(s.dstate))) {
    const q = shellQuote(name);
    if (request.skipInitialSync && provenZero.every(Boolean)) {
      await first.mutate(`skip the initial sync of ${name} (a new volume on disks claimed blank in this run, read back as zeroes on every holder)`, `drbdadm new-current-uuid --clear-bitmap ${q} && drbdadm primary ${q}`);
    } else {
      if (request.skipInitialSync) {
        const notZero = holders.filter((_, i) => !provenZero[i]).map((ctx) => ctx.server);
        first.log(`the initial sync of ${name} runs in full: its volume did not read back as zeroes on ${notZero.join(', ')} (or was not new there)`);
      }
      await first.mutate(`start the initial full sync of ${name} from ${first.server}`, `drbdadm primary --force ${q}`);
    }
    // A sync that makes no progress for SYNC_STALL_MS fails; one that moves may take up to an hour.
    const watch = new SyncStallWatch(Date.now());
    await waitFor(
      `the initial sync of ${name}`,
      async () => {
        const s = await drbdState(first, name);
        if (s.dstate === 'UpToDate/UpToDate' || /^UpToDate(\/UpToDate)+$/.test(s.dstate ?? '')) return true;
        const progress = await first.read(`cat /proc/drbd 2>/dev/null; drbdsetup status ${q} --statistics 2>/dev/null; true`);
        const state = { dstate: s.dstate, ...syncProgress(progress.stdout, minor) };
        if (state.percent !== undefined) first.progress(state.percent, `initial sync of ${name}`);
        const stalledMs = watch.observe(state, Date.now());
        if (stalledMs >= SYNC_STALL_MS) throw new StepRefusedError(first.server, first.step, stalledSyncMessage(name, stalledMs, state, spec.network.replicationMtu));
        return undefined;
      },
      { timeoutMs: 60 * 60_000, intervalMs: 1000 },
    );
    await first.mutate(`return ${name} to secondary on ${first.server}`, `drbdadm secondary ${q}`);
  }
  return model;
}
