/**
 * Runs a playbook: steps in order, each on all servers in parallel (a barrier between steps).
 * Per step and server: what the step reads is taken from the run's batched read, or read again if
 * a change made since may have made it stale; the step kind's pure `plan` turns it into changes;
 * the changes are performed through the guard (recorded; only recorded in a dry run), and the
 * runner checks that every planned change was performed. Typed events go to whoever displays
 * progress. Stops after the first step that fails anywhere, and between steps when asked (Ctrl-C).
 */
import { ConnectionError, EXIT, HvError, RemoteCommandError, exitCodeOf, type ExitCode } from '../errors.js';
import { MARK } from '../facts/section.js';
import type { ClusterPlan } from '../plan/types.js';
import type { Answers } from '../answers/schema.js';
import type { ServerConnection } from '../ssh/types.js';
import type { Change } from './change.js';
import type { EventSink, StepStatus } from './events.js';
import { Guard } from './guard.js';
import { Host, type HostSession } from './host.js';
import type { Journal } from './journal.js';
import type { Playbook, PlaybookStep } from './playbook.js';
import { parseReads, readDefinition, readLabel, readScript } from './read-batch.js';
import type { ReadName } from './reads.js';
import type { StepData } from './step-data.js';
import { STEP_KINDS } from './steps/index.js';
import type { NodeInput, ServerState, StepInput, StepKind, StepPlan } from './steps/step.js';

/** How long to try to get a server back after a connection was lost mid-step. */
const RECONNECT_AFTER_LOSS_MS = 90_000;

export class InterruptedError extends HvError {
  readonly exitCode = EXIT.interrupted;
  readonly kind = 'interrupted';
}

export interface RunRequest {
  runId: string;
  playbook: Playbook;
  answers: Answers;
  plan: ClusterPlan;
  /** What was read of each server before the run (the inspection facts at least), in the order of plan.nodes. */
  states: ServerState[];
  /**
   * The witness of a two-node HA cluster: a server of the run that is no node. Only steps that
   * declare witnessReads plan (and change) anything on it; its connection is in `connections`.
   */
  witness?: { name: string; state: ServerState };
  /** By node name; replaced in place when a step reconnects. */
  connections: Map<string, ServerConnection>;
  reconnect: (server: string, deadlineMs: number) => Promise<ServerConnection>;
  dryRun: boolean;
  emit: EventSink;
  logFile: string;
  journal?: Journal;
  /** Polled between steps: true stops the run there. */
  stopRequested?: () => boolean;
  backupRoot?: string;
}

export interface RunResult {
  ok: boolean;
  guard: Guard;
  /** The first error per failed server. */
  errors: { server: string; step: string; error: unknown }[];
  statuses: { server: string; step: string; status: StepStatus }[];
}

/** Every read the playbook's steps plan on. */
export function playbookReads(playbook: Playbook): ReadName[] {
  return [...new Set(playbook.steps.flatMap((s) => readsOf(STEP_KINDS[s.kind]!)))];
}

const readsOf = (kind: StepKind) => [...kind.reads, ...(kind.clusterReads ?? [])];

/** Every read the playbook's steps make on the witness. */
export function playbookWitnessReads(playbook: Playbook): ReadName[] {
  return [...new Set(playbook.steps.flatMap((s) => STEP_KINDS[s.kind]!.witnessReads ?? []))];
}

export async function runPlaybook(request: RunRequest): Promise<RunResult> {
  const started = Date.now();
  const { emit, plan, answers } = request;
  const guard = new Guard(request.dryRun, emit);
  const backupRoot = request.backupRoot ?? '/var/backups/hvcluster';
  const session: HostSession = {
    runId: request.runId,
    dryRun: request.dryRun,
    guard,
    emit,
    backupRoot,
    connection: (server) => request.connections.get(server)!,
    reconnect: async (server, deadlineMs) => {
      const connection = await request.reconnect(server, deadlineMs);
      request.connections.set(server, connection);
      return connection;
    },
  };
  const servers = plan.nodes.map((n) => n.name);
  const witness = request.witness?.name;
  const states = new Map(servers.map((server, i) => [server, { ...request.states[i]! } as ServerState]));
  if (request.witness) states.set(request.witness.name, { ...request.witness.state });
  /** When each read was made: the number of changes on its server, and in all, at that time. */
  const readAt = new Map([...states.keys()].map((server) => [server, new Map<ReadName, { own: number; all: number }>()]));
  const data = new Map(servers.map((server) => [server, {} as Partial<StepData>]));
  const changesOn = (server?: string) => (server === undefined ? guard.changes.length : guard.changes.filter((c) => c.server === server).length);

  for (const [server, state] of states) for (const name of Object.keys(state)) readAt.get(server)!.set(name as ReadName, { own: 0, all: 0 });

  /** Reads `names` of a server in one exec. */
  const read = async (server: string, names: ReadName[], step: string) => {
    if (names.length === 0) return;
    const defs = names.map((name) => readDefinition(name, { answers, node: server }));
    const stamp = { own: changesOn(server), all: changesOn() };
    const result = await new Host(session, server, step).read({ argv: ['sh', '-c', readScript(defs)] }, { secretOutput: true, allowFailure: true, timeoutMs: 300_000, logAs: readLabel(defs) });
    if (!result.stdout.includes(`${MARK.fact} `)) {
      throw new RemoteCommandError(server, 'sh -c <read script>', result, { step, hint: 'Check that the user can run `sudo sh` on the server and that /bin/sh exists.' });
    }
    Object.assign(states.get(server)!, parseReads(result.stdout, defs));
    for (const name of names) readAt.get(server)!.set(name, stamp);
  };
  /** The reads of a kind that are missing or may be stale on a server. */
  const staleReads = (server: string, kind: StepKind): ReadName[] => {
    const at = readAt.get(server)!;
    if (server === witness) return (kind.witnessReads ?? []).filter((name) => (at.get(name)?.own ?? -1) < changesOn(server));
    const own = kind.reads.filter((name) => (at.get(name)?.own ?? -1) < changesOn(server));
    const all = (kind.clusterReads ?? []).filter((name) => (at.get(name)?.all ?? -1) < changesOn());
    return [...own, ...all];
  };
  const missing = (server: string, kind: StepKind) => (server === witness ? (kind.witnessReads ?? []) : readsOf(kind)).filter((name) => !readAt.get(server)!.has(name));

  const nodeInput = (server: string): NodeInput => ({ node: plan.nodes.find((n) => n.name === server)!, state: states.get(server)!, data: data.get(server)! });
  const inputFor = (step: PlaybookStep, self: string, stale: boolean): StepInput => ({
    step,
    runId: request.runId,
    dryRun: request.dryRun,
    answers,
    plan,
    backupDir: `${backupRoot}/${request.runId}`,
    self: nodeInput(self),
    nodes: servers.map(nodeInput),
    ...(witness ? { witness: { name: witness, state: states.get(witness)! } } : {}),
    stale,
  });

  emit({ type: 'run-started', runId: request.runId, cluster: plan.cluster, servers: witness ? [...servers, witness] : servers, steps: request.playbook.steps.map((s) => s.name), dryRun: request.dryRun, logFile: request.logFile });

  const errors: RunResult['errors'] = [];
  const statuses: RunResult['statuses'] = [];
  let interruptedBefore: string | undefined;

  // Whatever no earlier read covered (the wizard's inspection has no step reads): one exec per server, before the first step.
  const everyServer = witness ? [...servers, witness] : servers;
  const firstReads = await Promise.allSettled(
    everyServer.map((server) => read(server, [...new Set(request.playbook.steps.flatMap((s) => missing(server, STEP_KINDS[s.kind]!)))], 'inspect')),
  );
  firstReads.forEach((r, i) => {
    if (r.status === 'rejected') errors.push({ server: everyServer[i]!, step: request.playbook.steps[0]!.name, error: r.reason });
  });

  for (const step of errors.length > 0 ? [] : request.playbook.steps) {
    if (request.stopRequested?.()) {
      interruptedBefore = step.name;
      errors.push({ server: '*', step: step.name, error: new InterruptedError(`interrupted before step "${step.name}"; run apply again to finish`) });
      break;
    }
    request.journal?.stepStarted(step.name);
    const kind = STEP_KINDS[step.kind]!;
    const startedAt = Date.now();
    // The witness takes part in the steps that plan on it (a cluster step: planned once for all).
    const onWitness = witness !== undefined && kind.witnessReads !== undefined && kind.scope === 'cluster';
    const stepServers = onWitness ? [...servers, witness] : servers;
    for (const server of stepServers) emit({ type: 'step-started', server, step: step.name, title: step.title });

    // Reads made stale by earlier changes are made again (apply); a dry run plans on what it has and says so.
    const refresh = async (server: string, force: boolean): Promise<boolean> => {
      const stale = force ? (server === witness ? [...(kind.witnessReads ?? [])] : readsOf(kind)) : staleReads(server, kind);
      if (request.dryRun) return stale.length > 0;
      await read(server, stale, step.name);
      return false;
    };
    const attempt = async (targets: string[], force: boolean) => {
      const everyTarget = onWitness ? [...targets, witness] : targets;
      const stale = (await Promise.all(everyTarget.map((server) => refresh(server, force)))).some(Boolean);
      const input = inputFor(step, targets[0]!, stale);
      const planned = kind.plan(input);
      for (const note of planned.notes ?? []) emit({ type: 'log', server: targets[0]!, step: step.name, level: note.level, text: note.text });
      await perform(kind, planned, input, new Map(everyTarget.map((server) => [server, new Host(session, server, step.name)])), guard);
      if (kind.outputs) {
        const server = targets[0]!;
        if (!request.dryRun && guard.changesOf(server, step.name).length > 0) await read(server, kind.reads.slice(), step.name);
        Object.assign(data.get(server)!, kind.outputs(inputFor(step, server, stale), planned));
      }
    };
    // Steps plan from what they read, so a step cut short by a lost connection is read, planned
    // and performed once more over a new one.
    const once = async (targets: string[]): Promise<void> => {
      try {
        await attempt(targets, false);
      } catch (error) {
        if (!(error instanceof ConnectionError) || !error.retryable || request.dryRun) throw error;
        emit({ type: 'log', server: error.server, step: step.name, level: 'warn', text: `${error.message}; reconnecting and running the step again` });
        for (const server of onWitness ? [...targets, witness] : targets) await session.reconnect(server, RECONNECT_AFTER_LOSS_MS);
        await attempt(targets, true);
      }
    };
    const outcomes: { server: string; error?: unknown }[] =
      kind.scope === 'node'
        ? await Promise.all(servers.map((server) => once([server]).then(() => ({ server }), (error: unknown) => ({ server, error }))))
        : await once(servers).then(
            () => stepServers.map((server) => ({ server })),
            (error: unknown) => stepServers.map((server) => ({ server, error: errorFor(error, server) })),
          );

    for (const outcome of outcomes) {
      const changes = guard.changesOf(outcome.server, step.name);
      const status: StepStatus = outcome.error !== undefined ? 'failed' : changes.length > 0 ? 'changed' : 'unchanged';
      statuses.push({ server: outcome.server, step: step.name, status });
      if (outcome.error !== undefined) errors.push({ server: outcome.server, step: step.name, error: outcome.error });
      else request.journal?.stepDone(outcome.server, step.name);
      emit({
        type: 'step-finished',
        server: outcome.server,
        step: step.name,
        status,
        changes,
        durationMs: Date.now() - startedAt,
        ...(outcome.error !== undefined ? { error: outcome.error instanceof Error ? outcome.error.message : String(outcome.error) } : {}),
      });
    }
    if (errors.length > 0) break;
  }

  const ok = errors.length === 0;
  const failedStep = errors[0]?.step;
  request.journal?.finish(
    ok,
    interruptedBefore !== undefined
      ? { how: 'interrupted', step: interruptedBefore }
      : failedStep !== undefined
        ? { how: 'failed', step: failedStep, servers: errors.map((e) => e.server) }
        : undefined,
  );
  emit({
    type: 'run-finished',
    runId: request.runId,
    ok,
    changed: statuses.filter((s) => s.status === 'changed').length,
    unchanged: statuses.filter((s) => s.status === 'unchanged').length,
    failed: statuses.filter((s) => s.status === 'failed').length,
    durationMs: Date.now() - started,
    logFile: request.logFile,
    ...(interruptedBefore !== undefined ? { interruptedBefore } : {}),
  });
  return { ok, guard, errors, statuses };
}

/**
 * Performs a step's plan: the kind's own perform, else each change's actions in turn on its server.
 * Then checks that every planned change went through the guard: what plan shows is what apply does.
 */
async function perform(kind: StepKind, planned: StepPlan, input: StepInput, hosts: Map<string, Host>, guard: Guard): Promise<void> {
  if (kind.perform) await kind.perform(hosts, planned, input);
  else for (const change of planned.changes) await hosts.get(change.server)!.perform(change);
  const skipped = planned.changes.filter((c: Change) => !guard.changes.includes(c));
  if (skipped.length > 0) throw new Error(`internal: step ${input.step.name} planned changes it did not make: ${skipped.map((c) => `${c.server}: ${c.description}`).join('; ')}`);
}

/** The other servers of a cluster step that failed on one: same exit code, the message says where. */
class StoppedByPeerError extends HvError {
  readonly kind = 'stopped-by-peer';
  constructor(
    message: string,
    readonly exitCode: ExitCode,
  ) {
    super(message);
  }
}

/** A cluster step's error is reported on the server it names, and as "stopped because of hvX" on the others (with its exit code). */
function errorFor(error: unknown, server: string): unknown {
  const named = (error as { server?: string }).server;
  if (named === undefined || named === server) return error;
  return new StoppedByPeerError(`stopped because of ${named}: ${error instanceof Error ? error.message : String(error)}`, exitCodeOf(error));
}
