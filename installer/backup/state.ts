/**
 * Where a node stands with the cluster's backup repository, as installer/remote/backup-state.sh
 * prints it: its units (the export's automount, the timer), whether the storage is there and
 * mounted, whether it holds the repository, and whether borg opened that repository from this node
 * with this passphrase file. Without spec.backup (`backup-state.sh --left`): the backup units the
 * node still has, those of the repository's storage found by what apply wrote in them. Apply's
 * backup step plans from it. Pure.
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

/** What earlier backups left on a node whose answers no longer have spec.backup (backup-state.sh --left). */
export interface BackupLeftovers {
  /** The backup timer and service, and each unit of `mountUnits`. */
  units: Map<string, UnitState>;
  /** The mount and automount units of the repository's storage that apply wrote (/etc/systemd/system/NAME). */
  mountUnits: string[];
}

/** The backup read of a node: with spec.backup, where it stands with the repository; without, what earlier backups left. */
export type BackupRead = { declared: true; state: BackupState } | { declared: false; left: BackupLeftovers };

const NFS_TYPES = new Set(['nfs', 'nfs4']);

/** Whether an NFS filesystem is mounted at the path (over the automount's autofs). */
export const nfsMounted = (state: BackupState): boolean => state.mountTypes.some((t) => NFS_TYPES.has(t));

/** A unit is where apply wants it: enabled (back at every boot) and active now. */
export const unitInPlace = (unit: UnitState | undefined): boolean => unit?.enabled === 'enabled' && unit.active === 'active';

const answer = (text: string | undefined, line: string): Answer => {
  if (text === 'yes' || text === 'no' || text === 'timeout') return text;
  throw new Error(`backup-state.sh: not yes, no or timeout: ${line}`);
};

const unitLine = (units: Map<string, UnitState>, rest: string[]) => units.set(rest[0] ?? '', { enabled: rest[1] ?? '-', active: rest[2] ?? '-' });

export function parseBackupState(stdout: string): BackupState {
  const units = new Map<string, UnitState>();
  let path: Answer | undefined;
  let repository: Answer | undefined;
  let mountTypes: string[] | undefined;
  let opened: boolean | undefined;
  for (const line of stdout.split('\n')) {
    const [key, ...rest] = line.trim().split(/\s+/);
    if (key === 'unit') unitLine(units, rest);
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

/** What `backup-state.sh --left` prints. */
export function parseBackupLeftovers(stdout: string): BackupLeftovers {
  const units = new Map<string, UnitState>();
  const mountUnits: string[] = [];
  let end = false;
  for (const line of stdout.split('\n')) {
    const [key, ...rest] = line.trim().split(/\s+/);
    if (key === 'unit') unitLine(units, rest);
    else if (key === 'written' && rest[0]) mountUnits.push(rest[0]);
    else if (key === 'end') end = true;
  }
  if (!end) throw new Error('backup-state.sh --left printed no end line: the output was cut off');
  for (const name of mountUnits) if (!units.has(name)) throw new Error(`backup-state.sh --left: no unit line for ${name}: the output was cut off`);
  return { units, mountUnits };
}
