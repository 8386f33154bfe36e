/**
 * The local transcript of a run: every command sent to every server, its exit code and output
 * (trimmed), uploads by path and size, all with secrets replaced by ***. Its path is printed at
 * the start and on failure.
 */
import { appendFileSync, mkdirSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, join } from 'node:path';
import { redact } from '../ssh/redact.js';
import { RemoteCommandError, STDERR_LINES_IN_MESSAGE } from '../errors.js';
import type { ExecOptions, ExecResult, ServerConnection, UploadOptions } from '../ssh/types.js';

const OUTPUT_LIMIT = 4000;

export function defaultLogDir(env: NodeJS.ProcessEnv): string {
  const state = env.XDG_STATE_HOME ?? join(env.HOME ?? homedir(), '.local', 'state');
  return join(state, 'hvcluster', 'logs');
}

export class RunLog {
  constructor(
    readonly path: string,
    private readonly secrets: string[],
  ) {
    this.secrets = [...secrets];
    mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
    appendFileSync(path, '', { mode: 0o600 });
  }

  /** A secret learnt during the run (the DRBD replication secret): redacted from here on. */
  addSecret(secret: string): void {
    if (secret !== '' && !this.secrets.includes(secret)) this.secrets.push(secret);
  }

  write(server: string, text: string): void {
    const stamp = new Date().toISOString();
    const body = redact(text, this.secrets).replace(/\n/g, `\n${' '.repeat(stamp.length + 1)}`);
    appendFileSync(this.path, `${stamp} [${server}] ${body}\n`);
  }

  /** The connection, with every exec and upload written to this log. */
  wrap(connection: ServerConnection): ServerConnection {
    const log = this;
    const server = connection.target.name;
    const clip = (text: string) => (text.length > OUTPUT_LIMIT ? `${text.slice(0, OUTPUT_LIMIT)}\n... (${text.length - OUTPUT_LIMIT} more characters)` : text);
    const shown = (text: string, secret: boolean | undefined) => (secret ? `(${Buffer.byteLength(text)} bytes, not recorded: it may hold secrets)` : clip(text.trimEnd()));
    return {
      target: connection.target,
      hostKeyFingerprint: connection.hostKeyFingerprint,
      counters: connection.counters,
      async exec(command: string, options: ExecOptions = {}): Promise<ExecResult> {
        log.write(server, `exec${options.sudo ? ' (sudo)' : ''}${options.step ? ` [${options.step}]` : ''}: ${options.logAs ?? command}`);
        try {
          const result = await connection.exec(command, options);
          log.write(
            server,
            `-> exit ${result.exitCode} in ${result.durationMs} ms` +
              (result.stdout.trim() ? `\nstdout: ${shown(result.stdout, options.secretOutput)}` : '') +
              (result.stderr.trim() ? `\nstderr: ${clip(result.stderr.trimEnd())}` : ''),
          );
          return result;
        } catch (error) {
          // The error's message keeps the first lines of stderr; the log keeps all of it (what failed says why further down).
          const full = error instanceof RemoteCommandError ? error.result : null;
          log.write(
            server,
            `-> failed: ${error instanceof Error ? error.message : String(error)}` +
              (full && full.stderr.trimEnd().split('\n').length > STDERR_LINES_IN_MESSAGE ? `\nstderr (all of it): ${clip(full.stderr.trimEnd())}` : '') +
              (full && full.stdout.trim() ? `\nstdout: ${shown(full.stdout, options.secretOutput)}` : ''),
          );
          throw error;
        }
      },
      async upload(remotePath: string, content: string | Buffer, options: UploadOptions = {}): Promise<void> {
        log.write(server, `upload ${remotePath} (${Buffer.byteLength(content)} bytes, mode ${(options.mode ?? 0o644).toString(8)}${options.owner ? `, owner ${options.owner}` : ''})`);
        await connection.upload(remotePath, content, options);
      },
      ...(connection.openUnixSocket
        ? {
            openUnixSocket: async (path: string) => {
              log.write(server, `open the Unix socket ${path} (SSH streamlocal forwarding)`);
              return connection.openUnixSocket!(path);
            },
          }
        : {}),
      close: () => connection.close(),
    };
  }
}
