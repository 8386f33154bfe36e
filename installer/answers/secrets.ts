/**
 * Secrets are never written in an answer file: it holds references, { env: NAME } or { file: PATH },
 * resolved here when a run needs them. Messages name the reference, never the secret.
 */
import { isAbsolute, join, resolve } from 'node:path';
import { ConfigError } from '../errors.js';
import type { Answers, SecretRef } from './schema.js';

export type SecretEnv = Readonly<Record<string, string | undefined>>;
export type ReadSecretFile = (path: string) => string;

export interface ResolveSecretOptions {
  /** Directory that relative `file:` paths are relative to: the answer file's (LoadedAnswers.baseDir). Default: as written (the process's working directory). */
  baseDir?: string;
  /** What the secret is for, named in errors, like "spec.nodes[0].ssh.passwordFrom". */
  what?: string;
}

/** The path a `file:` reference names: "~/" is env.HOME, a relative path is relative to baseDir. */
export function secretFilePath(file: string, env: SecretEnv, baseDir?: string): string {
  if (file === '~' || file.startsWith('~/')) {
    const home = env.HOME;
    if (!home) throw new ConfigError(`cannot expand ${file}: HOME is not set`, { hint: 'Write the secret file path in full.' });
    return join(home, file.slice(1));
  }
  if (isAbsolute(file) || baseDir === undefined) return file;
  return resolve(baseDir, file);
}

/**
 * The secret a reference names. `env` is the environment (process.env), `readFile` reads a file as
 * UTF-8 (fs.readFileSync(path, 'utf8')); both are passed in so this stays pure and testable.
 * A file's content loses one trailing newline (as written by `echo secret > file`); nothing else is trimmed.
 * Throws ConfigError when the variable is unset, the file unreadable, or the secret empty.
 */
export function resolveSecret(ref: SecretRef, env: SecretEnv, readFile: ReadSecretFile, options: ResolveSecretOptions = {}): string {
  const what = options.what ? `${options.what}: ` : '';
  let secret: string;
  let source: string;
  if (ref.env !== undefined) {
    source = `environment variable ${ref.env}`;
    const value = env[ref.env];
    if (value === undefined) {
      throw new ConfigError(`${what}environment variable ${ref.env} is not set`, {
        hint: `Set ${ref.env} in the environment of hvcluster (export ${ref.env}=...), or reference a file with { file: PATH }.`,
      });
    }
    secret = value;
  } else if (ref.file !== undefined) {
    const path = secretFilePath(ref.file, env, options.baseDir);
    source = `file ${path}`;
    try {
      secret = readFile(path).replace(/\r?\n$/, '');
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      const why = code === 'ENOENT' ? 'no such file' : code === 'EACCES' ? 'permission denied' : code ?? (error as Error).message;
      throw new ConfigError(`${what}cannot read secret file ${path}: ${why}`, {
        hint: 'Create the file with the secret as its only content (chmod 600), or reference an environment variable with { env: NAME }.',
        cause: error,
      });
    }
  } else {
    throw new ConfigError(`${what}the secret reference names neither env nor file`, {
      hint: 'Write { env: VARIABLE_NAME } or { file: PATH }.',
    });
  }
  if (secret === '') {
    throw new ConfigError(`${what}the secret from ${source} is empty`, { hint: `Put the secret in ${source}.` });
  }
  return secret;
}

/**
 * The BMC password of every node that has a `bmc:`, by node name: what fencing logs in with (the
 * cluster's fence devices) and what a run log must redact. Errors name the reference
 * (`spec.nodes[1].bmc.passwordFrom`), never the secret.
 */
export function resolveBmcPasswords(answers: Answers, env: SecretEnv, readFile: ReadSecretFile, baseDir?: string): Map<string, string> {
  const passwords = new Map<string, string>();
  answers.spec.nodes.forEach((node, i) => {
    if (!node.bmc) return;
    const what = `spec.nodes[${i}].bmc.passwordFrom (the BMC password of ${node.name})`;
    passwords.set(node.name, resolveSecret(node.bmc.passwordFrom, env, readFile, { baseDir, what }));
  });
  return passwords;
}

/**
 * The backup repository's passphrase (spec.backup.passphraseFrom), when the answers encrypt the
 * repository: what apply writes to each node's root-only passphrase file and what a run log must
 * redact. Undefined without spec.backup or with encryption: none (a passphraseFrom given then is
 * unused, and not read). Errors name the reference, never the secret.
 */
export function resolveBackupPassphrase(answers: Answers, env: SecretEnv, readFile: ReadSecretFile, baseDir?: string): string | undefined {
  const backup = answers.spec.backup;
  if (!backup || backup.encryption === 'none' || !backup.passphraseFrom) return undefined;
  const what = 'spec.backup.passphraseFrom (the passphrase of the backup repository)';
  return resolveSecret(backup.passphraseFrom, env, readFile, { baseDir, what });
}
