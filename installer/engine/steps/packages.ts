/** Packages: apt, non-interactive; offline only from the package source the answer file names. */
import type { Answers } from '../../answers/schema.js';
import type { ScriptAction } from '../change.js';
import type { Host } from '../host.js';
import { changeOf, readValue, type StepKind } from './step.js';

export const APT_TIMEOUT_MS = 40 * 60_000;

/** The installation of `packages` (installer/remote/apt-install.sh): from the configured sources, or only from the offline cache. Pure. */
export function aptInstall(packages: readonly string[], source: Answers['spec']['packages']): ScriptAction {
  return { script: 'apt-install.sh', args: [source.source === 'offline' ? source.offline!.path : 'online', ...packages], timeoutMs: APT_TIMEOUT_MS, progress: 'apt' };
}

/** The names dpkg-query lists as installed (`NAME ii` lines). Pure. */
export function installedPackages(dpkgOutput: string): Set<string> {
  return new Set(
    dpkgOutput
      .split('\n')
      .map((line) => line.trim().split(/\s+/))
      .filter(([, status]) => status === 'ii')
      .map(([name]) => name!),
  );
}

/** Of `wanted`, what is not installed (a read; for packages outside the install's facts, such as the migration test's busybox). */
export async function missingPackages(host: Host, wanted: readonly string[]): Promise<string[]> {
  const result = await host.read({ argv: ['dpkg-query', '-W', '-f', '${Package} ${db:Status-Abbrev}\\n', ...wanted] }, { allowFailure: true });
  const installed = installedPackages(result.stdout);
  return wanted.filter((p) => !installed.has(p));
}

export const packagesStep: StepKind = {
  scope: 'node',
  reads: ['packages'],
  plan(input) {
    const have = new Set(readValue(input, input.self, 'packages').filter((p) => p.installed).map((p) => p.name));
    const missing = input.self.node.packages.filter((p) => !have.has(p));
    if (missing.length === 0) return { changes: [] };
    const source = input.answers.spec.packages;
    return {
      changes: [changeOf(input, input.self, `install ${missing.join(', ')}`, [aptInstall(missing, source)])],
      notes: [{ text: `installing ${missing.join(' ')}${source.source === 'offline' ? ` from ${source.offline!.path}` : ''}`, level: 'info' }],
    };
  },
};
