/**
 * The borg 1.2 commands apply runs, as argument arrays (never shell strings: backup-init.sh passes
 * each element as one argument): `borg init` of the repository and `borg info` proving a node opens
 * it. Pure, tested by equality like Kamal's command builders. Options as borg 1.2.4's archiver.py
 * defines them.
 *
 * Every other borg command (create, list, extract, prune, delete, check, compact) and the
 * environment they run in are in installer/remote/backup-node.sh alone: the nodes' timer runs it
 * without TypeScript, and `hvcluster backup` runs the same script.
 *
 * The repository is never in an argument: BORG_REPO names it. The passphrase is never in an
 * argument or the environment either: BORG_PASSCOMMAND names the root-only file that holds it.
 */
import type { BackupAnswers } from '../answers/schema.js';

/** How long `borg info` waits for the repository's lock, as backup-node.sh's `borg check` does: minutes, not a writer's hour. */
export const CHECK_LOCK_WAIT_S = 600;

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
