/**
 * Proof that replication works: a small replicated volume on every pair of nodes that will hold
 * guest disks (all nodes at once on DRBD 9), brought up Connected and UpToDate. verify checks it.
 */
import type { Host } from '../host.js';
import { holderView } from '../volume-state.js';
import { performVolume, planVolume, resourceFile, type VolumePlan, type VolumeRequest, type VolumeSite } from '../volumes.js';
import { readValue, type StepInput, type StepKind, type StepPlan } from './step.js';

export const PROBE_SIZE_MIB = 16;

export function probeResources(nodes: string[], pairs: [string, string][]): { name: string; holders: string[] }[] {
  if (pairs.length === 0) return [{ name: 'hvc-probe', holders: nodes }];
  if (pairs.length === 1) return [{ name: 'hvc-probe', holders: pairs[0]! }];
  return pairs.map((pair, i) => ({ name: `hvc-probe${i + 1}`, holders: pair }));
}

interface ProbePlan extends StepPlan {
  volumes: { request: VolumeRequest; plan: VolumePlan }[];
  site: VolumeSite;
}

function siteOf(input: StepInput): VolumeSite {
  const spec = input.answers.spec;
  return { vg: spec.storage.volumeGroup, basePort: spec.drbd.basePort, major: input.plan.drbdMajor, replicationMtu: spec.network.replicationMtu, backupDir: input.backupDir, step: input.step.name };
}

export const replicationProbeStep: StepKind<ProbePlan> = {
  scope: 'cluster',
  reads: ['volumes'],
  requires: ['fresh-volume-group'],
  plan(input) {
    const site = siteOf(input);
    // Resource files this plan adds, per node: the next probe's minor and port are chosen around them.
    const planned = new Map<string, string[]>();
    const volumes = probeResources(
      input.nodes.map((n) => n.node.name),
      input.plan.drbdPairs,
    ).map((probe) => {
      const holders = probe.holders.map((name) => input.nodes.find((n) => n.node.name === name)!);
      // Skipped only when proven zero on both sides: every holder's volume group was made in this run
      // on a disk found blank (never a wiped one), and the new volume reads back as zeroes there (volumes.ts).
      const fresh = holders.every((h) => h.data['fresh-volume-group'] === true);
      const request: VolumeRequest = { name: probe.name, sizeMiB: PROBE_SIZE_MIB, skipInitialSync: input.answers.spec.drbd.initialSync === 'skip-if-blank' && fresh };
      const plan = planVolume(
        holders.map((h) => {
          const view = holderView(readValue(input, h, 'volumes'), probe.name);
          return { server: h.node.name, nodeId: h.node.model.node.nodeId, address: h.node.model.node.replication.address, view: { ...view, allText: [view.allText, ...(planned.get(h.node.name) ?? [])].join('\n') } };
        }),
        request,
        site,
      );
      for (const h of holders) planned.set(h.node.name, [...(planned.get(h.node.name) ?? []), resourceFile(plan.model).content]);
      return { request, plan };
    });
    return { changes: volumes.flatMap((v) => v.plan.changes), volumes, site };
  },
  async perform(hosts: Map<string, Host>, plan) {
    // One at a time: the probes of a 3-node 8.4 cluster share nodes.
    for (const volume of plan.volumes) await performVolume(hosts, volume.plan, volume.request, plan.site);
  },
};
