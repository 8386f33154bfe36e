/**
 * Runs a playbook: steps in order, each on all servers in parallel (a barrier between steps), every
 * mutation through the guard, typed events for whoever displays progress. Stops after the first
 * step that fails anywhere, and between steps when asked to (Ctrl-C).
 */
import { ConnectionError, EXIT, HvError } from '../errors.js';
import type { ServerFacts } from '../facts/types.js';
import type { ClusterPlan } from '../plan/types.js';
import type { Answers } from '../answers/schema.js';
import type { ServerConnection } from '../ssh/types.js';
import { StepContext, type RunInfo } from './context.js';
import type { EventSink, StepStatus } from './events.js';
import { Guard } from './guard.js';
import type { Journal } from './journal.js';
import type { Playbook } from './playbook.js';
import { STEP_KINDS } from './steps/index.js';

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
  facts: ServerFacts[];
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

export async function runPlaybook(request: RunRequest): Promise<RunResult> {
  const started = Date.now();
  const { emit, plan } = request;
  const guard = new Guard(request.dryRun, emit);
  const info: RunInfo = {
    runId: request.runId,
    dryRun: request.dryRun,
    answers: request.answers,
    plan,
    guard,
    emit,
    shared: new Map(),
    backupRoot: request.backupRoot ?? '/var/backups/hvcluster',
    reconnect: async (server, deadlineMs) => {
      const connection = await request.reconnect(server, deadlineMs);
      request.connections.set(server, connection);
      return connection;
    },
  };
  const servers = plan.nodes.map((n) => n.name);
  emit({ type: 'run-started', runId: request.runId, cluster: plan.cluster, servers, steps: request.playbook.steps.map((s) => s.name), dryRun: request.dryRun, logFile: request.logFile });

  const errors: RunResult['errors'] = [];
  const statuses: RunResult['statuses'] = [];
  let interruptedBefore: string | undefined;
  for (const step of request.playbook.steps) {
    if (request.stopRequested?.()) {
      interruptedBefore = step.name;
      errors.push({ server: '*', step: step.name, error: new InterruptedError(`interrupted before step "${step.name}"; run apply again to finish`) });
      break;
    }
    request.journal?.stepStarted(step.name);
    const kind = STEP_KINDS[step.kind]!;
    const contexts = plan.nodes.map((node, i) => new StepContext(info, step.name, node, request.facts[i]!, request.connections.get(node.name)!));
    const startedAt = Date.now();
    for (const ctx of contexts) emit({ type: 'step-started', server: ctx.server, step: step.name, title: step.title });

    // Steps re-check the servers before changing anything, so a step cut short by a lost
    // connection is run once more over a new one.
    const once = async <T>(servers: string[], attempt: () => Promise<T>): Promise<T> => {
      try {
        return await attempt();
      } catch (error) {
        if (!(error instanceof ConnectionError) || !error.retryable || request.dryRun) throw error;
        emit({ type: 'log', server: error.server, step: step.name, level: 'warn', text: `${error.message}; reconnecting and running the step again` });
        for (const server of servers) await info.reconnect(server, RECONNECT_AFTER_LOSS_MS);
        return attempt();
      }
    };
    const contextFor = (node: (typeof plan.nodes)[number], i: number) => new StepContext(info, step.name, node, request.facts[i]!, request.connections.get(node.name)!);
    const outcomes: { server: string; error?: unknown }[] =
      kind.scope === 'node'
        ? await Promise.all(
            plan.nodes.map(async (node, i) => {
              try {
                await once([node.name], () => kind.run(contextFor(node, i), step));
                return { server: node.name };
              } catch (error) {
                return { server: node.name, error };
              }
            }),
          )
        : await once(servers, () => kind.run(plan.nodes.map(contextFor), step)).then(
            () => contexts.map((ctx) => ({ server: ctx.server })),
            (error) => contexts.map((ctx) => ({ server: ctx.server, error: errorFor(error, ctx.server) })),
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

/** A cluster step's error is reported on the server it names, and as "see hvX" on the others. */
function errorFor(error: unknown, server: string): unknown {
  const named = (error as { server?: string }).server;
  if (named === undefined || named === server) return error;
  return new Error(`stopped because of ${named}: ${error instanceof Error ? error.message : String(error)}`);
}
