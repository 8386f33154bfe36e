/**
 * The backup passphrase of a run: read from where spec.backup.passphraseFrom says, only for an
 * encrypted repository and a command that asks for it, and redacted from the run log like the other
 * secrets. Verify's tests plan the cluster without it.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { loadAnswerFile } from '../../../installer/answers/load.js';
import { RunLog } from '../../../installer/engine/run-log.js';
import { runSecrets, serversFromAnswers, type ConnectionOptions } from '../../../installer/commands/connect.js';
import { fixture } from '../answers/helpers.js';
import { planCluster } from '../../../installer/plan/index.js';
import { withoutBackup } from '../../../installer/verify/verify-cluster.js';
import { FULL_BACKUP, labFacts, loadBackupSite } from '../plan/helpers.js';

const BACKUP = { backupPassphrase: true } as const;

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
    const servers = serversFromAnswers(await load(), options, { HOME: dir, HVCLUSTER_BACKUP_PASSPHRASE: 'borg-repo-secret' }, BACKUP);
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
    expect(serversFromAnswers(loaded, options, { HOME: dir }, BACKUP).backupPassphrase).toBe('from-a-file');
  });

  it('a missing one names the reference, and nothing is read for an unencrypted repository or without backup', async () => {
    const loaded = await load();
    expect(() => serversFromAnswers(loaded, options, { HOME: dir }, BACKUP)).toThrow(
      'spec.backup.passphraseFrom (the passphrase of the backup repository): environment variable HVCLUSTER_BACKUP_PASSPHRASE is not set',
    );
    const none = await load((t) => t.replace('encryption: repokey-blake2', 'encryption: none'));
    expect(serversFromAnswers(none, options, { HOME: dir }, BACKUP).backupPassphrase).toBeUndefined();
    const without = await load((t) => t.slice(0, t.indexOf('  backup:\n')));
    expect(serversFromAnswers(without, options, { HOME: dir }, BACKUP)).not.toHaveProperty('backupPassphrase');
  });

  it('is not read by a command that does not ask for it: no error when it is missing, and none held, even when it is set', async () => {
    const loaded = await load();
    const servers = serversFromAnswers(loaded, options, { HOME: dir });
    expect(servers).not.toHaveProperty('backupPassphrase');
    expect(servers.targets.map((t) => t.name)).toEqual(['hv1', 'hv2']);
    expect(serversFromAnswers(loaded, options, { HOME: dir, HVCLUSTER_BACKUP_PASSPHRASE: 'borg-repo-secret' })).not.toHaveProperty('backupPassphrase');
  });
});

describe("verify's tests plan the cluster", () => {
  it('without spec.backup: an encrypted repository needs no passphrase there (apply still does)', () => {
    const { answers } = loadBackupSite(FULL_BACKUP);
    const facts = [labFacts(1), labFacts(2)];
    expect(() => planCluster(answers, facts, { drbdSecret: 'a'.repeat(48) })).toThrow('an encrypted backup repository needs its passphrase');
    const plan = planCluster(withoutBackup(answers), facts, { drbdSecret: 'a'.repeat(48) });
    expect(plan.nodes.map((n) => n.name)).toEqual(['hv1', 'hv2']);
    expect(plan.nodes[0]!.model.backup).toBeUndefined();
    // The answers themselves are left as they are.
    expect(answers.spec.backup?.encryption).toBe('repokey-blake2');
  });
});
