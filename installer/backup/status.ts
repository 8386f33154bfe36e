/**
 * A guest's status file on the repository storage (ROOT/status/GUEST.json, layout.ts statusFile):
 * what backup-node.sh writes after each complete set, one line of JSON, no secret. verify's
 * BACKUP_AGE reads it without the passphrase. Pure.
 */

export interface BackupStatus {
  guest: string;
  /** The node that made the set (its hostname). */
  node: string;
  /** The set, GUEST.STAMP. */
  set: string;
  /** When the set was complete (its meta archive written), UTC ISO: 2026-12-07T12:22:49Z. */
  finishedAt: string;
  /** Its disks' bytes read, and what borg stored of them (deduplicated, compressed). */
  readBytes: number;
  storedBytes: number;
}

/** A status file's text; throws on one that is not what backup-node.sh writes. */
export function parseBackupStatus(text: string): BackupStatus {
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch {
    throw new Error(`not JSON: ${text.slice(0, 80)}`);
  }
  const o = (typeof doc === 'object' && doc !== null ? doc : {}) as Record<string, unknown>;
  const str = (key: string) => {
    const v = o[key];
    if (typeof v !== 'string' || v === '') throw new Error(`no ${key} in ${text.slice(0, 80)}`);
    return v;
  };
  const num = (key: string) => (typeof o[key] === 'number' && Number.isFinite(o[key]) ? (o[key] as number) : NaN);
  const finishedAt = str('finishedAt');
  if (Number.isNaN(Date.parse(finishedAt))) throw new Error(`finishedAt is not a time: ${finishedAt}`);
  return { guest: str('guest'), node: str('node'), set: str('set'), finishedAt, readBytes: num('readBytes'), storedBytes: num('storedBytes') };
}
