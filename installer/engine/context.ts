/** What a step sees of one server during a run. */
import type { Answers } from '../answers/schema.js';
import type { ServerFacts } from '../facts/types.js';
import type { ClusterPlan, NodePlan } from '../plan/types.js';
import type { ExecOptions, ExecResult, ServerConnection } from '../ssh/types.js';
import type { EventSink } from './events.js';
import type { Guard } from './guard.js';

/** Data steps hand to each other across servers within one run (e.g. the nodes' public keys). */
export type SharedState = Map<string, unknown>;

export interface RunInfo {
  runId: string;
  dryRun: boolean;
  answers: Answers;
  plan: ClusterPlan;
  guard: Guard;
  emit: EventSink;
  shared: SharedState;
  /** Where replaced files are kept on each server. */
  backupRoot: string;
  /** Drops the server's connection and connects again (retrying until `deadlineMs`); the new one serves the rest of the run. */
  reconnect(server: string, deadlineMs: number): Promise<ServerConnection>;
}

export class StepContext {
  constructor(
    readonly run: RunInfo,
    readonly step: string,
    readonly node: NodePlan,
    readonly facts: ServerFacts,
    private connection: ServerConnection,
  ) {}

  get conn(): ServerConnection {
    return this.connection;
  }

  /** Connects to the server again (after a network change), retrying until the deadline. */
  async reconnect(deadlineMs: number): Promise<ServerConnection> {
    this.connection = await this.run.reconnect(this.server, deadlineMs);
    return this.connection;
  }

  get server(): string {
    return this.node.name;
  }

  get dryRun(): boolean {
    return this.run.dryRun;
  }

  /** A read-only command (runs in dry runs too), as root. */
  read(command: string, options: ExecOptions = {}): Promise<ExecResult> {
    return this.conn.exec(command, { sudo: true, step: this.step, ...options });
  }

  /** A mutation: runs `command` as root through the guard (recorded; skipped in a dry run). */
  async mutate(description: string, command: string, options: ExecOptions = {}): Promise<ExecResult | undefined> {
    return this.run.guard.change(this.server, this.step, description, () => this.conn.exec(command, { sudo: true, step: this.step, ...options }));
  }

  /** A mutation made of several actions. */
  change<T>(description: string, mutate: () => Promise<T>): Promise<T | undefined> {
    return this.run.guard.change(this.server, this.step, description, mutate);
  }

  progress(percent: number, text?: string): void {
    this.run.emit({ type: 'progress', server: this.server, step: this.step, percent, ...(text ? { text } : {}) });
  }

  log(text: string, level: 'info' | 'warn' = 'info'): void {
    this.run.emit({ type: 'log', server: this.server, step: this.step, level, text });
  }

  /** The backup directory of this run on the server. */
  get backupDir(): string {
    return `${this.run.backupRoot}/${this.run.runId}`;
  }
}
