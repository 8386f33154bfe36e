/** Runs the real hvcluster CLI inside a lab's network namespace, as an integrator would. */
import { spawn } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { netnsName } from '../lab/config.js';
import { run, type RunResult } from '../lab/util.js';

export const BIN = fileURLToPath(new URL('../../bin/hvcluster.js', import.meta.url));

export interface HvclusterRun extends RunResult {
  /** The XDG state directory of this run (run logs, journal). */
  stateDir: string;
}

/** The CLI's environment in tests: its own state directory (run logs, journal), no colours, CI's non-interactive output. */
const cliEnv = (stateDir: string): NodeJS.ProcessEnv => ({ ...process.env, XDG_STATE_HOME: stateDir, NO_COLOR: '1', CI: 'true' });

export async function hvcluster(lab: string, args: string[], options: { timeoutMs?: number; stateDir?: string; env?: NodeJS.ProcessEnv } = {}): Promise<HvclusterRun> {
  const stateDir = options.stateDir ?? mkdtempSync(join(tmpdir(), 'hvcluster-state-'));
  const result = await run(['ip', 'netns', 'exec', netnsName(lab), process.execPath, BIN, ...args], {
    allowFail: true,
    timeoutMs: options.timeoutMs ?? 30 * 60_000,
    env: { ...cliEnv(stateDir), ...options.env },
  });
  return { ...result, stateDir };
}

/** The engine events of a `--json` apply. */
export function events(stdout: string): { type: string; [key: string]: unknown }[] {
  return stdout
    .split('\n')
    .filter((line) => line.startsWith('{'))
    .map((line) => JSON.parse(line) as { type: string });
}

/**
 * Runs the CLI like `hvcluster`, and sends it SIGINT (an integrator's Ctrl-C) as soon as its stderr
 * satisfies `when`; throws when that does not happen within `untilMs`. `interruptedAt`: the length of
 * stderr when it was sent (what follows is what the run said after the Ctrl-C).
 */
export async function hvclusterInterrupted(
  lab: string,
  args: string[],
  options: { when: (stderr: string) => boolean; untilMs: number; what: string },
): Promise<{ code: number | null; stdout: string; stderr: string; interruptedAt: number }> {
  const child = spawn('ip', ['netns', 'exec', netnsName(lab), process.execPath, BIN, ...args], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: cliEnv(mkdtempSync(join(tmpdir(), 'hvcluster-state-'))),
  });
  let stdout = '';
  let stderr = '';
  let interruptedAt = -1;
  child.stdout!.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  const code = await new Promise<number | null>((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGINT');
      reject(new Error(`hvcluster ${args[0]} did not reach ${options.what} within ${Math.round(options.untilMs / 1000)} s:\n${stderr.slice(-2000)}`));
    }, options.untilMs);
    child.stderr!.on('data', (chunk: Buffer) => {
      stderr += chunk.toString();
      if (interruptedAt < 0 && options.when(stderr)) {
        clearTimeout(timer);
        interruptedAt = stderr.length;
        child.kill('SIGINT');
      }
    });
    child.on('close', (exit) => {
      clearTimeout(timer);
      resolve(exit);
    });
  });
  return { code, stdout, stderr, interruptedAt };
}
