/** Runs the real hvcluster CLI inside a lab's network namespace, as an integrator would. */
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

export async function hvcluster(lab: string, args: string[], options: { timeoutMs?: number; stateDir?: string; env?: NodeJS.ProcessEnv } = {}): Promise<HvclusterRun> {
  const stateDir = options.stateDir ?? mkdtempSync(join(tmpdir(), 'hvcluster-state-'));
  const result = await run(['ip', 'netns', 'exec', netnsName(lab), process.execPath, BIN, ...args], {
    allowFail: true,
    timeoutMs: options.timeoutMs ?? 30 * 60_000,
    env: { ...process.env, XDG_STATE_HOME: stateDir, NO_COLOR: '1', CI: 'true', ...options.env },
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
