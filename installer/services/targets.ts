/**
 * The servers of a run as SSH targets: from --host flags or from an answer file's nodes (and its HA
 * witness), with host-key pins, the known_hosts files to trust, and secrets read from where the
 * answer file or the environment says (the BMC passwords; the backup passphrase only for the
 * commands that ask for it). Used by the CLI commands and the wizard alike.
 */
import { readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { loadAnswerFile, type LoadedAnswers } from '../answers/load.js';
import type { NodeAnswers, SecretRef } from '../answers/schema.js';
import { resolveBackupPassphrase, resolveBmcPasswords, resolveSecret } from '../answers/secrets.js';
import { UsageError } from '../errors.js';
import { expandHome, parseHostKeyPins, parseJumpList, resolveTarget } from '../ssh/index.js';
import type { SshTarget } from '../ssh/types.js';
import { secretsOf } from './run-id.js';

export interface ConnectionOptions {
  host: string[];
  file?: string;
  identity: string[];
  knownHosts: string[];
  hostKey: string[];
  sshConfig?: string;
  passwordEnv?: string;
  sudoPasswordEnv?: string;
  connectTimeout: string;
}

function secretFromEnv(variable: string | undefined, env: NodeJS.ProcessEnv, flag: string): string | undefined {
  if (variable === undefined) return undefined;
  const value = env[variable];
  if (value === undefined) throw new UsageError(`${flag} ${variable}: the environment variable ${variable} is not set`, { hint: `export ${variable}=... before running hvcluster` });
  return value;
}

export interface Servers {
  targets: SshTarget[];
  /** The answer file, when the servers came from one. */
  answers?: LoadedAnswers;
  /** The witness of a two-node HA cluster (target named `witness`), when the answer file has one and HA is on. */
  witness?: SshTarget;
  /** Each node's BMC password by node name, when the answer file turns HA on. */
  bmcPasswords?: Map<string, string>;
  /** The backup repository's passphrase, when the command needs it (SecretNeeds) and the answer file has an encrypted spec.backup. */
  backupPassphrase?: string;
}

/**
 * The answer file's secrets a command reads besides those that open the SSH connections and the BMC
 * passwords of an HA cluster. The backup passphrase is read only by the commands that use it: apply
 * and plan (the backup-files step writes it to the nodes; the wizard too), and the `backup` commands
 * (they work on the repository it encrypts; their run logs redact it). Any other command works
 * without it: a `guest list` needs no HVCLUSTER_BACKUP_PASSPHRASE.
 */
export interface SecretNeeds {
  backupPassphrase?: boolean;
}

/** The servers of a command: from the answer file (-f) or from --host, never both. */
export async function serversFromOptions(options: ConnectionOptions, env: NodeJS.ProcessEnv, needs: SecretNeeds = {}): Promise<Servers> {
  if (options.file !== undefined && options.host.length > 0) {
    throw new UsageError('give the servers either with --host or with an answer file (-f), not both');
  }
  if (options.file !== undefined) {
    return serversFromAnswers(await loadAnswerFile(options.file), options, env, needs);
  }
  return { targets: targetsFromHosts(options, env) };
}

export function targetsFromHosts(options: ConnectionOptions, env: NodeJS.ProcessEnv): SshTarget[] {
  if (options.host.length === 0) {
    throw new UsageError('no servers given', { hint: 'name them with --host [user@]address[:port] (repeatable), or give an answer file with -f site.yaml' });
  }
  const pins = parseHostKeyPins(options.hostKey);
  const password = secretFromEnv(options.passwordEnv, env, '--password-env');
  const sudoPassword = secretFromEnv(options.sudoPasswordEnv, env, '--sudo-password-env');
  return options.host.map((spec) => {
    const target = resolveTarget(spec, {
      configFile: options.sshConfig,
      identityFiles: options.identity.length > 0 ? options.identity : undefined,
    });
    return {
      ...withKnownHosts(target, options),
      password: password ?? target.password,
      sudoPassword: sudoPassword ?? target.sudoPassword,
      hostKeyFingerprint: pins.get(spec) ?? pins.get(target.host) ?? target.hostKeyFingerprint,
    };
  });
}

/** An answer file's ssh.jump (`[user@]host[:port]`, comma-separated, like ProxyJump): the hops, outermost first; undefined when none is given. */
export function jumpHops(jump: string | undefined): string[] | undefined {
  return jump ? parseJumpList(jump) : undefined;
}

/** Each node's `ssh:` block as a target named after the node; secrets read from where the file says. */
export function targetsFromAnswers(loaded: LoadedAnswers, options: ConnectionOptions, env: NodeJS.ProcessEnv): SshTarget[] {
  return loaded.answers.spec.nodes.map((node) => targetOfSsh(node.name, node.ssh, loaded, options, env));
}

/** The name of the witness's target (in messages, logs and the connections of a run). */
export const WITNESS = 'witness';

/**
 * The witness of a two-node HA cluster (spec.ha.witness) as an SSH target named `witness`, made as a
 * node's target is (key, agent, secrets, pinned host key, jump hosts; `--host-key witness=SHA256:...`
 * pins it too). Undefined when the answers have no witness or HA is off.
 */
export function witnessTarget(loaded: LoadedAnswers, options: ConnectionOptions, env: NodeJS.ProcessEnv): SshTarget | undefined {
  const ha = loaded.answers.spec.ha;
  if (!ha?.enabled || !ha.witness) return undefined;
  return targetOfSsh(WITNESS, ha.witness, loaded, options, env);
}

/** The `ssh:` fields of a node, or of the witness. */
type SshAnswers = NodeAnswers['ssh'];

function targetOfSsh(name: string, ssh: SshAnswers, loaded: LoadedAnswers, options: ConnectionOptions, env: NodeJS.ProcessEnv): SshTarget {
  const pins = parseHostKeyPins(options.hostKey);
  const secret = (ref: SecretRef | undefined, what: string) =>
    ref === undefined ? undefined : resolveSecret(ref, env, readSecretFile, { baseDir: loaded.baseDir, what });
  const identityFiles = ssh.identityFile !== undefined ? [expandHome(ssh.identityFile, env.HOME ?? homedir())] : options.identity.length > 0 ? options.identity : undefined;
  const target = resolveTarget(ssh.address, {
    configFile: options.sshConfig,
    user: ssh.user,
    port: ssh.port,
    identityFiles,
    passphrase: secret(ssh.passphraseFrom, `the passphrase of ${name}'s key`),
    password: secret(ssh.passwordFrom, `the SSH password of ${name}`),
    sudoPassword: secret(ssh.sudoPasswordFrom, `the sudo password of ${name}`),
    // agent: false turns the ssh-agent off (an empty socket path).
    agent: ssh.agent ? undefined : '',
    hostKeyFingerprint: pins.get(name) ?? pins.get(ssh.address) ?? ssh.hostKey,
    jump: jumpHops(ssh.jump),
  });
  return { ...withKnownHosts(target, options), name };
}

const readSecretFile = (path: string) => readFileSync(path, 'utf8');

/**
 * Everything a run reaches from an answer file: the nodes' targets, the witness's (when HA has one),
 * the BMC passwords (when HA is on; unused BMCs are not read), and the backup passphrase when the
 * command needs it (SecretNeeds) and spec.backup encrypts the repository.
 */
export function serversFromAnswers(loaded: LoadedAnswers, options: ConnectionOptions, env: NodeJS.ProcessEnv, needs: SecretNeeds = {}): Servers {
  const ha = loaded.answers.spec.ha;
  const witness = witnessTarget(loaded, options, env);
  const backupPassphrase = needs.backupPassphrase ? resolveBackupPassphrase(loaded.answers, env, readSecretFile, loaded.baseDir) : undefined;
  return {
    targets: targetsFromAnswers(loaded, options, env),
    answers: loaded,
    ...(witness ? { witness } : {}),
    bmcPasswords: ha?.enabled ? resolveBmcPasswords(loaded.answers, env, readSecretFile, loaded.baseDir) : new Map(),
    ...(backupPassphrase !== undefined ? { backupPassphrase } : {}),
  };
}

/** Every secret of a run's servers: what its run log must redact (SSH secrets of nodes, witness and jump hosts; BMC passwords; the backup passphrase). */
export function runSecrets(servers: Pick<Servers, 'targets' | 'witness' | 'bmcPasswords' | 'backupPassphrase'>): string[] {
  return [
    ...secretsOf(servers.witness ? [...servers.targets, servers.witness] : servers.targets),
    ...(servers.bmcPasswords?.values() ?? []),
    ...(servers.backupPassphrase !== undefined ? [servers.backupPassphrase] : []),
  ];
}

/** --known-hosts names the files to trust, for every server, over what the ssh configuration says. */
function withKnownHosts(target: SshTarget, options: ConnectionOptions): SshTarget {
  if (options.knownHosts.length === 0) return target;
  const { knownHostsFiles: _configured, ...rest } = target;
  return { ...rest, jump: rest.jump.map((hop) => withKnownHosts(hop, options)) };
}

