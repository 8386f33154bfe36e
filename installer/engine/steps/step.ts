/**
 * A step kind is data plus pure functions: the reads it plans on (engine/reads.ts and the
 * inspection facts), `plan` (desired state + what was read -> the changes, or a refusal), and how
 * its changes are performed (by default each change's actions in turn, through the guard).
 * The runner reads every step's facts in one exec per server before the first step and re-reads
 * a step's facts only when an earlier change on the server (or, for reads about the whole
 * cluster, on any server) may have made them stale.
 */
import type { Answers } from '../../answers/schema.js';
import { EXIT, HvError } from '../../errors.js';
import type { Fact, ServerFacts } from '../../facts/types.js';
import type { ClusterPlan, NodePlan } from '../../plan/types.js';
import type { Change } from '../change.js';
import type { StepData } from '../step-data.js';
import type { Host } from '../host.js';
import type { PlaybookStep } from '../playbook.js';
import type { ReadName, StateName, StateValues } from '../reads.js';

/** What was read of one server: the inspection facts and the steps' own reads. */
export type ServerState = ServerFacts & { [K in StateName]?: Fact<StateValues[K]> };

/** One node as a step plans it. */
export interface NodeInput {
  node: NodePlan;
  state: ServerState;
  /** What earlier steps produced for this node (node-keys: its keys...). */
  data: Partial<StepData>;
}

export interface StepInput {
  step: PlaybookStep;
  runId: string;
  dryRun: boolean;
  answers: Answers;
  plan: ClusterPlan;
  /** The run's backup directory on the servers. */
  backupDir: string;
  /** Node scope: the node being planned. Cluster scope: the first node. */
  self: NodeInput;
  /** Every node (self among them), in the answer file's order. */
  nodes: NodeInput[];
  /** The witness of a two-node HA cluster, when the run has one: what was read of it. */
  witness?: { name: string; state: ServerState };
  /**
   * A dry run only: changes planned before this step (on this server, or for a cluster-wide read
   * on any) were not made, so what was read may not be what apply will find here.
   */
  stale: boolean;
}

/** A step's plan: its changes, and whatever its perform needs besides them. */
export interface StepPlan {
  changes: Change[];
  /** Lines for the run's output (e.g. what a check found), emitted when the step runs. */
  notes?: { text: string; level: 'info' | 'warn' }[];
}

export interface StepKind<P extends StepPlan = StepPlan> {
  scope: 'node' | 'cluster';
  /** What `plan` reads of each server. */
  reads: readonly ReadName[];
  /** Reads about more than the server itself (pings to the peers): stale after a change on any server. */
  clusterReads?: readonly ReadName[];
  /** A cluster step that also plans on the witness (two-node HA): what it reads there. */
  witnessReads?: readonly ReadName[];
  /** Data of earlier steps this one plans with (checked when the playbook loads). */
  requires?: readonly (keyof StepData)[];
  /** Data this step hands to later ones. */
  produces?: readonly (keyof StepData)[];
  /** Pure: the changes (node scope: of input.self; cluster scope: of all nodes), or a StepRefusedError. */
  plan(input: StepInput): P;
  /** Makes the planned changes. Default: each change's actions in turn on its server. */
  perform?(hosts: Map<string, Host>, plan: P, input: StepInput): Promise<void>;
  /** Node scope: this node's data for later steps, from what is read after the step's changes. */
  outputs?(input: StepInput, plan: P): Partial<StepData>;
}

/** A step found the server in a state it must not change (a disk with data, a foreign VG...). */
export class StepRefusedError extends HvError {
  readonly exitCode = EXIT.checksFailed;
  readonly kind = 'step-refused';
  constructor(
    readonly server: string,
    readonly step: string,
    message: string,
    hint?: string,
  ) {
    super(`${server}: step "${step}": ${message}`, hint ? { hint } : {});
  }
}

/** A read a step needs, or a StepRefusedError saying why it could not be made. Pure. */
export function readValue<K extends ReadName>(input: StepInput, node: NodeInput, name: K): NonNullable<ServerState[K]> extends Fact<infer T> ? T : never {
  const fact = node.state[name] as Fact<unknown> | undefined;
  if (!fact) throw new StepRefusedError(node.node.name, input.step.name, `${String(name)} was not read (a step kind that does not declare it in reads)`);
  if (!fact.ok) throw new StepRefusedError(node.node.name, input.step.name, `cannot read ${String(name)}: ${fact.reason}`, 'run apply again; if it persists, run `hvcluster inspect` on the server to see why');
  return fact.value as never;
}

/** A change of this step on this node. Pure. */
export function changeOf(input: StepInput, node: NodeInput, description: string, actions: Change['actions']): Change {
  return { server: node.node.name, step: input.step.name, description, actions };
}

/** Polls `probe` until it returns a value (not undefined) or the deadline passes. */
export async function waitFor<T>(what: string, probe: () => Promise<T | undefined>, options: { timeoutMs: number; intervalMs?: number }): Promise<T> {
  const deadline = Date.now() + options.timeoutMs;
  let interval = options.intervalMs ?? 500;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${Math.round(options.timeoutMs / 1000)} s waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, interval));
    interval = Math.min(interval * 1.5, 3000);
  }
}
