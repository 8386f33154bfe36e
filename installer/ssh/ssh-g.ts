/**
 * What OpenSSH's own client would use for a host: `ssh -G` prints the configuration after every
 * Host/Match section, Include and /etc/ssh/ssh_config has been applied. hvcluster asks it, so that
 * `--host X` works wherever `ssh X` works. Without an ssh client on this machine, the caller falls
 * back to reading the config file itself.
 */
import { execFileSync } from 'node:child_process';
import { ConfigError } from '../errors.js';

/** The options of `ssh -G` output that hvcluster uses, keys in lower case, values split on spaces. */
export type SshOptions = Map<string, string[]>;

/** Parses `ssh -G` output: one `key value...` per line; repeated keys (identityfile) accumulate. */
export function parseSshG(output: string): SshOptions {
  const options: SshOptions = new Map();
  for (const line of output.split('\n')) {
    const m = /^(\S+)\s+(.*)$/.exec(line.trim());
    if (!m) continue;
    const key = m[1]!.toLowerCase();
    const values = key === 'identityfile' || key === 'certificatefile' ? [m[2]!] : m[2]!.split(/\s+/);
    options.set(key, [...(options.get(key) ?? []), ...values]);
  }
  return options;
}

export interface SshGQuery {
  host: string;
  user?: string;
  port?: number;
  /** `-F FILE`: this file instead of ~/.ssh/config and /etc/ssh/ssh_config. */
  configFile?: string;
}

/** The argv of the query, without the `ssh` itself. */
export function sshGArgs(q: SshGQuery): string[] {
  return ['-G', ...(q.configFile ? ['-F', q.configFile] : []), ...(q.user ? ['-l', q.user] : []), ...(q.port ? ['-p', String(q.port)] : []), '--', q.host];
}

/** Runs `ssh -G`; undefined when there is no ssh client here. */
export function sshG(q: SshGQuery, run: (args: string[]) => string = runSsh): SshOptions | undefined {
  let out: string;
  try {
    out = run(sshGArgs(q));
  } catch (error) {
    const e = error as NodeJS.ErrnoException & { stderr?: Buffer | string };
    if (e.code === 'ENOENT') return undefined;
    const stderr = String(e.stderr ?? '').trim().split('\n').filter((l) => !/Pseudo-terminal/.test(l)).join('; ');
    throw new ConfigError(`ssh -G ${q.host}${q.configFile ? ` (config ${q.configFile})` : ''} failed: ${stderr || e.message}`, {
      hint: 'fix the ssh configuration (`ssh -G HOST` shows the same error)',
    });
  }
  return parseSshG(out);
}

function runSsh(args: string[]): string {
  return execFileSync('ssh', args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], timeout: 10_000 });
}
