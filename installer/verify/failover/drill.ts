/**
 * The failover drill on an HA cluster: the test guest (the migration test's, the same code) runs
 * under Pacemaker and writes its test data; then its node is failed by the caller's `crash` (the lab:
 * kill -9 of the node's QEMU; later a BMC power-off) and the drill watches the survivor, per phase,
 * from the instant of the crash: the node lost (offline or UNCLEAN in crm_mon), fenced (a successful
 * fencing of it in `stonith_admin --history`), the guest's disk Promoted on the survivor, the guest
 * Started there, and the guest answering a client again (a new boot). Then the guest re-reads its
 * data; the crashed node rejoins and the test resource resyncs, connected without a split brain; and
 * everything the drill created is removed. It holds the cluster lock like every run that changes
 * servers. With `guest` (--guest NAME) a declared guest takes the test guest's place
 * (declared-guest.ts): its node is failed, and `answered` is its agent answering on the survivor (its
 * downtime); its data is not touched.
 */
import type { ClusterLock } from '../../engine/cluster-lock.js';
import { instances, promotedOn, runningOn, crmStatus, statusText } from '../../engine/ha/pacemaker.js';
import type { Host } from '../../engine/host.js';
import { bmcPowerStatus, powerOnThroughBmc } from '../../engine/steps/fence-check.js';
import { FAILOVER_FAULT_TEXT, FAULT_RESTORE_S, HELD_FAULTS, confirmCommand, confirmFenced, injectFault, unblockBmc, type FailoverFault, type FaultTarget } from './faults.js';
import { waitFor } from '../../engine/steps/step.js';
import { drbdState } from '../../engine/volumes.js';
import type { FenceEvent } from '../../facts/parse/fence-history.js';
import { haTiming, type HaTiming } from '../../plan/ha.js';
import { cleanupAfterTest } from '../migration/cleanup.js';
import { GUEST_NAME, TEST_RESOURCE, parseBootId, parseMd5 } from '../migration/guest.js';
import { testGuestIds } from '../migration/pacemaker.js';
import { clearForDrill, drillContext, fenceHistory, lockForDrill, startDrillGuest, type DrillOptions } from './drill-guest.js';
import { httpGet } from '../migration/probe.js';
import { firstLine } from '../migration/remote.js';
import { agentAnswers, checkDeclaredGuest, declaredSubject, type DrillSubject } from './declared-guest.js';
import { nodeBootId, hangNotFencedText, hangProblem, rebootedBetween, recoverHungNode, thawNode, type HangRecovery } from './hang.js';

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

/** A declared guest answers through its agent: that phase is its downtime. */
const DECLARED_ANSWERED_TEXT = "guest's agent answers (its downtime)";

/** The drill's timeline as the reports print it: each phase, then the rejoin and the resync, in seconds from the power-off. Pure. */
export function failoverTimeline(r: Pick<FailoverReport, 'phases' | 'rejoinedMs' | 'resyncedMs'> & { guest?: Pick<FailoverReport['guest'], 'declared'> }): [label: string, time: string][] {
  const sec = (ms: number | null | undefined) => (ms === null || ms === undefined ? 'not reached' : `${(ms / 1000).toFixed(1)} s`);
  const text = (p: FailoverPhase) => (p === 'answered' && r.guest?.declared ? DECLARED_ANSWERED_TEXT : FAILOVER_PHASE_TEXT[p]);
  return [
    ...FAILOVER_PHASES.map((p): [string, string] => [text(p), sec(r.phases[p])]),
    ['crashed node back in the cluster', sec(r.rejoinedMs)],
    ["guest's disk resynced, no split brain", sec(r.resyncedMs)],
  ];
}

/** The survivor's record of fencing the crashed node, one phrase ("off failed, reboot success by hv2"). Pure. */
export const fencingText = (r: Pick<FailoverReport, 'fencing'>): string => r.fencing.map((e) => `${e.action} ${e.status}${e.delegate ? ` by ${e.delegate}` : ''}`).join(', ') || 'none recorded';

/** How long a dead BMC's hold is watched after the first failed fencing (the guest must stay down throughout). Pure. */
export const holdProofMs = (timing: HaTiming): number => (timing.profile === 'emulated' ? 75_000 : 60_000);

/** The hold of a dead BMC, one phrase, or null without one. Pure. */
export function holdText(r: Pick<FailoverReport, 'hold' | 'crashed'>): string | null {
  const h = r.hold;
  if (!h) return null;
  const until =
    h.releasedBy === 'confirmed'
      ? `until ${r.crashed ?? 'the node'} was confirmed off (\`${h.confirmCommand}\`)`
      : h.releasedBy === 'bmc-answers'
        ? 'until its BMC answered again'
        : h.releasedBy === 'watchdog'
          ? 'until the watchdog level fenced it (its watchdog must have reset it by then)'
          : 'not released';
  const when = h.releasedMs !== null ? ` after ${(h.releasedMs / 1000).toFixed(1)} s` : '';
  const failed = h.releasedBy === 'watchdog' ? "its BMC dead, fencing fell through to the watchdog level" : `fencing failed ${h.failedFencings} time(s) with the BMC dead`;
  return `${failed}; the guest ran ${h.runningElsewhere.length ? `on ${h.runningElsewhere.join(', ')} (TWO COPIES)` : 'nowhere else'} ${until}${when}`;
}

export interface FailoverOptions extends DrillOptions {
  /** How the guest's node is failed (faults.ts). Default: power-off. */
  fault?: FailoverFault;
  /**
   * A declared guest under Pacemaker used instead of the test guest (declared-guest.ts): its node is
   * the one failed, its downtime measured until its agent answers on the survivor; its data is not
   * touched. The caller has the operator's consent to its downtime (--yes-i-accept-downtime).
   */
  guest?: string;
  /** How long each phase may take, ms (default 10 min: the emulated lab's detection and fencing take 1-2 min). */
  phaseTimeoutMs?: number;
  /** How long the crashed node may take to rejoin and resync, ms (default 10 min). */
  rejoinTimeoutMs?: number;
}

export interface FailoverReport {
  ok: boolean;
  /** The drill's test guest (its address), or a declared guest (`declared`: no address, its data not checked, its downtime = the `answered` phase). */
  guest: { name: string; address: string | null; declared?: true };
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
  /** The failed node came back with a new boot id (a power cycle ended the fault); null until read. A hang must end so: only fencing may end it. */
  rebooted: boolean | null;
  /** The guest's disk came back StandAlone (a split brain) once the failed node returned; null until seen connecting. */
  splitBrain: boolean | null;
  /** The effective timing (the emulated lab raises detection timeouts). */
  timing: HaTiming;
  /** How the node was failed. */
  fault: FailoverFault;
  /**
   * dead-fence and power-loss: the guest held down while fencing could not succeed: the failed
   * attempts seen, whether the guest ran anywhere else meanwhile, and how and when (ms from the
   * crash) the hold ended: the BMC answering again, or the node confirmed off (the command given);
   * with a watchdog level (spec.ha.watchdog), fencing falling through to it, no sooner than its
   * stonith-watchdog-timeout after the node was lost.
   */
  hold: { failedFencings: number; runningElsewhere: string[]; releasedMs: number | null; releasedBy: 'bmc-answers' | 'confirmed' | 'watchdog' | null; confirmCommand: string | null } | null;
  /** What the drill undid after a failure or Ctrl-C (a node powered on, a BMC route restored...). */
  restored: string[];
  error?: { phase: string; message: string };
  cleanup: { ok: boolean; leftovers: { server: string; what: string }[] };
  durationMs: number;
}

export async function runFailoverDrill(options: FailoverOptions): Promise<FailoverReport> {
  const ctx = drillContext(options, STEP);
  const { started, emit, say, stopped, session, guest, guestCidr, host: node } = ctx;
  const ctxs = ctx.hosts;
  const { answers, plan } = options;
  const phaseTimeoutMs = options.phaseTimeoutMs ?? 10 * 60_000;
  const fault = options.fault ?? 'power-off';
  const ids = testGuestIds();
  const haNodes = plan.nodes.map((n) => n.name);
  const report: FailoverReport = {
    ok: false,
    guest: options.guest !== undefined ? { name: options.guest, address: null, declared: true } : { name: GUEST_NAME, address: guestCidr },
    crashed: null,
    survivor: null,
    phases: {},
    rejoinedMs: null,
    resyncedMs: null,
    guestSeenOn: [],
    fencing: [],
    dataIntact: null,
    rebooted: null,
    splitBrain: null,
    timing: haTiming(answers),
    fault,
    hold: null,
    restored: [],
    cleanup: { ok: false, leftovers: [] },
    durationMs: 0,
  };
  let phase = 'lock';

  // The fault in force, for the clean-up after a failure or Ctrl-C.
  let target: FaultTarget | null = null;
  let others: string[] = [];
  let faultOn = false;
  let bmcBlocked = false;
  // A hang: when its thaw timer continues the node if fencing never does (epoch ms).
  let thawDueAt = 0;
  // The failed node's boot before the fault: once back, a new one proves a power cycle ended the fault.
  let bootBefore: string | null = null;
  const planNodeModel = (name: string) => plan.nodes.find((n) => n.name === name)!.model;

  let lock: ClusterLock;
  try {
    lock = await lockForDrill(ctx, answers, STEP);
  } catch (error) {
    report.error = { phase, message: firstLine(error) };
    report.durationMs = Date.now() - started;
    return report;
  }
  try {
    phase = 'cleanup-before';
    await clearForDrill(ctx, answers);

    // The guest under Pacemaker on the first pair of replicas, with its data written; or the declared guest where it runs.
    phase = 'guest-started';
    const declared = options.guest !== undefined ? declaredSubject(answers, options.guest) : null;
    const subject: DrillSubject = declared ?? { name: GUEST_NAME, vm: ids.vm, drbd: ids.disks.map((d) => d.drbd), resources: [TEST_RESOURCE] };
    let crashed: string;
    let survivor: string;
    let bootId: string | null = null;
    let written: string | null = null;
    if (declared) {
      ({ node: crashed, peer: survivor } = await checkDeclaredGuest(node, await crmStatus(node(haNodes[0]!)), declared));
      say(`${declared.name} runs on ${crashed} under Pacemaker and its agent answers; ${survivor} must take it over (its downtime is measured; its data is not touched)`, crashed);
    } else {
      const placed = await startDrillGuest({ answers, plan, session, host: node, step: STEP, guest, timeoutScale: report.timing.resourceTimeoutScale, ...(options.node !== undefined ? { node: options.node } : {}) });
      ({ node: crashed, peer: survivor, bootId, written } = placed);
      say(`the test guest runs on ${crashed} under Pacemaker and wrote its test data (md5 ${written}); ${survivor} must take it over`, crashed);
    }
    report.crashed = crashed;
    report.survivor = survivor;
    const historyBefore = await fenceHistory(node(survivor), crashed);
    const fencedBefore = historyBefore.filter((e) => e.status === 'success').length;
    const failedBefore = historyBefore.filter((e) => e.status === 'failed').length;
    bootBefore = await nodeBootId(node(crashed));

    // The crash, then every phase as the survivor (and the installer's client) first sees it.
    phase = 'crash';
    stopped();
    const fence = plan.ha?.fence.find((f) => f.node === crashed);
    if (!fence) throw new Error(`no fence device is planned for ${crashed}`);
    const model = planNodeModel(crashed);
    target = { node: crashed, fence, links: [model.network.managementInterface, model.network.replicationInterface] };
    others = haNodes.filter((n) => n !== crashed);
    const t0 = Date.now();
    say(`${crashed}: ${FAILOVER_FAULT_TEXT[fault]}`, crashed);
    faultOn = true;
    bmcBlocked = HELD_FAULTS.includes(fault);
    thawDueAt = t0 + FAULT_RESTORE_S * 1000;
    await injectFault(fault, target, node, survivor, others);
    say(`${crashed} failed (${fault}); watching ${survivor}`, crashed);
    const at = (p: FailoverPhase) => {
      if (report.phases[p] === undefined) {
        report.phases[p] = Date.now() - t0;
        say(`failover: ${p} after ${(report.phases[p]! / 1000).toFixed(1)} s`, survivor);
      }
    };
    let lastSeen = 'no answer yet';
    const watchCluster = (async () => {
      await waitFor(
        `the guest Started on ${survivor} after the crash of ${crashed}`,
        async () => {
          stopped();
          // The fencing record first: what Pacemaker does after fencing (promote, start) is then never seen before it.
          if ((await successfulFencings(node(survivor), crashed)) > fencedBefore) at('fenced');
          const status = await crmStatus(node(survivor)).catch((error: unknown) => {
            lastSeen = `crm_mon failed: ${firstLine(error)}`;
            return null;
          });
          if (status) {
            lastSeen = statusText(status);
            const member = status.nodes.find((n) => n.name === crashed);
            if (member && (!member.online || member.unclean)) at('lost');
            for (const where of runningOn(status, subject.vm)) if (where !== crashed && !report.guestSeenOn.includes(where)) report.guestSeenOn.push(where);
            if (subject.drbd.every((d) => promotedOn(status, d).includes(survivor))) at('promoted');
            if (runningOn(status, subject.vm).includes(survivor) && instances(status, subject.vm).some((i) => i.node === survivor && i.role === 'Started')) at('started');
          }
          return FAILOVER_PHASES.slice(0, 4).every((p) => report.phases[p] !== undefined) ? true : undefined;
        },
        { timeoutMs: phaseTimeoutMs, intervalMs: 1000 },
      ).catch((error: unknown) => {
        throw new Error(`${firstLine(error)}; crm_mon on ${survivor}: ${lastSeen}`);
      });
    })();
    // The test guest answers its client with a new boot id; a declared guest's agent answers on the survivor once it started there.
    const answersAgain = declared
      ? async () => report.phases.started !== undefined && (await agentAnswers(node(survivor), declared.name))
      : async () => {
          const id = parseBootId(await httpGet(guest.address, '/', 1000).catch(() => ''));
          return id !== null && id !== bootId;
        };
    const watchGuest = waitFor(
      declared ? `${declared.name}'s guest agent to answer on ${survivor}` : `the test guest to answer again at ${guest.address} (a new boot on ${survivor})`,
      async () => {
        stopped();
        if (await answersAgain()) {
          at('answered');
          return true;
        }
        return undefined;
      },
      { timeoutMs: phaseTimeoutMs, intervalMs: declared ? 2000 : 250 },
    );
    // A dead BMC: the guest must stay down while fencing fails, until the BMC answers again or the node is confirmed off;
    // with a watchdog level, until fencing falls through to it.
    const watchdog = HELD_FAULTS.includes(fault) ? plan.ha?.watchdog : undefined;
    const hold = watchdog
      ? (async () => {
          const waitS = watchdog.stonithWatchdogTimeoutS;
          say(`${crashed}'s BMC does not answer: fencing must fall through to the watchdog level, and the guest stay down until then (at least ${waitS} s after ${crashed} was lost)`, survivor);
          const elsewhere = new Set<string>();
          await waitFor(
            `${crashed} fenced through the watchdog level`,
            async () => {
              stopped();
              if (report.phases.fenced === undefined) for (const n of await guestRunningOn(node, others, subject.vm, subject.name)) elsewhere.add(n);
              return report.phases.fenced !== undefined || elsewhere.size > 0 ? true : undefined;
            },
            { timeoutMs: phaseTimeoutMs, intervalMs: 3000 },
          );
          const failed = (await fenceHistory(node(survivor), crashed)).filter((e) => e.status === 'failed').length - failedBefore;
          report.hold = { failedFencings: Math.max(0, failed), runningElsewhere: [...elsewhere], releasedMs: report.phases.fenced ?? null, releasedBy: 'watchdog', confirmCommand: null };
          if (elsewhere.size > 0) throw new Error(`the guest runs on ${[...elsewhere].join(', ')} while ${crashed} is not fenced: two copies may run`);
          const afterLost = report.phases.fenced! - (report.phases.lost ?? 0);
          if (afterLost < waitS * 1000) {
            throw new Error(`${crashed} was taken as fenced ${(afterLost / 1000).toFixed(1)} s after it was lost, sooner than stonith-watchdog-timeout (${waitS} s): its watchdog may not have reset it yet`);
          }
          say(`${crashed} fenced through the watchdog level ${(afterLost / 1000).toFixed(1)} s after it was lost; the guest ran nowhere else meanwhile`, survivor);
        })()
      : HELD_FAULTS.includes(fault)
      ? (async () => {
          const failed = await waitFor(
            `a failed attempt to fence ${crashed} (its BMC does not answer)`,
            async () => {
              stopped();
              const n = (await fenceHistory(node(survivor), crashed)).filter((e) => e.status === 'failed').length - failedBefore;
              return n > 0 ? n : undefined;
            },
            { timeoutMs: phaseTimeoutMs, intervalMs: 3000 },
          );
          // Proven for a while, not at one instant: the guest stays down on every other node.
          const elsewhere = new Set<string>();
          const proofMs = holdProofMs(report.timing);
          say(`fencing ${crashed} failed; watching for ${proofMs / 1000} s that the guest runs nowhere else`, survivor);
          const until = Date.now() + proofMs;
          await waitFor(
            `${proofMs / 1000} s of the guest held down`,
            async () => {
              stopped();
              for (const n of await guestRunningOn(node, others, subject.vm, subject.name)) elsewhere.add(n);
              return elsewhere.size > 0 || Date.now() >= until ? true : undefined;
            },
            { timeoutMs: proofMs + 120_000, intervalMs: 5000 },
          );
          const total = (await fenceHistory(node(survivor), crashed)).filter((e) => e.status === 'failed').length - failedBefore;
          report.hold = { failedFencings: Math.max(failed, total), runningElsewhere: [...elsewhere], releasedMs: null, releasedBy: null, confirmCommand: fault === 'power-loss' ? confirmCommand(crashed) : null };
          if (elsewhere.size > 0) throw new Error(`the guest runs on ${[...elsewhere].join(', ')} while ${crashed} is not fenced: two copies may run`);
          say(`fencing ${crashed} failed (${report.hold.failedFencings} attempt(s)); the guest ran nowhere else, as it must`, survivor);
          if (fault === 'dead-fence') {
            await Promise.all(others.map((o) => unblockBmc(node(o), target!)));
            bmcBlocked = false;
            report.hold.releasedBy = 'bmc-answers';
            say(`${crashed}'s BMC answers again: fencing can complete`, survivor);
          } else {
            say(`fencing cannot reach ${crashed}: its BMC lost power with it. An operator makes sure ${crashed} is off (its power LEDs, the PDU), then types on ${survivor}: ${confirmCommand(crashed)}`, survivor);
            await confirmFenced(node(survivor), crashed);
            report.hold.releasedBy = 'confirmed';
            at('fenced');
          }
          report.hold.releasedMs = Date.now() - t0;
        })()
      : Promise.resolve();
    phase = 'failover';
    await Promise.all([watchCluster, watchGuest, hold]).catch((error: unknown) => {
      // A hung node never fenced: said as such (the timeout alone does not say why it matters).
      if (fault === 'hang' && report.phases.fenced === undefined && !options.stopRequested?.()) throw new Error(`${hangNotFencedText(crashed, survivor, Date.now() - t0, report.phases.lost !== undefined)} (${firstLine(error)})`);
      throw error;
    });
    report.fencing = await fenceHistory(node(survivor), crashed);

    // The test guest re-reads its data; a declared guest's data is its own (its agent answering is the proof).
    if (!declared) {
      phase = 'data-checked';
      const check = parseMd5(await httpGet(guest.address, '/cgi-bin/check', 60_000));
      report.dataIntact = check === written;
      if (!report.dataIntact) throw new Error(`after the failover the guest reads different data from its disk (md5 ${check} instead of ${written})`);
    }

    // Power loss: the power comes back, with the BMC; the node is powered on again. So is a node
    // whose dead BMC the watchdog level stood in for (it stayed off).
    if (fault === 'power-loss' || watchdog) {
      phase = 'powered-on';
      await Promise.all(others.map((o) => unblockBmc(node(o), target!)));
      bmcBlocked = false;
      await powerOnThroughBmc(node(survivor), fence);
    }
    // A hang stays in force until the node is seen back and thawed (its timer cancelled, if any is left).
    if (fault !== 'hang') faultOn = false;

    // The crashed node back, its replica resynced and connected (a split brain leaves it StandAlone).
    phase = 'rejoined';
    const rejoinTimeoutMs = options.rejoinTimeoutMs ?? 10 * 60_000;
    await rejoined(node(survivor), crashed, rejoinTimeoutMs, stopped);
    report.rejoinedMs = Date.now() - t0;
    await node(crashed).reconnect(2 * 60_000);
    report.rebooted = rebootedBetween(bootBefore, await nodeBootId(node(crashed)));
    if (fault === 'hang') {
      say(await thawNode(node(crashed)), crashed);
      faultOn = false;
      const problem = hangProblem(report);
      if (problem) throw new Error(problem);
    }
    phase = 'resynced';
    const disks = subject.resources.join(', ');
    await waitFor(
      `${disks} connected and UpToDate on ${survivor} and ${crashed}`,
      async () => {
        stopped();
        let inSync = true;
        for (const resource of subject.resources) {
          const { cstate, dstate } = await drbdState(node(survivor), resource);
          // StandAlone once the node is back: DRBD found a split brain (both sides started a new data generation while apart); it never resolves by itself.
          if (cstate === 'StandAlone') {
            report.splitBrain = true;
            throw new Error(`${resource} is StandAlone on ${survivor} after ${crashed} came back: a split brain (both sides started a new data generation while apart); \`hvcluster drbd resolve ${resource} --survivor ${survivor}\` recovers it`);
          }
          inSync &&= cstate === 'Connected' && dstate === 'UpToDate/UpToDate';
        }
        return inSync ? true : undefined;
      },
      { timeoutMs: rejoinTimeoutMs, intervalMs: 2000 },
    );
    report.resyncedMs = Date.now() - t0;
    report.splitBrain = false;
    say(`${crashed} rejoined after ${(report.rejoinedMs / 1000).toFixed(1)} s; ${disks} resynced and connected after ${(report.resyncedMs / 1000).toFixed(1)} s`, crashed);
  } catch (error) {
    report.error = { phase, message: firstLine(error) };
    emit({ type: 'log', step: STEP, level: 'warn', text: `failover drill failed in phase ${phase}: ${firstLine(error)}` });
    // What fencing did, for the report of a failed drill too.
    if (report.survivor && report.crashed && report.fencing.length === 0) report.fencing = await fenceHistory(node(report.survivor), report.crashed).catch(() => []);
  } finally {
    // A failure or Ctrl-C with the fault still in force: undo it, and say what was undone.
    if (faultOn && target) {
      const hang = { fenced: report.phases.fenced !== undefined, thawDueAt, bootBefore, stopRequested: () => options.stopRequested?.() ?? false, say: (text: string) => say(text, target!.node) };
      report.restored = await undoFault(fault, target, node, others, bmcBlocked, report.survivor!, hang);
    }
    // The crashed node may still be down after a failure: clean what answers. Powered on again by the
    // undo (a Ctrl-C during the outage), it is awaited back as a member (fenced first, if the survivor
    // had not yet), so that its part of the test guest is removed too: a second Ctrl-C leaves it.
    if (report.crashed && report.rejoinedMs === null) {
      if (report.survivor && report.restored.includes(poweredOnText(report.crashed))) {
        const waitMs = options.rejoinTimeoutMs ?? 10 * 60_000;
        say(`waiting up to ${Math.round(waitMs / 60_000)} min for ${report.crashed} to boot and rejoin, to remove the test guest there too (Ctrl-C again leaves it: \`hvcluster verify --migration-test\` removes it later)`, report.crashed);
        await rejoined(node(report.survivor), report.crashed, waitMs).catch(() => undefined);
      }
      await node(report.crashed).reconnect(30_000).catch(() => undefined);
    }
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
      // The test guest's data read back intact; a declared guest's is not read (it answered: the answered phase).
      (report.guest.declared === true || report.dataIntact === true) &&
      FAILOVER_PHASES.every((p) => report.phases[p] !== undefined) &&
      // A dead BMC held the guest down until fencing could complete.
      (!HELD_FAULTS.includes(fault) || (report.hold !== null && report.hold.runningElsewhere.length === 0 && report.hold.releasedMs !== null && report.phases.started! >= report.hold.releasedMs)) &&
      // A hang ended by fencing's power cycle, nothing else.
      (fault !== 'hang' || report.rebooted === true) &&
      // Never two copies: the guest ran on the survivor only.
      report.guestSeenOn.every((n) => n === report.survivor);
  }
  return report;
}

/** What the undo of a fault says when it powered the failed node on again (report.restored). Pure. */
const poweredOnText = (node: string) => `${node} powered on through its BMC`;

/** Waits until `crashed` is an online member again, not pending nor unclean, as `survivor`'s crm_mon sees it. */
async function rejoined(survivor: Host, crashed: string, timeoutMs: number, stopped: () => void = () => undefined): Promise<void> {
  await waitFor(
    `${crashed} back in the cluster`,
    async () => {
      stopped();
      const member = (await crmStatus(survivor).catch(() => null))?.nodes.find((n) => n.name === crashed);
      return member?.online && !member.pending && !member.unclean ? true : undefined;
    },
    { timeoutMs, intervalMs: 2000 },
  );
}

async function successfulFencings(survivor: Host, target: string): Promise<number> {
  return (await fenceHistory(survivor, target)).filter((e) => e.status === 'success').length;
}

/** The nodes among `nodes` where the guest runs: in Pacemaker's view (`vm`) or in libvirt's (`domain`). */
async function guestRunningOn(node: (server: string) => Host, nodes: string[], vm: string, domain: string): Promise<string[]> {
  const status = await crmStatus(node(nodes[0]!));
  const seen = new Set(runningOn(status, vm).filter((n) => nodes.includes(n)));
  for (const n of nodes) {
    const r = await node(n).read({ argv: ['virsh', '-q', 'domstate', domain] }, { allowFailure: true });
    if (r.exitCode === 0 && r.stdout.trim() === 'running') seen.add(n);
  }
  return [...seen];
}

/** Undoes a fault left in force by a failure or Ctrl-C, as far as the nodes answer; returns what was done. */
async function undoFault(
  fault: FailoverFault,
  target: FaultTarget,
  node: (server: string) => Host,
  others: string[],
  bmcBlocked: boolean,
  survivor: string,
  hang: Omit<HangRecovery, 'host'>,
): Promise<string[]> {
  const done: string[] = [];
  const attempt = async (what: string, action: () => Promise<unknown>) => {
    try {
      await action();
      done.push(what);
    } catch (error) {
      done.push(`NOT done: ${what} (${firstLine(error)})`);
    }
  };
  if (bmcBlocked) for (const o of others) await attempt(`${o} reaches ${target.node}'s BMC again`, () => unblockBmc(node(o), target));
  if (fault === 'partition') {
    const back = await node(target.node).reconnect(15_000).then(() => true, () => false);
    if (back) await attempt(`${target.node}'s links up again (${target.links.join(', ')})`, () => node(target.node).mutate(`set ${target.links.join(' and ')} up again`, { script: 'drill-fault.sh', args: ['links-up', ...target.links] }));
    else done.push(`${target.node} does not answer: its links come up by its timer within ${FAULT_RESTORE_S} s of the cut, or when it is fenced`);
  } else {
    const power = await bmcPowerStatus(node(survivor), target.fence).catch(() => null);
    if (power?.result === 'off') await attempt(poweredOnText(target.node), () => powerOnThroughBmc(node(survivor), target.fence));
    // A hung node answers nothing until it reboots or its timer continues it: thawed once it answers.
    if (fault === 'hang') done.push(...(await recoverHungNode({ host: node(target.node), ...hang })));
  }
  return done;
}
