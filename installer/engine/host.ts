/**
 * One server as a run sees it: reads (run in dry runs too), changes (through the guard: recorded,
 * skipped in a dry run), uploads, log lines and progress. The connection stays private: steps,
 * the migration test and per-guest operations reach the server only through a Host.
 */
import { shellQuote } from '../ssh/quote.js';
import type { ExecOptions, ExecResult, ServerConnection } from '../ssh/types.js';
import { commandLine, isArgv, isScript, isUpload, scriptText, type Action, type ArgvAction, type Change, type ScriptAction } from './change.js';
import type { EventSink } from './events.js';
import type { Guard } from './guard.js';
import { aptStatus, lineSplitter } from './apt-status.js';

/** What all hosts of one run share. */
export interface HostSession {
  runId: string;
  dryRun: boolean;
  guard: Guard;
  emit: EventSink;
  /** Where replaced files are kept on each server (the run's directory is below it). */
  backupRoot: string;
  connection(server: string): ServerConnection;
  /** Drops the server's connection and connects again (retrying until `deadlineMs`); the new one serves the rest of the run. */
  reconnect(server: string, deadlineMs: number): Promise<ServerConnection>;
}

/** Options of a read: how long, whether a failure is an answer, whether the output is secret. */
export type ReadOptions = Pick<ExecOptions, 'timeoutMs' | 'allowFailure' | 'secretOutput' | 'onStdout' | 'logAs' | 'stdin'>;

/** What a procedure (a change made of several actions, with checks between them) may do. */
export interface HostIo {
  run(action: ArgvAction | ScriptAction, options?: { allowFailure?: boolean; secretOutput?: boolean }): Promise<ExecResult>;
  perform(action: Action): Promise<ExecResult | undefined>;
}

export class Host {
  constructor(
    private readonly session: HostSession,
    readonly server: string,
    readonly step: string,
  ) {}

  get dryRun(): boolean {
    return this.session.dryRun;
  }

  get runId(): string {
    return this.session.runId;
  }

  /** The backup directory of this run on the server. */
  get backupDir(): string {
    return `${this.session.backupRoot}/${this.session.runId}`;
  }

  /** The same server in another step (log lines and errors name that step). */
  inStep(step: string): Host {
    return new Host(this.session, this.server, step);
  }

  /** A read-only command or script of installer/remote/ (runs in dry runs too), as root. */
  read(what: ArgvAction | ScriptAction, options: ReadOptions = {}): Promise<ExecResult> {
    return this.exec(what, options);
  }

  /** Performs a planned change, action by action (recorded; skipped in a dry run). */
  perform(change: Change): Promise<(ExecResult | undefined)[] | undefined> {
    return this.session.guard.change(change, async () => {
      const results: (ExecResult | undefined)[] = [];
      for (const action of change.actions) results.push(await this.performAction(action));
      return results;
    });
  }

  /**
   * A change whose actions need checks between them (the network window, DRBD's bring-up): the
   * procedure runs them through `io`. Recorded as one change; skipped in a dry run.
   */
  procedure<T>(change: Change, procedure: (io: HostIo) => Promise<T>): Promise<T | undefined> {
    return this.session.guard.change(change, () =>
      procedure({
        run: (action, options = {}) => this.exec(action, options),
        perform: (action) => this.performAction(action),
      }),
    );
  }

  /** A one-command change (the migration test's, the clean-up's). */
  mutate(description: string, command: ArgvAction | ScriptAction, options: ReadOptions = {}): Promise<ExecResult | undefined> {
    return this.session.guard.change({ server: this.server, step: this.step, description, actions: [command] }, () => this.exec(command, options));
  }

  /** Connects to the server again (after a network change), retrying until the deadline. */
  async reconnect(deadlineMs: number): Promise<void> {
    await this.session.reconnect(this.server, deadlineMs);
  }

  /** The SSH login user (who owns what the installer opens through the connection, such as a Unix socket). */
  get loginUser(): string {
    return this.conn.target.user;
  }

  /** A byte stream to a Unix socket on the server, opened as the login user (a disk import's NBD export). */
  openUnixSocket(path: string): Promise<import('node:stream').Duplex> {
    const conn = this.conn;
    if (!conn.openUnixSocket) return Promise.reject(new Error(`${this.server}: this connection cannot open Unix sockets`));
    return conn.openUnixSocket(path);
  }

  progress(percent: number, text?: string): void {
    this.session.emit({ type: 'progress', server: this.server, step: this.step, percent, ...(text ? { text } : {}) });
  }

  log(text: string, level: 'info' | 'warn' = 'info'): void {
    this.session.emit({ type: 'log', server: this.server, step: this.step, level, text });
  }

  private get conn(): ServerConnection {
    return this.session.connection(this.server);
  }

  private exec(action: ArgvAction | ScriptAction, options: ReadOptions = {}): Promise<ExecResult> {
    const onStdout =
      action.progress === 'apt'
        ? lineSplitter((line) => {
            const status = aptStatus(line);
            if (status) this.progress(status.percent, status.text);
          })
        : options.onStdout;
    return this.conn.exec(commandLine(action), {
      sudo: true,
      step: this.step,
      ...options,
      ...(action.timeoutMs !== undefined ? { timeoutMs: action.timeoutMs } : {}),
      ...(onStdout ? { onStdout } : {}),
      ...(isScript(action) ? { stdin: scriptText(action.script), logAs: `sh -s -- ${action.args.map(shellQuote).join(' ')} < ${action.script}`.replace('--  <', '-- <') } : {}),
    });
  }

  private async performAction(action: Action): Promise<ExecResult | undefined> {
    if (isArgv(action) || isScript(action)) return this.exec(action);
    if (isUpload(action)) {
      await this.exec({ script: 'prepare-file.sh', args: [action.backupDir ?? '-', action.upload] });
      await this.conn.upload(action.upload, action.content, { mode: action.mode, owner: action.owner, sudo: true });
      return undefined;
    }
    throw new Error('unknown action');
  }
}
