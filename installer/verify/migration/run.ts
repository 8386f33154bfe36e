/**
 * The live-migration proof. Per round (one replicated test volume on the nodes that hold it):
 * create the volume, start the test guest on its home node, have the guest write test data, then
 * migrate it to every other holder and back; for each migration open dual-primary, promote the
 * target, `virsh migrate --live --p2p --undefinesource --persistent` over the replication network,
 * demote the source and close dual-primary again in a `finally` (a timer armed on the holders before
 * the window opens closes it if this process dies inside it), while the installer's process
 * polls the guest over HTTP. Then stop the guest, check the data on the DRBD device, clean up.
 * Clean-up runs before the test too (a killed run's leftovers) and always after it.
 */
import { MIGRATE_TIMEOUT_MS, armDualPrimaryClose, disarmDualPrimaryClose, dualPrimaryCloseAfterS } from '../../engine/dual-primary.js';
import { Guard } from '../../engine/guard.js';
import { Host, type HostSession } from '../../engine/host.js';
import type { ServerConnection } from '../../ssh/types.js';
import { lockCluster, thisHolder, type ClusterLock } from '../../engine/cluster-lock.js';
import { InterruptedError } from '../../engine/runner.js';
import { aptInstall, missingPackages } from '../../engine/steps/packages.js';
import { waitFor } from '../../engine/steps/step.js';
import { createReplicatedVolume, volumeHolder, volumeSite } from '../../engine/volumes.js';
import type { Answers } from '../../answers/schema.js';
import { newRunId } from '../../services/run-id.js';
import type { DrbdResourceModel } from '../../plan/model.js';
import type { ClusterPlan } from '../../plan/types.js';
import { addressOf } from '../../net/ipv4.js';
import { haEnabled, haTiming } from '../../plan/ha.js';
import { cleanupAfterTest, cleanupMigrationTest } from './cleanup.js';
import { allowSecondPromotion, moveThroughPacemaker } from '../../engine/ha/guest-pacemaker.js';
import { startUnderPacemaker, stopGuestUnderPacemaker, testGuestIds } from './pacemaker.js';
import { closeWindow, closeWindowThroughPacemaker, setTwoPrimaries } from '../../guests/live-migrate.js';
import {
  GUEST_FILES,
  GUEST_NAME,
  TEST_RESOURCE,
  buildGuestScript,
  defaultGuestAddress,
  domainXml,
  guestMac,
  inSubnet,
  parseBootId,
  ipv4WithPrefix,
  parseMd5,
} from './guest.js';
import { CLIENT_GAP_LIMIT_MS, MEMINFO_READ, MEMORY_MARGIN_MIB, drbdSnapshotArgs, judgeGap, judgeMemory, judgeWindow, memoryRefusal, parseDrbdSnapshot, parseMemAvailableMiB, type DrbdSnapshot } from './judge.js';
import { HttpProbe, httpGet, parseJobInfo, type GapSummary } from './probe.js';
import { firstLine, mutateUntil } from './remote.js';
import { MIGRATION_PHASES, type MigrationEvent, type MigrationPhase, type MigrationReport, type MigrationResult, type MigrationTestOptions } from './types.js';

const STEP = 'migration-test';
export const FAIL_AT_ENV = 'HVCLUSTER_MIGRATION_FAIL_AT';

/** The test refused to start: a node lacks the memory for the guest (report.error.code MIGRATION_MEMORY). */
export class MemoryRefusal extends Error {}

/** A failure injected on purpose (option failAt or env HVCLUSTER_MIGRATION_FAIL_AT), to test the clean-up. */
export class InjectedFailure extends Error {
  constructor(readonly phase: MigrationPhase) {
    super(`failure injected after phase "${phase}" (${FAIL_AT_ENV})`);
  }
}

/** The rounds of the test: one volume per DRBD pair on three 8.4 nodes (every pair both ways), else one on all holders. Pure. */
export function migrationRounds(plan: Pick<ClusterPlan, 'nodes' | 'drbdPairs'>): { holders: string[]; home: string }[] {
  if (plan.drbdPairs.length > 0) return plan.drbdPairs.map(([a, b]) => ({ holders: [a, b], home: a }));
  const nodes = plan.nodes.map((n) => n.name);
  return [{ holders: nodes, home: nodes[0]! }];
}

/** The migrations of a round: to every other holder and back home. Pure. */
export function migrationLegs(round: { holders: string[]; home: string }): { from: string; to: string }[] {
  return round.holders.filter((h) => h !== round.home).flatMap((other) => [
    { from: round.home, to: other },
    { from: other, to: round.home },
  ]);
}

function failAtOf(options: MigrationTestOptions): MigrationPhase | undefined {
  const value = options.failAt ?? process.env[FAIL_AT_ENV];
  if (value === undefined || value === '') return undefined;
  if (!(MIGRATION_PHASES as readonly string[]).includes(value)) throw new Error(`${FAIL_AT_ENV}=${value}: expected one of ${MIGRATION_PHASES.join(', ')}`);
  return value as MigrationPhase;
}

export async function runMigrationTest(options: MigrationTestOptions): Promise<MigrationReport> {
  const started = Date.now();
  const emit = options.emit ?? (() => undefined);
  const failAt = failAtOf(options);
  const { answers, plan } = options;
  const memoryMiB = options.guestMemoryMiB ?? 96;
  const settleMs = options.settleMs ?? 10_000;
  const gapLimitMs = options.clientGapLimitMs ?? CLIENT_GAP_LIMIT_MS;
  const closeAfterS = dualPrimaryCloseAfterS();
  const guestCidr = options.guestAddress ?? defaultGuestAddress(answers.spec.nodes[0]!.management.address);
  const guest = ipv4WithPrefix(guestCidr);
  // On an HA cluster Pacemaker owns the test guest: it starts, moves and stops it (pacemaker.ts).
  const ha = haEnabled(answers);
  const timeoutScale = ha ? haTiming(answers).resourceTimeoutScale : 1;
  const clone = ha ? testGuestIds().disks[0]!.clone : undefined;
  const haNodes = ha ? plan.nodes.map((n) => n.name) : null;

  const session = testSession(options.connections, options.runId ?? newRunId(new Date(started)), emit);
  const info = { runId: session.runId };
  const ctxs = plan.nodes.map((node) => new Host(session, node.name, STEP));
  const byName = new Map(ctxs.map((c) => [c.server, c]));
  const node = (name: string) => byName.get(name)!;
  const planNode = (name: string) => plan.nodes.find((n) => n.name === name)!;
  const site = volumeSite(answers.spec, plan.drbdMajor, `${session.backupRoot}/${session.runId}`, STEP);

  const report: MigrationReport = {
    ok: false,
    startedAt: new Date(started).toISOString(),
    durationMs: 0,
    ...(options.logFile ? { logFile: options.logFile } : {}),
    guest: { name: GUEST_NAME, address: guestCidr, memoryMiB, kernel: null },
    rounds: [],
    migrations: [],
    dataIntactOnDisk: null,
    memory: [],
    cleanup: { ok: false, removedBefore: [], actions: [], leftovers: [] },
  };
  let phase: string = 'start';
  const reached = (p: MigrationPhase, text: string, server?: string) => {
    phase = p;
    emit({ type: 'migration-phase', phase: p, text, ...(server ? { server } : {}) });
    if (failAt === p) throw new InjectedFailure(p);
    if (options.stopRequested?.()) throw new InterruptedError(`interrupted after ${p}; removing the test guest, its DRBD resource and volume`);
  };

  // One run at a time changes a cluster: the migration test holds the cluster lock like apply, and a
  // test refused the lock touches nothing (the guest it would clean up may be another run's).
  let lock: ClusterLock;
  try {
    lock = await lockCluster(plan.nodes.map((n) => session.connection(n.name)), answers.metadata.name, thisHolder(info.runId, 'migration-test'), `\`hvcluster apply -f site.yaml --force-unlock\``);
  } catch (error) {
    report.error = { phase: 'lock', message: firstLine(error) };
    report.durationMs = Date.now() - started;
    return report;
  }

  try {
    // 0. Leftovers of a killed run, then the address must be free.
    phase = 'cleanup-before';
    const before = await cleanupMigrationTest(ctxs, answers.spec.storage.volumeGroup, haNodes);
    report.cleanup.actions.push(...before.actions);
    report.cleanup.removedBefore = before.actions;
    if (before.leftovers.length > 0) throw new Error(`leftovers of an earlier migration test could not be removed: ${before.leftovers.map((l) => `${l.server}: ${l.what}`).join('; ')}`);
    reached('cleanup-before', before.actions.length > 0 ? `removed leftovers of an earlier run (${before.actions.length} actions)` : 'nothing left from earlier runs');
    phase = 'guest-address';
    await checkGuestAddress(ctxs, answers, guest.address, guestCidr);

    // Memory: every node the guest runs on or moves to, before anything is created (after the
    // clean-up: a killed run's guest holds memory too).
    phase = 'memory-checked';
    const targets = [...new Set(migrationRounds(plan).flatMap((r) => r.holders))];
    const available = await Promise.all(
      targets.map(async (name) => ({ server: name, availableMiB: parseMemAvailableMiB((await node(name).read(MEMINFO_READ, { allowFailure: true })).stdout) })),
    );
    report.memory = judgeMemory(available, memoryMiB, options.memoryMarginMiB ?? MEMORY_MARGIN_MIB);
    const refusal = memoryRefusal(report.memory, memoryMiB);
    if (refusal !== null) throw new MemoryRefusal(refusal);
    reached('memory-checked', `memory for the test guest: ${report.memory.map((m) => `${m.server} ${m.availableMiB} MiB available`).join(', ')} (each needs ${report.memory[0]?.requiredMiB} MiB)`);

    for (const round of migrationRounds(plan)) {
      report.rounds.push({ resource: TEST_RESOURCE, ...round });
      await runRound(round);
      if (report.rounds.length < migrationRounds(plan).length) {
        const between = await cleanupMigrationTest(ctxs, answers.spec.storage.volumeGroup, haNodes);
        report.cleanup.actions.push(...between.actions);
        if (between.leftovers.length > 0) throw new Error(`clean-up between rounds left: ${between.leftovers.map((l) => `${l.server}: ${l.what}`).join('; ')}`);
      }
    }
  } catch (error) {
    report.error = { phase, message: firstLine(error), ...(error instanceof MemoryRefusal ? { code: 'MIGRATION_MEMORY' as const } : {}) };
    emit({ type: 'log', step: STEP, level: 'warn', text: `migration test failed in phase ${phase}: ${firstLine(error)}` });
  } finally {
    emit({ type: 'migration-phase', phase: 'cleanup-after', text: 'removing the test guest, its DRBD resource and volume from every node' });
    const after = await cleanupAfterTest(ctxs, answers.spec.storage.volumeGroup, haNodes);
    report.cleanup.actions.push(...after.actions);
    report.cleanup.leftovers = after.leftovers;
    report.cleanup.ok = report.cleanup.leftovers.length === 0;
    await lock.release().catch(() => undefined);
    report.durationMs = Date.now() - started;
    report.ok =
      report.error === undefined &&
      report.cleanup.ok &&
      report.migrations.length > 0 &&
      report.migrations.every((m) => m.ok && m.dataIntact === true) &&
      report.dataIntactOnDisk === true;
  }
  return report;

  // ---------------------------------------------------------------------------------------------

  async function runRound(planned: { holders: string[]; home: string }): Promise<void> {
    let round = planned;
    const holders = round.holders.map(node);
    let home = node(round.home);
    // Guest kernel and initramfs on every holder (each its own kernel: a migration target needs the
    // files too). Per round, because the clean-up between rounds removes them.
    phase = 'guest-files';
    const kernels = await Promise.all(holders.map((ctx) => buildGuestFiles(ctx, answers, guest)));
    report.guest.kernel ??= kernels[0]!;
    if (new Set(kernels).size > 1) emit({ type: 'log', step: STEP, level: 'warn', text: `the nodes run different kernels (${[...new Set(kernels)].join(', ')}); the guest boots the home node's` });
    reached('guest-files', `test guest built on ${round.holders.join(', ')} (kernel ${kernels[0]})`);

    phase = 'volume-created';
    const model = await createReplicatedVolume(
      holders.map((host) => volumeHolder(host, planNode(host.server))),
      { name: TEST_RESOURCE, sizeMiB: options.volumeSizeMiB ?? 32, skipInitialSync: false },
      site,
    );
    reached('volume-created', `replicated test volume ${TEST_RESOURCE} (${model.device}) on ${round.holders.join(', ')}`);

    // Start the guest on its home node (on an HA cluster: where Pacemaker starts it).
    phase = 'guest-started';
    const xml = domainXml({ name: GUEST_NAME, memoryMiB, device: model.device, bridge: answers.spec.network.bridge, mac: guestMac(guest.address) });
    if (ha) {
      round = { ...round, home: await startUnderPacemaker(home, holders, { nodes: plan.nodes.map((n) => n.name), xml, timeoutScale }) };
      home = node(round.home);
      report.rounds[report.rounds.length - 1]!.home = round.home;
    } else {
      await home.mutate(`make ${TEST_RESOURCE} Primary on ${home.server} for the test guest`, { argv: ['drbdadm', 'primary', TEST_RESOURCE] });
      await home.perform({
        server: home.server,
        step: STEP,
        description: `define the test guest ${GUEST_NAME}`,
        actions: [
          { upload: GUEST_FILES.xml, content: xml, mode: 0o600, owner: 'root:root' },
          { argv: ['virsh', 'define', GUEST_FILES.xml] },
        ],
      });
      await home.mutate(`start the test guest ${GUEST_NAME}`, { argv: ['virsh', 'start', GUEST_NAME] });
    }
    const bootId = await waitForGuest(home, guest.address);
    reached('guest-started', `test guest up on ${home.server} at ${guest.address} (boot ${bootId})${ha ? ', started by Pacemaker' : ''}`, home.server);

    // Data written by the guest to its disk before any migration.
    phase = 'data-written';
    const written = parseMd5(await httpGet(guest.address, '/cgi-bin/write', 60_000));
    if (written === null) throw new Error('the test guest could not write its test data to /dev/vda');
    reached('data-written', `the guest wrote 4 MiB of test data to its disk (md5 ${written})`, home.server);

    for (const leg of migrationLegs(round)) {
      await migrate(leg.from, leg.to, model, bootId, written, round.holders);
    }

    // The data on the disk itself, read on the final primary after the guest has stopped.
    if (ha) await stopGuestUnderPacemaker(home);
    else await home.mutate(`stop the test guest ${GUEST_NAME}`, { argv: ['virsh', 'destroy', GUEST_NAME] });
    const onDisk = await home.read({ script: 'migration-reads.sh', args: ['disk-md5', model.device] });
    const intact = onDisk.stdout.trim() === written;
    report.dataIntactOnDisk = report.dataIntactOnDisk === false ? false : intact;
    if (!intact) throw new Error(`the test data on ${model.device} of ${home.server} differs from what the guest wrote (md5 ${onDisk.stdout.trim()} instead of ${written})`);
  }

  async function migrate(from: string, to: string, model: DrbdResourceModel, bootId: string, written: string, holderNames: string[]): Promise<void> {
    const source = node(from);
    const target = node(to);
    const holders = holderNames.map(node);
    // The window's functions are `guest migrate`'s (guests/live-migrate.ts): the test guest is a guest like any other.
    const testWindow = { guest: GUEST_NAME, resources: [model], holders };
    const result: MigrationResult = {
      from,
      to,
      resource: TEST_RESOURCE,
      ok: false,
      qemuDowntimeMs: null,
      clientMaxGapMs: null,
      clientMaxGapAtMs: null,
      clientRequests: 0,
      clientAnswers: 0,
      totalMs: 0,
      qemuTotalMs: null,
      dataIntact: null,
      clientGapLimitMs: gapLimitMs,
      drbd: null,
    };
    report.migrations.push(result);
    const probe = new HttpProbe(guest.address, bootId, options.probeIntervalMs ?? 20);
    let probing = false;
    let migratedAt = 0;
    const minor = /(\d+)$/.exec(model.device)?.[1];
    const snapshot = (since: Map<string, string | null> | null) =>
      Promise.all(
        holders.map(async (ctx) => {
          const from = since ? (since.get(ctx.server) ?? null) : null;
          const r = await ctx.read({ script: 'drbd-snapshot.sh', args: drbdSnapshotArgs(TEST_RESOURCE, minor === undefined ? null : Number(minor), from), timeoutMs: 60_000 }, { allowFailure: true });
          return parseDrbdSnapshot(ctx.server, TEST_RESOURCE, r.stdout, from !== null);
        }),
      );
    let before: DrbdSnapshot[] = [];
    try {
      try {
        // The test resource on every holder before the window: current UUID, connections, kernel-log cursor.
        phase = 'dual-primary-open';
        before = await snapshot(null);
        // The window closes without this process too: a timer on every holder (engine/dual-primary.ts).
        await Promise.all(holders.map((ctx) => armDualPrimaryClose(ctx, TEST_RESOURCE, closeAfterS, clone)));
        await setTwoPrimaries(testWindow, true);
        reached('dual-primary-open', `two primaries allowed on ${TEST_RESOURCE} for the migration ${from} -> ${to} (a timer on ${holderNames.join(', ')} closes the window in ${closeAfterS} s if this run does not)`);
        phase = 'target-promoted';
        if (ha) await allowSecondPromotion(source, testGuestIds(), [from, to]);
        else await target.mutate(`promote ${TEST_RESOURCE} on ${to} (migration target)`, { argv: ['drbdadm', 'primary', TEST_RESOURCE] });
        reached('target-promoted', `${TEST_RESOURCE} Primary on ${to} too${ha ? ' (promoted by Pacemaker: promoted-max 2)' : ''}`, to);

        phase = 'migrated';
        const peer = planNode(to).model.node.replicationName;
        probe.start();
        probing = true;
        const t0 = Date.now();
        if (ha) {
          await moveThroughPacemaker(source, testGuestIds(), to, MIGRATE_TIMEOUT_MS);
        } else {
          await source.mutate(
            `live-migrate ${GUEST_NAME} from ${from} to ${to} over the replication network`,
            { argv: ['virsh', 'migrate', '--live', '--p2p', '--undefinesource', '--persistent', GUEST_NAME, `qemu+ssh://${peer}/system`], timeoutMs: MIGRATE_TIMEOUT_MS },
          );
        }
        migratedAt = Date.now();
        result.totalMs = migratedAt - t0;
        const job = await target.read({ argv: ['virsh', 'domjobinfo', '--completed', GUEST_NAME] }, { allowFailure: true });
        const parsed = parseJobInfo(job.stdout);
        emit({ type: 'log', server: to, step: STEP, level: 'info', text: `virsh domjobinfo --completed ${GUEST_NAME} on ${to}:\n${job.stdout.trimEnd()}` });
        result.qemuDowntimeMs = parsed.downtimeMs;
        result.qemuTotalMs = parsed.elapsedMs;
        const state = await target.read({ argv: ['virsh', 'domstate', GUEST_NAME] }, { allowFailure: true });
        if (state.stdout.trim() !== 'running') throw new Error(`after the migration the test guest is "${state.stdout.trim() || 'absent'}" on ${to}, not running`);
        if (!ha) await mutateUntil(source, `demote ${TEST_RESOURCE} on ${from} (migration source)`, ['drbdadm', 'secondary', TEST_RESOURCE], 30_000);
      } finally {
        // Never leave two primaries: whatever happened, only the node running the guest stays Primary.
        if (ha) await closeWindowThroughPacemaker(testWindow, source, testGuestIds());
        else await closeWindow(testWindow, 'the test guest');
        // Closed by this run: the timers stand down (when closing failed they stay, and do it).
        await Promise.all(holders.map((ctx) => disarmDualPrimaryClose(ctx, TEST_RESOURCE)));
      }
      // Keep probing a little after the switch-over: late gaps (ARP, bridge learning) count too.
      if (probing) {
        const until = migratedAt + settleMs;
        while (Date.now() < until) await new Promise((resolve) => setTimeout(resolve, Math.min(200, until - Date.now())));
        keepGaps(result, await probe.stop());
        probing = false;
        if (result.clientAnswers === 0) throw new Error(`the installer's client got no answer from the test guest at ${guest.address} during or after the migration ${from} -> ${to}`);
      }
      // The test resource on every holder after the window, and what the kernel logged about it in between.
      const after = await snapshot(new Map(before.map((b) => [b.server, b.cursor])));
      const judged = judgeWindow(TEST_RESOURCE, holderNames, before, after);
      const gapProblem = judgeGap(result.clientMaxGapMs, gapLimitMs, { requests: result.clientRequests, answers: result.clientAnswers, atMs: result.clientMaxGapAtMs });
      result.drbd = { before, after, problems: judged.problems, kernelLines: judged.kernelLines };
      const check = parseMd5(await httpGet(guest.address, '/cgi-bin/check', 60_000));
      result.dataIntact = check === written;
      if (!result.dataIntact) throw new Error(`after the migration ${from} -> ${to} the guest reads different data from its disk (md5 ${check} instead of ${written})`);
      const problems = [...(gapProblem ? [gapProblem] : []), ...judged.problems];
      if (problems.length > 0) throw new Error(`the migration ${from} -> ${to} moved the guest but failed: ${problems.join('; ')}`);
      result.ok = true;
      emit({ type: 'migration-result', result });
      reached('migrated', `${from} -> ${to}: QEMU downtime ${result.qemuDowntimeMs ?? '?'} ms, client gap ${result.clientMaxGapMs} ms, ${result.totalMs} ms in all`, to);
    } catch (error) {
      if (probing) keepGaps(result, await probe.stop());
      if (!(error instanceof InjectedFailure && error.phase === 'migrated')) {
        result.error = firstLine(error);
        emit({ type: 'migration-result', result });
      }
      throw error;
    }
  }
}

/** The session of a test that changes servers (the migration test, the failover drill): every mutation through the guard, no dry run, no reconnect. */
export function testSession(
  connections: Map<string, ServerConnection>,
  runId: string,
  emit: (event: MigrationEvent) => void,
  reconnect?: (server: string, deadlineMs: number) => Promise<ServerConnection>,
): HostSession {
  return {
    runId,
    dryRun: false,
    guard: new Guard(false, emit),
    emit,
    backupRoot: '/var/backups/hvcluster',
    connection: (server) => {
      const connection = connections.get(server);
      if (!connection) throw new Error(`no connection to ${server}`);
      return connection;
    },
    reconnect: reconnect
      ? async (server, deadlineMs) => {
          const connection = await reconnect(server, deadlineMs);
          connections.set(server, connection);
          return connection;
        }
      : () => Promise.reject(new Error('this test run does not reconnect')),
  };
}

/** Refuses an address that is a node's or already answers (ping from the first node, HTTP from here). */
export async function checkGuestAddress(ctxs: Host[], answers: Answers, address: string, cidr: string): Promise<void> {
  const first = ctxs[0]!;
  const mgmt = answers.spec.nodes.map((n) => n.management.address);
  if (!inSubnet(address, mgmt[0]!)) throw new Error(`the test guest address ${cidr} is not in the management subnet of ${mgmt[0]}; the guest sits on the management bridge`);
  if (mgmt.some((m) => addressOf(m) === address)) throw new Error(`the test guest address ${address} is a node's management address; choose a free one`);
  const ping = await first.read({ script: 'migration-reads.sh', args: ['address-used', address] });
  const answered = await httpGet(address, '/', 1000).then(
    () => true,
    () => false,
  );
  if (ping.stdout.includes('used') || answered) {
    throw new Error(`something already answers on the test guest address ${address}; choose a free address in the management subnet for the test guest`);
  }
}

export async function buildGuestFiles(ctx: Host, answers: Answers, guest: { address: string; prefix: number }): Promise<string> {
  const hasBusybox = await ctx.read({ script: 'migration-reads.sh', args: ['has', 'busybox'] });
  if (hasBusybox.stdout.trim() !== 'yes') {
    const missing = await missingPackages(ctx, ['busybox-static']);
    if (missing.length > 0) {
      await ctx.perform({ server: ctx.server, step: ctx.step, description: 'install busybox-static (the migration test guest is built from it)', actions: [aptInstall(missing, answers.spec.packages)] });
    }
  }
  const built = await ctx.perform({
    server: ctx.server,
    step: ctx.step,
    description: `build the test guest's kernel and initramfs in ${GUEST_FILES.initrd.replace(/\/[^/]+$/, '')}`,
    actions: [{ argv: ['sh', '-c', buildGuestScript(guest)], timeoutMs: 120_000 }],
  });
  return /^kernel=(.*)$/m.exec(built?.[0]?.stdout ?? '')?.[1] ?? 'unknown';
}

export async function waitForGuest(home: Host, address: string): Promise<string> {
  try {
    return await waitFor(
      `the test guest to answer on http://${address}/`,
      async () => parseBootId(await httpGet(address, '/', 1000).catch(() => '')) ?? undefined,
      { timeoutMs: 180_000, intervalMs: 500 },
    );
  } catch (error) {
    const console = await home.read({ script: 'migration-reads.sh', args: ['console', GUEST_FILES.consoleLog, GUEST_NAME] }, { allowFailure: true });
    throw new Error(
      `${firstLine(error)} (from the installer's side; is the installer in the management subnet?); guest console and state on ${home.server}: ${console.stdout.trim().split('\n').slice(-6).join(' | ')}`,
    );
  }
}

/** What the installer's client saw of the guest during a migration's window, into its result. */
function keepGaps(result: MigrationResult, gaps: GapSummary): void {
  result.clientMaxGapMs = gaps.maxGapMs;
  result.clientMaxGapAtMs = gaps.maxGapAtMs;
  result.clientRequests = gaps.requests;
  result.clientAnswers = gaps.answers;
}
