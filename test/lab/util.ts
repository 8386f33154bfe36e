// Small process and file helpers shared by the lab modules.
import { spawn, type SpawnOptions } from 'node:child_process';
import { existsSync, readFileSync, readdirSync } from 'node:fs';

export interface RunResult {
  code: number;
  stdout: string;
  stderr: string;
}

export interface RunOptions {
  /** Feed this to stdin. */
  input?: string;
  /** Inherit stdio instead of capturing (stdout/stderr are then empty). */
  inherit?: boolean;
  /** Do not throw on a non-zero exit. */
  allowFail?: boolean;
  env?: NodeJS.ProcessEnv;
  cwd?: string;
  /** Kill the command after this many ms (code 124 then). */
  timeoutMs?: number;
}

export class CommandError extends Error {
  constructor(
    readonly argv: string[],
    readonly result: RunResult,
  ) {
    const tail = (result.stderr || result.stdout).trim().split('\n').slice(-15).join('\n');
    super(`command failed (exit ${result.code}): ${argv.join(' ')}\n${tail}`);
  }
}

/** Runs argv[0] with argv[1..] (no shell). Throws CommandError on non-zero exit unless allowFail. */
export function run(argv: string[], opts: RunOptions = {}): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const [cmd, ...args] = argv;
    if (!cmd) throw new Error('run: empty argv');
    const so: SpawnOptions = {
      stdio: opts.inherit ? ['inherit', 'inherit', 'inherit'] : ['pipe', 'pipe', 'pipe'],
      env: opts.env ?? process.env,
      cwd: opts.cwd,
    };
    const child = spawn(cmd, args, so);
    let stdout = '';
    let stderr = '';
    child.stdout?.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));
    if (!opts.inherit) {
      child.stdin?.on('error', () => {});
      child.stdin?.end(opts.input ?? '');
    }
    let timedOut = false;
    const timer = opts.timeoutMs
      ? setTimeout(() => {
          timedOut = true;
          child.kill('SIGKILL');
        }, opts.timeoutMs)
      : undefined;
    child.on('error', (e) => {
      if (timer) clearTimeout(timer);
      reject(new Error(`cannot run ${cmd}: ${e.message}`));
    });
    child.on('close', (code, signal) => {
      if (timer) clearTimeout(timer);
      const rc = timedOut ? 124 : (code ?? (signal ? 128 + 9 : 1));
      const result = { code: rc, stdout, stderr };
      if (rc !== 0 && !opts.allowFail) reject(new CommandError(argv, result));
      else resolve(result);
    });
  });
}

/** Shell command (bash -c) convenience for build scripts. */
export function sh(script: string, opts: RunOptions = {}): Promise<RunResult> {
  return run(['bash', '-euo', 'pipefail', '-c', script], opts);
}

export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/** Progress and diagnostics go to stderr so that stdout stays machine-readable. */
export function log(msg: string): void {
  process.stderr.write(`[lab] ${msg}\n`);
}

export function fmtSecs(ms: number): string {
  return `${(ms / 1000).toFixed(1)} s`;
}

export function isRoot(): boolean {
  return typeof process.getuid === 'function' && process.getuid() === 0;
}

/** True if a process with this PID exists (zombies count as gone). */
export function pidAlive(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const state = stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3);
    return state !== 'Z' && state !== 'X';
  } catch {
    return false;
  }
}

export function pidCmdline(pid: number): string[] {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').filter(Boolean);
  } catch {
    return [];
  }
}

export function readPidFile(path: string): number | undefined {
  if (!existsSync(path)) return undefined;
  const n = Number.parseInt(readFileSync(path, 'utf8').trim(), 10);
  return Number.isInteger(n) && n > 1 ? n : undefined;
}

/** Polls fn until it returns a truthy value or the deadline passes. */
export async function waitFor<T>(
  what: string,
  fn: () => Promise<T | undefined | false> | T | undefined | false,
  { timeoutMs, intervalMs = 1000 }: { timeoutMs: number; intervalMs?: number },
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() > deadline) throw new Error(`timed out after ${fmtSecs(timeoutMs)} waiting for ${what}`);
    await sleep(intervalMs);
  }
}

/**
 * Live processes of `program` (argv[0] ends with or contains it) whose `flag` argument is a path in
 * `dir`: a lab's QEMUs (-pidfile) or BMCs (-c), found even when their pidfile was lost to a crash.
 */
export function processesIn(dir: string, program: string, flag: string): number[] {
  let entries: string[] = [];
  try {
    entries = readdirSync('/proc');
  } catch {
    entries = [];
  }
  return entries
    .filter((e) => /^\d+$/.test(e))
    .map(Number)
    .filter((pid) => {
      const argv = pidCmdline(pid);
      const i = argv.indexOf(flag);
      return i >= 0 && (argv[0] ?? '').includes(program) && (argv[i + 1] ?? '').startsWith(dir + '/') && pidAlive(pid);
    });
}

/** True once something listens on ADDRESS:PORT/udp inside the namespace (ss). */
export async function udpListening(netns: string, address: string, port: number): Promise<boolean> {
  const r = await run(['ip', 'netns', 'exec', netns, 'ss', '-H', '-uln', 'src', `${address}:${port}`], { allowFail: true, timeoutMs: 10_000 });
  return r.code === 0 && r.stdout.trim() !== '';
}

/** The last lines of a helper process's log, for an error message. */
export function logTail(file: string, lines = 5): string {
  try {
    return readFileSync(file, 'utf8').trim().split('\n').slice(-lines).join('\n') || '(empty log)';
  } catch {
    return '(no log)';
  }
}
