/** The wizard's entry: never rendered without a terminal, and never loaded by the unattended commands. */
import { basename, dirname, join, relative } from 'node:path';
import { PassThrough } from 'node:stream';
import { build } from 'esbuild';
import { describe, expect, it } from 'vitest';
import { bundleOptions } from '../../../bin/build.mjs';
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

  it('keeps ink and react out of what the bundled CLI loads at start: the wizard is a chunk loaded only by init', async () => {
    const options = bundleOptions();
    const result = await build({ ...options, sourcemap: false, logLevel: 'silent' });
    const outputs = new Map(result.outputFiles.map((f) => [relative(options.outdir, f.path), f.text]));
    const uiImport = /from ["'](ink|react|@inkjs\/ui)["']/;
    // What `hvcluster --version` loads: the entry and the chunks it imports statically, transitively.
    const loaded = new Set<string>();
    const visit = (name: string) => {
      if (loaded.has(name)) return;
      loaded.add(name);
      for (const [, spec] of outputs.get(name)!.matchAll(/^(?:import|export)[^;]*?from ["'](\.[^"']+)["']/gm)) visit(join(dirname(name), spec!));
    };
    visit('hvcluster.mjs');
    expect(loaded.size).toBeGreaterThan(1);
    for (const name of loaded) expect(outputs.get(name), name).not.toMatch(uiImport);
    // The wizard's chunk exists, imports ink, and is reached through a dynamic import().
    const ui = [...outputs.keys()].filter((name) => uiImport.test(outputs.get(name)!));
    expect(ui.length).toBeGreaterThan(0);
    const dynamic = [...outputs.values()].flatMap((text) => [...text.matchAll(/import\(["'](\.[^"']+)["']\)/g)].map((m) => basename(m[1]!)));
    expect(ui.some((name) => dynamic.includes(basename(name)))).toBe(true);
    // Nothing in the bundle registers a TypeScript loader at run time.
    for (const [name, text] of outputs) expect(text, name).not.toMatch(/["']tsx(\/[^"']*)?["']|["']esbuild["']/);
  });
});
