#!/usr/bin/env node
// Entry point of the `hvcluster` bin: runs the TypeScript sources through tsx's loader.
import { register } from 'tsx/esm/api';

register();
const { main } = await import('../installer/cli.ts');
process.exitCode = await main(process.argv.slice(2));
