/**
 * From what the user typed (`[user@]host[:port]` or a ~/.ssh/config alias) to an SshTarget, the
 * way OpenSSH would: OpenSSH's own `ssh -G` says what applies (Host and Match sections, Include,
 * /etc/ssh/ssh_config): HostName, User, Port, IdentityFile, IdentityAgent, ProxyJump and the
 * known_hosts files. Without an ssh client on this machine, the config file is read directly.
 */
import { existsSync, readFileSync } from 'node:fs';
import { homedir, userInfo } from 'node:os';
import { join } from 'node:path';
import SSHConfig from 'ssh-config';
import { ConfigError } from '../errors.js';
import { sshG, type SshOptions } from './ssh-g.js';
import { isPort, parseJumpList, parseSpec } from './spec.js';
import type { SshTarget } from './types.js';

export interface ResolveOptions {
  /** The ssh config file (default ~/.ssh/config; a missing file is no error). */
  configFile?: string;
  /** Home directory for `~` and the default key files (default: os.homedir()). */
  homeDir?: string;
  /** The local user name (default: os.userInfo().username). */
  localUser?: string;
  /** Overrides win over the spec and the config file. */
  user?: string;
  port?: number;
  identityFiles?: string[];
  passphrase?: string;
  password?: string;
  sudoPassword?: string;
  agent?: string;
  hostKeyFingerprint?: string;
  /** Jump hosts as specs (`[user@]host[:port]` or aliases), replacing any ProxyJump of the config. */
  jump?: string[];
}

function first(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value[0] : value;
}

function list(value: string | string[] | undefined): string[] {
  if (value === undefined) return [];
  return Array.isArray(value) ? value : [value];
}

function unquote(s: string): string {
  return s.length >= 2 && s.startsWith('"') && s.endsWith('"') ? s.slice(1, -1) : s;
}

/** Expands `~` and the tokens %h %r %u %p %d %% (OpenSSH's most common ones). */
export function expandPath(path: string, ctx: { home: string; host: string; user: string; localUser: string; port: number }): string {
  let p = unquote(path);
  if (p === '~') p = ctx.home;
  else if (p.startsWith('~/')) p = join(ctx.home, p.slice(2));
  return p.replace(/%([%hrupd])/g, (_m, t: string) => {
    switch (t) {
      case '%':
        return '%';
      case 'h':
        return ctx.host;
      case 'r':
        return ctx.user;
      case 'u':
        return ctx.localUser;
      case 'p':
        return String(ctx.port);
      default:
        return ctx.home;
    }
  });
}

export function defaultIdentityFiles(home: string): string[] {
  return ['id_ed25519', 'id_ecdsa', 'id_rsa'].map((f) => join(home, '.ssh', f)).filter((f) => existsSync(f));
}

function loadConfig(file: string): SSHConfig | undefined {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new ConfigError(`cannot read ssh config ${file}: ${(error as Error).message}`);
  }
  try {
    return SSHConfig.parse(text);
  } catch (error) {
    throw new ConfigError(`${file}: cannot parse ssh config: ${(error as Error).message}`);
  }
}

/**
 * Resolves a server spec through the ssh config. ProxyJump hops are resolved through the same
 * config (a chain `a,b` means a first, then b); `ProxyJump none` disables jumping.
 */
export function resolveTarget(spec: string, options: ResolveOptions = {}): SshTarget {
  const home = options.homeDir ?? homedir();
  const localUser = options.localUser ?? safeUserName();
  const configFile = options.configFile ?? join(home, '.ssh', 'config');
  // ssh reads ~/.ssh/config of the passwd entry and /etc/ssh/ssh_config by itself; any other file
  // (--ssh-config, another HOME) is given with -F, or /dev/null when it does not exist.
  const ownDefault = options.configFile === undefined && options.homeDir === undefined && join(passwdHome(), '.ssh', 'config') === configFile;
  const configArg = ownDefault ? undefined : existsSync(configFile) ? configFile : '/dev/null';
  let library: SSHConfig | undefined | null = null;
  const lookup = (host: string, user: string | undefined, port: number | undefined): HostConfig => {
    const o = sshG({ host, ...(user ? { user } : {}), ...(port ? { port } : {}), ...(configArg ? { configFile: configArg } : {}) });
    if (o) return fromSshG(o, home);
    // No ssh client here: read the file itself (Host sections; no Include or Match).
    if (library === null) library = loadConfig(configFile);
    return fromLibrary(library ? library.compute({ Host: host, ...(user ? { User: user } : {}) }, { ignoreCase: true, matchExec: false }) : {});
  };
  return resolveOne(spec, options, { home, localUser, configFile, lookup }, new Set(), true);
}

/** What the ssh configuration says about one host. */
interface HostConfig {
  hostname?: string;
  /** The login user (from ssh -G always set: the local user when nothing names one). */
  user?: string;
  port?: string;
  /** IdentityFile entries as written (tokens unexpanded); empty when none is configured. */
  identityFiles: string[];
  identityAgent?: string;
  proxyJump?: string;
  /** UserKnownHostsFile and GlobalKnownHostsFile, when the configuration sets other than ssh's defaults. */
  knownHostsFiles?: string[];
}

const DEFAULT_IDENTITY_NAMES = ['id_rsa', 'id_ecdsa', 'id_ecdsa_sk', 'id_ed25519', 'id_ed25519_sk', 'id_xmss', 'id_dsa'];

function fromSshG(o: SshOptions, home: string): HostConfig {
  const one = (k: string) => o.get(k)?.[0];
  const ids = o.get('identityfile') ?? [];
  // ssh lists its default key files when none is configured: hvcluster then uses those that exist.
  const defaults = ids.length === DEFAULT_IDENTITY_NAMES.length && ids.every((f, i) => f === `~/.ssh/${DEFAULT_IDENTITY_NAMES[i]}`);
  const pw = passwdHome();
  const userKnown = o.get('userknownhostsfile') ?? [];
  const globalKnown = o.get('globalknownhostsfile') ?? [];
  const defaultKnown =
    userKnown.join(' ') === `${pw}/.ssh/known_hosts ${pw}/.ssh/known_hosts2` && globalKnown.join(' ') === '/etc/ssh/ssh_known_hosts /etc/ssh/ssh_known_hosts2';
  // When nothing names a user, ssh prints the local one: that is what ssh would log in as.
  return {
    ...hostConfig(one, defaults ? [] : ids),
    ...(defaultKnown ? {} : { knownHostsFiles: [...userKnown, ...globalKnown].map((f) => (f.startsWith('~/') ? join(home, f.slice(2)) : f)) }),
  };
}

function fromLibrary(computed: Record<string, string | string[]>): HostConfig {
  return hostConfig((key) => first(computed[key]), list(computed.identityfile));
}

/** The options hvcluster takes from a host's configuration, by their lower-case keys; an empty value counts as unset. */
function hostConfig(one: (key: string) => string | undefined, identityFiles: string[]): HostConfig {
  const hostname = one('hostname');
  const user = one('user');
  const port = one('port');
  const agent = one('identityagent');
  const jump = one('proxyjump');
  return {
    ...(hostname ? { hostname } : {}),
    ...(user ? { user } : {}),
    ...(port ? { port } : {}),
    identityFiles,
    ...(agent ? { identityAgent: agent } : {}),
    ...(jump ? { proxyJump: jump } : {}),
  };
}

function passwdHome(): string {
  try {
    return userInfo().homedir;
  } catch {
    return homedir();
  }
}

interface Ctx {
  home: string;
  localUser: string;
  configFile: string;
  lookup: (host: string, user: string | undefined, port: number | undefined) => HostConfig;
}

function resolveOne(spec: string, options: ResolveOptions, ctx: Ctx, seen: Set<string>, top: boolean): SshTarget {
  if (seen.has(spec)) throw new ConfigError(`${ctx.configFile}: ProxyJump loop through ${[...seen, spec].join(' -> ')}`);
  const parsed = parseSpec(spec);
  const computed = ctx.lookup(parsed.host, parsed.user, parsed.port);
  const host = computed.hostname ?? parsed.host;
  const user = (top ? options.user : undefined) ?? parsed.user ?? computed.user ?? ctx.localUser;
  const portText = computed.port;
  const configPort = portText !== undefined ? Number(portText) : undefined;
  if (configPort !== undefined && !isPort(configPort)) {
    throw new ConfigError(`${ctx.configFile}: Host ${parsed.host}: invalid Port ${portText}`);
  }
  const port = (top ? options.port : undefined) ?? parsed.port ?? configPort ?? 22;
  const tokens = { home: ctx.home, host, user, localUser: ctx.localUser, port };

  const configured = computed.identityFiles.filter((f) => f.toLowerCase() !== 'none');
  const identityFiles =
    (top ? options.identityFiles : undefined) ??
    (configured.length > 0 ? configured.map((f) => expandPath(f, tokens)) : defaultIdentityFiles(ctx.home));

  const agentText = computed.identityAgent;
  const agent = (top ? options.agent : undefined) ?? (agentText && agentText.toLowerCase() !== 'none' && agentText !== 'SSH_AUTH_SOCK' ? expandPath(agentText, tokens) : undefined);

  const jumpSpecs = top && options.jump ? options.jump : parseJumpList(computed.proxyJump);
  const nextSeen = new Set(seen).add(spec);
  const jump = jumpSpecs.map((j) => resolveOne(j, options, ctx, nextSeen, false));
  // A chain `a,b`: b is reached through a. SshTarget.jump lists hops outermost first already.

  const target: SshTarget = { name: spec, host, port, user, identityFiles, jump };
  if (top) {
    if (options.passphrase !== undefined) target.passphrase = options.passphrase;
    if (options.password !== undefined) target.password = options.password;
    if (options.sudoPassword !== undefined) target.sudoPassword = options.sudoPassword;
    if (options.hostKeyFingerprint !== undefined) target.hostKeyFingerprint = options.hostKeyFingerprint;
  } else if (options.passphrase !== undefined) {
    target.passphrase = options.passphrase;
  }
  if (agent !== undefined) target.agent = agent;
  if (computed.knownHostsFiles) target.knownHostsFiles = computed.knownHostsFiles;
  return target;
}

function safeUserName(): string {
  try {
    return userInfo().username;
  } catch {
    return process.env.USER ?? 'root';
  }
}
