#!/usr/bin/env node
// Bundles the CLI into dist/hvcluster.mjs (run by `npm install` through the prepare script): one
// file instead of ~80 TypeScript modules compiled on the fly at every start. Dependencies stay
// external (node_modules); templates and playbooks are read from the project folder at run time.
import { build } from 'esbuild';

await build({
  entryPoints: [new URL('../installer/cli.ts', import.meta.url).pathname],
  outfile: new URL('../dist/hvcluster.mjs', import.meta.url).pathname,
  bundle: true,
  platform: 'node',
  format: 'esm',
  target: 'node20',
  packages: 'external',
  sourcemap: 'linked',
  logLevel: 'warning',
  jsx: 'automatic',
});
