/**
 * The servers of a run as SSH targets: from --host flags or from an answer file's nodes, with
 * host-key pins, the known_hosts files to trust, and secrets read from where the answer file or the
 * environment says. Used by the CLI commands and the wizard alike.
 */
import { readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { loadAnswerFile, type LoadedAnswers } from '../answers/load.js';
import type { Answers } from '../answers/schema.js';
import { resolveSecret } from '../answers/secrets.js';
import { UsageError } from '../errors.js';
import { expandHome, parseHostKeyPins, parseJumpList, resolveTarget } from '../ssh/index.js';
import type { SshTarget } from '../ssh/types.js';

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
}

/** The servers of a command: from the answer file (-f) or from --host, never both. */
export async function serversFromOptions(options: ConnectionOptions, env: NodeJS.ProcessEnv): Promise<Servers> {
  if (options.file !== undefined && options.host.length > 0) {
    throw new UsageError('give the servers either with --host or with an answer file (-f), not both');
  }
  if (options.file !== undefined) {
    const answers = await loadAnswerFile(options.file);
    return { targets: targetsFromAnswers(answers, options, env), answers };
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
  return loaded.answers.spec.nodes.map((node) => sshTargetOf(node.name, node.ssh, loaded, options, env));
}

/** The witness of a two-node HA cluster (spec.ha.witness) as a target named `witness`, or undefined. */
export function witnessTargetFromAnswers(loaded: LoadedAnswers, options: ConnectionOptions, env: NodeJS.ProcessEnv): SshTarget | undefined {
  const ha = loaded.answers.spec.ha;
  if (!ha?.enabled || !ha.witness || loaded.answers.spec.nodes.length !== 2) return undefined;
  return sshTargetOf(WITNESS, ha.witness, loaded, options, env);
}

/** The server name the witness has in a run, its logs and reports. */
export const WITNESS = 'witness';

type SshAnswers = Answers['spec']['nodes'][number]['ssh'];

function sshTargetOf(name: string, ssh: SshAnswers, loaded: LoadedAnswers, options: ConnectionOptions, env: NodeJS.ProcessEnv): SshTarget {
  const pins = parseHostKeyPins(options.hostKey);
  const readSecretFile = (path: string) => readFileSync(path, 'utf8');
  const secret = (ref: Parameters<typeof resolveSecret>[0] | undefined, what: string) =>
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

/** --known-hosts names the files to trust, for every server, over what the ssh configuration says. */
function withKnownHosts(target: SshTarget, options: ConnectionOptions): SshTarget {
  if (options.knownHosts.length === 0) return target;
  const { knownHostsFiles: _configured, ...rest } = target;
  return { ...rest, jump: rest.jump.map((hop) => withKnownHosts(hop, options)) };
}


/** Each node's BMC password (HA), by node name, read from where its `bmc.passwordFrom` says. */
export function bmcPasswordsFromAnswers(loaded: LoadedAnswers, env: NodeJS.ProcessEnv): Record<string, string> {
  const readSecretFile = (path: string) => readFileSync(path, 'utf8');
  return Object.fromEntries(
    loaded.answers.spec.nodes.flatMap((node, i) =>
      node.bmc ? [[node.name, resolveSecret(node.bmc.passwordFrom, env, readSecretFile, { baseDir: loaded.baseDir, what: `spec.nodes[${i}].bmc.passwordFrom (the BMC password of ${node.name})` })]] : [],
    ),
  );
}
