/**
 * Backups as the planner sees them (spec.backup, docs/design/backups.md section 5): whether the
 * answers ask for them, the packages they add, the files and units each node gets, and the values
 * the templates render them from. Pure: the answers (and the passphrase read from the answer file's
 * reference) in, names and models out.
 */
import type { Answers } from '../answers/schema.js';
import { BACKUP_CONF, repositoryLayout } from '../backup/layout.js';
import type { BackupModel } from './model.js';

/** Where apply installs the scripts the node's timer and `hvcluster backup run` execute (verbatim copies of installer/remote/). */
export const NODE_SCRIPTS_DIR = '/usr/local/lib/hvcluster';
export const BACKUP_SCRIPT = `${NODE_SCRIPTS_DIR}/backup-node.sh`;
export const SNAPSHOT_SCRIPT = `${NODE_SCRIPTS_DIR}/snapshot.sh`;

/** Where apply writes its systemd units. */
export const SYSTEMD_UNIT_DIR = '/etc/systemd/system';

/** The node's scheduled backups: a oneshot service and the timer that starts it. */
export const BACKUP_SERVICE = 'hvcluster-backup.service';
export const BACKUP_TIMER = 'hvcluster-backup.timer';
export const BACKUP_SERVICE_PATH = `${SYSTEMD_UNIT_DIR}/${BACKUP_SERVICE}`;
export const BACKUP_TIMER_PATH = `${SYSTEMD_UNIT_DIR}/${BACKUP_TIMER}`;

/**
 * The backup files of fixed names apply installs, besides the passphrase and the units named after
 * the repository's path: what the backup step removes once spec.backup is gone (the files read
 * covers them whatever the answers say).
 */
export const INSTALLED_BACKUP_FILES = [BACKUP_CONF, BACKUP_TIMER_PATH, BACKUP_SERVICE_PATH, BACKUP_SCRIPT, SNAPSHOT_SCRIPT] as const;

/** Options apply adds to the answer file's NFS options: a network mount, and a boot that never waits for a dead NAS. */
export const NFS_EXTRA_OPTIONS = ['_netdev', 'nofail'] as const;

/** Whether the answers ask for backups. */
export function backupEnabled(answers: Answers): boolean {
  return answers.spec.backup !== undefined;
}

/** Packages a node adds for backups: borg, and the NFS client when apply mounts the repository's export. */
export function backupPackages(answers: Answers): string[] {
  const backup = answers.spec.backup;
  if (!backup) return [];
  return ['borgbackup', ...(backup.repository.nfs ? ['nfs-common'] : [])];
}

/**
 * A path as `systemd-escape --path` writes it, the name systemd requires of a mount unit for it:
 * `/var/lib/hvcluster/backup` -> `var-lib-hvcluster-backup`. '/' becomes '-'; '-', '\', a leading
 * '.' and every byte outside [A-Za-z0-9:_.] become `\xNN` (systemd's unit_name_path_escape). The
 * schema gives an absolute path without '.', '..', '//' or a trailing '/'. Pure.
 */
export function systemdEscapePath(path: string): string {
  const trimmed = path.replace(/^\/+|\/+$/g, '');
  if (trimmed === '') return '-';
  const hex = (byte: number) => `\\x${byte.toString(16).padStart(2, '0')}`;
  return [...Buffer.from(trimmed, 'utf8')]
    .map((byte, i) => {
      const c = String.fromCharCode(byte);
      if (c === '/') return '-';
      if (i === 0 && c === '.') return hex(byte);
      return /^[A-Za-z0-9:_.]$/.test(c) ? c : hex(byte);
    })
    .join('');
}

/** The mount and automount units of the repository's NFS export, named after where they mount it. Pure. */
export function backupMountUnits(path: string): { mount: string; automount: string } {
  const name = systemdEscapePath(path);
  return { mount: `${name}.mount`, automount: `${name}.automount` };
}

/** Where the mount units of these answers go; undefined without an NFS repository. Pure. */
export function backupUnitPaths(answers: Answers): { mount: string; automount: string } | undefined {
  const backup = answers.spec.backup;
  if (!backup?.repository.nfs) return undefined;
  const units = backupMountUnits(backup.repository.path);
  return { mount: `${SYSTEMD_UNIT_DIR}/${units.mount}`, automount: `${SYSTEMD_UNIT_DIR}/${units.automount}` };
}

/**
 * What a node's backup files are rendered from; undefined without spec.backup. `passphrase`: the
 * repository's (resolved from passphraseFrom by the caller), required with encryption.
 */
export function backupModel(answers: Answers, passphrase: string | undefined): BackupModel | undefined {
  const backup = answers.spec.backup;
  if (!backup) return undefined;
  const encrypted = backup.encryption !== 'none';
  if (encrypted && passphrase === undefined) throw new Error('an encrypted backup repository needs its passphrase (read from spec.backup.passphraseFrom)');
  const layout = repositoryLayout(answers.metadata.name, backup);
  const nfs = backup.repository.nfs;
  return {
    path: backup.repository.path,
    root: layout.root,
    repo: layout.repo,
    encryption: backup.encryption,
    ...(encrypted ? { passphrase: passphrase! } : {}),
    ...(nfs
      ? {
          nfs: {
            what: `${nfs.server}:${nfs.export}`,
            options: [...nfs.options.split(','), ...NFS_EXTRA_OPTIONS.filter((o) => !nfs.options.split(',').includes(o))].join(','),
            ...backupMountUnits(backup.repository.path),
          },
        }
      : {}),
    ...(backup.schedule !== undefined ? { schedule: backup.schedule } : {}),
    script: BACKUP_SCRIPT,
    conf: BACKUP_CONF,
  };
}
