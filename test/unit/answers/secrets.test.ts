import { describe, expect, it } from 'vitest';
import { ConfigError } from '../../../installer/errors.js';
import { parseAnswers, resolveBackupPassphrase, resolveBmcPasswords, resolveSecret, secretFilePath, type Answers } from '../../../installer/answers/index.js';
import { fixture } from './helpers.js';

const files: Record<string, string> = { '/home/ops/pw': 's3cret\n', '/site/secrets/hv2.password': 'p w\r\n', '/empty': '\n' };
const readFile = (path: string) => {
  const content = files[path];
  if (content === undefined) throw Object.assign(new Error(`ENOENT: ${path}`), { code: 'ENOENT' });
  return content;
};
const env = { HOME: '/home/ops', HV_PW: 'from-env', EMPTY: '' };

describe('resolveSecret', () => {
  it('reads an environment variable', () => {
    expect(resolveSecret({ env: 'HV_PW' }, env, readFile)).toBe('from-env');
  });

  it('reads a file, dropping one trailing newline, expanding ~/ and relative paths', () => {
    expect(resolveSecret({ file: '~/pw' }, env, readFile)).toBe('s3cret');
    expect(resolveSecret({ file: 'secrets/hv2.password' }, env, readFile, { baseDir: '/site' })).toBe('p w');
    expect(secretFilePath('secrets/x', env)).toBe('secrets/x');
    expect(secretFilePath('/abs/x', env, '/site')).toBe('/abs/x');
  });

  it('fails with a ConfigError naming the reference, never a secret', () => {
    const what = { what: 'spec.nodes[0].ssh.passwordFrom' };
    expect(() => resolveSecret({ env: 'NOPE' }, env, readFile, what)).toThrow('spec.nodes[0].ssh.passwordFrom: environment variable NOPE is not set');
    expect(() => resolveSecret({ file: '/missing' }, env, readFile, what)).toThrow(
      'spec.nodes[0].ssh.passwordFrom: cannot read secret file /missing: no such file',
    );
    expect(() => resolveSecret({ env: 'EMPTY' }, env, readFile)).toThrow('the secret from environment variable EMPTY is empty');
    expect(() => resolveSecret({ file: '/empty' }, env, readFile)).toThrow('the secret from file /empty is empty');
    expect(() => resolveSecret({}, env, readFile)).toThrow('the secret reference names neither env nor file');
    let caught: unknown;
    try {
      resolveSecret({ env: 'NOPE' }, env, readFile);
    } catch (error) {
      caught = error;
    }
    expect(caught).toBeInstanceOf(ConfigError);
    expect((caught as ConfigError).hint).toBe('Set NOPE in the environment of hvcluster (export NOPE=...), or reference a file with { file: PATH }.');
  });
});

describe('resolveBmcPasswords', () => {
  const answers = (): Answers => {
    const a = structuredClone(parseAnswers(fixture('valid/two-nodes-ha.yaml')).answers);
    return a;
  };
  const bmcFiles: Record<string, string> = { '/site/secrets/hv2-bmc.password': 'hv2-bmc-secret\n' };
  const readBmcFile = (path: string) => {
    const content = bmcFiles[path];
    if (content === undefined) throw Object.assign(new Error(`ENOENT: ${path}`), { code: 'ENOENT' });
    return content;
  };

  it("reads each node's BMC password by node name, files relative to the answer file", () => {
    const passwords = resolveBmcPasswords(answers(), { HV1_BMC_PASSWORD: 'hv1-bmc-secret' }, readBmcFile, '/site');
    expect([...passwords]).toEqual([
      ['hv1', 'hv1-bmc-secret'],
      ['hv2', 'hv2-bmc-secret'],
    ]);
  });

  it('leaves out nodes without a bmc', () => {
    const a = answers();
    delete a.spec.nodes[0]!.bmc;
    expect([...resolveBmcPasswords(a, {}, readBmcFile, '/site')]).toEqual([['hv2', 'hv2-bmc-secret']]);
  });

  it('fails naming the reference and the node, never a secret', () => {
    expect(() => resolveBmcPasswords(answers(), {}, readBmcFile, '/site')).toThrow(
      'spec.nodes[0].bmc.passwordFrom (the BMC password of hv1): environment variable HV1_BMC_PASSWORD is not set',
    );
    let message = '';
    try {
      resolveBmcPasswords(answers(), { HV1_BMC_PASSWORD: 'hv1-bmc-secret' }, readBmcFile, '/elsewhere');
    } catch (error) {
      message = `${(error as ConfigError).message} ${(error as ConfigError).hint}`;
    }
    expect(message).toContain('spec.nodes[1].bmc.passwordFrom (the BMC password of hv2): cannot read secret file /elsewhere/secrets/hv2-bmc.password: no such file');
    expect(message).not.toContain('hv1-bmc-secret');
  });
});

describe('resolveBackupPassphrase', () => {
  const answers = (): Answers => structuredClone(parseAnswers(fixture('valid/two-nodes-backup.yaml')).answers);

  it('reads the passphrase of an encrypted repository, files relative to the answer file', () => {
    expect(resolveBackupPassphrase(answers(), { HVCLUSTER_BACKUP_PASSPHRASE: 'repo-secret' }, readFile)).toBe('repo-secret');
    const a = answers();
    a.spec.backup!.passphraseFrom = { file: 'secrets/hv2.password' };
    expect(resolveBackupPassphrase(a, {}, readFile, '/site')).toBe('p w');
  });

  it('reads nothing without backup, or for encryption none even when passphraseFrom is given (a warning)', () => {
    const a = answers();
    a.spec.backup!.encryption = 'none';
    expect(resolveBackupPassphrase(a, {}, readFile)).toBeUndefined();
    delete a.spec.backup;
    expect(resolveBackupPassphrase(a, {}, readFile)).toBeUndefined();
  });

  it('fails naming the reference, never a secret', () => {
    expect(() => resolveBackupPassphrase(answers(), {}, readFile)).toThrow(
      'spec.backup.passphraseFrom (the passphrase of the backup repository): environment variable HVCLUSTER_BACKUP_PASSPHRASE is not set',
    );
  });
});
