/**
 * bin/hvcluster.js in a checkout: it runs the bundle, rebuilding it first when a source is newer, and
 * without esbuild to rebuild a stale bundle it says how and stops (exit 70); it never runs the
 * TypeScript sources. Each case works on a copy of the checkout (bin, installer, templates,
 * playbooks, package.json) with node_modules linked entry by entry.
 */
import { execFile } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, readdirSync, statSync, symlinkSync, utimesSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { tempDir } from '../../helpers/sshd.js';

const REPO = fileURLToPath(new URL('../../../', import.meta.url));

function checkoutCopy(dir: string, { withEsbuild }: { withEsbuild: boolean }): string {
  const root = join(dir, 'checkout');
  for (const part of ['bin', 'installer', 'templates', 'playbooks', 'package.json']) cpSync(join(REPO, part), join(root, part), { recursive: true });
  mkdirSync(join(root, 'node_modules'));
  for (const name of readdirSync(join(REPO, 'node_modules'))) {
    if (!withEsbuild && (name === 'esbuild' || name === '@esbuild')) continue;
    symlinkSync(join(REPO, 'node_modules', name), join(root, 'node_modules', name));
  }
  return root;
}

function hvcluster(root: string, args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [join(root, 'bin', 'hvcluster.js'), ...args], { env: { ...process.env, NO_COLOR: '1', CI: 'true' } }, (error, stdout, stderr) =>
      resolve({ code: error ? Number((error as { code?: number }).code ?? -1) : 0, stdout, stderr }),
    );
  });
}

describe('bin/hvcluster.js in a checkout', () => {
  let tmp: ReturnType<typeof tempDir> | undefined;
  afterEach(() => tmp?.remove());

  it('builds a missing bundle, and rebuilds one older than a source file, before running it', { timeout: 60_000 }, async () => {
    tmp = tempDir('hvcheckout-');
    const root = checkoutCopy(tmp.path, { withEsbuild: true });
    const bundle = join(root, 'dist', 'hvcluster.mjs');
    const first = await hvcluster(root, ['--version']);
    expect(first.code, first.stderr).toBe(0);
    expect(existsSync(bundle)).toBe(true);
    // An edit: a source newer than the bundle.
    const old = new Date(Date.now() - 60_000);
    utimesSync(bundle, old, old);
    const second = await hvcluster(root, ['--version']);
    expect(second.code, second.stderr).toBe(0);
    expect(second.stdout).toBe(first.stdout);
    expect(statSync(bundle).mtimeMs).toBeGreaterThan(old.getTime() + 1000);
  });

  it('without esbuild, says how to build a stale bundle and stops, never running the sources', { timeout: 60_000 }, async () => {
    tmp = tempDir('hvcheckout-');
    const root = checkoutCopy(tmp.path, { withEsbuild: false });
    const result = await hvcluster(root, ['--version']);
    expect(result.code).toBe(70);
    expect(result.stdout).toBe('');
    expect(result.stderr).toBe(
      `hvcluster: ${join(root, 'dist', 'hvcluster.mjs')} is missing or older than the sources, and esbuild (a development dependency) is not installed to rebuild it: run \`npm install\` (or \`npm run build\`) in ${root}/\n`,
    );
  });
});
