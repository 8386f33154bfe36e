#!/usr/bin/env node
// Entry point of the `hvcluster` bin: runs the bundle in dist/, plain JavaScript, never the
// TypeScript sources through a run-time compiler. An installed package ships the bundle. In a
// checkout whose bundle is missing or older than a source file (an edit since `npm install`), the
// bundle is rebuilt first (esbuild, a development dependency, well under a second), so that an
// edit is never shadowed by a stale bundle; without esbuild it says how to build and stops.
import { fileURLToPath, pathToFileURL } from 'node:url';
import { bundleIsFresh, bundlePath, hasSources } from './bundle-fresh.mjs';

const root = fileURLToPath(new URL('..', import.meta.url));

if (!bundleIsFresh(root)) {
  let buildBundle;
  try {
    ({ buildBundle } = await import('./build.mjs'));
    await import('esbuild');
  } catch {
    buildBundle = undefined;
  }
  if (!buildBundle) {
    process.stderr.write(
      hasSources(root)
        ? `hvcluster: ${bundlePath(root)} is missing or older than the sources, and esbuild (a development dependency) is not installed to rebuild it: run \`npm install\` (or \`npm run build\`) in ${root}\n`
        : `hvcluster: ${bundlePath(root)} is missing: this installation is incomplete; reinstall hvcluster\n`,
    );
    process.exit(70);
  }
  await buildBundle();
}
const { main } = await import(pathToFileURL(bundlePath(root)).href);
process.exitCode = await main(process.argv.slice(2));
