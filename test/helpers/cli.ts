/**
 * The real hvcluster CLI as a child process on this machine, for integration tests (the lab's
 * e2e tests use helpers/hvcluster.ts, which runs it inside a lab's namespace).
 *
 *   const r = await runCli(['inspect', '--json', ...], { HOME: tmp });
 *   const t = await atTerminal(`exec node ${BIN} inspect ...`, (screen) => screen.includes('[y/N]') ? 'y\r' : undefined);
 */
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';

export const BIN = fileURLToPath(new URL('../../bin/hvcluster.js', import.meta.url));

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs `node bin/hvcluster.js ARGS` without a terminal (CI set, no colour); never throws on its exit code. */
export function runCli(args: string[], env: NodeJS.ProcessEnv = {}): Promise<CliResult> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [BIN, ...args], { env: { ...process.env, NO_COLOR: '1', CI: 'true', ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c) => (stdout += c));
    child.stderr.on('data', (c) => (stderr += c));
    child.on('close', (code) => resolve({ code: code ?? -1, stdout, stderr }));
  });
}

/**
 * Runs a shell command line at a terminal (util-linux's script(1)), without CI in the environment,
 * and answers it: `respond` sees the screen so far after each output and returns what to type, once.
 * Resolves with the exit code, the screen, and whether it answered.
 */
export async function atTerminal(command: string, respond: (screen: string) => string | undefined, timeoutMs = 20_000): Promise<{ code: number | null; screen: string; answered: boolean }> {
  const { CI: _ci, CONTINUOUS_INTEGRATION: _ci2, ...env } = process.env;
  const child = spawn('script', ['-qec', command, '/dev/null'], { env: { ...env, NO_COLOR: '1', TERM: 'xterm' }, stdio: ['pipe', 'pipe', 'pipe'] });
  let screen = '';
  let answered = false;
  const killer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
  child.stdout.on('data', (chunk) => {
    screen += chunk;
    if (answered) return;
    const keys = respond(screen);
    if (keys !== undefined) {
      answered = true;
      child.stdin.write(keys);
    }
  });
  const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
  clearTimeout(killer);
  return { code, screen, answered };
}
