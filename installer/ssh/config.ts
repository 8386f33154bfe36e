/**
 * From what the user typed (`[user@]host[:port]` or a ~/.ssh/config alias) to an SshTarget, the
 * way OpenSSH would: Host sections give HostName, User, Port, IdentityFile and ProxyJump.
 */
import { existsSync, readFileSync } from 'node:fs';
import { homedir, userInfo } from 'node:os';
import { join } from 'node:path';
import SSHConfig from 'ssh-config';
import { ConfigError } from '../errors.js';
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

export interface ParsedSpec {
  user?: string;
  host: string;
  port?: number;
}

/** Parses `[user@]host[:port]`, with `[v6addr]:port` for IPv6 addresses. */
export function parseSpec(spec: string): ParsedSpec {
  const trimmed = spec.trim();
  if (trimmed === '') throw new ConfigError('empty server address', { hint: 'use [user@]host[:port]' });
  const at = trimmed.lastIndexOf('@');
  const user = at > 0 ? trimmed.slice(0, at) : undefined;
  let rest = at >= 0 ? trimmed.slice(at + 1) : trimmed;
  let port: number | undefined;
  const bracket = /^\[([^\]]+)\](?::(\d+))?$/.exec(rest);
  if (bracket) {
    rest = bracket[1]!;
    if (bracket[2]) port = Number(bracket[2]);
  } else {
    const colon = rest.split(':');
    if (colon.length === 2) {
      if (!/^\d+$/.test(colon[1]!)) throw new ConfigError(`${spec}: the port must be a number`, { hint: 'use [user@]host[:port]' });
      rest = colon[0]!;
      port = Number(colon[1]);
    }
    // More than one colon: a bare IPv6 address without a port.
  }
  if (rest === '') throw new ConfigError(`${spec}: no host name`, { hint: 'use [user@]host[:port]' });
  if (port !== undefined && (port < 1 || port > 65535)) throw new ConfigError(`${spec}: port ${port} is out of range`);
  return { ...(user ? { user } : {}), host: rest, ...(port !== undefined ? { port } : {}) };
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
  const config = loadConfig(configFile);
  return resolveOne(spec, options, { home, localUser, config, configFile }, new Set(), true);
}

interface Ctx {
  home: string;
  localUser: string;
  config: SSHConfig | undefined;
  configFile: string;
}

function resolveOne(spec: string, options: ResolveOptions, ctx: Ctx, seen: Set<string>, top: boolean): SshTarget {
  if (seen.has(spec)) throw new ConfigError(`${ctx.configFile}: ProxyJump loop through ${[...seen, spec].join(' -> ')}`);
  const parsed = parseSpec(spec);
  const computed: Record<string, string | string[]> = ctx.config
    ? ctx.config.compute({ Host: parsed.host, ...(parsed.user ? { User: parsed.user } : {}) }, { ignoreCase: true, matchExec: false })
    : {};
  const host = first(computed.hostname) ?? parsed.host;
  const user = (top ? options.user : undefined) ?? parsed.user ?? first(computed.user) ?? ctx.localUser;
  const portText = first(computed.port);
  const configPort = portText !== undefined ? Number(portText) : undefined;
  if (configPort !== undefined && !(Number.isInteger(configPort) && configPort > 0 && configPort < 65536)) {
    throw new ConfigError(`${ctx.configFile}: Host ${parsed.host}: invalid Port ${portText}`);
  }
  const port = (top ? options.port : undefined) ?? parsed.port ?? configPort ?? 22;
  const tokens = { home: ctx.home, host, user, localUser: ctx.localUser, port };

  const configured = list(computed.identityfile).filter((f) => f.toLowerCase() !== 'none');
  const identityFiles =
    (top ? options.identityFiles : undefined) ??
    (configured.length > 0 ? configured.map((f) => expandPath(f, tokens)) : defaultIdentityFiles(ctx.home));

  const agentText = first(computed.identityagent);
  const agent = (top ? options.agent : undefined) ?? (agentText && agentText.toLowerCase() !== 'none' && agentText !== 'SSH_AUTH_SOCK' ? expandPath(agentText, tokens) : undefined);

  let jumpSpecs: string[];
  if (top && options.jump) jumpSpecs = options.jump;
  else {
    const pj = first(computed.proxyjump);
    jumpSpecs = !pj || pj.toLowerCase() === 'none' ? [] : pj.split(',').map((s) => s.trim()).filter(Boolean);
  }
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
  return target;
}

function safeUserName(): string {
  try {
    return userInfo().username;
  } catch {
    return process.env.USER ?? 'root';
  }
}
