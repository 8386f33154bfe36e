/**
 * Parsers of what verify's v-backup probes print: the guests' status files
 * (remote/backup-verify-state.sh) and the backup units (`systemctl show`). The snapshots are read
 * with snapshots/state.ts (parseSnapshotLvs), the repository with backup/state.ts
 * (parseBackupState), the same parsers the snapshot and backup commands use. Pure.
 */
import { parseBackupStatus, type BackupStatus } from '../backup/status.js';

/** One guest's status file as a node read it. */
export type StatusRead =
  | { kind: 'found'; status: BackupStatus }
  | { kind: 'none' }
  | { kind: 'timeout' }
  | { kind: 'error'; reason: string };

/** backup-verify-state.sh's `status GUEST ...` lines, by guest. */
export function parseStatusLines(text: string): Map<string, StatusRead> {
  const out = new Map<string, StatusRead>();
  for (const line of text.split('\n')) {
    const m = /^status (\S+) ?(.*)$/.exec(line.trim());
    if (!m) continue;
    const [, guest, rest = ''] = m as unknown as [string, string, string];
    if (rest === 'none') out.set(guest, { kind: 'none' });
    else if (rest === 'timeout') out.set(guest, { kind: 'timeout' });
    else if (rest.startsWith('error')) out.set(guest, { kind: 'error', reason: rest.replace(/^error ?/, '').trim() || 'unreadable' });
    else {
      try {
        out.set(guest, { kind: 'found', status: parseBackupStatus(rest) });
      } catch (error) {
        out.set(guest, { kind: 'error', reason: `its status file is damaged: ${(error as Error).message}` });
      }
    }
  }
  return out;
}

/** `systemctl show -p A,B UNIT...`: one block of KEY=VALUE lines per unit (blank lines between), by its Id. */
export function parseSystemdShow(text: string): Map<string, Record<string, string>> {
  const out = new Map<string, Record<string, string>>();
  for (const block of text.split(/\n\s*\n/)) {
    const props: Record<string, string> = {};
    for (const line of block.split('\n')) {
      const eq = line.indexOf('=');
      if (eq > 0) props[line.slice(0, eq).trim()] = line.slice(eq + 1).trim();
    }
    if (props.Id) out.set(props.Id, props);
  }
  return out;
}
