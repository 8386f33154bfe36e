/**
 * `hvcluster verify -f site.yaml`: read-only health checks of a built cluster. One connection and one
 * batched read-only script per server (facts + verify's probes, gatherFactsAndRun), servers in
 * parallel; results as text, --json, --junit FILE and --report FILE.md; optionally the live-migration
 * test (--migration-test, installer/verify/migration/).
 *
 * Exit codes (verify's own, see the README): 0 all passed (warnings allowed), 1 errors found,
 * 2 could not run: bad command line, invalid answer file, or a server unreachable (the other
 * servers' checks are still reported).
 */
import { join } from 'node:path';
import { formatIssue } from '../answers/issues.js';
import { EXIT, HvError, UsageError } from '../errors.js';
import { Reporter, type Streams } from '../output.js';
import { VERSION } from '../paths.js';
import type { ServerConnection } from '../ssh/types.js';
import { CHECK_BY_CODE } from '../verify/codes.js';
import { VERIFY_EXIT, type VerifyExit } from '../verify/evaluate.js';
import { formatJunit, formatJunitCouldNotRun } from '../verify/output/junit.js';
import { formatMarkdown } from '../verify/output/markdown.js';
import { formatText } from '../verify/output/text.js';
import { verifyCluster } from '../verify/verify-cluster.js';
import { openConnections, runSecrets, serversFromOptions, type ConnectionOptions } from './connect.js';
import { jsonError, jsonText } from '../json-output.js';
import { checkOutputFile, writeOutputFile } from './output-files.js';
import { stopOnSignals } from './terminal.js';
import { RunLog, defaultLogDir } from '../engine/run-log.js';
import { newRunId } from '../services/run-id.js';
import { FAILOVER_FAULTS, FAILOVER_FAULT_TEXT, type FailoverFault } from '../verify/failover/faults.js';
import { drillGuestRefusal, guestDrillUsageError } from '../verify/failover/declared-guest.js';

export interface VerifyOptions extends ConnectionOptions {
  json?: boolean;
  junit?: string;
  report?: string;
  migrationTest?: boolean;
  /** --failover-test [FAULT]: true for the default fault (power-off). */
  failoverTest?: boolean | string;
  /** --link-test: the replication-link drill. */
  linkTest?: boolean;
  /** The node the drill fails. */
  failoverNode?: string;
  /** --guest NAME: a declared guest the failover drill uses instead of its test guest. */
  guest?: string;
  /** --yes-i-accept-downtime: the operator's consent to --guest's downtime. */
  yesIAcceptDowntime?: boolean;
  yes?: boolean;
  /** Codes whose errors are reported as warnings (Ganeti's -I). */
  ignore?: string[];
  /** Only the checks that did not pass, in the text output. */
  problemsOnly?: boolean;
}


/** The fault of --failover-test [FAULT] (true: the default, power-off); a usage error names the faults. */
export function failoverFault(value: boolean | string | undefined): FailoverFault | undefined {
  if (value === undefined || value === false) return undefined;
  if (value === true) return 'power-off';
  if ((FAILOVER_FAULTS as readonly string[]).includes(value)) return value as FailoverFault;
  throw new UsageError(`--failover-test ${value}: no such fault`, { hint: `faults: ${FAILOVER_FAULTS.map((f) => `${f} (${FAILOVER_FAULT_TEXT[f].split(';')[0]})`).join('; ')}` });
}

export async function runVerify(options: VerifyOptions, streams: Streams): Promise<VerifyExit | typeof EXIT.interrupted> {
  const reporter = new Reporter(streams);
  const t0 = Date.now();
  let connections: Map<string, ServerConnection> | undefined;
  try {
    if (options.file === undefined) throw new UsageError('verify needs the answer file of the cluster', { hint: 'hvcluster verify -f site.yaml' });
    if (options.host.length > 0) throw new UsageError('verify reads the servers from the answer file: give -f site.yaml, not --host');
    if (options.junit !== undefined) checkOutputFile('--junit', options.junit);
    if (options.report !== undefined) checkOutputFile('--report', options.report);
    const ignore = options.ignore ?? [];
    for (const code of ignore) {
      if (!CHECK_BY_CODE.has(code)) throw new UsageError(`--ignore ${code}: no such check code`, { hint: `codes: ${[...CHECK_BY_CODE.keys()].join(', ')}` });
    }
    const fault = failoverFault(options.failoverTest);
    const drills = fault !== undefined || options.linkTest === true;
    if (options.linkTest && !options.yes) {
      throw new UsageError('--link-test cuts the replication link of a node of the cluster: confirm with --yes', {
        hint: 'the drill creates a test guest under Pacemaker, sets its node\'s replication NIC down (a pulled cable) for about a minute, checks DRBD\'s fencing and the guest, brings the link back and removes the guest',
      });
    }
    if (fault !== undefined && !options.yes) {
      throw new UsageError(`--failover-test ${fault} fails a node of the cluster: confirm with --yes`, {
        hint: `the drill creates a test guest under Pacemaker, then ${FAILOVER_FAULT_TEXT[fault]}; it times the takeover, waits for the node to rejoin and removes the guest. Run it before hand-over or after maintenance`,
      });
    }
    const guestUsage = guestDrillUsageError({ guest: options.guest, fault, yes: options.yes === true, acceptDowntime: options.yesIAcceptDowntime === true, failoverNode: options.failoverNode });
    if (guestUsage) throw new UsageError(guestUsage.message, { hint: guestUsage.hint });
    const servers = await serversFromOptions(options, streams.env);
    const { targets, answers: loaded } = servers;
    for (const warning of loaded!.warnings) reporter.warn(formatIssue(warning));
    const answers = loaded!.answers;
    if (options.failoverNode !== undefined && !drills) throw new UsageError('--failover-node names the node a drill fails: give --failover-test or --link-test too');
    if (options.failoverNode !== undefined && !answers.spec.nodes.some((n) => n.name === options.failoverNode)) {
      throw new UsageError(`--failover-node ${options.failoverNode}: not a node of the cluster`, { hint: `its nodes: ${answers.spec.nodes.map((n) => n.name).join(', ')}` });
    }
    if (drills && !answers.spec.ha?.enabled) {
      const flag = fault !== undefined ? '--failover-test' : '--link-test';
      throw new UsageError(`${flag}: the answer file does not enable HA (spec.ha.enabled): there is no failover to test`, { hint: `drop ${flag}, or install HA first (spec.ha, a bmc per node)` });
    }
    const refusal = options.guest !== undefined ? drillGuestRefusal(answers, options.guest) : null;
    if (refusal) throw new UsageError(refusal.message, { hint: refusal.hint });
    reporter.info(`verify: reading ${targets.map((t) => t.name).join(', ')} (read-only, one round trip each)`);
    if (options.linkTest) reporter.info("verify: then the replication-link drill: a test guest under Pacemaker; its node's replication NIC down for about a minute (DRBD's fencing, the guest, both nodes members checked), then up again (the resync and the constraint lifted checked); the guest removed");
    if (fault !== undefined && options.guest === undefined) reporter.info(`verify: then the failover drill (${fault}): a test guest under Pacemaker; the drill ${FAILOVER_FAULT_TEXT[fault]}; the takeover timed per phase, the node rejoined and resynced, the guest removed`);
    if (fault !== undefined && options.guest !== undefined) reporter.info(`verify: then the failover drill (${fault}) on the declared guest ${options.guest}: the drill fails the node where ${options.guest} runs: it ${FAILOVER_FAULT_TEXT[fault]}; its downtime measured until its guest agent answers on the survivor, the takeover timed per phase, the node rejoined and resynced`);

    // The migration test changes servers: like apply, it records every command it sends (secrets redacted).
    const runId = newRunId();
    const migrationLog = options.migrationTest || drills ? new RunLog(join(defaultLogDir(streams.env), `${answers.metadata.name}-${runId}-${options.migrationTest ? 'migration' : fault !== undefined ? 'failover' : 'link'}-test.log`), runSecrets(servers)) : undefined;
    if (migrationLog) reporter.info(`verify: every command the ${options.migrationTest ? 'migration test' : 'failover drill'}${options.migrationTest && fault ? ' and the failover drill' : ''} send${options.migrationTest && fault ? '' : 's'} goes to ${migrationLog.path}`);
    const { opened, failures, reconnect } = await openConnections(targets, options, streams);
    connections = opened;
    // Ctrl-C or SIGTERM during the migration test: it stops at its next phase and cleans up.
    const stop = stopOnSignals(
      (m) => reporter.warn(m),
      drills ? 'stopping: the drill stops waiting, undoes its fault (a node off is powered on, links and BMC routes restored, a hung node thawed if it answers) and removes its test guest' : 'stopping: the migration test stops at its next phase and removes its test guest',
    );
    let report;
    try {
      report = await verifyCluster({
        answers,
        file: loaded!.file,
        targets: targets.map((t) => ({ name: t.name, pinned: t.hostKeyFingerprint !== undefined })),
        connections: opened,
        failures,
        ignore,
        migrationTest: options.migrationTest,
        ...(fault !== undefined ? { failoverTest: fault } : {}),
        linkTest: options.linkTest === true,
        ...(options.failoverNode !== undefined ? { failoverNode: options.failoverNode } : {}),
        ...(options.guest !== undefined ? { failoverGuest: options.guest } : {}),
        reconnect,
        bmcPasswords: Object.fromEntries(servers.bmcPasswords ?? []),
        version: VERSION,
        onRead: (server, text) => reporter.info(`verify: ${server}: ${text}`),
        // --json: every migration event (each mutation is a `change`) as a JSON line on stderr; else the phases as text.
        onMigrationEvent: (event) => {
          if (options.json) streams.stderr.write(`${JSON.stringify(event)}\n`);
          else if (event.type === 'migration-phase') reporter.info(`migration test: ${event.server ? `${event.server}: ` : ''}${event.text}`);
          else if (event.type === 'log' && (event.step === 'failover-drill' || event.step === 'link-drill')) reporter.info(`${event.step === 'link-drill' ? 'link' : 'failover'} drill: ${event.server ? `${event.server}: ` : ''}${event.text}`);
        },
        stopRequested: () => stop.requested,
        runId,
        ...(migrationLog ? { migrationLog: { log: migrationLog } } : {}),
      });
    } finally {
      stop.dispose();
    }

    report.durationMs = Date.now() - t0;
    // Results to stdout first: a file that cannot be written (a full disk) must not lose them.
    if (options.json) streams.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
    else streams.stdout.write(formatText(report, reporter.colours, { onlyProblems: options.problemsOnly }));
    for (const n of report.nodes) if (!n.reachable && n.error) reporter.error(n.error.message, n.error.hint);
    const unwritten = [
      options.junit !== undefined ? writeOutputFile('--junit', options.junit, formatJunit(report)) : undefined,
      options.report !== undefined ? writeOutputFile('--report', options.report, formatMarkdown(report)) : undefined,
    ].filter((m): m is string => m !== undefined);
    for (const m of unwritten) reporter.error(m, 'the results are printed above');
    if (migrationLog && report.migration?.report) reporter.info(`verify: every command of the migration test is in ${migrationLog.path}`);
    if (stop.requested) {
      const undone = [...(report.linkDrill?.report?.restored ?? []), ...(report.failover?.report?.restored ?? [])];
      reporter.error(
        `verify was interrupted: the ${drills ? 'drill' : 'migration test'} stopped and removed what it had created${undone.length ? `; undone: ${undone.join('; ')}` : ''}`,
        'run verify again for a complete result',
      );
      return EXIT.interrupted;
    }
    return unwritten.length > 0 ? VERIFY_EXIT.couldNotRun : report.exitCode;
  } catch (error) {
    if (!(error instanceof HvError)) throw error;
    // Usage, answer-file and connection-setup errors: verify could not run.
    reporter.error(error.message, error.hint);
    if (options.json) streams.stdout.write(jsonText(jsonError('hvcluster verify', error, VERIFY_EXIT.couldNotRun)));
    // CI reads the JUnit file: it says why there are no checks (unless the file itself was the problem).
    if (options.junit !== undefined && !error.message.startsWith(`--junit ${options.junit}:`)) {
      const m = writeOutputFile('--junit', options.junit, formatJunitCouldNotRun(error.message, Date.now() - t0));
      if (m) reporter.error(m);
    }
    return VERIFY_EXIT.couldNotRun;
  } finally {
    if (connections) await Promise.all([...connections.values()].map((c) => c.close().catch(() => undefined)));
  }
}
