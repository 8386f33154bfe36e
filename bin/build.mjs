#!/usr/bin/env node
// Bundles the CLI into dist/ (run by `npm install` and `npm pack` through the prepare script, by
// `npm run build`, and by bin/hvcluster.js in a checkout whose bundle is older than its sources):
// dist/hvcluster.mjs plus chunks in dist/chunks/, one of them the wizard (ink, react), which is
// loaded only when the wizard starts. Dependencies stay external (node_modules); templates and
// playbooks are read from the package's folder at run time (installer/paths.ts).
//
// Every file is written under a temporary name and renamed into place, chunks (named by a hash of
// their content) before the entry, so that a second hvcluster started during a build never loads
// a half-written file. Chunks that the new entry no longer uses are removed only when this script
// is run as a command (npm install, npm pack, npm run build), not by bin/hvcluster.js.
import { mkdirSync, readdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { basename, dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const dist = join(root, 'dist');

/** esbuild's options for the bundle (the unit tests build with the same, in memory). */
export function bundleOptions() {
  return {
    entryPoints: { hvcluster: join(root, 'installer', 'cli.ts') },
    outdir: dist,
    outExtension: { '.js': '.mjs' },
    chunkNames: 'chunks/[name]-[hash]',
    bundle: true,
    splitting: true,
    platform: 'node',
    format: 'esm',
    target: 'node20',
    packages: 'external',
    sourcemap: 'linked',
    logLevel: 'warning',
    jsx: 'automatic',
    write: false,
  };
}

/** Builds dist/; `prune` removes chunks the new entry does not reference. */
export async function buildBundle({ prune = false } = {}) {
  const { build } = await import('esbuild');
  const result = await build(bundleOptions());
  const entry = join(dist, 'hvcluster.mjs');
  const files = [...result.outputFiles].sort((a, b) => Number(a.path.startsWith(entry)) - Number(b.path.startsWith(entry)));
  for (const file of files) {
    mkdirSync(dirname(file.path), { recursive: true });
    const temporary = join(dirname(file.path), `.${basename(file.path)}.${process.pid}.tmp`);
    writeFileSync(temporary, file.contents);
    renameSync(temporary, file.path);
  }
  if (prune) {
    const keep = new Set(files.map((f) => relative(dist, f.path)));
    for (const name of readdirSync(join(dist, 'chunks'))) {
      if (!keep.has(join('chunks', name))) rmSync(join(dist, 'chunks', name), { force: true });
    }
  }
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  await buildBundle({ prune: true });
}
