/** The wizard's entry: never rendered without a terminal, and never loaded by the unattended commands. */
import { PassThrough } from 'node:stream';
import { build } from 'esbuild';
import { describe, expect, it } from 'vitest';
import { main } from '../../../installer/cli.js';
import { EXIT } from '../../../installer/errors.js';

function capture(env: NodeJS.ProcessEnv = {}) {
  const stdout = new PassThrough();
  const stderr = new PassThrough();
  let err = '';
  stderr.on('data', (chunk) => (err += chunk));
  return { streams: { stdout, stderr, env }, err: () => err };
}

describe('hvcluster / hvcluster init without a terminal', () => {
  for (const argv of [[], ['init']]) {
    it(`\`hvcluster ${argv.join(' ')}\` says which command to use instead`, async () => {
      const io = capture({ CI: 'true' });
      expect(await main(argv, io.streams)).toBe(EXIT.usage);
      expect(io.err()).toContain('the wizard needs a terminal');
      expect(io.err()).toContain('hvcluster apply -f site.yaml --yes');
      expect(io.err()).toContain('hvcluster init --example -o site.yaml');
    });
  }

  it('keeps ink and react out of the bundled CLI (the ui is imported at run time by path)', async () => {
    const result = await build({
      entryPoints: [new URL('../../../installer/cli.ts', import.meta.url).pathname],
      bundle: true,
      write: false,
      platform: 'node',
      format: 'esm',
      target: 'node20',
      packages: 'external',
      logLevel: 'silent',
      jsx: 'automatic',
    });
    const text = result.outputFiles[0]!.text;
    expect(text).not.toMatch(/from ["'](ink|react|@inkjs\/ui)["']/);
    expect(text).toContain('installer", "ui", "run.tsx"');
  });
});
