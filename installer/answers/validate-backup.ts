/**
 * The rules of `spec.backup` that the schema cannot express (docs/design/backups.md, section 4):
 * a repository directory of its own, an NFS server apart from the nodes and mounted so that the
 * nodes' writers can take turns, a passphrase exactly when the repository is encrypted, a retention
 * that keeps something, guests that are declared and present, a schedule a unit file can hold.
 *
 * Pure, like validate-ha.ts: answers in, issues with key paths out. Whether the schedule is a
 * calendar expression systemd accepts (`systemd-analyze calendar`), the path one storage shared by
 * every node, and its free space enough, is for plan and preflight: they need the servers.
 */
import type { AnswerIssue, AnswerPath } from './issues.js';
import { nodeAddresses, sameHost } from './node-addresses.js';
import { DEFAULT_BACKUP_PATH, type BackupAnswers, type NodeAnswers } from './schema.js';

export interface BackupParts {
  /** spec.backup; 'invalid' when the section is there but failed the schema (nothing is checked then). */
  backup: BackupAnswers | 'invalid' | undefined;
  /** Nodes with their index in spec.nodes (from a file that failed the schema: those that passed it). */
  nodes: ReadonlyArray<{ index: number; node: NodeAnswers }>;
  /**
   * Every guest spec.guests declares, by name, with its state; undefined when not known (a guest whose
   * name or state failed the schema): backup.guests is then checked only for duplicates.
   */
  guests: ReadonlyArray<{ index: number; name: string; state: 'present' | 'absent' }> | undefined;
}

/** Directories of the system itself: a repository there would fill or shadow what the node boots and runs from. */
const SYSTEM_DIRS = ['/etc', '/proc', '/sys', '/dev', '/run', '/boot', '/usr'];
/** The longest schedule accepted (a line of the timer unit: OnCalendar=...). */
const SCHEDULE_MAX = 200;

export function validateBackup(parts: BackupParts): AnswerIssue[] {
  const backup = parts.backup;
  if (backup === undefined || backup === 'invalid') return [];
  const issues: AnswerIssue[] = [];
  const error = (path: AnswerPath, message: string) => issues.push({ severity: 'error', path, message });
  const warning = (path: AnswerPath, message: string) => issues.push({ severity: 'warning', path, message });
  const at = (...rest: Array<string | number>): AnswerPath => ['spec', 'backup', ...rest];

  // The repository's directory: normalized (systemd mounts only such a path, and prefixes compare
  // reliably), and not the system's own.
  const path = backup.repository.path;
  if (path === '/') {
    error(at('repository', 'path'), `the repository cannot be the root directory; expected a directory of its own, like ${DEFAULT_BACKUP_PATH}`);
  } else if (path.split('/').slice(1).some((part) => part === '' || part === '.' || part === '..')) {
    error(at('repository', 'path'), `expected a path without '.' or '..' parts, '//' or a trailing '/', like ${DEFAULT_BACKUP_PATH}, found ${JSON.stringify(path)}`);
  } else {
    const system = SYSTEM_DIRS.find((dir) => path === dir || path.startsWith(`${dir}/`));
    if (system) {
      error(
        at('repository', 'path'),
        `${path} is ${path === system ? '' : 'under '}${system}, which belongs to the system (${SYSTEM_DIRS.join(', ')} are refused); expected a directory of its own, like ${DEFAULT_BACKUP_PATH}`,
      );
    }
  }

  // NFS: a server apart from the nodes, and mount options under which flock works across nodes.
  const nfs = backup.repository.nfs;
  if (nfs) {
    const isNode = nodeAddresses(parts.nodes).get(sameHost(nfs.server));
    if (isNode) {
      warning(
        at('repository', 'nfs', 'server'),
        `the NFS server ${nfs.server} is ${isNode}: the backups would be lost with that node, and the other nodes could not back up while it is down; expected a server apart from the cluster`,
      );
    }
    const options = nfs.options.split(',');
    if (options.some((o) => /^(?:nfs)?vers=3(?:\.0)?$/.test(o))) {
      warning(
        at('repository', 'nfs', 'options'),
        "vers=3 locks files through NLM: the lock a dead node held on the repository stays until that node boots again, and every other node's backup waits on it; NFSv4 frees it when the node's lease expires. Expected vers=4.2 or vers=4.1",
      );
    }
    const local = options.find((o) => o === 'nolock' || /^local_lock=(?:flock|all)$/.test(o));
    if (local) {
      warning(
        at('repository', 'nfs', 'options'),
        `${local} keeps file locks on each node: the nodes' backups no longer take turns on the repository; remove it`,
      );
    }
  }

  // The passphrase: exactly when the repository is encrypted.
  if (backup.encryption === 'none') {
    warning(
      at('encryption'),
      "encryption: none stores the guests' disks readable by anyone who can read the repository's storage; expected repokey-blake2 unless that storage is as well guarded as the nodes",
    );
    if (backup.passphraseFrom) warning(at('passphraseFrom'), 'passphraseFrom is not used with encryption: none; remove it, or set encryption: repokey-blake2');
  } else if (!backup.passphraseFrom) {
    error(
      at(),
      `encryption ${backup.encryption} needs passphraseFrom: where hvcluster reads the repository's passphrase, like passphraseFrom: { env: HVCLUSTER_BACKUP_PASSPHRASE } or { file: PATH } (never the passphrase itself)`,
    );
  }

  // Retention: the latest set is always kept (--keep-last 1); keeping nothing else would let one bad
  // backup replace the only good one.
  const { daily, weekly, monthly } = backup.retention;
  if (daily === 0 && weekly === 0 && monthly === 0) {
    error(
      at('retention'),
      'daily, weekly and monthly are all 0: only the latest set would be kept, and a bad backup would replace the only good one; expected at least one above 0, like { daily: 7, weekly: 4, monthly: 6 }',
    );
  }

  // The guests backed up: declared, present, each once.
  if (backup.guests) {
    if (backup.guests.length === 0) warning(at('guests'), 'guests is empty: no guest is backed up; leave guests out to back up every present guest');
    const declared = parts.guests === undefined ? undefined : new Map(parts.guests.map((g) => [g.name, g]));
    const first = new Map<string, number>();
    backup.guests.forEach((name, k) => {
      const earlier = first.get(name);
      if (earlier !== undefined) {
        error(at('guests', k), `${name} is already listed at spec.backup.guests[${earlier}]`);
        return;
      }
      first.set(name, k);
      if (!declared) return;
      const guest = declared.get(name);
      if (!guest) {
        const names = [...declared.keys()];
        error(at('guests', k), `${name} is not a guest of spec.guests (${names.length > 0 ? names.join(', ') : 'none is declared'})`);
      } else if (guest.state === 'absent') {
        error(at('guests', k), `${name} is absent (spec.guests[${guest.index}].state): apply removes it, there is nothing to back up; remove it from backup.guests`);
      }
    });
  }

  // The schedule goes into the timer unit as OnCalendar=...: one line. Whether systemd reads it is
  // proven on the first node (systemd-analyze calendar) by plan and preflight.
  const schedule = backup.schedule;
  if (schedule !== undefined) {
    const example = 'like "*-*-* 02:00:00"';
    if (schedule.trim() === '') error(at('schedule'), `expected a systemd calendar expression, ${example}, found an empty value`);
    else if (/[\u0000-\u001f\u007f]/.test(schedule)) error(at('schedule'), `expected a systemd calendar expression on one line, without control characters, ${example}`);
    else if (schedule.length > SCHEDULE_MAX) error(at('schedule'), `expected a systemd calendar expression of at most ${SCHEDULE_MAX} characters, ${example}, found ${schedule.length}`);
  }
  return issues;
}
