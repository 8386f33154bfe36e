/**
 * Where a node stands with the cluster's backup repository, as installer/remote/backup-state.sh
 * prints it: its units (the export's automount, the timer), whether the storage is there and
 * mounted, whether it holds the repository, and whether borg opened that repository from this node
 * with this passphrase file. Apply's backup step plans from it. Pure.
 */

export type Answer = 'yes' | 'no' | 'timeout';

export interface UnitState {
  /** As `systemctl is-enabled` says (enabled, disabled, static...), '-' for a unit systemd does not know. */
  enabled: string;
  /** As `systemctl is-active` says (active, inactive, failed...). */
  active: string;
}

export interface BackupState {
  units: Map<string, UnitState>;
  /** The repository's path is a directory on this node (timeout: the storage did not answer). */
  path: Answer;
  /** The filesystems mounted at the path, bottom first (`autofs`, `nfs4`); none: []. */
  mountTypes: string[];
  /** The cluster's directory holds the borg repository (its config file). */
  repository: Answer;
  /** borg opened this repository from this node with the current passphrase file (backup-init.sh open's marker matches). */
  opened: boolean;
}

const NFS_TYPES = new Set(['nfs', 'nfs4']);

/** Whether an NFS filesystem is mounted at the path (over the automount's autofs). */
export const nfsMounted = (state: BackupState): boolean => state.mountTypes.some((t) => NFS_TYPES.has(t));

/** A unit is where apply wants it: enabled (back at every boot) and active now. */
export const unitInPlace = (unit: UnitState | undefined): boolean => unit?.enabled === 'enabled' && unit.active === 'active';

const answer = (text: string | undefined, line: string): Answer => {
  if (text === 'yes' || text === 'no' || text === 'timeout') return text;
  throw new Error(`backup-state.sh: not yes, no or timeout: ${line}`);
};

export function parseBackupState(stdout: string): BackupState {
  const units = new Map<string, UnitState>();
  let path: Answer | undefined;
  let repository: Answer | undefined;
  let mountTypes: string[] | undefined;
  let opened: boolean | undefined;
  for (const line of stdout.split('\n')) {
    const [key, ...rest] = line.trim().split(/\s+/);
    if (key === 'unit') units.set(rest[0] ?? '', { enabled: rest[1] ?? '-', active: rest[2] ?? '-' });
    else if (key === 'path') path = answer(rest[0], line);
    else if (key === 'mount') mountTypes = rest[0] === '-' ? [] : rest;
    else if (key === 'repository') repository = answer(rest[0], line);
    else if (key === 'opened') opened = rest[0] === 'yes';
  }
  if (path === undefined || repository === undefined || mountTypes === undefined || opened === undefined) {
    throw new Error('backup-state.sh printed no path, mount, repository or opened line: the output was cut off');
  }
  return { units, path, mountTypes, repository, opened };
}
