/**
 * The borg 1.2 commands of backups, as argument arrays (never shell strings: a remote script or an
 * exec passes each element as one argument), and the environment a node runs them in. Pure, tested
 * by equality like Kamal's command builders. Options as borg 1.2.4's archiver.py defines them.
 *
 * The repository is never in an argument: BORG_REPO names it, so `::ARCHIVE` is an archive of it and
 * an argument that starts with '-' can only be an option we wrote. The passphrase is never in an
 * argument or the environment either: BORG_PASSCOMMAND names the root-only file that holds it.
 */
import type { BackupAnswers } from '../answers/schema.js';
import { diskArchiveName, metaArchiveName, parseArchiveName, guestMetaGlob, backupStamp } from './archives.js';
import { BORG_BASE_DIR, BORG_CACHE_DIR, PASSPHRASE_FILE, repositoryLayout } from './layout.js';

/**
 * borg's fixed chunker, 4 MiB blocks: a disk image is cut where its writes are (a changed block
 * never shifts the next ones), and the chunk index stays small (1 TiB = 262144 chunks).
 */
export const CHUNKER_PARAMS = 'fixed,4194304';
/**
 * How long a writer waits for borg's exclusive repository lock, seconds. hvcluster's own writer
 * lock (flock) already serializes its runs; this covers a `borg check` or another writer in progress.
 */
export const WRITE_LOCK_WAIT_S = 3600;
/** How long `borg check` waits for the lock: verify should say "busy" within minutes, not an hour. */
export const CHECK_LOCK_WAIT_S = 600;
/** The slice of a repository check per run (`--max-duration`): resumable, so a large repository is covered over several runs. */
export const CHECK_MAX_DURATION_S = 1800;

/** `borg init -e ENC`: the repository, at BORG_REPO; its key protected by the passphrase (repokey-blake2). */
export function borgInit(encryption: BackupAnswers['encryption']): string[] {
  return ['borg', 'init', '-e', encryption];
}

/**
 * `borg info --lock-wait S`: opens the repository (its key with the passphrase, the manifest, this
 * node's cache and security records): what apply runs to prove a node can use it. It waits for a
 * writer as a check does, then says the repository is busy.
 */
export function borgInfo(): string[] {
  return ['borg', 'info', '--lock-wait', String(CHECK_LOCK_WAIT_S)];
}

export interface DiskArchiveRequest {
  guest: string;
  /** The snapshot's instant: the set's stamp and the archive's --timestamp (milliseconds dropped). */
  takenAt: Date;
  /** The disk's index in the guest's disks. */
  index: number;
  /** Its DRBD resource (`web-disk0`): the archive holds one file, RESOURCE.raw. */
  resource: string;
  compression: BackupAnswers['compression'];
  /** What prints the disk's bytes to stdout, as argv; borg stores no archive when it fails. */
  command: readonly string[];
}

/**
 * `borg create` of one disk of a set: its bytes from `command` (--content-from-command: a failed read
 * never becomes an archive), cut by the fixed chunker, without the files cache (one item, always read
 * in full), the set's instant as the archive's time. --json reports stats.original_size and
 * deduplicated_size.
 */
export function borgCreateDisk(request: DiskArchiveRequest): string[] {
  return [
    'borg', 'create', '--json', '--lock-wait', String(WRITE_LOCK_WAIT_S),
    '--files-cache', 'disabled',
    '--chunker-params', CHUNKER_PARAMS,
    '--compression', request.compression,
    '--timestamp', borgTimestamp(request.takenAt),
    '--stdin-name', `${checkedResource(request.resource)}.raw`,
    '--content-from-command', `::${diskArchiveName(request.guest, backupStamp(request.takenAt), request.index)}`,
    '--', ...checkedCommand(request.command),
  ];
}

/** `borg create` of a set's meta.json, from `command` (which prints it): written last, the set's commit. */
export function borgCreateMeta(request: { guest: string; takenAt: Date; command: readonly string[] }): string[] {
  return [
    'borg', 'create', '--json', '--lock-wait', String(WRITE_LOCK_WAIT_S),
    '--timestamp', borgTimestamp(request.takenAt),
    '--stdin-name', 'meta.json',
    '--content-from-command', `::${metaArchiveName(request.guest, backupStamp(request.takenAt))}`,
    '--', ...checkedCommand(request.command),
  ];
}

/**
 * `borg list --json --glob-archives PATTERN`: the archives a pattern selects (archives.ts makes the
 * patterns). Without lockWait, borg's own 1 s: a list during a backup (which holds the lock) fails at
 * once rather than waiting; give lockWait to wait.
 */
export function borgList(glob: string, options: { lockWait?: number } = {}): string[] {
  return ['borg', 'list', '--json', ...lockWait(options.lockWait), '--glob-archives', checkedGlob(glob)];
}

/** `borg extract --stdout ::ARCHIVE`: a disk's bytes, or a meta.json, on stdout. */
export function borgExtract(archive: string, options: { lockWait?: number } = {}): string[] {
  return ['borg', 'extract', '--stdout', ...lockWait(options.lockWait ?? WRITE_LOCK_WAIT_S), `::${checkedArchive(archive)}`];
}

/**
 * `borg prune` of a guest's sets, by their meta archives (a set's disk archives are deleted with
 * borgDelete once their meta is gone): the retention, and always the latest set (--keep-last 1).
 */
export function borgPrune(guest: string, retention: BackupAnswers['retention']): string[] {
  return [
    'borg', 'prune', '--lock-wait', String(WRITE_LOCK_WAIT_S),
    '--glob-archives', guestMetaGlob(guest),
    '--keep-daily', String(retention.daily),
    '--keep-weekly', String(retention.weekly),
    '--keep-monthly', String(retention.monthly),
    '--keep-last', '1',
  ];
}

/** `borg delete ::FIRST OTHER...`: archives by name (leftover disk archives, those of a pruned set). */
export function borgDelete(archives: readonly string[]): string[] {
  if (archives.length === 0) throw new Error('borg delete needs at least one archive (without one it deletes the repository)');
  const [first, ...rest] = archives.map(checkedArchive);
  return ['borg', 'delete', '--lock-wait', String(WRITE_LOCK_WAIT_S), `::${first}`, ...rest];
}

/** `borg check --repository-only`: the segments' CRCs, in slices of maxDuration seconds (0: all at once). */
export function borgCheckRepository(options: { maxDuration?: number } = {}): string[] {
  const maxDuration = options.maxDuration ?? CHECK_MAX_DURATION_S;
  return ['borg', 'check', '--lock-wait', String(CHECK_LOCK_WAIT_S), '--repository-only', ...(maxDuration > 0 ? ['--max-duration', String(maxDuration)] : [])];
}

/**
 * `borg check --archives-only`: the archives' metadata (the chunks they name exist), for the archives
 * a glob selects or the last N; verifyData reads and authenticates every chunk too (`backup verify --full`).
 */
export function borgCheckArchives(options: { glob?: string; last?: number; verifyData?: boolean } = {}): string[] {
  if (options.last !== undefined && !(Number.isInteger(options.last) && options.last > 0)) throw new Error(`not a number of archives: ${options.last}`);
  return [
    'borg', 'check', '--lock-wait', String(CHECK_LOCK_WAIT_S), '--archives-only',
    ...(options.verifyData ? ['--verify-data'] : []),
    ...(options.glob !== undefined ? ['--glob-archives', checkedGlob(options.glob)] : []),
    ...(options.last !== undefined ? ['--last', String(options.last)] : []),
  ];
}

/** `borg compact`: frees the segments deleted archives left (after a run's prunes and deletes). */
export function borgCompact(): string[] {
  return ['borg', 'compact', '--lock-wait', String(WRITE_LOCK_WAIT_S)];
}

/**
 * The environment of every borg command on a node: the repository, borg's state and cache in
 * hvcluster's directories (not root's home), and the passphrase through its file. Without
 * encryption, borg would ask each node but the one that ran init whether to trust an unknown
 * unencrypted repository, and abort for want of a terminal: the answer file already said yes.
 */
export function borgEnvironment(cluster: string, backup: Pick<BackupAnswers, 'repository' | 'encryption'>): Record<string, string> {
  return {
    BORG_REPO: repositoryLayout(cluster, backup).repo,
    BORG_BASE_DIR,
    BORG_CACHE_DIR,
    ...(backup.encryption === 'none' ? { BORG_UNKNOWN_UNENCRYPTED_REPO_ACCESS_IS_OK: 'yes' } : { BORG_PASSCOMMAND: `cat ${PASSPHRASE_FILE}` }),
  };
}

/** An instant as borg's --timestamp reads it: UTC, to the second, `2026-12-08T10:15:00`. */
export function borgTimestamp(date: Date): string {
  return date.toISOString().slice(0, 19);
}

function lockWait(seconds: number | undefined): string[] {
  if (seconds === undefined) return [];
  if (!Number.isInteger(seconds) || seconds < 0) throw new Error(`not a lock wait in seconds: ${seconds}`);
  return ['--lock-wait', String(seconds)];
}

function checkedArchive(archive: string): string {
  if (!parseArchiveName(archive)) throw new Error(`not an archive name hvcluster makes: ${JSON.stringify(archive)}`);
  return archive;
}

/** Globs are made by archives.ts from guest names; this only keeps them from reading as options or paths. */
function checkedGlob(glob: string): string {
  if (!/^[a-z0-9*?][a-z0-9.*?-]*$/.test(glob)) throw new Error(`not an archive glob hvcluster makes: ${JSON.stringify(glob)}`);
  return glob;
}

function checkedResource(resource: string): string {
  if (!/^[a-z0-9][a-z0-9.-]*$/.test(resource)) throw new Error(`not a DRBD resource name: ${JSON.stringify(resource)}`);
  return resource;
}

function checkedCommand(command: readonly string[]): readonly string[] {
  if (command.length === 0 || command[0] === '') throw new Error('--content-from-command needs a command');
  return command;
}
