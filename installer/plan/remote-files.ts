/**
 * Reading several files of a server in one round trip, to compare them with the plan:
 * installer/remote/read-files.sh prints each file base64-encoded between markers, so any content
 * (no trailing newline, binary, marker-like lines) comes back exactly.
 */
import { PASSPHRASE_FILE } from '../backup/layout.js';
import type { ScriptAction } from '../engine/change.js';

const MARK = '@@hvcluster-file';

/** Files whose content a run log must not record: DRBD's hold the replication secret, root's SSH files, Corosync's authkey and the backup passphrase keys. */
export const mayHoldSecrets = (path: string): boolean =>
  path.startsWith('/etc/drbd.d/') || path.startsWith('/root/.ssh/') || path === '/etc/corosync/authkey' || path === PASSPHRASE_FILE;

/** The read of `paths` (installer/remote/read-files.sh), whose output parseFilesOutput reads. Pure. */
export function readFilesAction(paths: readonly string[]): ScriptAction {
  return { script: 'read-files.sh', args: paths };
}

/** Path -> content, or null for a file that does not exist. Pure. */
export function parseFilesOutput(stdout: string, paths: readonly string[]): Map<string, string | null> {
  const files = new Map<string, string | null>();
  let current: { path: string; chunks: string[] } | undefined;
  const flush = () => {
    if (current) files.set(current.path, Buffer.from(current.chunks.join(''), 'base64').toString('utf8'));
    current = undefined;
  };
  for (const line of stdout.split('\n')) {
    if (line.startsWith(`${MARK} `)) {
      flush();
      const [, state, ...rest] = line.split(' ');
      const path = rest.join(' ');
      if (state === 'present') current = { path, chunks: [] };
      else if (state === 'absent') files.set(path, null);
      else if (state === 'unreadable') throw new Error(`${path} exists but cannot be read`);
    } else if (current) {
      current.chunks.push(line.trim());
    }
  }
  flush();
  for (const path of paths) if (!files.has(path)) throw new Error(`no answer for ${path}: the output was cut off`);
  return files;
}
