/**
 * The drills' test guest: the migration test's guest (the same files, volume and domain) handed to
 * Pacemaker on a pair of replicas, placed on the node a drill asked for, answering, with its test
 * data written (an md5 the guest reads back after the fault). Every drill starts from it; the
 * clean-up of the migration test removes it.
 */
import { lockCluster, thisHolder, type ClusterLock } from '../../engine/cluster-lock.js';
import { Host, type HostSession } from '../../engine/host.js';
import type { ServerConnection } from '../../ssh/types.js';
import { newRunId } from '../../services/run-id.js';
import { cleanupMigrationTest } from '../migration/cleanup.js';
import type { MigrationEvent } from '../migration/types.js';
import { createReplicatedVolume, volumeHolder, volumeSite } from '../../engine/volumes.js';
import { parseFenceHistory, type FenceEvent } from '../../facts/parse/fence-history.js';
import type { Answers } from '../../answers/schema.js';
import type { ClusterPlan } from '../../plan/types.js';
import { GUEST_NAME, TEST_RESOURCE, defaultGuestAddress, domainXml, guestMac, ipv4WithPrefix, parseMd5 } from '../migration/guest.js';
import { startUnderPacemaker } from '../migration/pacemaker.js';
import { httpGet } from '../migration/probe.js';
import { buildGuestFiles, checkGuestAddress, migrationRounds, testSession, waitForGuest } from '../migration/run.js';

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

/** What every drill is given. */
export interface DrillOptions {
  answers: Answers;
  plan: ClusterPlan;
  /** One open connection per node (the caller opens and closes them). */
  connections: Map<string, ServerConnection>;
  /** Connects to a server again (a node that was failed, once it is back), retrying until the deadline. */
  reconnect: (server: string, deadlineMs: number) => Promise<ServerConnection>;
  emit?: (event: MigrationEvent) => void;
  /** The test guest's address (default as the migration test's). */
  guestAddress?: string;
  /** The node the drill fails: the test guest is placed there. Default: wherever Pacemaker starts it. */
  node?: string;
  /** Polled while the drill waits: true stops it (Ctrl-C); it then undoes its fault and cleans up. */
  stopRequested?: () => boolean;
  runId?: string;
}

/** A drill's session: its hosts (every command through the guard, as events), its test guest's address, its log lines. */
export interface DrillContext {
  started: number;
  emit: (event: MigrationEvent) => void;
  say: (text: string, server?: string) => void;
  /** Throws once Ctrl-C was pressed. */
  stopped: () => void;
  session: HostSession;
  hosts: Host[];
  host: (server: string) => Host;
  nodes: string[];
  guest: { address: string; prefix: number };
  guestCidr: string;
}

export function drillContext(options: DrillOptions, step: string): DrillContext {
  const started = Date.now();
  const emit = options.emit ?? (() => undefined);
  const guestCidr = options.guestAddress ?? defaultGuestAddress(options.answers.spec.nodes[0]!.management.address);
  const session = testSession(options.connections, options.runId ?? newRunId(new Date(started)), emit, options.reconnect);
  const hosts = options.plan.nodes.map((n) => new Host(session, n.name, step));
  return {
    started,
    emit,
    say: (text, server) => emit({ type: 'log', step, level: 'info', text, ...(server ? { server } : {}) }),
    stopped: () => {
      if (options.stopRequested?.()) throw new Error('stopped by Ctrl-C');
    },
    session,
    hosts,
    host: (name) => hosts.find((h) => h.server === name)!,
    nodes: options.plan.nodes.map((n) => n.name),
    guest: ipv4WithPrefix(guestCidr),
    guestCidr,
  };
}

/** The cluster lock of a drill (one run at a time changes the cluster). */
export function lockForDrill(ctx: DrillContext, answers: Answers, step: string): Promise<ClusterLock> {
  return lockCluster(ctx.hosts.map((h) => ctx.session.connection(h.server)), answers.metadata.name, thisHolder(ctx.session.runId, step), `\`hvcluster apply -f site.yaml --force-unlock\``);
}

/** Before a drill: what an earlier test left removed, the test guest's address free. */
export async function clearForDrill(ctx: DrillContext, answers: Answers): Promise<void> {
  const before = await cleanupMigrationTest(ctx.hosts, answers.spec.storage.volumeGroup, ctx.nodes);
  if (before.leftovers.length > 0) throw new Error(`leftovers of an earlier test could not be removed: ${before.leftovers.map((l) => `${l.server}: ${l.what}`).join('; ')}`);
  await checkGuestAddress(ctx.hosts, answers, ctx.guest.address, ctx.guestCidr);
}

/** A node's record of fencing `target` (a node name, or `*` for every node): stonith_admin's history, none when unreadable. */
export async function fenceHistory(from: Host, target: string): Promise<FenceEvent[]> {
  const r = await from.read({ argv: ['stonith_admin', '--history', target, '--verbose', '--output-as=xml'], timeoutMs: 60_000 }, { allowFailure: true });
  try {
    return parseFenceHistory(r.stdout);
  } catch {
    return [];
  }
}
