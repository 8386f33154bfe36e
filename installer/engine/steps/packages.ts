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

export function aptInstallCommand(packages: readonly string[], source: { source: 'online' | 'offline'; offline?: { path: string } }): string {
  const offline = source.source === 'offline' ? ` --no-download -o Dir::Cache::Archives=${shellQuote(source.offline!.path)}` : '';
  return (
    'DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends ' +
    `-o Dpkg::Options::=--force-confdef -o Dpkg::Options::=--force-confold${offline} ${packages.map(shellQuote).join(' ')}`
  );
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
    await ctx.mutate(`install ${missing.join(', ')}`, aptInstallCommand(missing, source), { timeoutMs: APT_TIMEOUT_MS });
  },
};
