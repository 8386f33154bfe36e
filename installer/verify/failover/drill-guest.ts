/**
 * The drills' test guest: the migration test's guest (the same files, volume and domain) handed to
 * Pacemaker on a pair of replicas, placed on the node a drill asked for, answering, with its test
 * data written (an md5 the guest reads back after the fault). Every drill starts from it; the
 * clean-up of the migration test removes it.
 */
import type { Host, HostSession } from '../../engine/host.js';
import { createReplicatedVolume, volumeHolder, volumeSite } from '../../engine/volumes.js';
import type { Answers } from '../../answers/schema.js';
import type { ClusterPlan } from '../../plan/types.js';
import { GUEST_NAME, TEST_RESOURCE, domainXml, guestMac, parseMd5 } from '../migration/guest.js';
import { startUnderPacemaker } from '../migration/pacemaker.js';
import { httpGet } from '../migration/probe.js';
import { buildGuestFiles, migrationRounds, waitForGuest } from '../migration/run.js';

export interface DrillGuest {
  /** Where Pacemaker runs it, and its disk's other holder. */
  node: string;
  peer: string;
  /** The boot id it answered with before the fault (a new one means a new boot). */
  bootId: string;
  /** The md5 of the data it wrote. */
  written: string;
}

export interface DrillGuestInput {
  answers: Answers;
  plan: ClusterPlan;
  session: HostSession;
  host: (server: string) => Host;
  step: string;
  guest: { address: string; prefix: number };
  /** The node it must run on (the first pair of replicas holding it); default: wherever Pacemaker starts it. */
  node?: string;
  /** The emulated lab's timing profile doubles Pacemaker's operation timeouts. */
  timeoutScale: number;
}

/** Builds the guest on the pair of replicas holding `node` (or the first pair), under Pacemaker, and has it write its data. */
export async function startDrillGuest(input: DrillGuestInput): Promise<DrillGuest> {
  const { answers, plan, node: wanted } = input;
  const rounds = migrationRounds(plan);
  const round = (wanted !== undefined ? rounds.find((r) => r.holders.includes(wanted)) : undefined) ?? rounds[0]!;
  if (wanted !== undefined && !round.holders.includes(wanted)) throw new Error(`${wanted} holds no replica the test guest can use`);
  const holders = round.holders.map(input.host);
  await Promise.all(holders.map((h) => buildGuestFiles(h, answers, input.guest)));
  const site = volumeSite(answers.spec, plan.drbdMajor, `${input.session.backupRoot}/${input.session.runId}`, input.step);
  const model = await createReplicatedVolume(
    holders.map((host) => volumeHolder(host, plan.nodes.find((n) => n.name === host.server)!)),
    { name: TEST_RESOURCE, sizeMiB: 32, skipInitialSync: false },
    site,
  );
  const xml = domainXml({ name: GUEST_NAME, memoryMiB: 96, device: model.device, bridge: answers.spec.network.bridge, mac: guestMac(input.guest.address) });
  const node = await startUnderPacemaker(holders[0]!, holders, { nodes: plan.nodes.map((n) => n.name), xml, timeoutScale: input.timeoutScale, ...(wanted !== undefined ? { preferredNode: wanted } : {}) });
  if (wanted !== undefined && node !== wanted) throw new Error(`Pacemaker started the test guest on ${node}, not on ${wanted} as asked`);
  const bootId = await waitForGuest(input.host(node), input.guest.address);
  const written = parseMd5(await httpGet(input.guest.address, '/cgi-bin/write', 60_000));
  if (written === null) throw new Error('the test guest could not write its test data');
  return { node, peer: round.holders.find((h) => h !== node)!, bootId, written };
}
