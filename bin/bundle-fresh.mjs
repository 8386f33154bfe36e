// Whether dist/hvcluster.mjs is newer than every TypeScript source under installer/ and than
// bin/build.mjs: only then does bin/hvcluster.js run it as it is (the benchmark checks the same
// before it times it). An installed package has no installer/ sources: its bundle is what it ships.
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';

function newestSource(dir) {
  let newest = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) newest = Math.max(newest, newestSource(path));
    else if (/\.tsx?$/.test(entry.name)) newest = Math.max(newest, statSync(path).mtimeMs);
  }
  return newest;
}

export function bundlePath(root) {
  return join(root, 'dist', 'hvcluster.mjs');
}

/** Whether root holds hvcluster's TypeScript sources (a checkout), not only the bundle (an installed package). */
export function hasSources(root) {
  return existsSync(join(root, 'installer', 'cli.ts'));
}

export function bundleIsFresh(root) {
  const bundle = bundlePath(root);
  if (!existsSync(bundle)) return false;
  if (!hasSources(root)) return true;
  const built = statSync(bundle).mtimeMs;
  return built >= newestSource(join(root, 'installer')) && built >= statSync(join(root, 'bin', 'build.mjs')).mtimeMs;
}
