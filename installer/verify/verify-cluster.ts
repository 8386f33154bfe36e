/**
 * One verification of a cluster over connections already open: every server read in one exec (facts
 * and probes), servers in parallel; the checks evaluated; with `migrationTest`, the live-migration test
 * when the health checks found nothing against it. Shared by `hvcluster verify` and the wizard; the
 * callers only open the connections and present the report.
 */
import type { RunLog } from '../engine/run-log.js';
import { HvError } from '../errors.js';
import { gatherFactsAndRun } from '../facts/index.js';
import { planCluster } from '../plan/index.js';
import type { ClusterPlan } from '../plan/types.js';
import type { ServerFacts } from '../facts/types.js';
import type { ServerConnection } from '../ssh/types.js';
import type { Answers } from '../answers/schema.js';
import { isMigrationLeftover, migrationChecks, resolveMigrationLeftovers } from './checks/migration.js';
import { failoverChecks } from './checks/failover.js';
import { linkChecks } from './checks/link.js';
import type { FailoverFault } from './failover/faults.js';
import type { DrillOptions } from './failover/drill-guest.js';
import { evaluate, summarize, VERIFY_EXIT } from './evaluate.js';
import type { MigrationEvent } from './migration/index.js';
import { parseProbes, probePlan, probeScript } from './probes.js';
import { buildReport, type VerifyReport } from './report.js';
import type { CheckResult, NodeObservation, VerifyInput } from './types.js';

export interface VerifyClusterOptions {
  answers: Answers;
  /** The answer file's path, for the plan's messages (the migration test plans its test volume). */
  file: string;
  /** Every node of the answer file; `pinned` when its host key was pinned rather than found in known_hosts. */
  targets: { name: string; pinned: boolean }[];
  connections: Map<string, ServerConnection>;
  /** Servers that could not be connected to: reported unreachable, the others still checked. */
  failures?: { server: string; error: unknown }[];
  /** Codes whose errors are reported as warnings (Ganeti's -I). */
  ignore?: string[];
  migrationTest?: boolean;
  /** Also the failover drill, with this fault (HA clusters; the caller confirmed it: it fails a node). */
  failoverTest?: FailoverFault;
  /** The node the failover drill powers off (default: where Pacemaker starts its test guest). */
  failoverNode?: string;
  /** A declared guest the failover drill uses instead of its test guest (the caller has the operator's consent to its downtime). */
  failoverGuest?: string;
  /** Also the replication-link drill (HA clusters; confirmed by the caller: it cuts a link). */
  linkTest?: boolean;
  /** Connects to a server again (the failover drill's crashed node, once it is back). */
  reconnect?: (server: string, deadlineMs: number) => Promise<ServerConnection>;
  /** An HA cluster's BMC passwords by node (read from the answer file's passwordFrom): the migration test plans the cluster with them. */
  bmcPasswords?: Readonly<Record<string, string>>;
  version: string;
  /** A server was read ("read in 2.1 s"). */
  onRead?: (server: string, text: string) => void;
  /** The migration test's events (each of its mutations is a `change`, its phases `migration-phase`). */
  onMigrationEvent?: (event: MigrationEvent) => void;
  /** True once the user asked to stop (Ctrl-C): the migration test stops at its next phase and cleans up. */
  stopRequested?: () => boolean;
  /**
   * The migration test's run log, like apply's: every command it sends and every event, secrets
   * redacted; its path is in the report (migration.report.logFile). `connectionsLogged`: the
   * connections already write to it (the wizard's), so they are not wrapped again.
   */
  migrationLog?: { log: RunLog; connectionsLogged?: boolean };
  /** The migration test's run ID (its cluster lock holder and backups); default a timestamp. */
  runId?: string;
}

function errorInfo(error: unknown): { kind: string; message: string; hint?: string } {
  if (error instanceof HvError) return { kind: error.kind, message: error.message, ...(error.hint ? { hint: error.hint } : {}) };
  return { kind: 'internal', message: error instanceof Error ? error.message : String(error) };
}

/** Reads every server: one exec each (facts and probes), in parallel. Never throws for a server's failure. */
export async function observe(
  answers: Answers,
  targets: { name: string; pinned: boolean }[],
  connections: Map<string, ServerConnection>,
  failures: { server: string; error: unknown }[] = [],
  onRead: (server: string, text: string) => void = () => undefined,
): Promise<NodeObservation[]> {
  return Promise.all(
    targets.map(async ({ name, pinned }): Promise<NodeObservation> => {
      const failed = failures.find((f) => f.server === name);
      const conn = connections.get(name);
      if (failed || !conn) return { name, reachable: false, error: errorInfo(failed?.error ?? new Error('no connection')) };
      const t0 = Date.now();
      try {
        const plan = probePlan(answers, name);
        // With HA the probes print the CIB (passwords removed on the server) and DRBD's files: the run log keeps only their size.
        const { facts, stdout } = await gatherFactsAndRun(conn, { alsoRun: probeScript(plan), timeoutMs: 180_000, ...(plan.ha ? { secretOutput: true } : {}) });
        onRead(name, `read in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
        return { name, reachable: true, hostKeyFingerprint: conn.hostKeyFingerprint, pinned, facts, probes: parseProbes(stdout) };
      } catch (error) {
        return { name, reachable: false, error: errorInfo(error) };
      }
    }),
  );
}

/** --ignore CODE: that code's errors become warnings. */
export function demote(results: CheckResult[], codes: string[]): CheckResult[] {
  if (codes.length === 0) return results;
  const set = new Set(codes);
  return results.map((r) => (r.status === 'error' && set.has(r.code) ? { ...r, status: 'warning' as const, found: `${r.found} (error demoted by --ignore ${r.code})` } : r));
}

export async function verifyCluster(options: VerifyClusterOptions): Promise<VerifyReport> {
  const startedAt = new Date();
  const ignore = options.ignore ?? [];
  const nodes = await observe(options.answers, options.targets, options.connections, options.failures, options.onRead);
  const input: VerifyInput = { answers: options.answers, file: options.file, nodes, now: startedAt };
  let checks = demote(evaluate(input), ignore);

  let migration: VerifyReport['migration'];
  if (options.migrationTest) {
    const blockers = migrationTestBlockers(checks, input);
    if (blockers !== null) {
      migration = { skipped: blockers };
    } else {
      migration = await migrationTest(input, options);
      if (migration.report) checks = [...resolveMigrationLeftovers(checks, migration.report), ...demote(migrationChecks(migration.report), ignore)];
    }
  }

  let linkDrill: VerifyReport['linkDrill'];
  if (options.linkTest) {
    const blockers = failoverTestBlockers(checks, input) ?? (migration?.report && !migration.report.ok ? 'the migration test failed; fix that first' : null);
    linkDrill = blockers !== null ? { skipped: blockers } : await linkTest(input, options);
    if (linkDrill.report) checks = [...checks, ...demote(linkChecks(linkDrill.report), ignore)];
  }

  let failover: VerifyReport['failover'];
  if (options.failoverTest) {
    const blockers = failoverTestBlockers(checks, input) ?? (migration?.report && !migration.report.ok ? 'the migration test failed; fix that first' : null) ?? (linkDrill?.report && !linkDrill.report.ok ? 'the replication-link drill failed; fix that first' : null);
    failover = blockers !== null ? { skipped: blockers } : await failoverTest(input, options);
    if (failover.report) checks = [...checks, ...demote(failoverChecks(failover.report), ignore)];
  }

  const report = buildReport(input, checks, { version: options.version, startedAt, durationMs: Date.now() - startedAt.getTime() }, migration);
  if (linkDrill) report.linkDrill = linkDrill;
  if (failover) report.failover = failover;
  report.exitCode = testsExitCode(report);
  return report;
}

/**
 * verify's exit code once its tests ran: the checks' own, raised to 1 (errors) when the migration
 * test found errors, or when a drill asked for failed or was refused (a refused drill proved
 * nothing: a resync in progress or a node in standby leave every check passing). Pure.
 */
export function testsExitCode(report: Pick<VerifyReport, 'exitCode' | 'summary' | 'migration' | 'linkDrill' | 'failover'>): VerifyReport['exitCode'] {
  if (report.exitCode !== VERIFY_EXIT.ok) return report.exitCode;
  const failedOrRefused = (d: { skipped?: string; report?: { ok: boolean } } | undefined) => d !== undefined && (d.skipped !== undefined || (d.report !== undefined && !d.report.ok));
  if (report.migration?.report && report.summary.errors > 0) return VERIFY_EXIT.errors;
  if (failedOrRefused(report.linkDrill) || failedOrRefused(report.failover)) return VERIFY_EXIT.errors;
  return VERIFY_EXIT.ok;
}

/**
 * Why the migration test must not run after these health checks (unreachable servers, errors), or
 * null. The leftovers of a killed migration test are not among the errors that stop it: it removes
 * them first. Pure.
 */
export function migrationTestBlockers(checks: CheckResult[], input: Pick<VerifyInput, 'nodes'>): string | null {
  const summary = summarize(
    checks.filter((c) => !isMigrationLeftover(c)),
    input,
  );
  if (summary.unreachable.length > 0) return `the health checks found unreachable servers (${summary.unreachable.join(', ')}); fix them first`;
  if (summary.errors > 0) return `the health checks found ${summary.errors} error(s); fix them first`;
  return null;
}

/**
 * Why the failover drill must not run after these health checks, or null: what stops the migration
 * test, and what would make a node's crash more than a drill: a resync in progress (the survivor may
 * be the one without an UpToDate disk) or a node in standby or maintenance (nothing could take the
 * guest over, or Pacemaker would not act). Pure.
 */
export function failoverTestBlockers(checks: CheckResult[], input: Pick<VerifyInput, 'nodes'>): string | null {
  const first = migrationTestBlockers(checks, input);
  if (first !== null) return first;
  const said = (c: CheckResult) => `${c.server}: ${c.subject && !c.found.startsWith(c.subject) ? `${c.subject}: ` : ''}${c.found}`;
  const resync = checks.filter((c) => c.code === 'DRBD_RESYNC' && c.status === 'warning');
  if (resync.length > 0) return `a DRBD resync is in progress (${resync.map(said).join('; ')}); wait until every disk is UpToDate: a node lost mid-resync can leave its peer without an UpToDate disk`;
  const members = checks.filter((c) => c.code === 'HA_MEMBERS' && c.status === 'warning');
  if (members.length > 0) return `a cluster member is not fully active (${members.map(said).join('; ')}); bring it back first (\`crm_standby --node NODE --delete\`; after maintenance: \`crm_attribute --node NODE --name maintenance --delete\`)`;
  return null;
}

/** The connections the migration test uses: writing to its run log, unless they do already. */
export function migrationConnections(connections: Map<string, ServerConnection>, migrationLog: VerifyClusterOptions['migrationLog']): Map<string, ServerConnection> {
  const log = migrationLog?.log;
  if (!log || migrationLog.connectionsLogged) return connections;
  return new Map([...connections].map(([name, c]) => [name, log.wrap(c)] as const));
}

/**
 * The answers a test plans the cluster from: without spec.backup, whose files no test uses, so that
 * verify never needs the backup passphrase (an encrypted repository's plan would). Pure.
 */
export function withoutBackup(answers: Answers): Answers {
  const { backup: _unused, ...spec } = answers.spec;
  return { ...answers, spec };
}

/** The cluster's plan for a test that changes servers, or why there is none. */
function testPlan(input: VerifyInput, options: VerifyClusterOptions): { plan: ClusterPlan; facts: ServerFacts[] } | { skipped: string } {
  const facts = input.nodes.map((n) => (n.reachable ? n.facts : null));
  if (facts.some((f) => f === null)) return { skipped: 'a server is unreachable' };
  const all = facts as ServerFacts[];
  try {
    return { plan: planCluster(withoutBackup(input.answers), all, { file: options.file, ...(options.bmcPasswords ? { bmcPasswords: options.bmcPasswords } : {}) }), facts: all };
  } catch (error) {
    return { skipped: `the cluster cannot be planned from the answer file: ${error instanceof Error ? error.message : String(error)}` };
  }
}

/**
 * What a drill is given by verify: the cluster's plan, the connections (writing to the run log),
 * reconnections logged too, its events to the log and the caller, its run id, node and Ctrl-C; or
 * why it cannot run.
 */
function drillOptions(input: VerifyInput, options: VerifyClusterOptions, suffix: string): { skipped: string } | { drill: DrillOptions } {
  if (!input.answers.spec.ha?.enabled) return { skipped: 'the answer file does not enable HA (spec.ha.enabled)' };
  if (!options.reconnect) return { skipped: 'no way to reconnect to a failed node' };
  const planned = testPlan(input, options);
  if ('skipped' in planned) return planned;
  const log = options.migrationLog?.log;
  const onEvent = options.onMigrationEvent ?? (() => undefined);
  const reconnect = options.reconnect;
  return {
    drill: {
      answers: input.answers,
      plan: planned.plan,
      connections: migrationConnections(options.connections, options.migrationLog),
      reconnect: log && !options.migrationLog?.connectionsLogged ? async (server, deadline) => log.wrap(await reconnect(server, deadline)) : reconnect,
      emit: log
        ? (event) => {
            log.write('event', JSON.stringify(event));
            onEvent(event);
          }
        : onEvent,
      ...(options.runId ? { runId: `${options.runId}-${suffix}` } : {}),
      ...(options.failoverNode !== undefined ? { node: options.failoverNode } : {}),
      ...(options.stopRequested ? { stopRequested: options.stopRequested } : {}),
    },
  };
}

const drillOutcome = (what: string, r: { ok: boolean; error?: { phase: string; message: string } }) => `${what} ${r.ok ? 'passed' : `failed${r.error ? ` in phase ${r.error.phase}: ${r.error.message}` : ''}`}`;

/** The failover drill (failover/drill.ts): its node failed (failover/faults.ts), the survivor's takeover timed. */
async function failoverTest(input: VerifyInput, options: VerifyClusterOptions): Promise<NonNullable<VerifyReport['failover']>> {
  const given = drillOptions(input, options, 'failover');
  if ('skipped' in given) return given;
  const { runFailoverDrill } = await import('./failover/drill.js');
  const report = await runFailoverDrill({ ...given.drill, fault: options.failoverTest ?? 'power-off', ...(options.failoverGuest !== undefined ? { guest: options.failoverGuest } : {}) });
  options.migrationLog?.log.write('hvcluster', drillOutcome('failover drill', report));
  return { report };
}

/** The replication-link drill (failover/link-drill.ts): the test guest's node loses its replication link, then gets it back. */
async function linkTest(input: VerifyInput, options: VerifyClusterOptions): Promise<NonNullable<VerifyReport['linkDrill']>> {
  const given = drillOptions(input, options, 'link');
  if ('skipped' in given) return given;
  const { runLinkDrill } = await import('./failover/link-drill.js');
  const report = await runLinkDrill(given.drill);
  options.migrationLog?.log.write('hvcluster', drillOutcome('replication-link drill', report));
  return { report };
}

async function migrationTest(input: VerifyInput, options: VerifyClusterOptions): Promise<NonNullable<VerifyReport['migration']>> {
  const planned = testPlan(input, options);
  if ('skipped' in planned) return planned;
  const { plan, facts: all } = planned;
  const { runMigrationTest } = await import('./migration/index.js');
  const log = options.migrationLog?.log;
  const connections = migrationConnections(options.connections, options.migrationLog);
  log?.write('hvcluster', `verify --migration-test -f ${options.file}${options.runId ? `: run ${options.runId}` : ''}`);
  const onEvent = options.onMigrationEvent ?? (() => undefined);
  const report = await runMigrationTest({
    answers: input.answers,
    plan,
    connections,
    facts: all,
    emit: log
      ? (event) => {
          log.write('event', JSON.stringify(event));
          onEvent(event);
        }
      : onEvent,
    ...(options.stopRequested ? { stopRequested: options.stopRequested } : {}),
    ...(log ? { logFile: log.path } : {}),
    ...(options.runId ? { runId: options.runId } : {}),
  });
  log?.write('hvcluster', `migration test ${report.ok ? 'passed' : `failed${report.error ? ` in phase ${report.error.phase}: ${report.error.message}` : ''}`}; clean-up ${report.cleanup.ok ? 'left nothing' : `left: ${report.cleanup.leftovers.map((l) => `${l.server}: ${l.what}`).join('; ')}`}`);
  return { report };
}
