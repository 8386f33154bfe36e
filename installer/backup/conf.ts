/**
 * /etc/hvcluster/backup.conf, what a node's backups read (installer/remote/backup-node.sh: the
 * timer's run and `hvcluster backup run`): the repository and its settings from spec.backup, and the
 * guests this node holds that are backed up, each with its disks' DRBD resources and its
 * declaration (what a set's meta.json records). One `key value` a line, in the format backup-node.sh's
 * header describes; no secret (the passphrase stays in its root-only file). Pure: the answers and the
 * plan's guests (placed by preflight) in, the template's values out.
 */
import type { Answers } from '../answers/schema.js';
import { snapshotPercent } from '../answers/schema.js';
import type { GuestModel } from '../plan/guest-model.js';
import type { PlannedFile } from '../plan/types.js';
import type { TemplateEnvironment } from '../render/environment.js';
import { BACKUP_CONF, BORG_BASE_DIR, BORG_CACHE_DIR, PASSPHRASE_FILE, repositoryLayout } from './layout.js';
import { guestDeclaration } from './meta.js';

export const BACKUP_CONF_TEMPLATE = 'backup.conf.hbs';

/** The values of templates/backup.conf.hbs. */
export interface BackupConfModel {
  /** The node the file is for (its header says so). */
  node: string;
  cluster: string;
  vg: string;
  root: string;
  repo: string;
  /** Only with encryption: without it backup-node.sh tells borg the repository is unencrypted. */
  passphraseFile?: string;
  borgBase: string;
  borgCache: string;
  compression: string;
  freezeTimeout: number;
  /** `full`, or the percentage without its '%' (snapshot.sh's SIZE). */
  snapshotSize: string;
  keepDaily: number;
  keepWeekly: number;
  keepMonthly: number;
  /** The hvcluster that installed the scripts (each set's meta.json records it). */
  version: string;
  /** Where apply keeps the guests' domain XML (a set's meta.json holds the guest's). */
  guestsDir: string;
  /** In the order the timer backs them up. */
  guests: { name: string; resources: string[]; declaration: string }[];
}

/**
 * The guests `node` backs up: those spec.backup.guests names (default: every present guest), present,
 * held by `node` (a guest's replicas are on two of three nodes with DRBD 8.4); in the order of
 * spec.backup.guests when given (the integrator's priority), else of spec.guests. Pure.
 */
export function backedUpGuests(answers: Answers, guests: readonly GuestModel[], node: string): GuestModel[] {
  const backup = answers.spec.backup;
  if (!backup) return [];
  const held = guests.filter((g) => g.state === 'present' && g.holders.includes(node));
  if (backup.guests === undefined) return held;
  return backup.guests.flatMap((name) => held.filter((g) => g.name === name));
}

export function backupConfModel(input: { answers: Answers; guests: readonly GuestModel[]; node: string; version: string; guestsDir: string }): BackupConfModel {
  const { answers } = input;
  const backup = answers.spec.backup;
  if (!backup) throw new Error('backup.conf needs spec.backup');
  const layout = repositoryLayout(answers.metadata.name, backup);
  const percent = snapshotPercent(backup.snapshotSize);
  return {
    node: input.node,
    cluster: answers.metadata.name,
    vg: answers.spec.storage.volumeGroup,
    root: layout.root,
    repo: layout.repo,
    ...(backup.encryption !== 'none' ? { passphraseFile: PASSPHRASE_FILE } : {}),
    borgBase: BORG_BASE_DIR,
    borgCache: BORG_CACHE_DIR,
    compression: backup.compression,
    freezeTimeout: backup.freezeTimeout,
    snapshotSize: percent === undefined ? 'full' : String(percent),
    keepDaily: backup.retention.daily,
    keepWeekly: backup.retention.weekly,
    keepMonthly: backup.retention.monthly,
    version: input.version,
    guestsDir: input.guestsDir,
    guests: backedUpGuests(answers, input.guests, input.node).map((g) => ({
      name: g.name,
      resources: g.disks.map((d) => d.resource),
      // One line: backup-node.sh copies it into meta.json as it is.
      declaration: JSON.stringify(guestDeclaration(g)),
    })),
  };
}

/** backup.conf as a planned file of a node (no secret in it: readable by all, like the other configuration). */
export function backupConfFile(model: BackupConfModel, templates: TemplateEnvironment): PlannedFile {
  return {
    path: BACKUP_CONF,
    template: BACKUP_CONF_TEMPLATE,
    content: templates.render(BACKUP_CONF_TEMPLATE, model),
    mode: 0o644,
    owner: 'root:root',
    purpose: "what the node's backups read: the repository, its settings, the guests it holds",
    notify: [],
  };
}
