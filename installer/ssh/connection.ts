/**
 * One live SSH connection to one server: commands multiplexed as channels (at most
 * `maxChannels` at a time, below sshd's MaxSessions), sudo, timeouts, atomic uploads.
 */
import type { Duplex, Readable } from 'node:stream';
import { StringDecoder } from 'node:string_decoder';
import type { Client, ClientChannel } from 'ssh2';
import { AuthError, ConnectionError, RemoteCommandError } from '../errors.js';
import { shellQuote } from './quote.js';
import { redact } from './redact.js';
import { withRemoteTimeout } from './remote-timeout.js';
import { ChannelBudget } from './channel-budget.js';
import { classifySudoFailure, commandLabel, sudoCommand, sudoRefusal, sudoStdin, type SudoMode } from './sudo.js';
import type { ExecOptions, ExecResult, ServerConnection, SshCounters, SshTarget, UploadOptions } from './types.js';

export const DEFAULT_EXEC_TIMEOUT_MS = 120_000;
export const DEFAULT_MAX_CHANNELS = 6;

export interface ConnectionSettings {
  /** Channels open at the same time (default 6; sshd's MaxSessions defaults to 10). */
  maxChannels?: number;
  /** Default exec timeout (default 120 s). */
  execTimeoutMs?: number;
  /**
   * A refused channel open ("Channel open failure") is retried while channels on the connection keep
   * opening or closing; it fails after this long without any (default 5 s).
   */
  channelOpenRetryMs?: number;
}

export function newCounters(): SshCounters {
  return { handshakes: 0, channelOpens: 0, execs: 0, bytesUploaded: 0 };
}

function isReadable(stdin: ExecOptions['stdin']): stdin is Readable {
  return typeof stdin === 'object' && stdin !== null && !Buffer.isBuffer(stdin) && typeof (stdin as Readable).pipe === 'function';
}

function isChannelOpenFailure(error: unknown): boolean {
  return error instanceof Error && /Channel open failure/i.test(error.message);
}

interface Running {
  /** How messages name the command (commandLabel). */
  command: string;
  fail: (error: Error) => void;
}

export class SshConnection implements ServerConnection {
  private readonly channels: ChannelBudget;
  private readonly running = new Set<Running>();
  private lost: Error | undefined;
  private closing = false;
  private sudoMode: Promise<SudoMode> | undefined;
  private readonly execTimeoutMs: number;

  constructor(
    readonly target: SshTarget,
    private readonly client: Client,
    /** Jump-host clients, outermost first; closed after this one. */
    private readonly hops: Client[],
    readonly hostKeyFingerprint: string,
    readonly counters: SshCounters,
    settings: ConnectionSettings = {},
  ) {
    this.execTimeoutMs = settings.execTimeoutMs ?? DEFAULT_EXEC_TIMEOUT_MS;
    this.channels = new ChannelBudget(settings.maxChannels ?? DEFAULT_MAX_CHANNELS, settings.channelOpenRetryMs ?? 5_000);
    const onGone = (why: string) => {
      if (this.lost) return;
      this.lost = new Error(why);
      for (const r of [...this.running]) {
        r.fail(new ConnectionError(this.target.name, `connection to ${this.target.name} lost while running ${r.command} (${why})`, { retryable: true }));
      }
    };
    client.on('error', (err: Error) => onGone(err.message));
    client.on('close', () => onGone(this.closing ? 'closed by hvcluster' : 'the server closed the connection'));
    client.on('end', () => onGone(this.closing ? 'closed by hvcluster' : 'the server ended the connection'));
    for (const hop of hops) {
      hop.on('error', (err: Error) => onGone(`jump host: ${err.message}`));
      hop.on('close', () => onGone(this.closing ? 'closed by hvcluster' : 'the jump host connection closed'));
    }
  }

  /** Why the connection is gone, if it is (a method, so that TypeScript does not narrow across awaits). */
  private lostError(): Error | undefined {
    return this.lost;
  }

  /** Whether the connection is still usable. */
  get alive(): boolean {
    return this.lost === undefined;
  }

  private secrets(): string[] {
    return [this.target.sudoPassword, this.target.password, this.target.passphrase].filter((s): s is string => !!s);
  }

  async exec(command: string, options: ExecOptions = {}): Promise<ExecResult> {
    const timeoutMs = options.timeoutMs ?? this.execTimeoutMs;
    const body = withRemoteTimeout(command, timeoutMs);
    const asRoot = options.sudo === true && this.target.user !== 'root';
    if (!asRoot) return this.run(body, command, options.stdin, { ...options, timeoutMs });

    const mode = await this.resolveSudoMode();
    const wrapped = sudoCommand(body, mode);
    const stdin = mode === 'password' ? sudoStdin(this.target.sudoPassword!, options.stdin) : options.stdin;
    const result = await this.run(wrapped, command, stdin, { ...options, timeoutMs, allowFailure: true });
    const failure = classifySudoFailure(result.exitCode, result.stderr);
    if (failure) throw this.sudoError(failure, command, options.step);
    if (result.exitCode !== 0 && !options.allowFailure) throw this.commandError(command, result, options);
    return result;
  }

  /**
   * Whether sudo needs the password. Without a sudo password there is nothing to decide (`-n`);
   * with one, a single `sudo -n true` tells whether NOPASSWD applies, so that the password line is
   * never fed to a command that sudo did not ask it for.
   */
  private resolveSudoMode(): Promise<SudoMode> {
    if (this.target.sudoPassword === undefined) return Promise.resolve('nopasswd');
    // The probe changes nothing: a channel an overloaded server closed without an exit status is asked again, once.
    const probe = () => this.run('sudo -n true', 'sudo -n true', undefined, { allowFailure: true, timeoutMs: 30_000 });
    this.sudoMode ??= probe().catch((error: unknown) => (error instanceof ConnectionError && error.retryable && !this.lost ? probe() : Promise.reject(error))).then(
      (r) => (r.exitCode === 0 ? 'nopasswd' : 'password'),
      (error: unknown) => {
        this.sudoMode = undefined;
        throw error;
      },
    );
    return this.sudoMode;
  }

  private sudoError(failure: NonNullable<ReturnType<typeof classifySudoFailure>>, command: string, step?: string): AuthError {
    const { message, hint } = sudoRefusal(failure, this.target.user, this.target.name, commandLabel(redact(command, this.secrets()), step));
    return new AuthError(this.target.name, message, { hint });
  }

  private commandError(command: string, result: ExecResult, options: ExecOptions, reason?: string): RemoteCommandError {
    const secrets = this.secrets();
    return new RemoteCommandError(
      this.target.name,
      redact(command, secrets),
      {
        exitCode: result.exitCode,
        ...(result.signal ? { signal: result.signal } : {}),
        stdout: redact(result.stdout, secrets),
        stderr: redact(result.stderr, secrets),
      },
      { ...(options.step ? { step: options.step } : {}), ...(reason ? { reason } : {}) },
    );
  }

  /** Opens a channel (queued, retried on "Channel open failure"), runs `wire`, collects the result. */
  private async run(
    wire: string,
    shown: string,
    stdin: ExecOptions['stdin'],
    options: ExecOptions,
  ): Promise<ExecResult> {
    if (this.lost) {
      throw new ConnectionError(this.target.name, `connection to ${this.target.name} is closed (${this.lost.message}); cannot run ${commandLabel(shown, options.step)}`, {
        retryable: true,
      });
    }
    // The channel slot held by this command; given back while a refused open waits for another turn.
    let release: (() => void) | undefined = await this.channels.acquire();
    const releaseOnce = () => {
      const r = release;
      release = undefined;
      r?.();
    };
    const lostMeanwhile = this.lostError();
    if (lostMeanwhile) {
      releaseOnce();
      throw new ConnectionError(this.target.name, `connection to ${this.target.name} lost before running ${commandLabel(shown, options.step)} (${lostMeanwhile.message})`, {
        retryable: true,
      });
    }
    const timeoutMs = options.timeoutMs ?? this.execTimeoutMs;
    const started = Date.now();

    return new Promise<ExecResult>((resolve, reject) => {
      let settled = false;
      let channel: ClientChannel | undefined;
      let timer: NodeJS.Timeout | undefined;
      const stdout: Buffer[] = [];
      const stderr: Buffer[] = [];
      let exitCode: number | null = null;
      let signal: string | undefined;
      let gotExit = false;
      const entry: Running = { command: commandLabel(shown, options.step), fail: (e) => finish(e) };

      const result = (): ExecResult => ({
        exitCode,
        ...(signal ? { signal } : {}),
        stdout: Buffer.concat(stdout).toString('utf8'),
        stderr: Buffer.concat(stderr).toString('utf8'),
        durationMs: Date.now() - started,
      });

      const finish = (error?: Error, value?: ExecResult) => {
        if (settled) return;
        settled = true;
        if (timer) clearTimeout(timer);
        this.running.delete(entry);
        if (error) reject(error);
        else resolve(value!);
      };

      this.running.add(entry);
      // timeoutMs 0: no timeout (a command held open on purpose, as the cluster lock is).
      if (timeoutMs > 0) timer = setTimeout(() => {
        const secs = Math.round(timeoutMs / 100) / 10;
        if (channel) {
          // No `signal` request: ssh2 sends it only while our side of the channel is writable (stdin
          // is ended at once), and sshd's killpg as the login user could not stop sudo'd commands.
          // The command is stopped on the server by withRemoteTimeout instead.
          channel.close();
          // sshd may keep a session slot until the command exits: hold ours a little longer.
          setTimeout(releaseOnce, 2_000).unref();
        } else {
          releaseOnce();
        }
        finish(this.commandError(shown, result(), options, `timed out after ${secs} s`));
      }, Math.min(timeoutMs, 2 ** 31 - 1));

      const open = async () => {
        const since = Date.now();
        for (let attempt = 0; ; attempt++) {
          try {
            const ch = await new Promise<ClientChannel>((res, rej) => {
              this.counters.execs++;
              this.client.exec(wire, (err, ch) => (err ? rej(err) : res(ch)));
            });
            this.channels.opened();
            return ch;
          } catch (error) {
            if (settled || this.lost) throw error;
            if (!isChannelOpenFailure(error) || this.channels.stalled(since)) throw error;
            // Past the server's session limit: learn it, give the slot back, and try again when a
            // channel of this connection has finished (or after a short backoff).
            this.channels.refused();
            releaseOnce();
            await this.channels.waitForProgress(Math.min(50 * 2 ** attempt, 500));
            const slot = await this.channels.acquire({ first: true });
            if (settled || this.lost) {
              slot();
              throw error;
            }
            release = slot;
          }
        }
      };

      open().then(
        (ch) => {
          this.counters.channelOpens++;
          channel = ch;
          let closed = false;
          ch.once('close', () => {
            if (!closed) this.channels.closed();
            closed = true;
          });
          if (settled) {
            ch.close();
            releaseOnce();
            return;
          }
          const decoder = new StringDecoder('utf8');
          ch.on('data', (chunk: Buffer) => {
            stdout.push(chunk);
            if (options.onStdout) {
              const text = decoder.write(chunk);
              if (text) options.onStdout(text);
            }
          });
          ch.stderr.on('data', (chunk: Buffer) => stderr.push(chunk));
          ch.on('exit', (code: number | null, sig?: string) => {
            gotExit = true;
            if (typeof code === 'number') exitCode = code;
            if (sig) signal = sig;
          });
          ch.on('close', () => {
            releaseOnce();
            if (settled) return;
            if (!gotExit) {
              // Closed without an exit status: the connection probably died. Let its events land first.
              setTimeout(() => {
                if (settled) return;
                if (this.lost) entry.fail(new ConnectionError(this.target.name, `connection to ${this.target.name} lost while running ${commandLabel(shown, options.step)} (${this.lost.message})`, { retryable: true }));
                // The session broke without the connection going down (seen on overloaded servers):
                // retryable like a lost connection, since nobody knows whether the command finished.
                else entry.fail(new ConnectionError(this.target.name, `the server closed the channel of ${commandLabel(shown, options.step)} without an exit status`, { retryable: true }));
              }, 50);
              return;
            }
            const r = result();
            if (r.exitCode !== 0 && !options.allowFailure) finish(this.commandError(shown, r, options));
            else finish(undefined, r);
          });
          if (isReadable(stdin)) stdin.pipe(ch);
          else if (stdin !== undefined) ch.end(stdin);
          else ch.end();
        },
        (error: unknown) => {
          releaseOnce();
          if (settled) return;
          const msg = error instanceof Error ? error.message : String(error);
          finish(
            this.lost
              ? new ConnectionError(this.target.name, `connection to ${this.target.name} lost while running ${commandLabel(shown, options.step)} (${this.lost.message})`, { retryable: true })
              : new ConnectionError(this.target.name, `could not open a channel on ${this.target.name} to run ${commandLabel(shown, options.step)}: ${msg}`, { retryable: true, cause: error }),
          );
        },
      );
    });
  }

  async upload(remotePath: string, content: string | Buffer, options: UploadOptions = {}): Promise<void> {
    const data = typeof content === 'string' ? Buffer.from(content, 'utf8') : content;
    const command = uploadCommand(remotePath, options);
    await this.exec(command, { stdin: data, ...(options.sudo !== undefined ? { sudo: options.sudo } : {}), step: `upload ${remotePath}` });
    this.counters.bytesUploaded += data.length;
  }

  /**
   * A byte stream to a Unix socket on the server, opened as the login user (OpenSSH's streamlocal
   * forwarding, allowed unless sshd_config says AllowStreamLocalForwarding no): how the installer
   * talks NBD to a qemu-nbd on a node without a TCP port or a copy on the node's disk.
   */
  async openUnixSocket(path: string): Promise<Duplex> {
    const lost = this.lostError();
    if (lost) throw new ConnectionError(this.target.name, `connection lost before opening ${path} (${lost.message})`, { retryable: true });
    return new Promise((resolve, reject) => {
      this.client.openssh_forwardOutStreamLocal(path, (err, stream) => {
        if (err) {
          reject(
            new ConnectionError(this.target.name, `could not open the Unix socket ${path} through SSH: ${err.message}`, {
              hint: 'the SSH user must be able to open it, and sshd must allow it (AllowStreamLocalForwarding, on by default)',
            }),
          );
          return;
        }
        this.counters.channelOpens += 1;
        resolve(stream);
      });
    });
  }

  async close(): Promise<void> {
    if (this.closing) return;
    this.closing = true;
    const clients = [this.client, ...[...this.hops].reverse()];
    for (const c of clients) await endClient(c);
  }
}

/** Ends an ssh2 client and waits for its socket to close (at most 2 s). */
export function endClient(client: Client): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      clearTimeout(timer);
      resolve();
    };
    const timer = setTimeout(() => {
      client.destroy();
      resolve();
    }, 2_000);
    client.once('close', done);
    try {
      client.end();
    } catch {
      done();
    }
  });
}

/**
 * The one command of an atomic upload: a temp file next to the destination, mode and owner set
 * explicitly (not left to the umask), then renamed over the destination.
 */
export function uploadCommand(remotePath: string, options: UploadOptions = {}): string {
  if (!remotePath.startsWith('/')) throw new Error(`upload needs an absolute remote path, got ${remotePath}`);
  const slash = remotePath.lastIndexOf('/');
  const dir = slash === 0 ? '/' : remotePath.slice(0, slash);
  const base = remotePath.slice(slash + 1);
  if (base === '') throw new Error(`upload needs a file path, got ${remotePath}`);
  const mode = options.mode ?? 0o644;
  if (!Number.isInteger(mode) || mode < 0 || mode > 0o7777) throw new Error(`upload mode must be between 0 and 0o7777, got ${mode}`);
  const template = `${dir === '/' ? '' : dir}/.${base}.hvtmp.XXXXXX`;
  const steps = ['cat > "$t"'];
  steps.push(`chmod ${mode.toString(8).padStart(4, '0')} "$t"`);
  if (options.owner) steps.push(`chown ${shellQuote(options.owner)} "$t"`);
  steps.push(`mv -f "$t" ${shellQuote(remotePath)}`);
  return `umask 077; t=$(mktemp ${shellQuote(template)}) || exit 1; { ${steps.join(' && ')}; } || { rc=$?; rm -f "$t"; exit $rc; }`;
}
