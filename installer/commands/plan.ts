/**
 * `hvcluster plan -f site.yaml`: validates the answer file against the servers' facts, renders every
 * file, and shows per server what apply would change: unified diffs against the files on the
 * servers, and every change the install's steps plan (the list `apply --dry-run` shows and apply
 * performs). Read-only: one connection and one batched read per server.
 */
import type { Change } from '../engine/change.js';
import { changeSummary } from '../engine/change.js';
import { formatIssue } from '../answers/issues.js';
import { EXIT, HvError, UsageError, exitCodeOf, type ExitCode } from '../errors.js';
import { Reporter, colourEnabled, palette, type Palette, type Streams } from '../output.js';
import { comparePlan, type PlanComparison } from '../plan/diff.js';
import { ruleFilePaths, withPreflightFindings } from '../plan/index.js';
import { existingSecrets, planInstall, previewInstall, readCluster, type InstallPreview } from '../services/install.js';
import { newRunId } from '../services/run-id.js';
import { jsonDocument, jsonText } from '../json-output.js';
import { openConnections, serversFromOptions, type ConnectionOptions } from './connect.js';

export interface PlanOptions extends ConnectionOptions {
  json?: boolean;
}

export async function runPlan(options: PlanOptions, streams: Streams): Promise<ExitCode> {
  if (options.file === undefined) throw new UsageError('plan needs an answer file', { hint: 'hvcluster plan -f site.yaml' });
  const reporter = new Reporter(streams);
  // The backup passphrase too: the plan renders the nodes' passphrase file, as apply writes it.
  const servers = await serversFromOptions(options, streams.env, { backupPassphrase: true });
  const { targets, answers: loaded } = servers;
  const answers = loaded!.answers;
  for (const warning of loaded!.warnings) reporter.warn(formatIssue(warning));

  const { opened, failures } = await openConnections(servers.witness ? [...targets, servers.witness] : targets, options, streams);
  try {
    // One round trip per server: the facts, the files the plan compares against, what each step plans on.
    const read = failures.length === 0 ? await readCluster(answers, opened) : { ok: false as const, failures };
    if (!read.ok) {
      let worst: ExitCode = EXIT.ok;
      for (const { error } of read.failures) {
        reporter.error(error instanceof Error ? error.message : String(error), error instanceof HvError ? error.hint : undefined);
        worst = Math.max(worst, exitCodeOf(error)) as ExitCode;
      }
      reporter.error(`cannot plan: ${read.failures.length} of ${targets.length} servers could not be read`);
      return worst;
    }
    const paths = ruleFilePaths(answers);
    const files = read.states.map((state) => new Map(paths.map((path) => [path, state.files?.ok ? (state.files.value.get(path) ?? null) : null])));

    const secrets = existingSecrets(read.states);
    // Findings against the servers: exit 1, as apply's preflight (an invalid answer file stays 3).
    // The same plan as apply's (its guests' preflight included): the secrets the nodes share are kept
    // (diffs never show them); a new cluster's are made at apply.
    const plan = withPreflightFindings(() =>
      planInstall(answers, read.states, {
        file: loaded!.file,
        secrets: {
          drbd: secrets.drbd ?? undefined,
          corosyncKey: secrets.corosyncKey ?? undefined,
          bmc: Object.fromEntries(servers.bmcPasswords ?? []),
          ...(servers.backupPassphrase !== undefined ? { backupPassphrase: servers.backupPassphrase } : {}),
        },
        locate: (issue) => ({ ...issue, location: issue.location ?? loaded!.locate(issue.path) }),
      }),
    );
    for (const warning of plan.warnings) reporter.warn(formatIssue(warning));
    const comparison = comparePlan(plan, files);
    const preview = await previewInstall({ answers, plan, states: read.states, ...(read.witness ? { witness: read.witness } : {}), connections: opened, runId: newRunId() });

    if (options.json) streams.stdout.write(jsonText(jsonDocument('hvcluster plan', preview.refusals.length > 0 ? EXIT.checksFailed : EXIT.ok, planJson(comparison, preview))));
    else streams.stdout.write(formatPlanText(comparison, palette(colourEnabled(streams.stdout, streams.env)), preview));
    for (const r of preview.refusals) reporter.error(`${r.server}: step "${r.step}" would stop apply: ${r.message}`, r.hint);
    return preview.refusals.length > 0 ? EXIT.checksFailed : EXIT.ok;
  } finally {
    await Promise.all([...opened.values()].map((c) => c.close().catch(() => undefined)));
  }
}

/** A change as the plan lists it: its step and what it does (its actions in the JSON; no file content). */
const changesOf = (preview: InstallPreview | undefined, server: string): Change[] => preview?.changes.filter((c) => c.server === server) ?? [];

function planJson(comparison: PlanComparison, preview: InstallPreview) {
  return {
    cluster: comparison.cluster,
    drbdMajor: comparison.drbdMajor,
    summary: { ...comparison.summary, changes: preview.changes.length },
    nodes: comparison.nodes.map((node) => ({
      name: node.name,
      files: node.files.map(({ path, change, purpose, diff }) => ({ path, change, purpose, diff })),
      packagesToInstall: node.packagesToInstall,
      volumeGroup: node.volumeGroup,
      changes: changesOf(preview, node.name).map((c) => {
        const { step, description, actions } = changeSummary(c);
        return { step, description, actions };
      }),
    })),
    refusals: preview.refusals,
  };
}

export function formatPlanText(comparison: PlanComparison, colours: Palette, preview?: InstallPreview): string {
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
    const changes = changesOf(preview, node.name);
    if (preview) {
      out.push(changes.length > 0 ? `  apply would, in order:` : `  ${colours.dim('apply would change nothing')}`);
      const width = Math.max(0, ...changes.map((c) => c.step.length));
      for (const change of changes) out.push(`    ${colours.dim(change.step.padEnd(width))}  ${change.description}`);
    }
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
  if (preview) out.push(`apply would make ${preview.changes.length} change(s)${preview.changes.length > 0 ? `: ${comparison.nodes.map((n) => `${changesOf(preview, n.name).length} on ${n.name}`).join(', ')}` : ''}.`);
  return `${out.join('\n')}\n`;
}

function colourDiffLine(line: string, colours: Palette): string {
  if (line.startsWith('+++') || line.startsWith('---')) return colours.bold(line);
  if (line.startsWith('+')) return colours.green(line);
  if (line.startsWith('-')) return colours.red(line);
  if (line.startsWith('@@')) return colours.dim(line);
  return line;
}
