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
import { writeFileSync } from 'node:fs';
import { VERSION } from '../paths.js';
import { formatIssue } from '../answers/issues.js';
import { HvError, UsageError } from '../errors.js';
import { gatherFactsAndRun } from '../facts/index.js';
import { Reporter, type Streams } from '../output.js';
import { planCluster } from '../plan/index.js';
import type { ServerConnection } from '../ssh/types.js';
import { CHECK_BY_CODE } from '../verify/codes.js';
import { migrationChecks } from '../verify/checks/migration.js';
import { evaluate, summarize, VERIFY_EXIT, type VerifyExit } from '../verify/evaluate.js';
import { formatJunit } from '../verify/output/junit.js';
import { formatMarkdown } from '../verify/output/markdown.js';
import { formatText } from '../verify/output/text.js';
import { parseProbes, probePlan, probeScript } from '../verify/probes.js';
import { buildReport, type VerifyReport } from '../verify/report.js';
import type { CheckResult, NodeObservation, VerifyInput } from '../verify/types.js';
import { openConnections, serversFromOptions, type ConnectionOptions } from './connect.js';

export interface VerifyOptions extends ConnectionOptions {
  json?: boolean;
  junit?: string;
  report?: string;
  migrationTest?: boolean;
  /** Codes whose errors are reported as warnings (Ganeti's -I). */
  ignore?: string[];
  /** Only the checks that did not pass, in the text output. */
  problemsOnly?: boolean;
}


function errorInfo(error: unknown): { kind: string; message: string; hint?: string } {
  if (error instanceof HvError) return { kind: error.kind, message: error.message, ...(error.hint ? { hint: error.hint } : {}) };
  return { kind: 'internal', message: error instanceof Error ? error.message : String(error) };
}

/** Reads every server: one exec each (facts and probes), in parallel. Never throws for a server's failure. */
export async function observe(
  input: Pick<VerifyInput, 'answers'>,
  targets: { name: string; pinned: boolean }[],
  opened: Map<string, ServerConnection>,
  failures: { server: string; error: unknown }[],
  onRead: (server: string, text: string) => void = () => undefined,
): Promise<NodeObservation[]> {
  return Promise.all(
    targets.map(async ({ name, pinned }): Promise<NodeObservation> => {
      const failed = failures.find((f) => f.server === name);
      const conn = opened.get(name);
      if (failed || !conn) return { name, reachable: false, error: errorInfo(failed?.error ?? new Error('no connection')) };
      const t0 = Date.now();
      try {
        const { facts, stdout } = await gatherFactsAndRun(conn, { alsoRun: probeScript(probePlan(input.answers, name)), timeoutMs: 180_000 });
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

export async function runVerify(options: VerifyOptions, streams: Streams): Promise<VerifyExit> {
  const reporter = new Reporter(streams);
  const started = new Date();
  const t0 = Date.now();
  let connections: Map<string, ServerConnection> | undefined;
  try {
    if (options.file === undefined) throw new UsageError('verify needs the answer file of the cluster', { hint: 'hvcluster verify -f site.yaml' });
    if (options.host.length > 0) throw new UsageError('verify reads the servers from the answer file: give -f site.yaml, not --host');
    const ignore = options.ignore ?? [];
    for (const code of ignore) {
      if (!CHECK_BY_CODE.has(code)) throw new UsageError(`--ignore ${code}: no such check code`, { hint: `codes: ${[...CHECK_BY_CODE.keys()].join(', ')}` });
    }
    const { targets, answers: loaded } = await serversFromOptions(options, streams.env);
    for (const warning of loaded!.warnings) reporter.warn(formatIssue(warning));
    const answers = loaded!.answers;
    reporter.info(`verify: reading ${targets.map((t) => t.name).join(', ')} (read-only, one round trip each)`);

    const { opened, failures } = await openConnections(targets, options, streams);
    connections = opened;
    const nodes = await observe(
      { answers },
      targets.map((t) => ({ name: t.name, pinned: t.hostKeyFingerprint !== undefined })),
      opened,
      failures,
      (server, text) => reporter.info(`verify: ${server}: ${text}`),
    );
    const input: VerifyInput = { answers, nodes };
    let checks = demote(evaluate(input), ignore);

    let migration: VerifyReport['migration'];
    if (options.migrationTest) {
      const summary = summarize(checks, input);
      if (summary.unreachable.length > 0 || summary.errors > 0) {
        migration = { skipped: `the health checks found ${summary.unreachable.length > 0 ? `unreachable servers (${summary.unreachable.join(', ')})` : `${summary.errors} error(s)`}; fix them first` };
      } else {
        migration = await runMigration(input, opened, loaded!.file, streams, reporter, Boolean(options.json));
        if (migration.report) checks = [...checks, ...demote(migrationChecks(migration.report), ignore)];
      }
    }

    const report = buildReport(input, checks, { version: VERSION, startedAt: started, durationMs: Date.now() - t0 }, migration);
    if (migration?.report && report.summary.errors > 0 && report.exitCode === VERIFY_EXIT.ok) report.exitCode = VERIFY_EXIT.errors;
    if (options.junit) writeFileSync(options.junit, formatJunit(report));
    if (options.report) writeFileSync(options.report, formatMarkdown(report));
    if (options.json) streams.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
    else streams.stdout.write(formatText(report, reporter.colours, { onlyProblems: options.problemsOnly }));
    for (const n of nodes) if (!n.reachable) reporter.error(n.error.message, n.error.hint);
    return report.exitCode;
  } catch (error) {
    if (!(error instanceof HvError)) throw error;
    // Usage, answer-file and connection-setup errors: verify could not run.
    reporter.error(error.message, error.hint);
    if (options.json) streams.stdout.write(`${JSON.stringify({ tool: 'hvcluster verify', exitCode: VERIFY_EXIT.couldNotRun, error: error.toJSON() }, null, 2)}\n`);
    return VERIFY_EXIT.couldNotRun;
  } finally {
    if (connections) await Promise.all([...connections.values()].map((c) => c.close().catch(() => undefined)));
  }
}

async function runMigration(
  input: VerifyInput,
  connections: Map<string, ServerConnection>,
  file: string,
  streams: Streams,
  reporter: Reporter,
  json: boolean,
): Promise<NonNullable<VerifyReport['migration']>> {
  const facts = input.nodes.map((n) => (n.reachable ? n.facts : null));
  if (facts.some((f) => f === null)) return { skipped: 'a server is unreachable' };
  let plan;
  try {
    plan = planCluster(input.answers, facts as NonNullable<(typeof facts)[number]>[], { file });
  } catch (error) {
    return { skipped: `the cluster cannot be planned from the answer file: ${error instanceof Error ? error.message : String(error)}` };
  }
  const { runMigrationTest } = await import('../verify/migration/index.js');
  const report = await runMigrationTest({
    answers: input.answers,
    plan,
    connections,
    facts: facts as NonNullable<(typeof facts)[number]>[],
    // --json: every event (each mutation is a `change`) as a JSON line on stderr; else the phases as text.
    emit: (event) => {
      if (json) streams.stderr.write(`${JSON.stringify(event)}\n`);
      else if (event.type === 'migration-phase') reporter.info(`migration test: ${event.server ? `${event.server}: ` : ''}${event.text}`);
    },
  });
  return { report };
}
