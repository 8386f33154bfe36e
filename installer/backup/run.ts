/**
 * `hvcluster backup run`: which node backs up which guest (where it is Primary; a stopped guest: its
 * first holder whose disks are UpToDate), decided from the nodes' reads; and what the node's
 * backup-node.sh printed, read back into figures (bytes read, stored, consistency). Pure.
 */
import type { Answers } from '../answers/schema.js';
import { ChecksFailedError, UsageError } from '../errors.js';
import { domainOf } from '../engine/guest-state.js';
import type { NodeRead } from '../guests/moves.js';
import { diskResource } from '../plan/guest-model.js';

export interface GuestBackup {
  guest: string;
  node: string;
  /** The guest runs nowhere: backed up from `node`'s copy (backup-node.sh --stopped). */
  stopped: boolean;
}

const own = (pair: string | null | undefined) => (pair ? pair.split('/')[0]! : null);

/** The guests spec.backup covers: its `guests`, else every present guest. */
export function backedUpGuests(answers: Answers): string[] {
  const backup = answers.spec.backup;
  if (!backup) return [];
  return backup.guests ?? answers.spec.guests.filter((g) => g.state === 'present').map((g) => g.name);
}

/** The guests asked for (none: every guest spec.backup covers); refused without spec.backup, or for a guest it does not cover. */
export function coveredGuests(answers: Answers, asked: readonly string[]): string[] {
  if (!answers.spec.backup) throw new UsageError('the answer file has no spec.backup: there is no repository to back up to', { hint: 'declare spec.backup (`hvcluster init --example` shows one), then `hvcluster apply`' });
  const covered = backedUpGuests(answers);
  for (const guest of asked) {
    if (!covered.includes(guest)) throw new UsageError(`guest ${guest} is not backed up by spec.backup`, { hint: `backed up: ${covered.join(', ') || 'none'}` });
  }
  return covered;
}

/**
 * Where each guest asked for (default: every guest spec.backup covers) is backed up. Refused: no
 * spec.backup, a guest it does not cover. A guest that cannot be backed up now (in a migration's
 * window, no UpToDate copy, running twice) is returned in `skipped` with why: the others go on.
 */
export function planBackupRun(answers: Answers, reads: ReadonlyMap<string, NodeRead>, asked: readonly string[]): { backups: GuestBackup[]; skipped: { guest: string; reason: string }[] } {
  const covered = coveredGuests(answers, asked);
  const backups: GuestBackup[] = [];
  const skipped: { guest: string; reason: string }[] = [];
  for (const guest of asked.length > 0 ? asked : covered) {
    const declared = answers.spec.guests.find((g) => g.name === guest)!;
    const resources = declared.disks.map((_, i) => diskResource(guest, i));
    const holders = [...reads].filter(([, r]) => r.volumes.byName.get(resources[0]!)?.lvPresent).map(([n]) => n);
    const running = [...reads].filter(([, r]) => ['running', 'paused'].includes(domainOf(r.guests, guest).state)).map(([n]) => n);
    const role = (n: string, r: string) => reads.get(n)!.volumes.byName.get(r)?.state;
    if (holders.length === 0) skipped.push({ guest, reason: 'it has no disks on any node yet (run apply)' });
    else if (running.length > 1) skipped.push({ guest, reason: `it runs on ${running.join(' and ')} at once` });
    else if (resources.some((r) => holders.filter((n) => own(role(n, r)?.role) === 'Primary').length > 1)) skipped.push({ guest, reason: 'a live migration is in progress (two Primaries)' });
    else if (running[0]) backups.push({ guest, node: running[0], stopped: false });
    else {
      const node = holders.find((n) => resources.every((r) => own(role(n, r)?.dstate) === 'UpToDate'));
      if (node) backups.push({ guest, node, stopped: true });
      else skipped.push({ guest, reason: 'no node holds its disks UpToDate' });
    }
  }
  return { backups, skipped };
}

/** One archive borg wrote, with its figures (`borg create --json`). */
export interface ArchiveFigures {
  name: string;
  /** What was read (a disk: its DRBD data size). */
  originalBytes: number;
  /** What this archive added to the repository (new chunks, compressed). */
  storedBytes: number;
  durationS: number;
}

export interface GuestBackupResult {
  set: string;
  /** Each disk's DRBD data size, as its snapshot recorded it: what was read. */
  diskBytes: number[];
  consistency: string;
  freeze: string;
  thaw: string;
  archives: ArchiveFigures[];
}

/** backup-node.sh guest's output: `@snapshot` lines (snapshot.sh's), `@borg NAME` + borg's JSON per archive, `@done SET`. */
export function parseGuestBackupOutput(stdout: string): GuestBackupResult {
  const lines = stdout.split('\n');
  const snapshot = (key: string) => lines.find((l) => l.startsWith(`@snapshot ${key} `))?.slice(`@snapshot ${key} `.length) ?? '';
  const archives: ArchiveFigures[] = [];
  for (let i = 0; i < lines.length; i++) {
    if (!lines[i]!.startsWith('@borg ')) continue;
    const name = lines[i]!.slice(6);
    // borg's --json document: indented, its closing brace alone on a line.
    const json: string[] = [];
    for (i++; i < lines.length; i++) {
      json.push(lines[i]!);
      if (lines[i] === '}') break;
    }
    const doc = JSON.parse(json.join('\n')) as { archive?: { duration?: number; stats?: { original_size?: number; deduplicated_size?: number } } };
    const stats = doc.archive?.stats;
    if (stats?.original_size === undefined || stats.deduplicated_size === undefined) throw new Error(`borg create --json for ${name} gave no stats`);
    archives.push({ name, originalBytes: stats.original_size, storedBytes: stats.deduplicated_size, durationS: doc.archive?.duration ?? 0 });
  }
  const done = lines.find((l) => l.startsWith('@done '))?.slice(6);
  if (!done) throw new ChecksFailedError(`backup-node.sh did not finish the set (no @done line): ${stdout.trim().split('\n').slice(-3).join(' / ')}`);
  const diskBytes = lines.filter((l) => l.startsWith('@snapshot snapshot ')).map((l) => Number(l.split(' ')[4]));
  return { set: done, diskBytes, consistency: snapshot('consistency') || 'crash', freeze: snapshot('freeze'), thaw: snapshot('thaw'), archives };
}

/** The set's figures: what was read of the disks (their DRBD data), what the set added to the repository, how long the disks took. */
export function setFigures(result: GuestBackupResult): { readBytes: number; storedBytes: number; seconds: number } {
  const disks = result.archives.filter((a) => !a.name.endsWith('.meta'));
  return {
    readBytes: result.diskBytes.reduce((s, b) => s + b, 0),
    storedBytes: result.archives.reduce((s, a) => s + a.storedBytes, 0),
    seconds: disks.reduce((s, a) => s + a.durationS, 0),
  };
}
