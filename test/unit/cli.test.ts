import { execFileSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { main } from '../../installer/cli.js';
import { EXIT } from '../../installer/errors.js';
import type { Streams } from '../../installer/output.js';

function capture(env: NodeJS.ProcessEnv = {}, cwd?: string): { streams: Streams; out: () => string; err: () => string } {
  const stdout = new PassThrough();
  const stderr = new PassThrough();
  let out = '';
  let err = '';
  stdout.on('data', (chunk) => (out += chunk));
  stderr.on('data', (chunk) => (err += chunk));
  return { streams: { stdout, stderr, env, ...(cwd ? { cwd } : {}) }, out: () => out, err: () => err };
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

  it('shows examples and exit codes in --help, and no `(default: [])` noise', async () => {
    const io = capture();
    expect(await main(['--help'], io.streams)).toBe(EXIT.ok);
    expect(io.out()).toContain('hvcluster apply -f site.yaml --yes');
    expect(io.out()).toContain('Exit codes:');
    const sub = capture();
    expect(await main(['verify', '--help'], sub.streams)).toBe(EXIT.ok);
    expect(sub.out()).not.toContain('(default: [])');
  });

  it('hints at -f when the answer file is given as an argument', async () => {
    const io = capture();
    expect(await main(['plan', 'site.yaml'], io.streams)).toBe(EXIT.usage);
    expect(io.err()).toContain('hint: give the answer file with -f: hvcluster plan -f site.yaml');
  });

  it('reads ./site.yaml when neither -f nor --host is given', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'hvcluster-cwd-'));
    writeFileSync(join(dir, 'site.yaml'), 'apiVersion: hvcluster/v1\nkind: Cluster\n');
    const io = capture({}, dir);
    expect(await main(['plan'], io.streams)).toBe(EXIT.config);
    expect(io.err()).toContain(join(dir, 'site.yaml'));
    // Elsewhere, with no site.yaml, it still asks for the servers.
    const none = capture({}, tmpdir());
    expect(await main(['inspect'], none.streams)).toBe(EXIT.usage);
  });

  it('snapshot create --ram and rollback --no-ram are options: refused for want of the answer file, or --yes, before connecting', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'hvcluster-cwd-'));
    const create = capture({}, dir);
    expect(await main(['snapshot', 'create', 'db', 'warm', '--ram'], create.streams)).toBe(EXIT.usage);
    expect(create.err()).toContain('snapshot create needs the answer file of the cluster');
    const rollback = capture({}, dir);
    expect(await main(['snapshot', 'rollback', 'db', 'warm', '--no-ram', '-f', join(dir, 'site.yaml')], rollback.streams)).toBe(EXIT.usage);
    expect(rollback.err()).toContain('give --yes to confirm');
    const help = capture();
    expect(await main(['snapshot', 'rollback', '--help'], help.streams)).toBe(EXIT.ok);
    expect(help.out()).toContain('--no-ram');
  });

  it('prints bash and zsh completion scripts that complete the real commands and flags', async () => {
    const bash = capture();
    expect(await main(['completion', 'bash'], bash.streams)).toBe(EXIT.ok);
    const dir = mkdtempSync(join(tmpdir(), 'hvcluster-completion-'));
    const script = join(dir, 'hvcluster.bash');
    writeFileSync(script, bash.out());
    const complete = (...words: string[]) =>
      execFileSync('bash', ['-c', `source ${script}; COMP_WORDS=(${words.join(' ')}); COMP_CWORD=${words.length - 1}; _hvcluster; echo "\${COMPREPLY[*]}"`], { encoding: 'utf8' }).trim();
    expect(complete('hvcluster', 'ver')).toBe('verify');
    expect(complete('hvcluster', 'verify', '--ju')).toBe('--junit');
    expect(complete('hvcluster', 'apply', '--dry')).toBe('--dry-run');
    const zsh = capture();
    expect(await main(['completion', 'zsh'], zsh.streams)).toBe(EXIT.ok);
    expect(zsh.out()).toMatch(/^#compdef hvcluster/);
    expect(zsh.out()).toContain("'--migration-test[]'");
    const bad = capture();
    expect(await main(['completion', 'fish'], bad.streams)).toBe(EXIT.usage);
  });
});
