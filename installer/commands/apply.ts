/**
 * `hvcluster apply -f site.yaml`: makes the servers match the plan. Preflight first (every node, all
 * findings at once, nothing changed anywhere on a finding), then the install playbook.
 */
import { join } from 'node:path';
import { formatIssue } from '../answers/issues.js';
import { EXIT, HvError, UsageError, exitCodeOf, type ExitCode } from '../errors.js';
import { breakServerLock, thisHolder, type ClusterLock } from '../engine/cluster-lock.js';
import { fanOut } from '../engine/events.js';
import { clusterSecrets, planInstall, readCluster, runInstall } from '../services/install.js';
import { newRunId } from '../services/run-id.js';
import { jsonLinesReporter, lineReporter } from '../engine/reporters.js';
import { RunLog, defaultLogDir } from '../engine/run-log.js';
import { unfinishedMessage } from '../engine/journal.js';
import { InterruptedError } from '../engine/runner.js';
import { Reporter, type Streams } from '../output.js';
import { withPreflightFindings } from '../plan/index.js';
import { openConnections, runSecrets, serversFromOptions, type ConnectionOptions } from './connect.js';
import { askLine, canAsk, stopOnSignals } from './terminal.js';

export interface ApplyOptions extends ConnectionOptions {
  yes?: boolean;
  dryRun?: boolean;
  json?: boolean;
  /** Break a cluster lock left by a run that is gone, then take it. */
  forceUnlock?: boolean;
}

export async function runApply(options: ApplyOptions, streams: Streams): Promise<ExitCode> {
  if (options.file === undefined) throw new UsageError('apply needs an answer file', { hint: 'hvcluster apply -f site.yaml --yes' });
  if (!options.yes && !options.dryRun && !canAsk(streams)) {
    throw new UsageError('apply changes servers and there is no terminal to confirm it on', {
      hint: 'add --yes for an unattended run, or --dry-run to list the changes without making them',
    });
  }
  const reporter = new Reporter(streams);
  // The backup passphrase too: the backup-files step writes it to the nodes.
  const servers = await serversFromOptions(options, streams.env, { backupPassphrase: true });
  const { targets, answers: loaded } = servers;
  const answers = loaded!.answers;
  for (const warning of loaded!.warnings) reporter.warn(formatIssue(warning));

  const runId = newRunId();
  const log = new RunLog(join(defaultLogDir(streams.env), `${answers.metadata.name}-${runId}.log`), runSecrets(servers));
  log.write('hvcluster', `apply ${options.dryRun ? '--dry-run ' : ''}-f ${options.file}: run ${runId}`);
  const { opened, failures, reconnect } = await openConnections(servers.witness ? [...targets, servers.witness] : targets, options, streams);
  const connections = new Map([...opened].map(([server, conn]) => [server, log.wrap(conn)]));
  let lock: ClusterLock | undefined;
  try {
    if (failures.length > 0) return reportFailures(reporter, failures, 'cannot apply: not every server is reachable; nothing was changed');
    // One run at a time changes a cluster (a dry run changes nothing and takes no lock). Preflight:
    // every node read once (the facts and what each step plans on), under the lock, checked all at once.
    if (!options.dryRun && options.forceUnlock) for (const t of targets) reporter.info(await breakServerLock(connections.get(t.name)!, answers.metadata.name));
    const read = await readCluster(answers, connections, options.dryRun ? undefined : { holder: thisHolder(runId, 'apply'), forceHint: `\`hvcluster apply -f ${options.file} --force-unlock\`` });
    if (!read.ok) return reportFailures(reporter, read.failures, 'cannot apply: the servers could not be inspected; nothing was changed');
    lock = read.lock;
    const states = read.states;
    const held = clusterSecrets(states);
    for (const secret of Object.values(held)) log.addSecret(secret);
    // The BMC passwords and the backup passphrase come from the answer file's references (the run log redacts them: runSecrets).
    const secrets = { ...held, bmc: Object.fromEntries(servers.bmcPasswords ?? []), ...(servers.backupPassphrase !== undefined ? { backupPassphrase: servers.backupPassphrase } : {}) };
    // Preflight findings: the command ran and found problems (exit 1), unlike an invalid answer file (exit 3).
    const plan = withPreflightFindings(() =>
      planInstall(answers, states, { file: loaded!.file, secrets, locate: (issue) => ({ ...issue, location: issue.location ?? loaded!.locate(issue.path) }) }),
    );
    for (const warning of plan.warnings) reporter.warn(formatIssue(warning));

    if (!options.yes && !options.dryRun) {
      const answer = await askLine(streams, `Apply ${answers.metadata.name} to ${plan.nodes.map((n) => n.name).join(', ')}? Run \`hvcluster plan -f ${options.file}\` first to see every change. [y/N] `);
      if (!/^y(es)?$/i.test(answer.trim())) {
        reporter.info('nothing was changed');
        return EXIT.ok;
      }
      // Removing a guest deletes its disks: its name typed, one guest at a time (--yes confirms all).
      for (const guest of (plan.guests ?? []).filter((g) => g.state === 'absent' && g.holders.length > 0)) {
        const typed = await askLine(streams, `Guest ${guest.name} is declared state: absent: its disks (${guest.disks.map((d) => d.resource).join(', ')}) on ${guest.holders.join(', ')} are deleted, with everything else of it. Type its name to confirm: `);
        if (typed.trim() !== guest.name) {
          reporter.info(`"${typed.trim()}" is not ${guest.name}: nothing was changed`);
          return EXIT.ok;
        }
      }
    }

    const stop = stopOnSignals((m) => reporter.warn(m), 'stopping after the current step');
    const sinks = [lineReporter(streams.stderr, reporter.colours), (event: Parameters<ReturnType<typeof jsonLinesReporter>>[0]) => log.write('event', JSON.stringify(event))];
    if (options.json) sinks.push(jsonLinesReporter(streams.stdout));
    let result;
    try {
      result = await runInstall({
        runId,
        answers,
        plan,
        states,
        ...(read.witness ? { witness: read.witness } : {}),
        connections,
        reconnect: async (server, deadlineMs) => {
          const connection = log.wrap(await reconnect(server, deadlineMs));
          await lock?.relock(connection);
          return connection;
        },
        dryRun: Boolean(options.dryRun),
        emit: fanOut(...sinks),
        logFile: log.path,
        env: streams.env,
        stopRequested: () => stop.requested,
        onUnfinished: (previous) => reporter.info(unfinishedMessage(previous)),
      });
    } finally {
      stop.dispose();
    }
    if (result.ok) return EXIT.ok;
    let worst: ExitCode = EXIT.ok;
    for (const { server, step, error } of result.errors) {
      const hint = error instanceof HvError ? error.hint : undefined;
      const message = error instanceof Error ? error.message : String(error);
      if (!(error instanceof InterruptedError)) reporter.error(message.startsWith(`${server}: `) ? message : `${server}: step "${step}" failed: ${message}`, hint);
      worst = Math.max(worst, exitCodeOf(error)) as ExitCode;
    }
    reporter.error(`apply stopped; the full transcript is in ${log.path}`);
    return worst;
  } finally {
    await lock?.release().catch(() => undefined);
    await Promise.all([...opened.values()].map((c) => c.close().catch(() => undefined)));
  }
}

function reportFailures(reporter: Reporter, failures: { server: string; error: unknown }[], headline: string): ExitCode {
  let worst: ExitCode = EXIT.ok;
  for (const { error } of failures) {
    reporter.error(error instanceof Error ? error.message : String(error), error instanceof HvError ? error.hint : undefined);
    worst = Math.max(worst, exitCodeOf(error)) as ExitCode;
  }
  reporter.error(headline);
  return worst;
}
