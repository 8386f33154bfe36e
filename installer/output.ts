/**
 * Where output goes: results on stdout, progress and logs on stderr. Colour only when the stream is a
 * TTY and NO_COLOR is unset (https://no-color.org).
 */
import type { Writable } from 'node:stream';

export interface Streams {
  stdout: Writable & { isTTY?: boolean };
  stderr: Writable & { isTTY?: boolean };
  env: NodeJS.ProcessEnv;
  /** The working directory relative paths are taken from (default: the process's). */
  cwd?: string;
}

export function processStreams(): Streams {
  return { stdout: process.stdout, stderr: process.stderr, env: process.env };
}

export function colourEnabled(stream: { isTTY?: boolean }, env: NodeJS.ProcessEnv): boolean {
  return Boolean(stream.isTTY) && env.NO_COLOR === undefined && env.TERM !== 'dumb';
}

export type Style = (text: string) => string;

export interface Palette {
  bold: Style;
  dim: Style;
  red: Style;
  green: Style;
  yellow: Style;
}

const plain: Style = (text) => text;
const sgr =
  (open: number, close: number): Style =>
  (text) =>
    `\u001b[${open}m${text}\u001b[${close}m`;

export function palette(enabled: boolean): Palette {
  if (!enabled) return { bold: plain, dim: plain, red: plain, green: plain, yellow: plain };
  return { bold: sgr(1, 22), dim: sgr(2, 22), red: sgr(31, 39), green: sgr(32, 39), yellow: sgr(33, 39) };
}

/** Progress and diagnostics, on stderr. */
export class Reporter {
  readonly colours: Palette;
  constructor(
    private readonly streams: Streams,
    private readonly quiet = false,
  ) {
    this.colours = palette(colourEnabled(streams.stderr, streams.env));
  }
  info(message: string): void {
    if (!this.quiet) this.streams.stderr.write(`${message}\n`);
  }
  warn(message: string): void {
    this.streams.stderr.write(`${this.colours.yellow('warning:')} ${message}\n`);
  }
  error(message: string, hint?: string): void {
    this.streams.stderr.write(`${this.colours.red('error:')} ${message}\n`);
    if (hint) this.hint(hint);
  }
  hint(message: string): void {
    this.streams.stderr.write(`${this.colours.dim('hint:')} ${message}\n`);
  }
}

/** A fixed-width text progress bar's two parts (done, to do): the wizard's and apply's live line. */
export function barParts(percent: number, width: number): { done: string; rest: string } {
  const done = Math.max(0, Math.min(width, Math.round((percent / 100) * width)));
  return { done: '█'.repeat(done), rest: '░'.repeat(width - done) };
}
