/** Run ids: when and which run, in file names, logs, journals and the cluster lock. */
import { randomBytes } from 'node:crypto';
import type { SshTarget } from '../ssh/types.js';

/** `20261205T210106Z-1a2b`: the time of the run (UTC) and 2 random bytes. */
export function newRunId(now = new Date()): string {
  return `${now.toISOString().replace(/[-:]/g, '').replace(/\.\d+Z$/, 'Z')}-${randomBytes(2).toString('hex')}`;
}

/** Every password and passphrase of the targets (and their jump hosts): what a run log must redact. */
export function secretsOf(targets: SshTarget[]): string[] {
  return targets.flatMap((t) => [t.password, t.sudoPassword, t.passphrase, ...secretsOf(t.jump)]).filter((s): s is string => Boolean(s));
}
