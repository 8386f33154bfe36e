/**
 * A replicated volume: a logical volume of the same size on each node that holds it, with its own
 * DRBD resource on top (the model of Ganeti and LINSTOR). `planVolume` says, from what each holder
 * has (installer/remote/volume-state.sh), which changes make it (pure); `performVolume` makes them
 * in their order, with the waits between them (connected everywhere, the initial sync). Used by
 * apply's replication probe and by the migration test; a second run plans nothing.
 */
import type { Answers } from '../answers/schema.js';
import type { DrbdMajor, DrbdResourceModel } from '../plan/model.js';
import type { PlannedFile } from '../plan/types.js';
import { TemplateEnvironment } from '../render/environment.js';
import type { Change } from './change.js';
import type { Host } from './host.js';
import { readValue, StepRefusedError, waitFor, type NodeInput, type StepInput } from './steps/step.js';
import { holderView, parseVolumeState, type DrbdState, type HolderView } from './volume-state.js';

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
/** The DRBD device of resource `name` as its file on a node says (`/dev/drbdMINOR`), or undefined. Pure. */
export function resourceDevice(files: ReadonlyMap<string, string>, name: string): string | undefined {
  const minor = parseResourceFiles(files.get(`${name}.res`) ?? '').byName.get(name)?.minor;
  return minor === undefined ? undefined : `/dev/drbd${minor}`;
}

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


/** A node that holds (or will hold) the volume. */
export interface VolumeHolder {
  server: string;
  nodeId: number;
  /** Its replication address. */
  address: string;
}

/** Where the volume lives: the cluster's volume group and DRBD settings. */
export interface VolumeSite {
  vg: string;
  basePort: number;
  major: DrbdMajor;
  replicationMtu: number;
  /** The run's backup directory on the servers (for a resource file that is replaced). */
  backupDir: string;
  step: string;
}

/** The cluster's VolumeSite from its answer file and plan (one place for apply's probe and the tests' volumes). Pure. */
export function volumeSite(spec: Pick<Answers['spec'], 'storage' | 'drbd' | 'network'>, major: DrbdMajor, backupDir: string, step: string): VolumeSite {
  return { vg: spec.storage.volumeGroup, basePort: spec.drbd.basePort, major, replicationMtu: spec.network.replicationMtu, backupDir, step };
}

/** A holder of a volume as the planned node describes it (its node id and replication address), with its host. */
export function volumeHolder(host: Host, node: { model: { node: { nodeId: number; replication: { address: string } } } }): VolumeHolder & { host: Host } {
  return { host, server: host.server, nodeId: node.model.node.nodeId, address: node.model.node.replication.address };
}

export interface VolumePlan {
  model: DrbdResourceModel;
  /** Every change, in the order performVolume makes them. */
  changes: Change[];
  /** Per holder: the volume, its file, its metadata (on every holder before any connects). */
  prepare: Map<string, Change[]>;
  /** Of those, the metadata writes: with skipInitialSync, each holder's volume is read back first. */
  metadata: Change[];
  /** Per holder: up (or connected again). */
  connect: Change[];
  /** The initial sync (or its skip) from the first holder, and its return to Secondary. */
  sync: Change[];
  /** The volume is in place: connected and not Inconsistent everywhere (nothing to wait for). */
  inPlace: boolean;
}

/**
 * The changes that make the volume on its holders, from what each has. Pure.
 * A new resource starts Inconsistent everywhere: the initial sync runs from the first holder, or is
 * skipped when `skipInitialSync` and its new volume reads back as zeroes on every holder (checked
 * right before its metadata is written, in performVolume).
 */
export function planVolume(holders: (VolumeHolder & { view: HolderView })[], request: VolumeRequest, site: VolumeSite): VolumePlan {
  const name = request.name;
  const { minor, port } = allocate(name, parseResourceFiles(holders.map((h) => h.view.allText).join('\n')), site.basePort);
  const model: DrbdResourceModel = {
    name,
    major: site.major,
    minor,
    port,
    device: `/dev/drbd${minor}`,
    disk: `/dev/${site.vg}/${name}`,
    hosts: holders.map((h) => ({ name: h.server, nodeId: h.nodeId, address: h.address })),
    allowTwoPrimaries: request.allowTwoPrimaries ?? false,
  };
  const file = resourceFile(model);
  const change = (server: string, description: string, actions: Change['actions']): Change => ({ server, step: site.step, description, actions });
  const inPlace = holders.every((h) => h.view.lvPresent && h.view.ownFile === file.content && h.view.state.cstate === 'Connected' && !allInconsistent(h.view.state.dstate));

  const prepare = new Map<string, Change[]>();
  const metadata: Change[] = [];
  for (const h of holders) {
    const changes: Change[] = [];
    if (!h.view.lvPresent) {
      changes.push(change(h.server, `create logical volume ${site.vg}/${name} (${request.sizeMiB} MiB)`, [{ argv: ['lvcreate', '-q', '-y', '-Wy', '-Zy', '-L', `${request.sizeMiB}m`, '-n', name, site.vg] }]));
    }
    if (h.view.ownFile !== file.content) {
      changes.push(change(h.server, `write ${file.path} (${file.purpose})`, [{ upload: file.path, content: file.content, mode: file.mode, owner: file.owner, backupDir: site.backupDir }]));
    }
    if (h.view.state.cstate === null && h.view.metadata === 'unknown') {
      throw new StepRefusedError(h.server, site.step, `${name} is down and \`drbdadm dump-md ${name}\` cannot tell whether its metadata is there`, `Run \`drbdadm dump-md ${name}\` and \`drbdadm up ${name}\` on ${h.server} to see why; hvcluster never recreates metadata it could not read.`);
    }
    if (h.view.state.cstate === null && h.view.metadata !== 'present') {
      const md = change(h.server, `create DRBD metadata for ${name} on ${model.disk}`, [{ argv: ['drbdadm', '--', '--force', 'create-md', name] }]);
      metadata.push(md);
      changes.push(md);
    }
    prepare.set(h.server, changes);
  }

  const connect: Change[] = [];
  for (const h of holders) {
    if (h.view.state.cstate === null) connect.push(change(h.server, `bring up DRBD resource ${name}`, [{ argv: ['drbdadm', 'up', name] }]));
    // A peer that failed authentication (the other node did not have the cluster's shared secret
    // yet while `drbdadm adjust` ran) makes DRBD drop its network configuration: adjust connects it again.
    else if (h.view.state.cstate === 'StandAlone') connect.push(change(h.server, `connect DRBD resource ${name} again (drbdadm adjust)`, [{ argv: ['drbdadm', 'adjust', name] }]));
  }

  // New metadata, or every holder Inconsistent already (a run stopped before its sync): the initial sync.
  const sync: Change[] = [];
  const first = holders[0]!.server;
  if (metadata.length > 0 || holders.every((h) => allInconsistent(h.view.state.dstate))) {
    sync.push(
      request.skipInitialSync
        ? change(first, `start replication of ${name}: skip the initial sync if its new volume read back as zeroes on every holder (disks claimed blank in this run), else a full sync from ${first}`, [
            { argv: ['drbdadm', 'new-current-uuid', '--clear-bitmap', name] },
            { argv: ['drbdadm', 'primary', name] },
          ])
        : change(first, `start the initial full sync of ${name} from ${first}`, [{ argv: ['drbdadm', 'primary', '--force', name] }]),
      change(first, `return ${name} to secondary on ${first}`, [{ argv: ['drbdadm', 'secondary', name] }]),
    );
  }
  return { model, changes: [...[...prepare.values()].flat(), ...connect, ...sync], prepare, metadata, connect, sync, inPlace };
}

/**
 * planVolume on the holders as a step read them (their `volumes` read), when the step plans several
 * volumes: `planned` holds, per node, the resource files planned before this one in the same step,
 * so its minor and port are chosen around them; this one's file is added to it. Pure but for `planned`.
 */
export function planVolumeOnNodes(input: StepInput, holders: NodeInput[], request: VolumeRequest, site: VolumeSite, planned: Map<string, string[]>): VolumePlan {
  const plan = planVolume(
    holders.map((h) => {
      const view = holderView(readValue(input, h, 'volumes'), request.name);
      return { server: h.node.name, nodeId: h.node.model.node.nodeId, address: h.node.model.node.replication.address, view: { ...view, allText: [view.allText, ...(planned.get(h.node.name) ?? [])].join('\n') } };
    }),
    request,
    site,
  );
  for (const h of holders) planned.set(h.node.name, [...(planned.get(h.node.name) ?? []), resourceFile(plan.model).content]);
  return plan;
}

/** The state of a resource on one holder (drbdadm cstate, dstate, role; null what it cannot tell). */
export async function drbdState(host: Host, name: string): Promise<DrbdState> {
  const r = await host.read({ script: 'volume-state.sh', args: ['-', name] }, { allowFailure: true });
  return holderView(parseVolumeState(r.stdout), name).state;
}

/**
 * Makes the planned volume, each change through its host's guard, in order: prepare on every holder
 * (in parallel), up everywhere, connected everywhere, then the initial sync, watched for stalls.
 * Returns whether the volume is new and was proven zero on every holder (its sync skipped): what
 * a disk import writes into it may then leave its zero blocks unwritten.
 */
export async function performVolume(hosts: Map<string, Host>, plan: VolumePlan, request: VolumeRequest, site: VolumeSite): Promise<{ provenZero: boolean }> {
  const name = plan.model.name;
  const host = (server: string) => hosts.get(server)!;
  const provenZero = new Map<string, boolean>();
  await Promise.all(
    [...plan.prepare].map(async ([server, changes]) => {
      for (const change of changes) {
        if (request.skipInitialSync && plan.metadata.includes(change) && !host(server).dryRun) {
          // Before the metadata (at the volume's end) is written: the whole volume, read back.
          const zero = await host(server).read({ script: 'zero-check.sh', args: [plan.model.disk], timeoutMs: 30 * 60_000 }, { allowFailure: true });
          provenZero.set(server, zero.stdout.trim() === 'zero');
        }
        await host(server).perform(change);
      }
    }),
  );
  await Promise.all(plan.connect.map((change) => host(change.server).perform(change)));
  const servers = [...plan.prepare.keys()];
  if (host(servers[0]!).dryRun) {
    for (const change of plan.sync) await host(change.server).perform(change);
    return { provenZero: false };
  }
  if (plan.inPlace) return { provenZero: false };
  await Promise.all(
    servers.map((server) =>
      waitFor(`DRBD resource ${name} on ${server} to connect to its peers`, async () => ((await drbdState(host(server), name)).cstate === 'Connected' ? true : undefined), {
        timeoutMs: 180_000,
      }).catch((error: Error) => {
        throw new StepRefusedError(server, site.step, `${error.message}; check the replication link and that port ${plan.model.port} is open between the nodes`);
      }),
    ),
  );
  const [start, secondary] = plan.sync;
  if (!start || !secondary) return { provenZero: false };
  const first = host(start.server);
  const states = await Promise.all(servers.map((server) => drbdState(host(server), name)));
  if (!states.every((s) => allInconsistent(s.dstate))) {
    // Only a resource that came up with metadata from an earlier run gets here: it is not new.
    first.log(`${name} is not Inconsistent on every holder after coming up (${states.map((s) => s.dstate).join(', ')}): no initial sync needed`);
  }
  const skip = request.skipInitialSync && servers.every((s) => provenZero.get(s) === true);
  await first.procedure(start, async (io) => {
    if (!states.every((s) => allInconsistent(s.dstate))) return;
    if (skip) {
      for (const action of start.actions) await io.perform(action);
    } else {
      if (request.skipInitialSync) {
        const notZero = servers.filter((s) => provenZero.get(s) !== true);
        first.log(`the initial sync of ${name} runs in full: its volume did not read back as zeroes on ${notZero.join(', ')} (or was not new there)`);
      }
      await io.perform({ argv: ['drbdadm', 'primary', '--force', name] });
    }
    await waitForSync(first, plan.model, site);
  });
  await first.perform(secondary);
  return { provenZero: skip && states.every((s) => allInconsistent(s.dstate)) };
}

/** Waits for UpToDate everywhere; a sync that makes no progress for SYNC_STALL_MS fails, one that moves may take up to an hour. */
async function waitForSync(first: Host, model: DrbdResourceModel, site: VolumeSite): Promise<void> {
  const watch = new SyncStallWatch(Date.now());
  await waitFor(
    `the initial sync of ${model.name}`,
    async () => {
      const s = await drbdState(first, model.name);
      if (/^UpToDate(\/UpToDate)+$/.test(s.dstate ?? '')) return true;
      const progress = await first.read({ script: 'drbd-progress.sh', args: [model.name] }, { allowFailure: true });
      const state = { dstate: s.dstate, ...syncProgress(progress.stdout, model.minor) };
      if (state.percent !== undefined) first.progress(state.percent, `initial sync of ${model.name}`);
      const stalledMs = watch.observe(state, Date.now());
      if (stalledMs >= SYNC_STALL_MS) throw new StepRefusedError(first.server, site.step, stalledSyncMessage(model.name, stalledMs, state, site.replicationMtu));
      return undefined;
    },
    { timeoutMs: 60 * 60_000, intervalMs: 1000 },
  );
}

/** Reads each holder and makes the volume (the migration test's entry; apply's probe plans from its batched read). */
export async function createReplicatedVolume(holders: (VolumeHolder & { host: Host })[], request: VolumeRequest, site: VolumeSite): Promise<DrbdResourceModel> {
  const views = await Promise.all(
    holders.map(async (h) => {
      const r = await h.host.read({ script: 'volume-state.sh', args: [site.vg, request.name] }, { secretOutput: true });
      const state = parseVolumeState(r.stdout);
      return holderView(state, request.name);
    }),
  );
  const plan = planVolume(
    holders.map((h, i) => ({ server: h.server, nodeId: h.nodeId, address: h.address, view: views[i]! })),
    request,
    site,
  );
  await performVolume(new Map(holders.map((h) => [h.server, h.host])), plan, request, site);
  return plan.model;
}
