/** Packages: apt, non-interactive; offline only from the package source the answer file names. */
import { shellQuote } from '../../ssh/quote.js';
import type { StepContext } from '../context.js';
import type { StepKind } from './step.js';

export const APT_TIMEOUT_MS = 40 * 60_000;

export function installedPackages(dpkgOutput: string): Set<string> {
  return new Set(
    dpkgOutput
      .split('\n')
      .map((line) => line.trim().split(/\s+/))
      .filter(([, status]) => status === 'ii')
      .map(([name]) => name!),
  );
}

/**
 * The apt-get install of `packages`. apt's machine-readable status (APT::Status-Fd) comes on stdout
 * for progress (`aptStatus`), its usual output on stderr (shown when it fails).
 */
export function aptInstallCommand(packages: readonly string[], source: { source: 'online' | 'offline'; offline?: { path: string } }): string {
  const offline = source.source === 'offline' ? ` --no-download -o Dir::Cache::Archives=${shellQuote(source.offline!.path)}` : '';
  return (
    'DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends -o APT::Status-Fd=3 ' +
    `-o Dpkg::Options::=--force-confdef -o Dpkg::Options::=--force-confold${offline} ${packages.map(shellQuote).join(' ')} 3>&1 1>&2`
  );
}

export interface AptStatus {
  /** Downloading or installing. */
  phase: 'download' | 'install';
  percent: number;
  text: string;
}

/**
 * One line of apt's status: `dlstatus:1:45.2:Retrieving file 3 of 40` while downloading,
 * `pmstatus:drbd-utils:62.5:Setting up drbd-utils (9.22.0-1)` while dpkg runs. Downloads are
 * shown as the first 20 %, dpkg as the rest.
 */
export function aptStatus(line: string): AptStatus | undefined {
  // The package field may hold an architecture (`libc6:amd64`): the percent is the first number field after it.
  const m = /^(dlstatus|pmstatus):.*?:(\d+(?:\.\d+)?):(.*)$/.exec(line.trim());
  if (!m) return undefined;
  const raw = Math.min(100, Math.max(0, Number(m[2])));
  if (!Number.isFinite(raw)) return undefined;
  const download = m[1] === 'dlstatus';
  return { phase: download ? 'download' : 'install', percent: download ? raw * 0.2 : 20 + raw * 0.8, text: m[3]!.trim() };
}

/** Feeds streamed stdout to `onLine` a whole line at a time. */
export function lineSplitter(onLine: (line: string) => void): (chunk: string) => void {
  let rest = '';
  return (chunk) => {
    const lines = (rest + chunk).split('\n');
    rest = lines.pop()!;
    for (const line of lines) onLine(line);
  };
}

/** Runs the install through the guard, reporting apt's progress as the step's progress. */
export async function installPackages(ctx: StepContext, description: string, packages: readonly string[]): Promise<void> {
  const onStdout = lineSplitter((line) => {
    const status = aptStatus(line);
    if (status) ctx.progress(status.percent, status.text);
  });
  await ctx.mutate(description, aptInstallCommand(packages, ctx.run.answers.spec.packages), { timeoutMs: APT_TIMEOUT_MS, onStdout });
}

export async function missingPackages(ctx: StepContext, wanted: readonly string[]): Promise<string[]> {
  const result = await ctx.read(`dpkg-query -W -f '\${Package} \${db:Status-Abbrev}\\n' ${wanted.map(shellQuote).join(' ')} 2>/dev/null; true`);
  const installed = installedPackages(result.stdout);
  return wanted.filter((p) => !installed.has(p));
}

export const packagesStep: StepKind = {
  scope: 'node',
  async run(ctx) {
    const missing = await missingPackages(ctx, ctx.node.packages);
    if (missing.length === 0) return;
    const source = ctx.run.answers.spec.packages;
    ctx.log(`installing ${missing.join(' ')}${source.source === 'offline' ? ` from ${source.offline!.path}` : ''}`);
    await installPackages(ctx, `install ${missing.join(', ')}`, missing);
  },
};
