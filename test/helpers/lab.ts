// Vitest helper: bring up (or reuse) a VM lab for a test file and hand its nodes to the tests.
//
//   const lab = useLab({ name: 'apply', nodes: 2, image: 'prepared' });
//   it('...', async () => { const r = await lab.ssh('hv1', 'uname -n'); ... lab.info.nodes[0] ... });
//
// The lab is taken down in afterAll unless HVCLUSTER_KEEP_LAB=1 (then the next run reuses it).
import { afterAll, beforeAll } from 'vitest';
import { restoreCheckpoint, saveCheckpoint, type RestoreResult, type SaveResult } from '../lab/checkpoint.js';
import type { ImageKind } from '../lab/config.js';
import { down, labExec, readLab, sshExec, up, type LabInfo, type LabNode, type UpResult } from '../lab/lab.js';
import type { RunResult } from '../lab/util.js';

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
    result = await up({ name: opts.name, nodes: opts.nodes ?? 2, image: opts.image ?? 'base', memoryMb: opts.memoryMb, witness: opts.witness, reuse: true });
    info = result.lab;
  });
  afterAll(async () => {
    if (!keep) await down(opts.name);
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
  };
}
