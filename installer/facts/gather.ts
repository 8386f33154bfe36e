import { RemoteCommandError } from '../errors.js';
import { shellQuote } from '../ssh/quote.js';
import type { ServerConnection } from '../ssh/types.js';
import { FactUnavailable } from './fact.js';
import { FACTS, FACT_NAMES } from './registry.js';
import { MARK, PRELUDE, splitOutput, wrapFragment } from './section.js';
import type { Fact, FactName, ServerFacts } from './types.js';

/**
 * The whole read-only inspection as one POSIX sh script (each fact in its own subshell).
 * `alsoRun`, another read-only script, runs in the same round trip after the facts (its output,
 * after the last fact, is ignored by parseFactsOutput).
 */
export function factsScript(alsoRun = ''): string {
  const parts = [`# hvcluster facts: read-only inspection, one section per fact\n${PRELUDE}`];
  for (const name of FACT_NAMES) {
    if (FACTS[name].name !== name) throw new Error(`fact ${name} is registered as ${FACTS[name].name}`);
    parts.push(wrapFragment(name, FACTS[name].script));
  }
  if (alsoRun !== '') parts.push(`( ${alsoRun}\n)`);
  parts.push(`printf '${MARK.done}\\n'\nexit 0\n`);
  return parts.join('\n');
}

/** The command sent over SSH: `sh -c` so the user's login shell (bash, zsh, fish) does not matter. */
export function factsCommand(alsoRun = ''): string {
  return `sh -c ${shellQuote(factsScript(alsoRun))}`;
}

/**
 * Parses the script's stdout into ServerFacts. Pure; never throws: a fact whose section is missing,
 * whose command failed or whose parser choked is `{ ok: false, reason }` and the others stand.
 */
export function parseFactsOutput(stdout: string): ServerFacts {
  const { sections, complete } = splitOutput(stdout);
  const raw: Record<string, string> = {};
  const result: Partial<Record<FactName, Fact<unknown>>> = {};
  for (const name of FACT_NAMES) {
    const section = sections.get(name);
    if (!section) {
      result[name] = { ok: false, reason: complete ? 'no section in the output' : 'output cut off before this fact' };
      continue;
    }
    raw[name] = section.raw;
    try {
      result[name] = { ok: true, value: (FACTS[name].parse as (s: typeof section) => unknown)(section) };
    } catch (error) {
      const reason = error instanceof FactUnavailable ? error.message : `could not parse: ${(error as Error).message}`;
      result[name] = { ok: false, reason };
    }
  }
  return { ...(result as Omit<ServerFacts, 'raw' | 'timing'>), raw };
}

export interface GatherOptions {
  /** A read-only script to run in the same round trip (see factsScript); its output is in `stdout` of gatherFactsAndRun. */
  alsoRun?: string;
  /** Default 180 s: the script takes well under a second on a server (seconds on an emulated VM); slow disks or DNS are capped inside it. */
  timeoutMs?: number;
  /** The alsoRun script prints secrets (e.g. DRBD files): the run log keeps only the output's size. */
  secretOutput?: boolean;
}

/**
 * Inspects one server with ONE exec (as root: wipefs and the zero checks need it).
 * Connection and sudo failures throw (ConnectionError, AuthError, RemoteCommandError); a fact that
 * cannot be read does not.
 */
export async function gatherFacts(conn: ServerConnection, options: GatherOptions = {}): Promise<ServerFacts> {
  return (await gatherFactsAndRun(conn, options)).facts;
}

/** What a script run printed, with when its clock section arrived (for the skew estimate). */
export interface TimedOutput {
  stdout: string;
  startedAtMs: number;
  finishedAtMs: number;
  clockReadByMs?: number;
  durationMs: number;
}

/** Notes when the clock section (the first) has arrived in a stream of stdout chunks. */
export function clockWatch(): { onStdout(chunk: string): void; readBy(): number | undefined } {
  const clockEnd = `${MARK.end} clock `;
  let head = '';
  let at: number | undefined;
  return {
    onStdout(chunk) {
      if (at !== undefined) return;
      head += chunk;
      if (head.includes(clockEnd)) at = Date.now();
    },
    readBy: () => at,
  };
}

/** The facts of a facts script's output, with the clock skew estimated from when it was read. */
export function factsOfOutput(out: TimedOutput): ServerFacts {
  const facts = parseFactsOutput(out.stdout);
  const midpointSeconds = (out.startedAtMs + (out.clockReadByMs ?? out.finishedAtMs)) / 2000;
  facts.timing = {
    startedAtMs: out.startedAtMs,
    finishedAtMs: out.finishedAtMs,
    ...(out.clockReadByMs !== undefined ? { clockReadByMs: out.clockReadByMs } : {}),
    durationMs: out.durationMs,
    estimatedSkewSeconds: facts.clock.ok ? facts.clock.value.epochSeconds - midpointSeconds : null,
  };
  return facts;
}

/** gatherFacts, also returning the whole output (for the `alsoRun` script's part). */
export async function gatherFactsAndRun(conn: ServerConnection, options: GatherOptions = {}): Promise<{ facts: ServerFacts; stdout: string }> {
  const command = factsCommand(options.alsoRun);
  const startedAtMs = Date.now();
  // The clock is the first section: note when it has arrived, while the rest of the script still runs.
  const clock = clockWatch();
  const result = await conn.exec(command, {
    onStdout: clock.onStdout,
    sudo: true,
    allowFailure: true,
    timeoutMs: options.timeoutMs ?? 180_000,
    step: 'inspect',
    ...(options.secretOutput ? { secretOutput: true } : {}),
  });
  const finishedAtMs = Date.now();
  if (!result.stdout.includes(`${MARK.fact} `)) {
    // Not one section: the script did not run at all (sudo refused, no sh...).
    throw new RemoteCommandError(conn.target.name, 'sh -c <facts script>', result, {
      step: 'inspect',
      reason: result.exitCode === 0 ? 'printed no facts' : undefined,
      hint: 'Check that the user can run `sudo sh` on the server and that /bin/sh exists.',
    });
  }
  const readBy = clock.readBy();
  const facts = factsOfOutput({ stdout: result.stdout, startedAtMs, finishedAtMs, durationMs: result.durationMs, ...(readBy !== undefined ? { clockReadByMs: readBy } : {}) });
  return { facts, stdout: result.stdout };
}
