/**
 * A ServerConnection for unit tests: no SSH, no server. It keeps every exec and upload, and answers
 * each exec from a function or from a list of (command pattern, answer) pairs, first match wins.
 *
 *   const conn = fakeConnection({ name: 'hv2', answer: [[/ probe$/, fixture('blank')], [/create/, { exitCode: 1, stderr: 'busy' }]] });
 *   await step.run(ctxOn(conn));
 *   expect(conn.commands).toEqual([...]);
 *
 * An answer is the stdout (a string) or part of an ExecResult (exit code 0, empty output and
 * durationMs 1 unless given). Like the tests' earlier fakes and unlike SshConnection, a non-zero exit
 * is returned, never thrown, whatever allowFailure says. A command no pair matches gets exit 0 and no
 * output, unless `unmatched` says otherwise.
 */
import type { ExecOptions, ExecResult, ServerConnection, SshCounters, SshTarget, UploadOptions } from '../../installer/ssh/types.js';

export type FakeAnswer = string | Partial<ExecResult>;
export type FakeResponder = (command: string, options?: ExecOptions) => FakeAnswer | Promise<FakeAnswer>;

export interface FakeConnectionOptions {
  /** The target's name and host (default `hv1`). */
  name?: string;
  host?: string;
  /** How execs are answered: a function of the command, or (pattern, answer) pairs tried in order. */
  answer?: FakeResponder | ReadonlyArray<readonly [RegExp, FakeAnswer | FakeResponder]>;
  /** The answer to a command no pair matches (default: exit 0, no output). */
  unmatched?: FakeAnswer | FakeResponder;
  /** 'refuse': an upload throws (the test expects none). Default: kept and accepted. */
  uploads?: 'accept' | 'refuse';
  hostKeyFingerprint?: string;
}

export interface FakeExec {
  command: string;
  options?: ExecOptions;
}

export interface FakeUpload {
  path: string;
  content: string;
  options?: UploadOptions;
}

export class FakeConnection implements ServerConnection {
  readonly target: SshTarget;
  readonly hostKeyFingerprint: string;
  readonly counters: SshCounters = { handshakes: 1, channelOpens: 0, execs: 0, bytesUploaded: 0 };
  /** Every exec, in order. */
  readonly execs: FakeExec[] = [];
  /** Every upload, in order (content as text). */
  readonly uploads: FakeUpload[] = [];
  closed = false;

  constructor(private readonly options: FakeConnectionOptions = {}) {
    const name = options.name ?? 'hv1';
    this.target = { name, host: options.host ?? name, port: 22, user: 'root', identityFiles: [], jump: [] };
    this.hostKeyFingerprint = options.hostKeyFingerprint ?? 'SHA256:x';
  }

  /** The commands executed, in order. */
  get commands(): string[] {
    return this.execs.map((e) => e.command);
  }

  async exec(command: string, options?: ExecOptions): Promise<ExecResult> {
    this.execs.push(options === undefined ? { command } : { command, options });
    this.counters.execs++;
    this.counters.channelOpens++;
    const answer = await this.answerOf(command, options);
    return typeof answer === 'string' ? result({ stdout: answer }) : result(answer);
  }

  async upload(remotePath: string, content: string | Buffer, options?: UploadOptions): Promise<void> {
    if (this.options.uploads === 'refuse') throw new Error(`no upload expected (${remotePath})`);
    this.uploads.push({ path: remotePath, content: content.toString(), ...(options ? { options } : {}) });
    this.counters.channelOpens++;
    this.counters.bytesUploaded += Buffer.byteLength(content);
  }

  async close(): Promise<void> {
    this.closed = true;
  }

  private answerOf(command: string, options?: ExecOptions): FakeAnswer | Promise<FakeAnswer> {
    const answer = this.options.answer;
    if (typeof answer === 'function') return answer(command, options);
    const hit = answer?.find(([pattern]) => pattern.test(command))?.[1] ?? this.options.unmatched ?? '';
    return typeof hit === 'function' ? hit(command, options) : hit;
  }
}

function result(r: Partial<ExecResult>): ExecResult {
  return { exitCode: 0, stdout: '', stderr: '', durationMs: 1, ...r };
}

export function fakeConnection(options: FakeConnectionOptions = {}): FakeConnection {
  return new FakeConnection(options);
}
