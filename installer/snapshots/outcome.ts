/**
 * What `snapshot.sh create`, `restore` and `write-back` print, parsed; and how a create's outcome
 * reads for the user (how consistent the snapshot is, whether the guest's filesystems were thawed,
 * or its RAM saved and the guest restored). Pure.
 */
import type { Consistency } from './state.js';

export interface CreateOutcome {
  /** `frozen` (N filesystems), `none` (no agent: REASON), `timed-out` (the agent did not answer in time), `skipped` (not running, or --no-freeze). */
  freeze: { result: 'frozen'; filesystems: number } | { result: 'none'; reason: string } | { result: 'timed-out' } | { result: 'skipped' };
  thaw: { result: 'ok' } | { result: 'abandoned'; reason: string; retryAt: string | null } | { result: 'none' };
  consistency: Consistency;
  disks: { resource: string; lv: string; bytes: number }[];
  /** --ram: the file the guest was saved into, its size, and whether the guest was restored from it. */
  ram: { file: string; bytes: number; restore: { result: 'ok' } | { result: 'failed'; reason: string } } | null;
}

export function parseCreateOutput(stdout: string): CreateOutcome {
  const lines = stdout.split('\n');
  const value = (key: string) => lines.find((l) => l === key || l.startsWith(`${key} `))?.slice(key.length + 1);
  const freezeText = value('freeze') ?? '';
  const freeze: CreateOutcome['freeze'] = freezeText.startsWith('frozen')
    ? { result: 'frozen', filesystems: Number(freezeText.slice(7)) || 0 }
    : freezeText === 'timed-out'
      ? { result: 'timed-out' }
      : freezeText.startsWith('none')
        ? { result: 'none', reason: freezeText.slice(5) }
        : { result: 'skipped' };
  const thawText = value('thaw') ?? 'none';
  const retry = Number(value('retry-thaw-at'));
  const thaw: CreateOutcome['thaw'] = thawText === 'ok' ? { result: 'ok' } : thawText.startsWith('abandoned') ? { result: 'abandoned', reason: thawText.slice(10), retryAt: Number.isFinite(retry) && retry > 0 ? new Date(retry * 1000).toISOString() : null } : { result: 'none' };
  const c = value('consistency');
  const consistency: Consistency = c === 'agent' || c === 'stopped' || c === 'ram' ? c : 'crash';
  const disks = lines
    .filter((l) => l.startsWith('snapshot '))
    .map((l) => {
      const [, resource, lv, bytes] = l.split(' ');
      return { resource: resource!, lv: lv!, bytes: Number(bytes) };
    });
  if (disks.length === 0) throw new Error(`snapshot.sh create printed no snapshot: ${stdout.trim()}`);
  const ramLine = /^ram (\S+) (\d+)$/m.exec(stdout);
  const restoreText = value('restore') ?? '';
  const ram: CreateOutcome['ram'] = ramLine
    ? { file: ramLine[1]!, bytes: Number(ramLine[2]), restore: restoreText === 'ok' ? { result: 'ok' } : { result: 'failed', reason: restoreText.replace(/^failed ?/, '') || 'snapshot.sh did not say' } }
    : null;
  return { freeze, thaw, consistency, disks, ram };
}

/** What `snapshot.sh restore` did: restored, nothing to do (the guest runs), or nothing to restore from (no file). */
export function parseRestore(stdout: string): 'ok' | 'running' | 'none' {
  const m = /^restore (ok|running|none)$/m.exec(stdout);
  if (!m) throw new Error(`snapshot.sh restore printed no result: ${stdout.trim()}`);
  return m[1] as 'ok' | 'running' | 'none';
}

/** One sentence on how consistent the snapshot is and why. */
export function describeConsistency(outcome: CreateOutcome, freezeTimeoutS: number): string {
  switch (outcome.freeze.result) {
    case 'frozen':
      return `application-consistent: the guest agent froze ${outcome.freeze.filesystems} filesystem(s) around it`;
    case 'none':
      return `crash-consistent: the guest's filesystems were not frozen (${outcome.freeze.reason || 'no guest agent'})`;
    case 'timed-out':
      return `crash-consistent: the guest agent did not answer the freeze within ${freezeTimeoutS} s`;
    case 'skipped':
      if (outcome.consistency === 'ram' && outcome.ram) return `consistent with its RAM: the guest was saved (virsh save, ${Math.ceil(outcome.ram.bytes / 2 ** 20)} MiB in ${outcome.ram.file}) while its disks were snapshotted, then restored from it`;
      return outcome.consistency === 'stopped' ? 'consistent: the guest was not running' : 'crash-consistent: no freeze asked for (--no-freeze)';
  }
}

/** What the user must know when the thaw was abandoned; null when it was not. */
export function thawWarning(guest: string, outcome: CreateOutcome, node: string): string | null {
  if (outcome.thaw.result !== 'abandoned') return null;
  const retry = outcome.thaw.retryAt ? `; ${node} tries the thaw again at ${outcome.thaw.retryAt.slice(11, 19)} UTC` : '';
  return `the guest agent of ${guest} did not answer the thaw (${outcome.thaw.reason || 'no answer'}): its filesystems may stay frozen until the agent answers${retry}. Check the guest, or thaw it by hand: virsh domfsthaw ${guest} on ${node}`;
}

export interface WriteBack {
  source: string;
  device: string;
}

export function parseWriteBack(stdout: string): WriteBack {
  const get = (key: string) => new RegExp(`^${key} ([0-9a-f]{64})$`, 'm').exec(stdout)?.[1];
  const source = get('source');
  const device = get('device');
  if (!source || !device) throw new Error(`snapshot.sh write-back printed no checksums: ${stdout.trim()}`);
  return { source, device };
}
