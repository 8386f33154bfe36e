/**
 * Proof that replication works: a small replicated volume on every pair of nodes that will hold
 * guest disks (all nodes at once on DRBD 9), brought up Connected and UpToDate, and up again after a
 * reboot (the boot unit hvcluster-drbd-boot.service, enabled here). verify checks it.
 */
import type { Host } from '../host.js';
import { performVolume, planVolumeOnNodes, volumeSite, type VolumePlan, type VolumeRequest, type VolumeSite } from '../volumes.js';
import { BOOT_UNIT, probeResources } from '../../plan/drbd-layout.js';
import type { Change } from '../change.js';
import { changeOf, readValue, type StepInput, type StepKind, type StepPlan } from './step.js';

export const PROBE_SIZE_MIB = 16;

export { probeResources } from '../../plan/drbd-layout.js';

interface ProbePlan extends StepPlan {
  volumes: { request: VolumeRequest; plan: VolumePlan }[];
  /** The boot unit enabled where it is not (system-files wrote it). */
  boot: Change[];
  site: VolumeSite;
}

function siteOf(input: StepInput): VolumeSite {
  return volumeSite(input.answers.spec, input.plan.drbdMajor, input.backupDir, input.step.name);
}

export const replicationProbeStep: StepKind<ProbePlan> = {
  scope: 'cluster',
  reads: ['volumes', 'services'],
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
      const plan = planVolumeOnNodes(input, holders, request, site, planned);
      return { request, plan };
    });
    // Up at boot too: the boot unit (not started here: the volumes above are up already).
    const boot = input.nodes
      .filter((n) => readValue(input, n, 'services').find((s) => s.service === BOOT_UNIT)?.enabled !== 'enabled')
      .map((n) => changeOf(input, n, `enable ${BOOT_UNIT}.service (the replication probe comes up at boot)`, [{ argv: ['systemctl', 'enable', `${BOOT_UNIT}.service`] }]));
    return { changes: [...volumes.flatMap((v) => v.plan.changes), ...boot], volumes, boot, site };
  },
  async perform(hosts: Map<string, Host>, plan) {
    // One at a time: the probes of a 3-node 8.4 cluster share nodes.
    for (const volume of plan.volumes) await performVolume(hosts, volume.plan, volume.request, plan.site);
    for (const change of plan.boot) await hosts.get(change.server)!.perform(change);
  },
};
