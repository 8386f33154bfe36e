/**
 * Runs a playbook: steps in order, each on all servers in parallel (a barrier between steps), every
 * mutation through the guard, typed events for whoever displays progress. Stops after the first
 * step that fails anywhere, and between steps when asked to (Ctrl-C).
 */
import { EXIT, HvError } from '../errors.js';
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
  for (const step of request.playbook.steps) {
    if (request.stopRequested?.()) {
      errors.push({ server: '*', step: step.name, error: new InterruptedError(`interrupted before step "${step.name}"; run apply again to finish`) });
      break;
    }
    const kind = STEP_KINDS[step.kind]!;
    const contexts = plan.nodes.map((node, i) => new StepContext(info, step.name, node, request.facts[i]!, request.connections.get(node.name)!));
    const startedAt = Date.now();
    for (const ctx of contexts) emit({ type: 'step-started', server: ctx.server, step: step.name, title: step.title });

    const outcomes: { server: string; error?: unknown }[] =
      kind.scope === 'node'
        ? await Promise.all(
            contexts.map(async (ctx) => {
              try {
                await kind.run(ctx, step);
                return { server: ctx.server };
              } catch (error) {
                return { server: ctx.server, error };
              }
            }),
          )
        : await kind.run(contexts, step).then(
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
  request.journal?.finish(ok);
  emit({
    type: 'run-finished',
    runId: request.runId,
    ok,
    changed: statuses.filter((s) => s.status === 'changed').length,
    unchanged: statuses.filter((s) => s.status === 'unchanged').length,
    failed: statuses.filter((s) => s.status === 'failed').length,
    durationMs: Date.now() - started,
    logFile: request.logFile,
  });
  return { ok, guard, errors, statuses };
}

/** A cluster step's error is reported on the server it names, and as "see hvX" on the others. */
function errorFor(error: unknown, server: string): unknown {
  const named = (error as { server?: string }).server;
  if (named === undefined || named === server) return error;
  return new Error(`stopped because of ${named}: ${error instanceof Error ? error.message : String(error)}`);
}
