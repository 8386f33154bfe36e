/**
 * The DRBD replication secret: one per cluster, generated once, kept only in the nodes'
 * /etc/drbd.d/global_common.conf (mode 0600). Every later run reads it back from the nodes and
 * reuses it, so a second apply changes nothing; diffs and logs show it as `***`.
 */
import { randomBytes } from 'node:crypto';

export const DRBD_COMMON_PATH = '/etc/drbd.d/global_common.conf';

/** `shared-secret "VALUE";` in a DRBD configuration file (quoted or not). */
const SECRET_LINE = /(\bshared-secret\s+)("(?:[^"\\\n]|\\.)*"|[^\s;]+)/g;

/** The shared secret set in a DRBD configuration text, or null. Pure. */
export function drbdSecretIn(text: string | null | undefined): string | null {
  if (!text) return null;
  for (const m of text.matchAll(SECRET_LINE)) {
    // Only uncommented lines count.
    const lineStart = text.lastIndexOf('\n', m.index) + 1;
    if (text.slice(lineStart, m.index).includes('#')) continue;
    const value = m[2]!;
    return value.startsWith('"') ? value.slice(1, -1).replace(/\\(.)/g, '$1') : value;
  }
  return null;
}

/**
 * The secret the cluster already has: the first node's (in answer-file order) that holds one.
 * Nodes that hold another (or none) get this one written at the next apply. Pure.
 */
export function existingDrbdSecret(commonFiles: readonly (string | null | undefined)[]): string | null {
  for (const text of commonFiles) {
    const secret = drbdSecretIn(text);
    if (secret) return secret;
  }
  return null;
}

/**
 * A new secret: 24 random bytes as 48 hex characters (192 bits). DRBD keeps at most 64 bytes with
 * the terminating NUL, so 32 bytes as hex would not fit.
 */
export function newDrbdSecret(): string {
  return randomBytes(24).toString('hex');
}

/** Text with every `shared-secret` value replaced by `***` (diffs, verify evidence). Pure. */
export function scrubDrbdSecrets(text: string): string {
  return text.replace(SECRET_LINE, (_, key: string, value: string) => `${key}${value.startsWith('"') ? '"***"' : '***'}`);
}
