/**
 * Which commands read the backup passphrase (spec.backup.passphraseFrom): apply, plan and the
 * `backup` commands stop before connecting anywhere when its variable or file is missing, naming the
 * field and the variable or file; every other command goes on without it, to the connections (which
 * fail here: no SSH key is given, and the nodes are closed ports of this machine).
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { main } from '../../../installer/cli.js';
import { EXIT } from '../../../installer/errors.js';
import { fixture } from '../answers/helpers.js';

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'hvcluster-passphrase-commands-'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

/** valid/two-nodes-backup.yaml (encrypted, passphraseFrom: { env: HVCLUSTER_BACKUP_PASSPHRASE }), its nodes behind closed ports of this machine (1 and 2). */
function site(change: (text: string) => string = (t) => t): string {
  const file = join(dir, 'site.yaml');
  const text = fixture('valid/two-nodes-backup.yaml').replace(/^( {4}- name: hv(\d))\n/gm, '$1\n      ssh: { address: 127.0.0.1, port: $2, agent: false }\n');
  writeFileSync(file, change(text));
  return file;
}

async function run(args: string[], env: NodeJS.ProcessEnv = {}): Promise<{ code: number; err: string }> {
  const stdout = new PassThrough();
  const stderr = new PassThrough();
  let err = '';
  stdout.resume();
  stderr.on('data', (chunk) => (err += chunk));
  const code = await main([...args, '--connect-timeout', '1'], { stdout, stderr, env: { HOME: dir, ...env } });
  return { code, err };
}

const MISSING = 'spec.backup.passphraseFrom (the passphrase of the backup repository): environment variable HVCLUSTER_BACKUP_PASSPHRASE is not set';

describe('the backup passphrase, read only by the commands that use it', () => {
  const need: string[][] = [
    ['apply', '--dry-run'],
    ['plan'],
    ['backup', 'run'],
    ['backup', 'list'],
    ['backup', 'restore', 'db'],
    ['backup', 'verify'],
    ['backup', 'key-export'],
  ];
  for (const args of need) {
    it(`${args.join(' ')}: stops before connecting, naming the field and the variable`, async () => {
      const file = site();
      const r = await run([...args, '-f', file]);
      expect(r.code, r.err).toBe(EXIT.config);
      expect(r.err).toContain(MISSING);
      expect(r.err).toContain('export HVCLUSTER_BACKUP_PASSPHRASE=');
      expect(r.err).not.toContain('authenticate');
    });
  }

  it('a passphrase file that is not there is named, with the field', async () => {
    const file = site((t) => t.replace('passphraseFrom: { env: HVCLUSTER_BACKUP_PASSPHRASE }', 'passphraseFrom: { file: backup.pass }'));
    const r = await run(['backup', 'list', '-f', file]);
    expect(r.code, r.err).toBe(EXIT.config);
    expect(r.err).toContain(`spec.backup.passphraseFrom (the passphrase of the backup repository): cannot read secret file ${join(dir, 'backup.pass')}: no such file`);
  });

  const without: string[][] = [
    ['guest', 'list'],
    ['guest', 'start', 'web'],
    ['node', 'drain', 'hv1'],
    ['snapshot', 'list'],
    ['verify'],
  ];
  for (const args of without) {
    it(`${args.join(' ')}: goes on without it, to the connections`, async () => {
      const file = site();
      const r = await run([...args, '-f', file]);
      expect(r.err).not.toContain('passphrase');
      expect(r.code, r.err).not.toBe(EXIT.config);
      expect(r.err).toContain('hv1: no way to authenticate as root');
    });
  }

  it('with the variable set, a backup command goes on to the connections', async () => {
    const r = await run(['backup', 'list', '-f', site()], { HVCLUSTER_BACKUP_PASSPHRASE: 'lab only' });
    expect(r.code, r.err).not.toBe(EXIT.config);
    expect(r.err).not.toContain('passphrase');
    expect(r.err).toContain('hv1: no way to authenticate as root');
  });
});
