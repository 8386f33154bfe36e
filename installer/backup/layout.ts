/**
 * Where backups live (docs/design/backups.md, section 3 "Layout"): the cluster's directory on the
 * shared storage, and the paths each node keeps for borg. Pure: the answers in, paths out.
 *
 * One repository per cluster, under a directory named after it: two clusters may share a NAS export
 * without seeing each other's archives, locks or status files.
 */
import { posix } from 'node:path';
import type { BackupAnswers } from '../answers/schema.js';

/** borg's own state on a node (keys and security records, BORG_BASE_DIR): kept across runs, so a node knows the repository it wrote. */
export const BORG_BASE_DIR = '/var/lib/hvcluster/borg';
/** borg's chunks cache on a node (BORG_CACHE_DIR): rebuilt when lost, so under /var/cache. */
export const BORG_CACHE_DIR = '/var/cache/hvcluster/borg';
/** The repository's passphrase on a node: written by apply, root-only (0600); borg reads it through BORG_PASSCOMMAND. */
export const PASSPHRASE_FILE = '/etc/hvcluster/backup/passphrase';
/** What the node's timer and `backup run` read (no secrets): cluster, volume group, root, settings, guests. */
export const BACKUP_CONF = '/etc/hvcluster/backup.conf';
/**
 * What apply leaves on a node once borg opened the repository from it (`borg info`): a digest of the
 * repository's id, its directory and the passphrase file (root-only, beside borg's own state). A
 * node whose marker matches needs no new proof; a new repository or passphrase makes it differ.
 */
export const OPENED_MARKER = `${BORG_BASE_DIR}/hvcluster-opened`;

export interface RepositoryLayout {
  /** The cluster's directory on the shared storage: REPOSITORY.PATH/CLUSTER. */
  root: string;
  /** The borg repository (BORG_REPO). */
  repo: string;
  /** The file every writer flocks, so that the nodes' snapshot-to-meta runs take turns. */
  writerLock: string;
  /** The directory of the per-guest status files (last attempt, last complete set; no secrets). */
  statusDir: string;
}

/** The cluster's directories on the repository storage. Pure. */
export function repositoryLayout(cluster: string, backup: Pick<BackupAnswers, 'repository'>): RepositoryLayout {
  const root = posix.join(backup.repository.path, cluster);
  return { root, repo: `${root}/borg`, writerLock: `${root}/locks/writer`, statusDir: `${root}/status` };
}

/** A guest's status file, what verify's BACKUP_AGE reads without the passphrase. Pure. */
export function statusFile(layout: RepositoryLayout, guest: string): string {
  return `${layout.statusDir}/${guest}.json`;
}
