import type { CommandResult, FactSection } from './section.js';

/**
 * One fact: a read-only POSIX sh fragment and the parser of what it prints (pyinfra's model).
 * The fragment runs its commands through `hv_cmd LABEL CMD...` (see section.ts) so each command's
 * stdout, stderr and exit code reach `parse` separately.
 */
export interface FactDefinition<T> {
  name: string;
  /** The sh fragment. Read-only: no writes, no module loading, no service changes. */
  script: string;
  /** Throws FactUnavailable (or anything) when the section does not hold the fact; the caller records why. */
  parse(section: FactSection): T;
}

/** Thrown by a parser when its command is missing or failed; becomes `{ ok: false, reason }`. */
export class FactUnavailable extends Error {
  constructor(reason: string) {
    super(reason);
    this.name = 'FactUnavailable';
  }
}

export function findCommand(section: FactSection, label: string): CommandResult | undefined {
  return section.commands.find((c) => c.label === label);
}

/** Why a command gave nothing usable, in a few words, or null when it succeeded. */
export function commandProblem(cmd: CommandResult | undefined, label: string): string | null {
  if (!cmd) return `${label}: not run`;
  if (cmd.missing !== null) return `${cmd.missing}: command not found`;
  if (cmd.exitCode === null) return `${label}: output cut off`;
  if (cmd.exitCode === 124) return `${label}: timed out`;
  if (cmd.exitCode !== 0) {
    const firstErr = cmd.stderr.split('\n').find((l) => l.trim() !== '');
    return `${label}: exit ${cmd.exitCode}${firstErr ? `: ${firstErr.trim()}` : ''}`;
  }
  return null;
}

/** The command's stdout, or throws FactUnavailable saying why there is none. */
export function requireStdout(section: FactSection, label: string, options: { allowExit?: number[] } = {}): string {
  const cmd = findCommand(section, label);
  if (cmd && cmd.exitCode !== null && options.allowExit?.includes(cmd.exitCode)) return cmd.stdout;
  const problem = commandProblem(cmd, label);
  if (problem) throw new FactUnavailable(problem);
  return cmd!.stdout;
}

/** The command's stdout when it succeeded, else null. */
export function optionalStdout(section: FactSection, label: string): string | null {
  const cmd = findCommand(section, label);
  return commandProblem(cmd, label) === null ? cmd!.stdout : null;
}

/** Parses JSON or throws FactUnavailable naming the command. */
export function parseJson(text: string, label: string): unknown {
  try {
    return JSON.parse(text);
  } catch (error) {
    throw new FactUnavailable(`${label}: unreadable JSON (${(error as Error).message})`);
  }
}

/** `KEY=value` lines (os-release, drbdadm --version, timedatectl show), quotes removed. */
/**
 * Lines of `NAME key=value key=value...` (the listings the fact scripts print, one line per disk or NIC):
 * each NAME with its pairs. Lines without a pair are skipped. Pure.
 */
export function parseNamedPairs(text: string): Map<string, Map<string, string>> {
  const lines = new Map<string, Map<string, string>>();
  for (const line of text.split('\n')) {
    const [name, ...pairs] = line.trim().split(/\s+/);
    if (!name || pairs.length === 0) continue;
    lines.set(name, new Map(pairs.map((p) => [p.slice(0, p.indexOf('=')), p.slice(p.indexOf('=') + 1)] as const)));
  }
  return lines;
}

export function parseKeyValues(text: string): Map<string, string> {
  const map = new Map<string, string>();
  for (const line of text.split('\n')) {
    const m = /^\s*([A-Za-z_][\w]*)=(.*)$/.exec(line);
    if (!m) continue;
    let value = m[2]!.trim();
    if (value.length >= 2 && (value[0] === '"' || value[0] === "'") && value.endsWith(value[0]!)) {
      value = value.slice(1, -1).replace(/\\(["$`\\])/g, '$1');
    }
    map.set(m[1]!, value);
  }
  return map;
}

export function toNumberOrNull(value: unknown): number | null {
  if (typeof value === 'number' && Number.isFinite(value)) return value;
  if (typeof value === 'string' && value.trim() !== '' && Number.isFinite(Number(value))) return Number(value);
  return null;
}

export function stringOrNull(value: unknown): string | null {
  if (typeof value !== 'string') return null;
  const trimmed = value.trim();
  return trimmed === '' ? null : trimmed;
}

/** lsblk prints booleans as true/false in 2.38, "0"/"1" in older releases. */
export function boolOrNull(value: unknown): boolean | null {
  if (typeof value === 'boolean') return value;
  if (value === '1' || value === 1) return true;
  if (value === '0' || value === 0) return false;
  return null;
}
