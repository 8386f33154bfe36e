/**
 * `hvcluster drbd resolve RES --survivor NODE`: guided recovery of a split brain (drbd/split-brain.ts
 * decides). Under the cluster lock like every command that changes servers: both sides read and
 * shown; the survivor's name typed (or --yes); the victim's backing volume kept as an LVM snapshot;
 * the victim discards its data and reconnects, the survivor reconnects; the resync waited for until
 * both are Connected and UpToDate.
 */
import { UsageError, type ExitCode } from '../errors.js';
import { describeSide, parseSplitBrainSide, planResolve, type SplitBrainSide } from '../drbd/split-brain.js';
import { waitFor } from '../engine/steps/step.js';
import type { Host } from '../engine/host.js';
import type { Streams } from '../output.js';
import type { ConnectionOptions } from './connect.js';
import { dayAfter } from './guest.js';
import { askLine, canAsk } from './terminal.js';

export interface DrbdResolveOptions extends ConnectionOptions {
  survivor: string;
  yes?: boolean;
  json?: boolean;
}

/** How long the resync after the discard may take. */
const RESYNC_TIMEOUT_MS = 60 * 60_000;

async function readSide(host: Host, vg: string, resource: string): Promise<SplitBrainSide> {
  return parseSplitBrainSide(host.server, (await host.read({ script: 'split-brain.sh', args: ['state', vg, resource] })).stdout);
}

export function runDrbdResolve(resource: string, options: DrbdResolveOptions, streams: Streams): Promise<ExitCode> {
  return dayAfter(
    'drbd resolve',
    resource,
    options,
    streams,
    async (session, reporter) => {
      const vg = session.answers.spec.storage.volumeGroup;
      const hosts = [...session.hosts.values()];
      const sides = await Promise.all(hosts.map((h) => readSide(h, vg, resource)));
      const plan = planResolve(resource, options.survivor, sides, vg, new Date());
      const { survivor, victim, snapshot } = plan;
      reporter.info(`drbd resolve: ${resource} split brain, both sides:`);
      for (const side of [survivor, victim]) reporter.info(`  ${describeSide(side)}`);
      reporter.info(`drbd resolve: ${victim.node} discards its changes since the split (kept first as the snapshot ${snapshot.vg}/${snapshot.name}, ${snapshot.sizeMiB} MiB); ${survivor.node}'s data is kept and resynced to ${victim.node}`);
      if (!options.yes) {
        if (!canAsk(streams)) throw new UsageError(`drbd resolve discards ${victim.node}'s data of ${resource}: confirm with --yes, or run it on a terminal to type the survivor's name`);
        const typed = (await askLine(streams, `Type the survivor's name (${survivor.node}) to discard ${victim.node}'s changes to ${resource}: `)).trim();
        if (typed !== survivor.node) throw new UsageError(`"${typed}" is not ${survivor.node}: nothing was changed`);
      }
      const host = (n: string) => session.hosts.get(n)!;
      await host(victim.node).mutate(`keep ${victim.node}'s data of ${resource} before it is discarded: LVM snapshot ${snapshot.vg}/${snapshot.name} (${snapshot.sizeMiB} MiB)`, {
        script: 'split-brain.sh',
        args: ['snapshot', vg, resource, snapshot.name, String(snapshot.sizeMiB)],
      });
      await host(victim.node).mutate(`${victim.node} discards its changes to ${resource} and reconnects (drbdadm secondary, connect --discard-my-data)`, { script: 'split-brain.sh', args: ['discard', resource] });
      await host(survivor.node).mutate(`${survivor.node} reconnects ${resource} if it is StandAlone`, { script: 'split-brain.sh', args: ['connect', resource] });
      const started = Date.now();
      const after = await waitFor(
        `${resource} Connected and UpToDate on ${survivor.node} and ${victim.node}`,
        async () => {
          const now = await Promise.all([survivor.node, victim.node].map((n) => readSide(host(n), vg, resource)));
          if (now.some((s) => s.cstate === 'StandAlone')) throw new Error(`${resource} is StandAlone again after the reconnect (${now.map((s) => `${s.node} ${s.cstate}`).join(', ')}): read \`journalctl -k\` on both nodes`);
          return now.every((s) => s.cstate === 'Connected' && s.dstate === 'UpToDate/UpToDate') ? now : undefined;
        },
        { timeoutMs: RESYNC_TIMEOUT_MS, intervalMs: 1000 },
      );
      reporter.info(`drbd resolve: ${resource} Connected and UpToDate on both nodes after ${((Date.now() - started) / 1000).toFixed(1)} s; ${victim.node}'s old data is in ${snapshot.vg}/${snapshot.name} (read it with \`mount -o ro\` of a file system in it; remove it with \`lvremove ${snapshot.vg}/${snapshot.name}\` once not needed)`);
      return { resource, survivor: survivor.node, victim: victim.node, snapshot: `${snapshot.vg}/${snapshot.name}`, snapshotMiB: snapshot.sizeMiB, before: [survivor, victim], after, resyncMs: Date.now() - started };
    },
  );
}
