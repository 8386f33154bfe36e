/**
 * The failover drill on an HA cluster: the test guest (the migration test's, the same code) runs
 * under Pacemaker and writes its test data; then its node is failed by the caller's `crash` (the lab:
 * kill -9 of the node's QEMU; later a BMC power-off) and the drill watches the survivor, per phase,
 * from the instant of the crash: the node lost (offline or UNCLEAN in crm_mon), fenced (a successful
 * fencing of it in `stonith_admin --history`), the guest's disk Promoted on the survivor, the guest
 * Started there, and the guest answering a client again (a new boot). Then the guest re-reads its
 * data; the crashed node rejoins and the test resource resyncs, connected without a split brain; and
 * everything the drill created is removed. It holds the cluster lock like every run that changes
 * servers.
 */
import { lockCluster, thisHolder, type ClusterLock } from '../../engine/cluster-lock.js';
import { instances, promotedOn, runningOn, crmStatus } from '../../engine/ha/pacemaker.js';
import { Host } from '../../engine/host.js';
import { powerOffThroughBmc } from '../../engine/steps/fence-check.js';
import { waitFor } from '../../engine/steps/step.js';
import { createReplicatedVolume, volumeHolder, volumeSite } from '../../engine/volumes.js';
import type { Answers } from '../../answers/schema.js';
import { parseFenceHistory, type FenceEvent } from '../../facts/parse/fence-history.js';
import { haTiming, type HaTiming } from '../../plan/ha.js';
import type { ClusterPlan } from '../../plan/types.js';
import { newRunId } from '../../services/run-id.js';
import type { ServerConnection } from '../../ssh/types.js';
import { cleanupAfterTest, cleanupMigrationTest } from '../migration/cleanup.js';
import { GUEST_NAME, TEST_RESOURCE, defaultGuestAddress, domainXml, guestMac, ipv4WithPrefix, parseBootId, parseMd5 } from '../migration/guest.js';
import { startUnderPacemaker, testGuestIds } from '../migration/pacemaker.js';
import { httpGet } from '../migration/probe.js';
import { firstLine } from '../migration/remote.js';
import { buildGuestFiles, checkGuestAddress, migrationRounds, testSession, waitForGuest } from '../migration/run.js';
import type { MigrationEvent } from '../migration/types.js';

const STEP = 'failover-drill';

/** The phases, in the order a failover goes through them; each is timed from the crash. */
export const FAILOVER_PHASES = ['lost', 'fenced', 'promoted', 'started', 'answered'] as const;
export type FailoverPhase = (typeof FAILOVER_PHASES)[number];
export const FAILOVER_PHASE_TEXT: Record<FailoverPhase, string> = {
  lost: 'node lost (offline or UNCLEAN)',
  fenced: 'node fenced (stonith history)',
  promoted: "guest's disk Promoted on the survivor",
  started: 'guest Started on the survivor',
  answered: 'guest answers a client again',
};

/** The drill's timeline as the reports print it: each phase, then the rejoin and the resync, in seconds from the power-off. Pure. */
export function failoverTimeline(r: Pick<FailoverReport, 'phases' | 'rejoinedMs' | 'resyncedMs'>): [label: string, time: string][] {
  const sec = (ms: number | null | undefined) => (ms === null || ms === undefined ? 'not reached' : `${(ms / 1000).toFixed(1)} s`);
  return [
    ...FAILOVER_PHASES.map((p): [string, string] => [FAILOVER_PHASE_TEXT[p], sec(r.phases[p])]),
    ['crashed node back in the cluster', sec(r.rejoinedMs)],
    ["guest's disk resynced, no split brain", sec(r.resyncedMs)],
  ];
}

/** The survivor's record of fencing the crashed node, one phrase ("off failed, reboot success by hv2"). Pure. */
export const fencingText = (r: Pick<FailoverReport, 'fencing'>): string => r.fencing.map((e) => `${e.action} ${e.status}${e.delegate ? ` by ${e.delegate}` : ''}`).join(', ') || 'none recorded';

export interface FailoverOptions {
  answers: Answers;
  plan: ClusterPlan;
  /** One open connection per node (the caller opens and closes them). */
  connections: Map<string, ServerConnection>;
  /** Connects to a server again (the crashed node, once it is back), retrying until the deadline. */
  reconnect: (server: string, deadlineMs: number) => Promise<ServerConnection>;
  /**
   * Fails the node that runs the guest, hard (called once, after the guest wrote its data; the
   * phases are timed from the call). Default: the survivor powers it off through its BMC
   * (fence_ipmilan -o off), as a dead server looks to its peers.
   */
  crash?: (node: string) => Promise<void>;
  emit?: (event: MigrationEvent) => void;
  /** The test guest's address (default as the migration test's). */
  guestAddress?: string;
  /** The node to power off: the test guest is placed there (on the first pair of replicas holding it). Default: wherever Pacemaker starts it. */
  node?: string;
  /** How long each phase may take, ms (default 10 min: the emulated lab's detection and fencing take 1-2 min). */
  phaseTimeoutMs?: number;
  /** How long the crashed node may take to rejoin and resync, ms (default 10 min). */
  rejoinTimeoutMs?: number;
  runId?: string;
}

export interface FailoverReport {
  ok: boolean;
  guest: { name: string; address: string };
  /** The node that ran the guest and was crashed, and the one that took it over. */
  crashed: string | null;
  survivor: string | null;
  /** ms from the crash until each phase was first seen on the survivor. */
  phases: Partial<Record<FailoverPhase, number>>;
  /** The crashed node back as a member, and its replica of the guest's disk UpToDate and connected again, ms from the crash. */
  rejoinedMs: number | null;
  resyncedMs: number | null;
  /** Every node crm_mon showed the guest running on between the crash and its start (the survivor only, or something is wrong). */
  guestSeenOn: string[];
  /** The survivor's record of fencing the crashed node after the crash. */
  fencing: FenceEvent[];
  /** The guest read back what it wrote before the crash. */
  dataIntact: boolean | null;
  /** The effective timing (the emulated lab raises detection timeouts). */
  timing: HaTiming;
  error?: { phase: string; message: string };
  cleanup: { ok: boolean; leftovers: { server: string; what: string }[] };
  durationMs: number;
}

export async function runFailoverDrill(options: FailoverOptions): Promise<FailoverReport> {
  const started = Date.now();
  const emit = options.emit ?? (() => undefined);
  const { answers, plan } = options;
  const guestCidr = options.guestAddress ?? defaultGuestAddress(answers.spec.nodes[0]!.management.address);
  const guest = ipv4WithPrefix(guestCidr);
  const phaseTimeoutMs = options.phaseTimeoutMs ?? 10 * 60_000;
  const session = testSession(options.connections, options.runId ?? newRunId(new Date(started)), emit, options.reconnect);
  const ctxs = plan.nodes.map((n) => new Host(session, n.name, STEP));
  const node = (name: string) => ctxs.find((c) => c.server === name)!;
  const planNode = (name: string) => plan.nodes.find((n) => n.name === name)!;
  const ids = testGuestIds();
  const haNodes = plan.nodes.map((n) => n.name);
  const report: FailoverReport = {
    ok: false,
    guest: { name: GUEST_NAME, address: guestCidr },
    crashed: null,
    survivor: null,
    phases: {},
    rejoinedMs: null,
    resyncedMs: null,
    guestSeenOn: [],
    fencing: [],
    dataIntact: null,
    timing: haTiming(answers),
    cleanup: { ok: false, leftovers: [] },
    durationMs: 0,
  };
  let phase = 'lock';
  const say = (text: string, server?: string) => emit({ type: 'log', step: STEP, level: 'info', text, ...(server ? { server } : {}) });

  let lock: ClusterLock;
  try {
    lock = await lockCluster(ctxs.map((c) => session.connection(c.server)), answers.metadata.name, thisHolder(session.runId, STEP), `\`hvcluster apply -f site.yaml --force-unlock\``);
  } catch (error) {
    report.error = { phase, message: firstLine(error) };
    report.durationMs = Date.now() - started;
    return report;
  }
  try {
    phase = 'cleanup-before';
    const before = await cleanupMigrationTest(ctxs, answers.spec.storage.volumeGroup, haNodes);
    if (before.leftovers.length > 0) throw new Error(`leftovers of an earlier test could not be removed: ${before.leftovers.map((l) => `${l.server}: ${l.what}`).join('; ')}`);
    await checkGuestAddress(ctxs, answers, guest.address, guestCidr);

    // The guest under Pacemaker on the first pair of replicas, with its data written.
    phase = 'guest-started';
    const rounds = migrationRounds(plan);
    const round = (options.node !== undefined ? rounds.find((r) => r.holders.includes(options.node!)) : undefined) ?? rounds[0]!;
    if (options.node !== undefined && !round.holders.includes(options.node)) throw new Error(`${options.node} holds no replica the test guest can use`);
    const holders = round.holders.map(node);
    await Promise.all(holders.map((h) => buildGuestFiles(h, answers, guest)));
    const site = volumeSite(answers.spec, plan.drbdMajor, `${session.backupRoot}/${session.runId}`, STEP);
    const model = await createReplicatedVolume(
      holders.map((host) => volumeHolder(host, planNode(host.server))),
      { name: TEST_RESOURCE, sizeMiB: 32, skipInitialSync: false },
      site,
    );
    const xml = domainXml({ name: GUEST_NAME, memoryMiB: 96, device: model.device, bridge: answers.spec.network.bridge, mac: guestMac(guest.address) });
    const crashed = await startUnderPacemaker(holders[0]!, holders, { nodes: plan.nodes.map((n) => n.name), xml, timeoutScale: report.timing.profile === 'emulated' ? 2 : 1, ...(options.node !== undefined ? { preferredNode: options.node } : {}) });
    if (options.node !== undefined && crashed !== options.node) throw new Error(`Pacemaker started the test guest on ${crashed}, not on ${options.node} as asked`);
    const survivor = round.holders.find((h) => h !== crashed)!;
    report.crashed = crashed;
    report.survivor = survivor;
    const bootId = await waitForGuest(node(crashed), guest.address);
    phase = 'data-written';
    const written = parseMd5(await httpGet(guest.address, '/cgi-bin/write', 60_000));
    if (written === null) throw new Error('the test guest could not write its test data');
    say(`the test guest runs on ${crashed} under Pacemaker and wrote its test data (md5 ${written}); ${survivor} must take it over`, crashed);
    const fencedBefore = await successfulFencings(node(survivor), crashed);

    // The crash, then every phase as the survivor (and the installer's client) first sees it.
    phase = 'crash';
    const t0 = Date.now();
    if (options.crash) await options.crash(crashed);
    else {
      const fence = plan.ha?.fence.find((f) => f.node === crashed);
      if (!fence) throw new Error(`no fence device is planned for ${crashed}`);
      await powerOffThroughBmc(node(survivor), fence);
    }
    say(`${crashed} crashed; watching ${survivor}`, crashed);
    const at = (p: FailoverPhase) => {
      if (report.phases[p] === undefined) {
        report.phases[p] = Date.now() - t0;
        say(`failover: ${p} after ${(report.phases[p]! / 1000).toFixed(1)} s`, survivor);
      }
    };
    const watchCluster = (async () => {
      await waitFor(
        `the guest Started on ${survivor} after the crash of ${crashed}`,
        async () => {
          // The fencing record first: what Pacemaker does after fencing (promote, start) is then never seen before it.
          if ((await successfulFencings(node(survivor), crashed)) > fencedBefore) at('fenced');
          const status = await crmStatus(node(survivor)).catch(() => null);
          if (status) {
            const member = status.nodes.find((n) => n.name === crashed);
            if (member && (!member.online || member.unclean)) at('lost');
            for (const where of runningOn(status, ids.vm)) if (where !== crashed && !report.guestSeenOn.includes(where)) report.guestSeenOn.push(where);
            if (promotedOn(status, ids.disks[0]!.drbd).includes(survivor)) at('promoted');
            if (runningOn(status, ids.vm).includes(survivor) && instances(status, ids.vm).some((i) => i.node === survivor && i.role === 'Started')) at('started');
          }
          return FAILOVER_PHASES.slice(0, 4).every((p) => report.phases[p] !== undefined) ? true : undefined;
        },
        { timeoutMs: phaseTimeoutMs, intervalMs: 1000 },
      );
    })();
    const watchGuest = waitFor(
      `the test guest to answer again at ${guest.address} (a new boot on ${survivor})`,
      async () => {
        const id = parseBootId(await httpGet(guest.address, '/', 1000).catch(() => ''));
        if (id !== null && id !== bootId) {
          at('answered');
          return true;
        }
        return undefined;
      },
      { timeoutMs: phaseTimeoutMs, intervalMs: 250 },
    );
    phase = 'failover';
    await Promise.all([watchCluster, watchGuest]);
    report.fencing = await fenceHistory(node(survivor), crashed);

    phase = 'data-checked';
    const check = parseMd5(await httpGet(guest.address, '/cgi-bin/check', 60_000));
    report.dataIntact = check === written;
    if (!report.dataIntact) throw new Error(`after the failover the guest reads different data from its disk (md5 ${check} instead of ${written})`);

    // The crashed node back, its replica resynced and connected (a split brain leaves it StandAlone).
    phase = 'rejoined';
    const rejoinTimeoutMs = options.rejoinTimeoutMs ?? 10 * 60_000;
    await waitFor(
      `${crashed} back in the cluster`,
      async () => {
        const member = (await crmStatus(node(survivor)).catch(() => null))?.nodes.find((n) => n.name === crashed);
        return member?.online && !member.pending && !member.unclean ? true : undefined;
      },
      { timeoutMs: rejoinTimeoutMs, intervalMs: 2000 },
    );
    report.rejoinedMs = Date.now() - t0;
    await node(crashed).reconnect(2 * 60_000);
    phase = 'resynced';
    await waitFor(
      `${TEST_RESOURCE} connected and UpToDate on ${survivor} and ${crashed}`,
      async () => {
        const state = async (what: 'cstate' | 'dstate') => (await node(survivor).read({ argv: ['drbdadm', what, TEST_RESOURCE] }, { allowFailure: true })).stdout.trim();
        return (await state('cstate')) === 'Connected' && (await state('dstate')) === 'UpToDate/UpToDate' ? true : undefined;
      },
      { timeoutMs: rejoinTimeoutMs, intervalMs: 2000 },
    );
    report.resyncedMs = Date.now() - t0;
    say(`${crashed} rejoined after ${(report.rejoinedMs / 1000).toFixed(1)} s; ${TEST_RESOURCE} resynced and connected after ${(report.resyncedMs / 1000).toFixed(1)} s`, crashed);
  } catch (error) {
    report.error = { phase, message: firstLine(error) };
    emit({ type: 'log', step: STEP, level: 'warn', text: `failover drill failed in phase ${phase}: ${firstLine(error)}` });
  } finally {
    // The crashed node may still be down after a failure: clean what answers.
    if (report.crashed && report.rejoinedMs === null) await node(report.crashed).reconnect(30_000).catch(() => undefined);
    const alive = await Promise.all(ctxs.map(async (c) => ((await c.read({ argv: ['true'], timeoutMs: 15_000 }, { allowFailure: true }).catch(() => null)) ? c : null)));
    report.cleanup.leftovers = [
      ...(await cleanupAfterTest(alive.filter((c): c is Host => c !== null), answers.spec.storage.volumeGroup, haNodes)).leftovers,
      ...ctxs.filter((_c, i) => alive[i] === null).map((c) => ({ server: c.server, what: 'unreachable: not cleaned up (run `hvcluster verify --migration-test` once it is back)' })),
    ];
    report.cleanup.ok = report.cleanup.leftovers.length === 0;
    await lock.release().catch(() => undefined);
    report.durationMs = Date.now() - started;
    report.ok =
      report.error === undefined &&
      report.cleanup.ok &&
      report.dataIntact === true &&
      FAILOVER_PHASES.every((p) => report.phases[p] !== undefined) &&
      // Never two copies: the guest ran on the survivor only.
      report.guestSeenOn.every((n) => n === report.survivor);
  }
  return report;
}

async function fenceHistory(survivor: Host, target: string): Promise<FenceEvent[]> {
  const r = await survivor.read({ argv: ['stonith_admin', '--history', target, '--verbose', '--output-as=xml'], timeoutMs: 60_000 }, { allowFailure: true });
  try {
    return parseFenceHistory(r.stdout);
  } catch {
    return [];
  }
}

async function successfulFencings(survivor: Host, target: string): Promise<number> {
  return (await fenceHistory(survivor, target)).filter((e) => e.status === 'success').length;
}
