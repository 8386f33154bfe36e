/**
 * The non-printing core of an install, shared by `hvcluster apply` and the wizard: read every node
 * once (under the cluster lock when the run changes anything: taking the lock and reading cost one
 * exec per server), plan, then run the install playbook with its journal. Whoever calls it displays
 * the events and asks the questions; nothing here writes to a terminal.
 */
import { AnswerFileError, type AnswerIssue } from '../answers/issues.js';
import type { Answers } from '../answers/schema.js';
import { HvError, RemoteCommandError } from '../errors.js';
import type { Change } from '../engine/change.js';
import { lockCluster, type ClusterLock, type LockHolder } from '../engine/cluster-lock.js';
import { Journal, journalPath, type JournalState } from '../engine/journal.js';
import { loadPlaybook, type Playbook, type PlaybookStep } from '../engine/playbook.js';
import { backupEnabled } from '../plan/backup.js';
import { fullReadDefinitions, parseReads, readDefinition, readLabel, readScript } from '../engine/read-batch.js';
import { isStateName, type ReadName } from '../engine/reads.js';
import { playbookReads, playbookWitnessReads, runPlaybook, type RunRequest, type RunResult } from '../engine/runner.js';
import { STEP_KINDS } from '../engine/steps/index.js';
import type { ServerState } from '../engine/steps/step.js';
import { clockWatch, factsOfOutput, type TimedOutput } from '../facts/gather.js';
import { MARK } from '../facts/section.js';
import { DRBD_COMMON_PATH, existingDrbdSecret, newDrbdSecret } from '../plan/drbd-secret.js';
import { planCluster, type ClusterPlan } from '../plan/index.js';
import { guestPreflight, type GuestNodeRead } from '../plan/guest-preflight.js';
import { watchdogIssues } from '../plan/watchdog-preflight.js';
import { readImages, type ImageInfo } from '../import/image-info.js';
import { factValue } from '../facts/types.js';
import { findDisk } from '../facts/query.js';
import { WITNESS } from './targets.js';
import { COROSYNC_KEY, existingCorosyncKey, haEnabled, newCorosyncKey } from '../plan/ha.js';
import type { ClusterSecrets } from '../plan/render-model.js';
import { shellQuote } from '../ssh/quote.js';
import type { ServerConnection } from '../ssh/types.js';

/** Whether a playbook step's `when` holds for these answers. Pure. */
export function stepApplies(step: PlaybookStep, answers: Answers): boolean {
  switch (step.when) {
    case 'ha':
      return haEnabled(answers);
    case 'guests':
      return answers.spec.guests.length > 0;
    case 'backup':
      return backupEnabled(answers);
    default:
      return true;
  }
}

/** The install playbook, checked against the step kinds (and the data they hand each other), with the steps these answers take. */
export function installPlaybook(answers: Answers): Playbook {
  const playbook = loadPlaybook('install', STEP_KINDS);
  return { ...playbook, steps: playbook.steps.filter((step) => stepApplies(step, answers)) };
}

/** The one read of a server an install plans on: every inspection fact and every step's reads. Pure. */
export function installReadScript(answers: Answers, node: string, playbook = installPlaybook(answers)): string {
  return readScript(fullReadDefinitions(playbookReads(playbook), { answers, node }));
}

/** What a server's read printed, as facts and step reads. Pure. */
export function stateOfRead(answers: Answers, node: string, out: TimedOutput, playbook = installPlaybook(answers)): ServerState {
  const facts = factsOfOutput(out);
  const stateDefs = fullReadDefinitions(playbookReads(playbook), { answers, node }).filter((d) => isStateName(d.name as ReadName));
  return { ...facts, ...parseReads(out.stdout, stateDefs) } as ServerState;
}

export type ReadOutcome = { ok: true; states: ServerState[]; witness?: { name: string; state: ServerState }; lock?: ClusterLock } | { ok: false; failures: { server: string; error: unknown }[] };

/** What the install's steps read on the witness, in one exec (no lock: the witness holds no node state). */
async function readWitness(answers: Answers, conn: ServerConnection, playbook: Playbook): Promise<ServerState> {
  const defs = playbookWitnessReads(playbook).map((name) => readDefinition(name, { answers, node: WITNESS }));
  return parseReads((await readOnce(conn, readScript(defs), readLabel(defs))).stdout, defs) as ServerState;
}

/**
 * Reads every node of the answers, in their order, in one exec each: under the cluster lock when
 * `lock` is given (the lock's own exec makes the read), else a plain read (a dry run takes no lock).
 * A lock refused is thrown (ClusterLockedError), nothing read.
 */
export async function readCluster(answers: Answers, connections: Map<string, ServerConnection>, lock?: { holder: LockHolder; forceHint: string }): Promise<ReadOutcome> {
  const playbook = installPlaybook(answers);
  const nodes = answers.spec.nodes.map((n) => n.name);
  const scripts = new Map(nodes.map((node) => [node, installReadScript(answers, node, playbook)]));
  const label = readLabel(fullReadDefinitions(playbookReads(playbook), { answers, node: nodes[0]! }));
  let held: ClusterLock | undefined;
  let outputs: PromiseSettledResult<TimedOutput>[];
  if (lock) {
    held = await lockCluster(
      nodes.map((n) => connections.get(n)!),
      answers.metadata.name,
      lock.holder,
      lock.forceHint,
      new Map([...scripts].map(([node, script]) => [node, { script, label }])),
    );
    outputs = nodes.map((node) => ({ status: 'fulfilled', value: held!.reads.get(node)! }));
  } else {
    outputs = await Promise.allSettled(nodes.map((node) => readOnce(connections.get(node)!, scripts.get(node)!, label)));
  }
  const failures = outputs.flatMap((r, i) => (r.status === 'rejected' ? [{ server: nodes[i]!, error: r.reason as unknown }] : []));
  const unread = outputs.flatMap((r, i) => (r.status === 'fulfilled' && !r.value.stdout.includes(`${MARK.fact} `) ? [{ server: nodes[i]!, error: new Error(`${nodes[i]}: the read printed no facts; check that the user can run \`sudo sh\` on the server`) }] : []));
  if (failures.length + unread.length > 0) {
    await held?.release().catch(() => undefined);
    return { ok: false, failures: [...failures, ...unread] };
  }
  const states = outputs.map((r, i) => stateOfRead(answers, nodes[i]!, (r as PromiseFulfilledResult<TimedOutput>).value, playbook));
  const witnessConn = connections.get(WITNESS);
  let witness: { name: string; state: ServerState } | undefined;
  if (witnessConn && playbookWitnessReads(playbook).length > 0) {
    try {
      witness = { name: WITNESS, state: await readWitness(answers, witnessConn, playbook) };
    } catch (error) {
      await held?.release().catch(() => undefined);
      return { ok: false, failures: [{ server: WITNESS, error }] };
    }
  }
  return { ok: true, states, ...(witness ? { witness } : {}), ...(held ? { lock: held } : {}) };
}

async function readOnce(conn: ServerConnection, script: string, label: string): Promise<TimedOutput> {
  const startedAtMs = Date.now();
  const clock = clockWatch();
  // The files read holds DRBD's shared secret and root's SSH files: the run log keeps only the output's size.
  const result = await conn.exec(`sh -c ${shellQuote(script)}`, { sudo: true, step: 'inspect', secretOutput: true, allowFailure: true, timeoutMs: 300_000, onStdout: clock.onStdout, logAs: label });
  if (!result.stdout.includes(`${MARK.fact} `)) {
    throw new RemoteCommandError(conn.target.name, 'sh -c <read script>', result, { step: 'inspect', hint: 'Check that the user can run `sudo sh` on the server and that /bin/sh exists.' });
  }
  const readBy = clock.readBy();
  return { stdout: result.stdout, startedAtMs, finishedAtMs: Date.now(), durationMs: result.durationMs, ...(readBy !== undefined ? { clockReadByMs: readBy } : {}) };
}

const fileOf = (state: ServerState, path: string) => (state.files?.ok ? (state.files.value.get(path) ?? null) : undefined);

/** The secrets the nodes already hold (in the files they read); null where none is there yet. Pure. */
export function existingSecrets(states: ServerState[]): { drbd: string | null; corosyncKey: string | null } {
  return {
    drbd: existingDrbdSecret(states.map((s) => fileOf(s, DRBD_COMMON_PATH))),
    corosyncKey: existingCorosyncKey(states.map((s) => fileOf(s, COROSYNC_KEY))),
  };
}

/**
 * The cluster's secrets: the ones the nodes hold, else new ones that this run writes (`fallback`:
 * the ones of a plan already shown). The caller adds every value to the secrets its log redacts.
 */
export function clusterSecrets(states: ServerState[], fallback?: ClusterSecrets): Required<Omit<ClusterSecrets, 'bmc' | 'backupPassphrase'>> {
  const held = existingSecrets(states);
  return { drbd: held.drbd ?? fallback?.drbd ?? newDrbdSecret(), corosyncKey: held.corosyncKey ?? fallback?.corosyncKey ?? newCorosyncKey() };
}

/**
 * The plan of the answers on what was read of the nodes (facts, and the steps' reads where the
 * caller made them); throws AnswerFileError with every finding (nothing changed). The images the
 * guests name are read here on the installer's machine unless the caller passes them.
 */
export function planInstall(
  answers: Answers,
  states: ServerState[],
  options: { file?: string; locate?: (issue: AnswerIssue) => AnswerIssue; secrets?: Partial<ClusterSecrets>; images?: ReadonlyMap<string, ImageInfo> } = {},
): ClusterPlan {
  const { secrets, images, ...rest } = options;
  const plan = planCluster(answers, states, {
    ...rest,
    drbdSecret: secrets?.drbd ?? null,
    corosyncKey: secrets?.corosyncKey ?? null,
    bmcPasswords: secrets?.bmc ?? {},
    ...(secrets?.backupPassphrase !== undefined ? { backupPassphrase: secrets.backupPassphrase } : {}),
  });
  const watchdog = watchdogIssues(answers, states.map((s) => (s.sbd?.ok ? s.sbd.value : undefined)));
  if (watchdog.some((issue) => issue.severity === 'error')) {
    const file = options.file ?? 'site.yaml';
    const locate = options.locate ?? ((issue: AnswerIssue) => issue);
    throw new AnswerFileError(file, watchdog.map(locate), {
      headline: (counts) => `the watchdogs of the servers do not fit ${file} (${counts}); nothing was changed on any server`,
      hint: `Correct ${file} at the positions listed, or the servers as the messages say, then run again.`,
    });
  }
  const withWatchdog = watchdog.length > 0 ? { ...plan, warnings: [...plan.warnings, ...watchdog.map(options.locate ?? ((issue: AnswerIssue) => issue))] } : plan;
  if (answers.spec.guests.length === 0) return withWatchdog;
  const vg = answers.spec.storage.volumeGroup;
  const reads: GuestNodeRead[] = answers.spec.nodes.map((node, i) => {
    const state = states[i]!;
    const group = factValue(state.lvm)?.volumeGroups.find((g) => g.name === vg);
    return {
      name: node.name,
      vgFreeBytes: group ? (group.freeBytes ?? 0) : null,
      diskBytes: findDisk(state, node.storage.disk)?.sizeBytes ?? null,
      ...(state.volumes?.ok ? { volumes: state.volumes.value } : {}),
      ...(state.guests?.ok ? { guests: state.guests.value } : {}),
    };
  });
  const preflight = guestPreflight(answers, plan.drbdMajor, reads, images ?? readImages(answers));
  if (preflight.issues.length > 0) {
    const file = options.file ?? 'site.yaml';
    const locate = options.locate ?? ((issue: AnswerIssue) => issue);
    throw new AnswerFileError(file, preflight.issues.map(locate), {
      headline: (counts) => `the guests of ${file} do not fit the servers (${counts}); nothing was changed on any server`,
      hint: `Correct ${file} at the positions listed, or the servers as the messages say, then run again.`,
    });
  }
  return { ...withWatchdog, guests: preflight.guests };
}

/** What a run needs, less what install adds itself (the install playbook, the journal). */
export interface InstallRequest extends Omit<RunRequest, 'playbook' | 'journal'> {
  env: NodeJS.ProcessEnv;
  /** Told when the previous run of this cluster did not finish (this run checks every step again). */
  onUnfinished?: (previous: JournalState) => void;
}

/** Runs the install playbook with a journal; the result says per server what failed. */
export async function runInstall(request: InstallRequest): Promise<RunResult> {
  const playbook = installPlaybook(request.answers);
  const journalFile = journalPath(request.answers.metadata.name, request.env);
  const previous = Journal.unfinished(journalFile);
  if (previous && !request.dryRun) request.onUnfinished?.(previous);
  const journal = new Journal(journalFile, request.runId, request.dryRun, playbook.steps.map((s) => s.name));
  journal.save();
  return runPlaybook({ ...request, playbook, journal });
}

/** What apply would do, as the plan shows it: every change per server, and where a step would refuse. */
export interface InstallPreview {
  changes: Change[];
  refusals: { server: string; step: string; message: string; hint?: string }[];
}

/**
 * The install's changes without making them: the playbook as a dry run on what `readCluster` read
 * (no exec when the read covered every step). `plan`, `apply --dry-run` and the wizard's plan screen
 * show this list; apply performs the same plan.
 */
export async function previewInstall(request: {
  answers: Answers;
  plan: ClusterPlan;
  states: ServerState[];
  witness?: { name: string; state: ServerState };
  connections: Map<string, ServerConnection>;
  runId: string;
}): Promise<InstallPreview> {
  const result = await runPlaybook({
    runId: request.runId,
    playbook: installPlaybook(request.answers),
    answers: request.answers,
    plan: request.plan,
    states: request.states,
    ...(request.witness ? { witness: request.witness } : {}),
    connections: request.connections,
    reconnect: () => Promise.reject(new Error('a preview does not reconnect')),
    dryRun: true,
    emit: () => undefined,
    logFile: '-',
  });
  return {
    changes: result.guard.changes,
    refusals: result.errors.map(({ server, step, error }) => {
      const message = error instanceof Error ? error.message : String(error);
      return { server, step, message: message.startsWith(`${server}: `) ? message.slice(server.length + 2) : message, ...(error instanceof HvError && error.hint ? { hint: error.hint } : {}) };
    }),
  };
}
