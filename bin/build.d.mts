import type { BuildOptions } from 'esbuild';
export function bundleOptions(): BuildOptions & { outdir: string; write: false };
export function buildBundle(options?: { prune?: boolean }): Promise<void>;
