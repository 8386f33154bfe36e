/**
 * The backup passphrase of a run: read from where spec.backup.passphraseFrom says, only for an
 * encrypted repository, and redacted from the run log like the other secrets.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { loadAnswerFile } from '../../../installer/answers/load.js';
import { RunLog } from '../../../installer/engine/run-log.js';
import { runSecrets, serversFromAnswers, type ConnectionOptions } from '../../../installer/commands/connect.js';
import { fixture } from '../answers/helpers.js';

let dir: string;
let options: ConnectionOptions;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'hvcluster-backup-targets-'));
  options = { host: [], identity: [], knownHosts: [], hostKey: [], sshConfig: join(dir, 'no-ssh-config'), connectTimeout: '30' };
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

/** valid/two-nodes-backup.yaml, changed, written to the temporary directory. */
async function load(change: (text: string) => string = (t) => t) {
  const file = join(dir, 'site.yaml');
  writeFileSync(file, change(fixture('valid/two-nodes-backup.yaml')));
  return loadAnswerFile(file);
}

describe('the backup passphrase of a run', () => {
  it('is read from the environment, and the run log redacts it', async () => {
    const servers = serversFromAnswers(await load(), options, { HOME: dir, HVCLUSTER_BACKUP_PASSPHRASE: 'borg-repo-secret' });
    expect(servers.backupPassphrase).toBe('borg-repo-secret');
    expect(runSecrets(servers)).toEqual(['borg-repo-secret']);

    const log = new RunLog(join(dir, 'logs', 'run.log'), runSecrets(servers));
    log.write('hv1', 'upload /etc/hvcluster/backup/passphrase (0600): borg-repo-secret');
    const text = readFileSync(join(dir, 'logs', 'run.log'), 'utf8');
    expect(text).not.toContain('borg-repo-secret');
    expect(text).toContain('(0600): ***');
  });

  it('is read from a file relative to the answer file', async () => {
    writeFileSync(join(dir, 'backup.passphrase'), 'from-a-file\n', { mode: 0o600 });
    const loaded = await load((t) => t.replace('passphraseFrom: { env: HVCLUSTER_BACKUP_PASSPHRASE }', 'passphraseFrom: { file: backup.passphrase }'));
    expect(serversFromAnswers(loaded, options, { HOME: dir }).backupPassphrase).toBe('from-a-file');
  });

  it('a missing one names the reference, and nothing is read for an unencrypted repository or without backup', async () => {
    const loaded = await load();
    expect(() => serversFromAnswers(loaded, options, { HOME: dir })).toThrow(
      'spec.backup.passphraseFrom (the passphrase of the backup repository): environment variable HVCLUSTER_BACKUP_PASSPHRASE is not set',
    );
    const none = await load((t) => t.replace('encryption: repokey-blake2', 'encryption: none'));
    expect(serversFromAnswers(none, options, { HOME: dir }).backupPassphrase).toBeUndefined();
    const without = await load((t) => t.slice(0, t.indexOf('  backup:\n')));
    expect(serversFromAnswers(without, options, { HOME: dir })).not.toHaveProperty('backupPassphrase');
  });
});
