/**
 * The non-printing core of an install, shared by `hvcluster apply` and the wizard: fresh facts of
 * every node (preflight), the plan, then the install playbook with its journal. Whoever calls it
 * displays the events and asks the questions; nothing here writes to a terminal.
 */
import type { Answers } from '../answers/schema.js';
import type { AnswerIssue } from '../answers/issues.js';
import { gatherFacts } from '../facts/index.js';
import type { ServerFacts } from '../facts/types.js';
import { DRBD_COMMON_PATH, existingDrbdSecret, newDrbdSecret } from '../plan/drbd-secret.js';
import { planCluster, type ClusterPlan } from '../plan/index.js';
import { readRemoteFiles } from '../plan/remote-files.js';
import type { ServerConnection } from '../ssh/types.js';
import { Journal, journalPath, type JournalState } from './journal.js';
import { loadPlaybook } from './playbook.js';
import { runPlaybook, type RunRequest, type RunResult } from './runner.js';
import { STEP_KINDS } from './steps/index.js';

/** Fresh facts of every node, in the order of answers.spec.nodes; the failures when any could not be read. */
export async function gatherClusterFacts(
  answers: Answers,
  connections: Map<string, ServerConnection>,
): Promise<{ ok: true; facts: ServerFacts[] } | { ok: false; failures: { server: string; error: unknown }[] }> {
  const results = await Promise.allSettled(answers.spec.nodes.map((node) => gatherFacts(connections.get(node.name)!)));
  const failures = results.flatMap((r, i) => (r.status === 'rejected' ? [{ server: answers.spec.nodes[i]!.name, error: r.reason as unknown }] : []));
  if (failures.length > 0) return { ok: false, failures };
  return { ok: true, facts: results.map((r) => (r as PromiseFulfilledResult<ServerFacts>).value) };
}

/**
 * The cluster's DRBD replication secret: the one the nodes hold (read from their
 * global_common.conf; the run log records only the size of what was read), else a new one that
 * this run writes. The caller adds it to the secrets its log redacts.
 */
export async function clusterDrbdSecret(answers: Answers, connections: Map<string, ServerConnection>): Promise<string> {
  const files = await Promise.all(answers.spec.nodes.map((node) => readRemoteFiles(connections.get(node.name)!, [DRBD_COMMON_PATH], 'inspect')));
  return existingDrbdSecret(files.map((f) => f.get(DRBD_COMMON_PATH))) ?? newDrbdSecret();
}

/** The plan of the answers on these facts; throws AnswerFileError with every finding (nothing changed). */
export function planInstall(
  answers: Answers,
  facts: ServerFacts[],
  options: { file?: string; locate?: (issue: AnswerIssue) => AnswerIssue; drbdSecret?: string } = {},
): ClusterPlan {
  return planCluster(answers, facts, options);
}

/** What a run needs, less what install adds itself (the install playbook, the journal). */
export interface InstallRequest extends Omit<RunRequest, 'playbook' | 'journal'> {
  env: NodeJS.ProcessEnv;
  /** Told when the previous run of this cluster did not finish (this run checks every step again). */
  onUnfinished?: (previous: JournalState) => void;
}

/** Runs the install playbook with a journal; the result says per server what failed. */
export async function runInstall(request: InstallRequest): Promise<RunResult> {
  const playbook = loadPlaybook('install', Object.keys(STEP_KINDS));
  const journalFile = journalPath(request.answers.metadata.name, request.env);
  const previous = Journal.unfinished(journalFile);
  if (previous && !request.dryRun) request.onUnfinished?.(previous);
  const journal = new Journal(journalFile, request.runId, request.dryRun, playbook.steps.map((s) => s.name));
  journal.save();
  return runPlaybook({
    runId: request.runId,
    playbook,
    answers: request.answers,
    plan: request.plan,
    facts: request.facts,
    connections: request.connections,
    reconnect: request.reconnect,
    dryRun: request.dryRun,
    emit: request.emit,
    logFile: request.logFile,
    journal,
    stopRequested: request.stopRequested,
  });
}
