/**
 * The replication-link drill on an HA cluster (`verify --link-test`): the test guest runs under
 * Pacemaker and writes its data; then the replication link of its node is cut (its replication NIC
 * down, as a pulled cable, undone by a timer on the node if the drill never undoes it). What a
 * cluster built for it must do, each checked: Corosync keeps both nodes members over the management
 * link (nobody is fenced); DRBD loses its connection and, on the Primary, the fence-peer handler
 * (crm-fence-peer.sh) forbids promoting the peer in Pacemaker before the guest's writes resume; the
 * guest keeps running and answering where it ran, and writes during the cut; never two Primaries.
 * Then the link comes back: DRBD reconnects without a split brain, resyncs what the peer missed, the
 * peer's after-resync-target handler lifts the constraint, and the guest's data reads back intact.
 * Every phase is timed from the cut. The drill holds the cluster lock and removes its guest.
 */
import type { ClusterLock } from '../../engine/cluster-lock.js';
import { crmStatus, runningOn } from '../../engine/ha/pacemaker.js';
import type { Host } from '../../engine/host.js';
import { waitFor } from '../../engine/steps/step.js';
import type { FenceEvent } from '../../facts/parse/fence-history.js';
import { drbdState } from '../../engine/volumes.js';
import { cleanupAfterTest } from '../migration/cleanup.js';
import { GUEST_NAME, TEST_RESOURCE, parseMd5 } from '../migration/guest.js';
import { testGuestIds } from '../migration/pacemaker.js';
import { HttpProbe, httpGet } from '../migration/probe.js';
import { firstLine } from '../migration/remote.js';
import { clearForDrill, drillContext, fenceHistory, lockForDrill, startDrillGuest, type DrillOptions } from './drill-guest.js';
import { FAULT_RESTORE_S } from './faults.js';

const STEP = 'link-drill';

/** The phases, each timed from the cut. */
export const LINK_PHASES = ['disconnected', 'peerFenced', 'written', 'restored', 'reconnected', 'resynced', 'unfenced'] as const;
export type LinkPhase = (typeof LINK_PHASES)[number];
export const LINK_PHASE_TEXT: Record<LinkPhase, string> = {
  disconnected: 'DRBD connection lost',
  peerFenced: 'peer fenced off in Pacemaker (crm-fence-peer)',
  written: 'guest wrote during the cut',
  restored: 'link back up',
  reconnected: 'DRBD connected again',
  resynced: 'peer UpToDate again (resynced)',
  unfenced: "handler's constraint lifted",
};

/** How long the cut is kept once the peer is fenced off and the guest has written (the state held steady). */
export const LINK_HOLD_MS = 15_000;

export interface LinkDrillReport {
  ok: boolean;
  guest: { name: string; address: string };
  /** The node whose replication link was cut (the guest's), its DRBD peer, the NIC. */
  node: string | null;
  peer: string | null;
  link: string | null;
  /** ms from the cut. */
  phases: Partial<Record<LinkPhase, number>>;
  /** The most nodes seen Primary at once for the guest's disk (1: never two). */
  maxPrimaries: number;
  /** The guest, probed by a client through the cut: its longest silence and whether it kept its boot. */
  guestMaxGapMs: number | null;
  guestRebooted: boolean;
  /** Where crm_mon showed the guest running while the link was down (its node only). */
  guestSeenOn: string[];
  /** Both nodes stayed cluster members (Corosync's other link); fencing of either since the cut (none expected). */
  membersKept: boolean | null;
  fencing: FenceEvent[];
  splitBrain: boolean | null;
  dataIntact: boolean | null;
  error?: { phase: string; message: string };
  /** What the drill undid after a failure or Ctrl-C. */
  restored: string[];
  cleanup: { ok: boolean; leftovers: { server: string; what: string }[] };
  durationMs: number;
}

export interface LinkDrillOptions extends DrillOptions {
  /** Each wait's limit, ms (default 5 min). */
  phaseTimeoutMs?: number;
}

/** The timeline as the reports print it. Pure. */
export function linkTimeline(r: Pick<LinkDrillReport, 'phases'>): [label: string, time: string][] {
  return LINK_PHASES.map((p) => [LINK_PHASE_TEXT[p], r.phases[p] === undefined ? 'not reached' : `${(r.phases[p]! / 1000).toFixed(1)} s`]);
}

/** What went wrong, each said; empty when the drill passed. Pure. */
export function linkProblems(r: LinkDrillReport): string[] {
  return [
    r.error ? `stopped in phase ${r.error.phase}: ${r.error.message}` : null,
    r.maxPrimaries > 1 ? `the guest's disk was Primary on ${r.maxPrimaries} nodes at once` : null,
    r.guestSeenOn.some((n) => n !== r.node) ? `the guest was seen running on ${r.guestSeenOn.filter((n) => n !== r.node).join(', ')} during the cut` : null,
    r.guestRebooted ? 'the guest rebooted during the cut' : null,
    r.membersKept === false ? 'a node left the cluster while only the replication link was cut (Corosync needs its second link)' : null,
    r.fencing.length > 0 ? `a node was fenced: ${r.fencing.map((e) => `${e.target} ${e.action} ${e.status}`).join(', ')}` : null,
    r.splitBrain ? 'DRBD found a split brain when the link came back' : null,
    r.dataIntact === false ? "the guest's data read back differs from what it wrote" : null,
    !r.error && LINK_PHASES.some((p) => r.phases[p] === undefined) ? `phases not reached: ${LINK_PHASES.filter((p) => r.phases[p] === undefined).join(', ')}` : null,
  ].filter((x): x is string => x !== null);
}

const fenceConstraintId = (resource: string) => `drbd-fence-by-handler-${resource}-`;

async function fenceConstraintPlaced(host: Host, resource: string): Promise<boolean> {
  const r = await host.read({ argv: ['cibadmin', '--query', '--scope', 'constraints'], timeoutMs: 60_000 }, { allowFailure: true });
  return r.stdout.includes(`id="${fenceConstraintId(resource)}`);
}

/** Every fencing of these nodes in a node's history. */
const fencingOf = async (host: Host, nodes: string[]): Promise<FenceEvent[]> => (await fenceHistory(host, '*')).filter((e) => nodes.includes(e.target));

const eventKey = (e: FenceEvent) => `${e.target} ${e.action} ${e.status} ${e.completed ?? 'pending'} ${e.origin ?? ''}`;

export async function runLinkDrill(options: LinkDrillOptions): Promise<LinkDrillReport> {
  const ctx = drillContext(options, STEP);
  const { started, emit, say, stopped, session, guest, guestCidr, host } = ctx;
  const ctxs = ctx.hosts;
  const { answers, plan } = options;
  const timeoutMs = options.phaseTimeoutMs ?? 5 * 60_000;
  const ids = testGuestIds();
  const haNodes = plan.nodes.map((n) => n.name);
  const report: LinkDrillReport = {
    ok: false,
    guest: { name: GUEST_NAME, address: guestCidr },
    node: null,
    peer: null,
    link: null,
    phases: {},
    maxPrimaries: 0,
    guestMaxGapMs: null,
    guestRebooted: false,
    guestSeenOn: [],
    membersKept: null,
    fencing: [],
    splitBrain: null,
    dataIntact: null,
    restored: [],
    cleanup: { ok: false, leftovers: [] },
    durationMs: 0,
  };
  let phase = 'lock';
  let cut = false;

  let lock: ClusterLock;
  try {
    lock = await lockForDrill(ctx, answers, STEP);
  } catch (error) {
    report.error = { phase, message: firstLine(error) };
    report.durationMs = Date.now() - started;
    return report;
  }
  let probe: HttpProbe | undefined;
  try {
    phase = 'cleanup-before';
    await clearForDrill(ctx, answers);

    phase = 'guest-started';
    const placed = await startDrillGuest({ answers, plan, session, host, step: STEP, guest, timeoutScale: plan.ha?.timing.resourceTimeoutScale ?? 1, ...(options.node !== undefined ? { node: options.node } : {}) });
    const { node, peer, bootId } = placed;
    const link = plan.nodes.find((n) => n.name === node)!.model.network.replicationInterface;
    Object.assign(report, { node, peer, link });
    say(`the test guest runs on ${node} under Pacemaker and wrote its test data; cutting ${node}'s replication link ${link}`, node);
    const fencingBefore = new Set((await fencingOf(host(peer), haNodes)).map(eventKey));

    phase = 'cut';
    stopped();
    probe = new HttpProbe(guest.address, bootId, 100, 1000);
    probe.start();
    const t0 = Date.now();
    const at = (p: LinkPhase) => {
      if (report.phases[p] === undefined) {
        report.phases[p] = Date.now() - t0;
        say(`link drill: ${LINK_PHASE_TEXT[p]} after ${(report.phases[p]! / 1000).toFixed(1)} s`, node);
      }
    };
    cut = true;
    await host(node).mutate(`cut ${node}'s replication link: ${link} down in 2 s, up again by a timer after ${FAULT_RESTORE_S} s if the drill does not`, {
      script: 'drill-fault.sh',
      args: ['links-down', String(FAULT_RESTORE_S), link],
    });
    // Watches both replicas and Pacemaker (at most one Primary, the guest where it ran, both nodes members).
    const watch = async () => {
      stopped();
      const [mine, theirs] = await Promise.all([drbdState(host(node), TEST_RESOURCE), drbdState(host(peer), TEST_RESOURCE)]);
      report.maxPrimaries = Math.max(report.maxPrimaries, [mine, theirs].filter((v) => v.role?.startsWith('Primary')).length);
      const status = await crmStatus(host(peer)).catch(() => null);
      if (status) {
        for (const n of runningOn(status, ids.vm)) if (!report.guestSeenOn.includes(n)) report.guestSeenOn.push(n);
        const members = status.nodes.filter((n) => [node, peer].includes(n.name));
        const kept = members.length === 2 && members.every((n) => n.online && !n.unclean);
        report.membersKept = (report.membersKept ?? true) && kept;
      }
      return { mine, theirs };
    };
    phase = 'disconnected';
    await waitFor(
      `${TEST_RESOURCE} to lose its connection on ${node}, and crm-fence-peer's constraint`,
      async () => {
        const { mine } = await watch();
        if (mine.cstate !== null && mine.cstate !== 'Connected') at('disconnected');
        if (report.phases.disconnected !== undefined && (await fenceConstraintPlaced(host(peer), TEST_RESOURCE))) at('peerFenced');
        return report.phases.peerFenced !== undefined ? true : undefined;
      },
      { timeoutMs, intervalMs: 1000 },
    );
    // The guest writes while its peer is cut off: its I/O resumed after the handler.
    phase = 'written';
    const written = parseMd5(await httpGet(guest.address, '/cgi-bin/write', 60_000));
    if (written === null) throw new Error('the test guest could not write during the cut (its I/O still frozen?)');
    at('written');
    // The state held for a while: one Primary, the guest where it was, both members.
    const holdUntil = Date.now() + LINK_HOLD_MS;
    await waitFor('the cut held steady', async () => (await watch(), Date.now() >= holdUntil ? true : undefined), { timeoutMs: LINK_HOLD_MS + 60_000, intervalMs: 1000 });

    phase = 'restored';
    await host(node).mutate(`bring ${node}'s replication link ${link} back up`, { script: 'drill-fault.sh', args: ['links-up', link] });
    cut = false;
    at('restored');
    phase = 'resynced';
    await waitFor(
      `${TEST_RESOURCE} connected and UpToDate on ${node} and ${peer}, and crm-fence-peer's constraint lifted`,
      async () => {
        const { mine, theirs } = await watch();
        if (mine.cstate === 'StandAlone' || theirs.cstate === 'StandAlone') report.splitBrain = true;
        if (mine.cstate === 'Connected' || mine.cstate?.startsWith('Sync')) at('reconnected');
        if (mine.cstate === 'Connected' && mine.dstate === 'UpToDate/UpToDate') at('resynced');
        if (report.phases.resynced !== undefined && !(await fenceConstraintPlaced(host(peer), TEST_RESOURCE))) at('unfenced');
        if (report.splitBrain) throw new Error(`${TEST_RESOURCE} is StandAlone after the link came back: a split brain`);
        return report.phases.unfenced !== undefined ? true : undefined;
      },
      { timeoutMs, intervalMs: 1000 },
    );
    report.splitBrain = false;
    const gap = await probe.stop();
    probe = undefined;
    report.guestMaxGapMs = gap.maxGapMs;
    report.guestRebooted = gap.wrongAnswers > 0;
    report.fencing = (await fencingOf(host(peer), haNodes)).filter((e) => !fencingBefore.has(eventKey(e)));

    phase = 'data-checked';
    const check = parseMd5(await httpGet(guest.address, '/cgi-bin/check', 60_000));
    report.dataIntact = check === written;
    say(`link drill: the guest kept running on ${node} (longest silence ${gap.maxGapMs} ms), its data ${report.dataIntact ? 'intact' : 'CHANGED'}`, node);
  } catch (error) {
    report.error = { phase, message: firstLine(error) };
    emit({ type: 'log', step: STEP, level: 'warn', text: `link drill failed in phase ${phase}: ${firstLine(error)}` });
  } finally {
    await probe?.stop();
    if (cut && report.node && report.link) {
      const n = report.node;
      const what = `${n}'s replication link ${report.link} up again`;
      await host(n)
        .mutate(`bring ${n}'s replication link ${report.link} back up`, { script: 'drill-fault.sh', args: ['links-up', report.link] })
        .then(() => report.restored.push(what))
        .catch((e: unknown) => report.restored.push(`NOT done: ${what} (${firstLine(e)}); its timer does it within ${FAULT_RESTORE_S} s of the cut`));
    }
    report.cleanup.leftovers = (await cleanupAfterTest(ctxs, answers.spec.storage.volumeGroup, haNodes)).leftovers;
    report.cleanup.ok = report.cleanup.leftovers.length === 0;
    await lock.release().catch(() => undefined);
    report.durationMs = Date.now() - started;
    report.ok = report.cleanup.ok && linkProblems(report).length === 0;
  }
  return report;
}
