// Vitest helper: bring up (or reuse) a VM lab for a test file and hand its nodes to the tests.
//
//   const lab = useLab({ name: 'apply', nodes: 2, image: 'prepared' });
//   it('...', async () => { const r = await lab.ssh('hv1', 'uname -n'); ... lab.info.nodes[0] ... });
//
// The lab is taken down in afterAll unless HVCLUSTER_KEEP_LAB=1 (then the next run reuses it).
//
// A shared lab (SHARED_LAB: two nodes and a witness, prepared image) serves every e2e file that needs
// that shape and starts from freshly booted servers: the first file of a run boots it and saves the
// checkpoint `fresh` right away; each later file restores `fresh` (seconds, instead of a boot of a
// minute or more) and so starts from the same just-booted servers, whatever the file before it built
// or broke. The run's global teardown (test/setup/labs.ts) takes it down.
import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll } from 'vitest';
import { listCheckpoints, pauseLab, restoreCheckpoint, saveCheckpoint, type RestoreResult, type SaveResult } from '../lab/checkpoint.js';
import { DEFAULT_MEMORY_MB, SHARED_MARKER, labDir, sharedMark, type ImageKind } from '../lab/config.js';
import { recipeHashes } from '../lab/image.js';
import { down, labExec, readLab, sshExec, up, type LabInfo, type LabNode, type UpResult } from '../lab/lab.js';
import { log, type RunResult } from '../lab/util.js';

export type { LabInfo, LabNode } from '../lab/lab.js';

export interface UseLabOptions {
  name: string;
  nodes?: 1 | 2 | 3;
  image?: ImageKind;
  memoryMb?: number;
  /** Add the witness VM (corosync-qnetd; lab.info.witness). */
  witness?: boolean;
  /** Keep the lab after the file (default: env HVCLUSTER_KEEP_LAB === '1'). */
  keep?: boolean;
  /** Shared between e2e files, each starting from its `fresh` checkpoint (see above); use SHARED_LAB. */
  shared?: boolean;
}

/** The lab shared by the two-node e2e files: two nodes and a witness (HA needs it; the others ignore it), prepared image. */
export const SHARED_LAB = { name: 'two', nodes: 2, image: 'prepared', witness: true, shared: true } as const satisfies UseLabOptions;

/** The checkpoint a shared lab's files start from: the servers just booted. */
export const FRESH = 'fresh';
/** The shared lab with its site.yaml (no HA) applied; saved once per run (restoreOrBuild, offer). */
export const BUILT = 'built';

/** Marks a shared lab as this run's (test/setup/labs.ts takes down the labs its own run marked, and no other). */
function markShared(name: string): void {
  writeFileSync(join(labDir(name), SHARED_MARKER), `${sharedMark()}\n`);
}

/** Restores the shared lab's `fresh` checkpoint, or boots it (and saves `fresh`) when there is none of this shape and image. */
async function upShared(opts: UseLabOptions): Promise<UpResult> {
  const t0 = Date.now();
  const kind = opts.image ?? 'base';
  const reusable = async (): Promise<boolean> => {
    if (!existsSync(join(labDir(opts.name), SHARED_MARKER))) return false;
    let lab: LabInfo;
    try {
      lab = readLab(opts.name);
    } catch {
      return false;
    }
    const shape = lab.nodes.length === (opts.nodes ?? 2) && lab.image === kind && !!lab.witness === !!opts.witness && lab.memoryMb === (opts.memoryMb ?? DEFAULT_MEMORY_MB);
    if (!shape || lab.imageHash !== (await recipeHashes())[kind]) return false;
    const fresh = (await listCheckpoints(opts.name)).find((c) => c.tag === FRESH);
    return !!fresh && fresh.missing.length === 0;
  };
  if (await reusable()) {
    try {
      const r = await restoreCheckpoint(opts.name, FRESH);
      // Marked as used by this run too, so that this run's teardown takes it down.
      markShared(opts.name);
      log(`lab ${opts.name}: checkpoint ${FRESH} restored in ${(r.totalMs / 1000).toFixed(1)} s (shared between e2e files)`);
      return { lab: readLab(opts.name), reused: true, timings: { imageMs: 0, imageBuilt: false, bootMs: r.totalMs, totalMs: Date.now() - t0 } };
    } catch (error) {
      log(`lab ${opts.name}: could not restore checkpoint ${FRESH} (${error instanceof Error ? error.message : String(error)}): booting it again`);
    }
  }
  const result = await up({ name: opts.name, nodes: opts.nodes ?? 2, image: kind, memoryMb: opts.memoryMb, witness: opts.witness, reuse: false });
  await saveCheckpoint(opts.name, FRESH);
  markShared(opts.name);
  return result;
}

export interface LabHandle {
  /** nodes.json of the lab (available once beforeAll ran). */
  readonly info: LabInfo;
  readonly nodes: LabNode[];
  readonly up: UpResult;
  /** A shell command line on a node (name, or number 1-3, or "witness"); never throws on exit code. */
  ssh(node: string | number, command: string, opts?: { timeoutMs?: number; input?: string }): Promise<RunResult>;
  /** A host command inside the lab's namespace (e.g. node bin/hvcluster.js ...). */
  exec(argv: string[], opts?: { timeoutMs?: number }): Promise<RunResult>;
  /** Re-reads nodes.json (after startNode etc.). */
  refresh(): LabInfo;
  /** Saves checkpoint TAG of every VM at one instant (RAM and disks; test/lab/checkpoint.ts). */
  checkpoint(tag: string): Promise<SaveResult>;
  /**
   * Brings every VM back to checkpoint TAG (a crashed or powered-off one too), restarts the BMCs that
   * ran then, sets the guests' clocks; resolves once every VM answers SSH.
   */
  restore(tag: string): Promise<RestoreResult>;
  /**
   * A state several files build the same way (e.g. `built`: the lab site applied), built once per
   * test run: restores checkpoint TAG when a file of this run saved it; otherwise runs BUILD (which
   * asserts what it builds) and saves TAG for the files after it. Checkpoints of earlier runs are
   * never restored (their code may differ).
   */
  restoreOrBuild(tag: string, build: () => Promise<void>): Promise<'restored' | 'built'>;
  /** Saves TAG for the later files of this run unless one of them already did (see restoreOrBuild). */
  offer(tag: string): Promise<void>;
}

/** The test run (set by test/setup/labs.ts); a lab checkpoint saved for sharing records it. */
const RUN_ID = process.env.HVCLUSTER_TEST_RUN ?? `pid-${process.pid}`;
const runMarker = (name: string, tag: string) => join(labDir(name), `run-${tag}`);

async function savedThisRun(name: string, tag: string): Promise<boolean> {
  if (!existsSync(runMarker(name, tag)) || readFileSync(runMarker(name, tag), 'utf8').trim() !== RUN_ID) return false;
  const c = (await listCheckpoints(name)).find((x) => x.tag === tag);
  return !!c && c.missing.length === 0;
}

async function saveForRun(name: string, tag: string): Promise<void> {
  rmSync(runMarker(name, tag), { force: true });
  const r = await saveCheckpoint(name, tag);
  writeFileSync(runMarker(name, tag), `${RUN_ID}\n`);
  log(`lab ${name}: checkpoint ${tag} saved for the later files of this run (${(r.totalMs / 1000).toFixed(1)} s)`);
}

/**
 * Runs a destructive drill from checkpoint TAG: restores the lab to it first, so each drill starts from
 * the same built cluster whatever the previous one broke.
 *
 *   beforeAll(async () => { ...build the cluster...; await lab.checkpoint('built'); });
 *   it('fails over', () => withCheckpoint(lab, 'built', async () => { await crashNode(...); ... }));
 */
export async function withCheckpoint<T>(lab: LabHandle, tag: string, drill: () => Promise<T>): Promise<T> {
  await lab.restore(tag);
  return drill();
}

export function isLabAvailable(): boolean {
  return process.platform === 'linux' && typeof process.getuid === 'function' && process.getuid() === 0;
}

export function useLab(opts: UseLabOptions): LabHandle {
  let info: LabInfo | undefined;
  let result: UpResult | undefined;
  const keep = opts.keep ?? process.env.HVCLUSTER_KEEP_LAB === '1';

  beforeAll(async () => {
    if (!isLabAvailable()) throw new Error('the e2e tests run real VMs: they need Linux and root (network namespaces, taps, QEMU)');
    result = opts.shared
      ? await upShared(opts)
      : await up({ name: opts.name, nodes: opts.nodes ?? 2, image: opts.image ?? 'base', memoryMb: opts.memoryMb, witness: opts.witness, reuse: true });
    info = result.lab;
  });
  afterAll(async () => {
    // A shared lab stays for the next file, paused (its VMs use no CPU while other files run; the next
    // file's restore continues them); the run's global teardown takes it down.
    if (opts.shared) {
      const paused = await pauseLab(opts.name).catch((error: Error) => log(`lab ${opts.name}: could not pause it: ${error.message}`));
      if (paused) log(`lab ${opts.name}: paused for the next file (${paused.join(', ')})`);
    } else if (!keep) await down(opts.name);
  });

  const need = (): LabInfo => {
    if (!info) throw new Error(`lab ${opts.name} is not up (beforeAll failed or has not run)`);
    return info;
  };
  return {
    get info() {
      return need();
    },
    get nodes() {
      return need().nodes;
    },
    get up() {
      need();
      return result!;
    },
    ssh: (node, command, o) => sshExec(opts.name, node, command, o),
    exec: (argv, o) => labExec(opts.name, argv, o),
    refresh: () => (info = readLab(opts.name)),
    checkpoint: (tag) => saveCheckpoint(opts.name, tag),
    restore: (tag) => restoreCheckpoint(opts.name, tag),
    restoreOrBuild: async (tag, build) => {
      if (await savedThisRun(opts.name, tag)) {
        const r = await restoreCheckpoint(opts.name, tag);
        log(`lab ${opts.name}: checkpoint ${tag} of this run restored in ${(r.totalMs / 1000).toFixed(1)} s`);
        return 'restored';
      }
      await build();
      await saveForRun(opts.name, tag);
      return 'built';
    },
    offer: async (tag) => {
      if (!(await savedThisRun(opts.name, tag))) await saveForRun(opts.name, tag);
    },
  };
}
