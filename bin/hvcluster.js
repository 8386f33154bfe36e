#!/usr/bin/env node
// Entry point of the `hvcluster` bin. Runs the bundle in dist/ (built by `npm install`) when it is
// newer than every source file, else the TypeScript sources through tsx, so that an edited source
// is never shadowed by a stale bundle.
import { fileURLToPath } from 'node:url';
import { bundleIsFresh, bundlePath } from './bundle-fresh.mjs';

const root = fileURLToPath(new URL('..', import.meta.url));

let main;
if (bundleIsFresh(root)) {
  ({ main } = await import(bundlePath(root)));
} else {
  const { register } = await import('tsx/esm/api');
  register();
  ({ main } = await import('../installer/cli.ts'));
}
process.exitCode = await main(process.argv.slice(2));
