/**
 * `hvcluster plan -f site.yaml`: validates the answer file against the servers' facts, renders every
 * file, and shows per server what apply would change (unified diffs against the files on the
 * servers). Read-only: one connection and one batched read per server.
 */
import { formatIssue } from '../answers/issues.js';
import { EXIT, HvError, UsageError, exitCodeOf, type ExitCode } from '../errors.js';
import { gatherFactsAndRun } from '../facts/index.js';
import type { ServerFacts } from '../facts/types.js';
import { Reporter, colourEnabled, palette, type Palette, type Streams } from '../output.js';
import { comparePlan, type PlanComparison } from '../plan/diff.js';
import { FILE_RULES, planCluster, withPreflightFindings } from '../plan/index.js';
import { DRBD_COMMON_PATH, existingDrbdSecret } from '../plan/drbd-secret.js';
import { parseFilesOutput, readFilesScript } from '../plan/remote-files.js';
import { jsonDocument, jsonText } from '../json-output.js';
import { connectEach, serversFromOptions, type ConnectionOptions } from './connect.js';

export interface PlanOptions extends ConnectionOptions {
  json?: boolean;
}

const CANDIDATE_PATHS = [...new Set(FILE_RULES.map((rule) => rule.path))];

export async function runPlan(options: PlanOptions, streams: Streams): Promise<ExitCode> {
  if (options.file === undefined) throw new UsageError('plan needs an answer file', { hint: 'hvcluster plan -f site.yaml' });
  const reporter = new Reporter(streams);
  const { targets, answers: loaded } = await serversFromOptions(options, streams.env);
  for (const warning of loaded!.warnings) reporter.warn(formatIssue(warning));

  const results = await connectEach(targets, options, streams, async (connection) => {
    // One round trip: the facts, and the files the plan compares against.
    const { facts, stdout } = await gatherFactsAndRun(connection, { alsoRun: readFilesScript(CANDIDATE_PATHS) });
    return { facts, files: parseFilesOutput(stdout, CANDIDATE_PATHS) };
  });
  const failed = results.filter((r) => !r.ok);
  if (failed.length > 0) {
    let worst: ExitCode = EXIT.ok;
    for (const result of failed) {
      const error = (result as { error: unknown }).error;
      reporter.error(error instanceof Error ? error.message : String(error), error instanceof HvError ? error.hint : undefined);
      worst = Math.max(worst, exitCodeOf(error)) as ExitCode;
    }
    reporter.error(`cannot plan: ${failed.length} of ${results.length} servers could not be read`);
    return worst;
  }
  const read = results.map((r) => (r as { value: { facts: ServerFacts; files: Map<string, string | null> } }).value);

  // Findings against the servers: exit 1, as apply's preflight (an invalid answer file stays 3).
  const plan = withPreflightFindings(() =>
    planCluster(
      loaded!.answers,
      read.map((r) => r.facts),
      // The secret the nodes share is kept (diffs show it as ***); a new cluster's is made at apply.
      { file: loaded!.file, drbdSecret: existingDrbdSecret(read.map((r) => r.files.get(DRBD_COMMON_PATH))), locate: (issue) => ({ ...issue, location: issue.location ?? loaded!.locate(issue.path) }) },
    ),
  );
  for (const warning of plan.warnings) reporter.warn(formatIssue(warning));
  const comparison = comparePlan(
    plan,
    read.map((r) => r.files),
  );

  if (options.json) streams.stdout.write(jsonText(jsonDocument('hvcluster plan', EXIT.ok, planJson(comparison))));
  else streams.stdout.write(formatPlanText(comparison, palette(colourEnabled(streams.stdout, streams.env))));
  return EXIT.ok;
}

function planJson(comparison: PlanComparison) {
  return {
    cluster: comparison.cluster,
    drbdMajor: comparison.drbdMajor,
    summary: comparison.summary,
    nodes: comparison.nodes.map((node) => ({
      name: node.name,
      files: node.files.map(({ path, change, purpose, diff }) => ({ path, change, purpose, diff })),
      packagesToInstall: node.packagesToInstall,
      volumeGroup: node.volumeGroup,
    })),
  };
}

export function formatPlanText(comparison: PlanComparison, colours: Palette): string {
  const out: string[] = [];
  for (const node of comparison.nodes) {
    out.push(colours.bold(`== ${node.name} ==`));
    for (const file of node.files) {
      const label = file.change === 'create' ? colours.green('create   ') : file.change === 'change' ? colours.yellow('change   ') : colours.dim('unchanged');
      out.push(`  ${label} ${file.path}  ${colours.dim(`(${file.purpose})`)}`);
    }
    out.push(
      node.packagesToInstall.length > 0
        ? `  ${colours.green('install  ')} ${node.packagesToInstall.join(' ')}`
        : `  ${colours.dim('packages  all installed')}`,
    );
    const vg = node.volumeGroup;
    out.push(`  ${colours.dim('storage  ')} volume group ${vg.name} on ${vg.disk}${vg.wipe ? colours.red(' (wipe: true: the disk will be erased)') : ''}`);
    for (const file of node.files.filter((f) => f.diff !== '')) {
      out.push('', ...file.diff.replace(/\n$/, '').split('\n').map((line) => colourDiffLine(line, colours)));
    }
    out.push('');
  }
  const s = comparison.summary;
  out.push(
    `Plan for ${comparison.cluster} (DRBD ${comparison.drbdMajor}): ${s.create} files to create, ${s.change} to change, ${s.unchanged} unchanged; ` +
      `${s.packages} packages to install across ${comparison.nodes.length} servers.`,
  );
  return `${out.join('\n')}\n`;
}

function colourDiffLine(line: string, colours: Palette): string {
  if (line.startsWith('+++') || line.startsWith('---')) return colours.bold(line);
  if (line.startsWith('+')) return colours.green(line);
  if (line.startsWith('-')) return colours.red(line);
  if (line.startsWith('@@')) return colours.dim(line);
  return line;
}
