// Whether dist/hvcluster.mjs is newer than every TypeScript source under installer/: only then does
// bin/hvcluster.js run the bundle (the benchmark checks the same before it times it).
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

export function bundleIsFresh(root) {
  const bundle = bundlePath(root);
  return existsSync(bundle) && statSync(bundle).mtimeMs >= newestSource(join(root, 'installer'));
}
