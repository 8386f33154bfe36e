/**
 * What the user types to name a server or a chain of jump hosts, parsed in one place: `--host`, the
 * answer file's `ssh.address`/`ssh.jump`, the wizard's login form and the ssh configuration's ProxyJump
 * and Port all go through these functions, and so do the options that go with them (--host-key,
 * --connect-timeout). Pure.
 */
import { ConfigError, UsageError } from '../errors.js';

export interface ParsedSpec {
  user?: string;
  host: string;
  port?: number;
}

const SPEC_HINT = 'use [user@]host[:port]';

/** A TCP port: a whole number from 1 to 65535. */
export function isPort(port: number): boolean {
  return Number.isInteger(port) && port >= 1 && port <= 65535;
}

/** Parses `[user@]host[:port]`, with `[v6addr]:port` for IPv6 addresses. */
export function parseSpec(spec: string): ParsedSpec {
  const trimmed = spec.trim();
  if (trimmed === '') throw new ConfigError('empty server address', { hint: SPEC_HINT });
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
      if (!/^\d+$/.test(colon[1]!)) throw new ConfigError(`${spec}: the port must be a number`, { hint: SPEC_HINT });
      rest = colon[0]!;
      port = Number(colon[1]);
    }
    // More than one colon: a bare IPv6 address without a port.
  }
  if (rest === '') throw new ConfigError(`${spec}: no host name`, { hint: SPEC_HINT });
  if (port !== undefined && !isPort(port)) throw new ConfigError(`${spec}: port ${port} is out of range`);
  return { ...(user ? { user } : {}), host: rest, ...(port !== undefined ? { port } : {}) };
}

/**
 * A chain of jump hosts as ProxyJump and `ssh -J` take it (`[user@]host[:port]`, comma-separated,
 * outermost first): the hops, trimmed. `none` (ProxyJump's "no jump") and an empty text give no hop.
 */
export function parseJumpList(text: string | undefined): string[] {
  if (text === undefined || text.trim().toLowerCase() === 'none') return [];
  return text
    .split(',')
    .map((hop) => hop.trim())
    .filter((hop) => hop !== '');
}

/** `~/key` under HOME (a key file as the answer file or the wizard names it); other paths as they are. */
export function expandHome(path: string, home: string): string {
  return path.replace(/^~(?=\/)/, home);
}

/** `--host-key hv1=SHA256:abc` pairs, by host as the user wrote it. */
export function parseHostKeyPins(pins: string[]): Map<string, string> {
  const byHost = new Map<string, string>();
  for (const pin of pins) {
    const match = /^([^=\s]+)=(SHA256:[A-Za-z0-9+/]{43})$/.exec(pin);
    if (!match) throw new UsageError(`--host-key ${pin}: expected HOST=SHA256:<43 characters>, as \`ssh-keygen -l\` prints it`);
    byHost.set(match[1]!, match[2]!);
  }
  return byHost;
}

/** `--connect-timeout SECONDS` (the commands' and the wizard's): a positive number of seconds. */
export function parseConnectTimeout(text: string): number {
  const seconds = Number(text);
  if (!Number.isFinite(seconds) || seconds <= 0) throw new UsageError(`--connect-timeout ${text}: expected a number of seconds`);
  return seconds;
}
