/**
 * One file made as planned outside a playbook (the migration test's resource file): read it, and
 * write it (old copy kept) only when it differs. Steps plan their files from the run's read instead
 * (steps/files.ts); both build the write with `fileWrite`.
 */
import { desiredContent } from '../plan/diff.js';
import { mayHoldSecrets, parseFilesOutput, readFilesAction } from '../plan/remote-files.js';
import type { PlannedFile } from '../plan/types.js';
import type { Change } from './change.js';
import type { Host } from './host.js';

/** The change that writes a planned file over `current` (null: absent), or null when it is as planned. Pure. */
export function fileWrite(server: string, step: string, file: PlannedFile, current: string | null, backupDir: string): Change | null {
  const desired = desiredContent(file, current);
  if (current === desired) return null;
  return {
    server,
    step,
    description: `write ${file.path} (${file.purpose})`,
    actions: [{ upload: file.path, content: desired, mode: file.mode, owner: file.owner, backupDir }],
  };
}

export async function ensureFile(host: Host, file: PlannedFile): Promise<void> {
  const r = await host.read(readFilesAction([file.path]), { secretOutput: mayHoldSecrets(file.path) });
  const change = fileWrite(host.server, host.step, file, parseFilesOutput(r.stdout, [file.path]).get(file.path) ?? null, host.backupDir);
  if (change) await host.perform(change);
}
