/**
 * Proof that replication works: a small replicated volume on every pair of nodes that will hold
 * guest disks (all nodes at once on DRBD 9), brought up Connected and UpToDate. verify checks it.
 */
import type { StepContext } from '../context.js';
import { createReplicatedVolume } from '../volumes.js';
import { freshVolumeGroupKey } from './storage.js';
import type { StepKind } from './step.js';

export const PROBE_SIZE_MIB = 16;

export function probeResources(nodes: string[], pairs: [string, string][]): { name: string; holders: string[] }[] {
  if (pairs.length === 0) return [{ name: 'hvc-probe', holders: nodes }];
  if (pairs.length === 1) return [{ name: 'hvc-probe', holders: pairs[0]! }];
  return pairs.map((pair, i) => ({ name: `hvc-probe${i + 1}`, holders: pair }));
}

export const replicationProbeStep: StepKind = {
  scope: 'cluster',
  async run(ctxs: StepContext[]) {
    const plan = ctxs[0]!.run.plan;
    const byName = new Map(ctxs.map((ctx) => [ctx.server, ctx]));
    // One at a time: the probes of a 3-node 8.4 cluster share nodes.
    for (const probe of probeResources(
      ctxs.map((c) => c.server),
      plan.drbdPairs,
    )) {
      const holders = probe.holders.map((name) => byName.get(name)!);
      // Skipped only when proven zero on both sides: every holder's volume group was made in this run
      // on a disk found blank (never a wiped one), and the new volume reads back as zeroes there (volumes.ts).
      const fresh = holders.every((ctx) => ctx.run.shared.get(freshVolumeGroupKey(ctx.server)) === true);
      const skip = ctxs[0]!.run.answers.spec.drbd.initialSync === 'skip-if-blank' && fresh;
      await createReplicatedVolume(holders, { name: probe.name, sizeMiB: PROBE_SIZE_MIB, skipInitialSync: skip });
    }
  },
};
