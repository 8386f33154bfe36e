import { PassThrough } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { main } from '../../installer/cli.js';
import { EXIT } from '../../installer/errors.js';
import type { Streams } from '../../installer/output.js';

function capture(env: NodeJS.ProcessEnv = {}): { streams: Streams; out: () => string; err: () => string } {
  const stdout = new PassThrough();
  const stderr = new PassThrough();
  let out = '';
  let err = '';
  stdout.on('data', (chunk) => (out += chunk));
  stderr.on('data', (chunk) => (err += chunk));
  return { streams: { stdout, stderr, env }, out: () => out, err: () => err };
}

describe('hvcluster command line', () => {
  it('prints its version', async () => {
    const io = capture();
    expect(await main(['--version'], io.streams)).toBe(EXIT.ok);
    expect(io.out().trim()).toMatch(/^\d+\.\d+\.\d+$/);
  });

  it('lists its commands in --help on stdout', async () => {
    const io = capture();
    expect(await main(['--help'], io.streams)).toBe(EXIT.ok);
    expect(io.out()).toContain('inspect');
    expect(io.err()).toBe('');
  });

  it('rejects an unknown flag with the usage exit code and a message on stderr', async () => {
    const io = capture();
    expect(await main(['inspect', '--frobnicate'], io.streams)).toBe(EXIT.usage);
    expect(io.err()).toContain("unknown option '--frobnicate'");
    expect(io.out()).toBe('');
  });

  it('asks for servers when inspect is given none', async () => {
    const io = capture();
    expect(await main(['inspect'], io.streams)).toBe(EXIT.usage);
    expect(io.err()).toContain('no servers given');
    expect(io.err()).toContain('--host');
  });

  it('rejects a malformed host-key pin before connecting anywhere', async () => {
    const io = capture();
    expect(await main(['inspect', '--host', 'root@127.0.0.1:1', '--host-key', '127.0.0.1=MD5:aa'], io.streams)).toBe(EXIT.usage);
    expect(io.err()).toContain('expected HOST=SHA256:');
  });
});
