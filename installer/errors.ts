/**
 * Error classes of hvcluster and the exit code each maps to.
 *
 * Every error a user can cause or meet carries three things: what failed, why, and what to try
 * next (`hint`). Anything that is not an HvError is a bug and exits with EXIT.internal.
 */

/** Process exit codes, documented in the README. */
export const EXIT = {
  ok: 0,
  /** The command ran, and what it checked is not healthy (verify errors, preflight findings, unreachable servers in inspect). */
  checksFailed: 1,
  /** The command line is wrong: unknown flag, missing argument, wizard asked for without a TTY. */
  usage: 2,
  /** The answer file (or another input file) is invalid. */
  config: 3,
  /** A server could not be reached or refused us: connection, host key, authentication, sudo. */
  connection: 4,
  /** A command on a server failed. */
  remote: 5,
  /** Interrupted by the user (Ctrl-C). */
  interrupted: 130,
  /** A bug in hvcluster. */
  internal: 70,
} as const;

export type ExitCode = (typeof EXIT)[keyof typeof EXIT];

export interface HvErrorOptions {
  /** What to try next, in one sentence. */
  hint?: string;
  cause?: unknown;
}

export abstract class HvError extends Error {
  abstract readonly exitCode: ExitCode;
  /** A stable, machine-readable class name for JSON output. */
  abstract readonly kind: string;
  readonly hint?: string;

  constructor(message: string, options: HvErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = new.target.name;
    this.hint = options.hint;
  }

  /** The object printed for this error in JSON mode. */
  toJSON(): Record<string, unknown> {
    return { kind: this.kind, message: this.message, ...(this.hint ? { hint: this.hint } : {}) };
  }
}

export class UsageError extends HvError {
  readonly exitCode = EXIT.usage;
  readonly kind = 'usage';
}

export class ConfigError extends HvError {
  readonly exitCode = EXIT.config;
  readonly kind = 'config';
}

/** The server could not be reached, or the connection broke. Retried with backoff where it makes sense. */
export class ConnectionError extends HvError {
  readonly exitCode = EXIT.connection;
  readonly kind: string = 'connection';
  constructor(
    readonly server: string,
    message: string,
    options: HvErrorOptions & { retryable?: boolean } = {},
  ) {
    super(`${server}: ${message}`, options);
    this.retryable = options.retryable ?? false;
  }
  readonly retryable: boolean;
  override toJSON() {
    return { ...super.toJSON(), server: this.server, retryable: this.retryable };
  }
}

/** The server's host key is unknown (and cannot be accepted here) or has changed. Never retried. */
export class HostKeyError extends ConnectionError {
  override readonly kind = 'host-key';
  constructor(
    server: string,
    message: string,
    readonly fingerprint: string,
    readonly changed: boolean,
    options: HvErrorOptions = {},
  ) {
    super(server, message, { ...options, retryable: false });
  }
  override toJSON() {
    return { ...super.toJSON(), fingerprint: this.fingerprint, changed: this.changed };
  }
}

/** The server refused our credentials (or sudo did). Never retried. */
export class AuthError extends ConnectionError {
  override readonly kind = 'auth';
  constructor(server: string, message: string, options: HvErrorOptions = {}) {
    super(server, message, { ...options, retryable: false });
  }
}

/** Lines of text kept at most in an error message; the full text stays on the error. */
export const STDERR_LINES_IN_MESSAGE = 5;

export function firstLines(text: string, count = STDERR_LINES_IN_MESSAGE): string {
  const lines = text.replace(/\s+$/, '').split('\n');
  const head = lines.slice(0, count).join('\n');
  return lines.length > count ? `${head}\n... (${lines.length - count} more lines)` : head;
}

/** A command on a server exited non-zero, timed out or was cut off. */
export class RemoteCommandError extends HvError {
  readonly exitCode = EXIT.remote;
  readonly kind = 'remote';
  constructor(
    readonly server: string,
    readonly command: string,
    readonly result: { exitCode: number | null; signal?: string; stdout: string; stderr: string },
    options: HvErrorOptions & { step?: string; reason?: string } = {},
  ) {
    const where = options.step ? `${server}: step "${options.step}"` : server;
    const why =
      options.reason ??
      (result.exitCode === null ? `was killed${result.signal ? ` by ${result.signal}` : ''}` : `exited with ${result.exitCode}`);
    const stderr = result.stderr.trim() ? `\n${indent(firstLines(result.stderr))}` : ' (no stderr)';
    super(`${where}: command \`${oneLine(command)}\` ${why}${stderr}`, options);
    this.step = options.step;
  }
  readonly step?: string;
  override toJSON() {
    return {
      ...super.toJSON(),
      server: this.server,
      step: this.step,
      command: this.command,
      exitCode: this.result.exitCode,
      stderr: this.result.stderr,
    };
  }
}

/** Checks ran and found problems (verify, preflight). */
export class ChecksFailedError extends HvError {
  readonly exitCode = EXIT.checksFailed;
  readonly kind = 'checks-failed';
}

function oneLine(command: string, max = 120): string {
  const flat = command.replace(/\s*\n\s*/g, '; ');
  return flat.length > max ? `${flat.slice(0, max - 3)}...` : flat;
}

function indent(text: string): string {
  return text
    .split('\n')
    .map((line) => `    ${line}`)
    .join('\n');
}

export function exitCodeOf(error: unknown): ExitCode {
  return error instanceof HvError ? error.exitCode : EXIT.internal;
}
