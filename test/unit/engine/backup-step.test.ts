/**
 * The backup step's plan on the lab's two nodes, from what backup-state.sh and the files read say:
 * a first apply (backup.conf, the export mounted, the repository made by the first node, opened from
 * both, the timer started), a second apply (nothing), a dry run (the same list), a changed
 * passphrase (opened again, a warning), a path of the customer's (no mount; refused where it is
 * missing), the timer disabled when the schedule goes, and the order of perform: the first node's
 * repository before any other node opens it.
 */
import { describe, expect, it } from 'vitest';
import { BACKUP_CONF } from '../../../installer/backup/layout.js';
import { changeSummary } from '../../../installer/engine/change.js';
import { backupStep } from '../../../installer/engine/steps/backup.js';
import { StepRefusedError, type NodeInput, type ServerState, type StepInput } from '../../../installer/engine/steps/step.js';
import type { Answers } from '../../../installer/answers/schema.js';
import { parseBackupState } from '../../../installer/backup/state.js';
import { backupConfFile, backupConfModel } from '../../../installer/backup/conf.js';
import { guestModels } from '../../../installer/plan/guest-model.js';
import { planCluster } from '../../../installer/plan/index.js';
import { VERSION } from '../../../installer/paths.js';
import { TemplateEnvironment } from '../../../installer/render/environment.js';
import { FULL_BACKUP, labFacts, loadBackupSite } from '../plan/helpers.js';
import { performOn } from './harness.js';
import { installPlaybook, installReadScript } from '../../../installer/services/install.js';
import { playbookReads } from '../../../installer/engine/runner.js';
import { loadSite } from '../plan/helpers.js';

const PASSPHRASE = 'borg-passphrase-Zq7!';
const GUESTS = ['- { name: web, memory: 128MiB, disks: [{ size: 64MiB }] }', '- { name: db, memory: 256MiB, disks: [{ size: 64MiB }, { size: 32MiB }] }'];
const AUTOMOUNT = 'var-lib-hvcluster-backup.automount';
const TIMER = 'hvcluster-backup.timer';

/** What backup-state.sh prints on a node. */
interface Node {
  automount?: [string, string];
  timer?: [string, string];
  path?: 'yes' | 'no' | 'timeout';
  mount?: string;
  repository?: 'yes' | 'no' | 'timeout';
  opened?: boolean;
  /** Files as the node holds them: 'planned' (every planned backup file as planned), or none of them. */
  files?: 'planned' | 'none';
  /** The passphrase file's content, when it is not as planned. */
  passphrase?: string;
}

/** Nothing of backups on the node yet (the first apply, before backup-files wrote its units: the dry run's view). */
const BLANK: Node = { path: 'no', mount: '-', repository: 'no', opened: false, files: 'none' };
/** Everything in place: a second apply. */
const DONE: Node = { automount: ['enabled', 'active'], timer: ['enabled', 'active'], path: 'yes', mount: 'autofs nfs4', repository: 'yes', opened: true, files: 'planned' };

function stateText(n: Node, withNfs: boolean): string {
  return [
    ...(withNfs ? [`unit ${AUTOMOUNT} ${(n.automount ?? ['-', 'inactive']).join(' ')}`] : []),
    `unit ${TIMER} ${(n.timer ?? ['-', 'inactive']).join(' ')}`,
    `path ${n.path ?? 'yes'}`,
    `mount ${n.mount ?? '-'}`,
    `repository ${n.repository ?? 'no'}`,
    `opened ${n.opened ? 'yes' : 'no'}`,
  ].join('\n');
}

function input(nodes: [Node, Node], options: { backup?: string[]; dryRun?: boolean; stale?: boolean } = {}): StepInput {
  const backup = options.backup ?? FULL_BACKUP;
  const { answers } = loadBackupSite(backup, GUESTS);
  const plan = planCluster(answers, [labFacts(1), labFacts(2)], { drbdSecret: 'a'.repeat(48), ...(answers.spec.backup!.encryption === 'none' ? {} : { backupPassphrase: PASSPHRASE }) });
  plan.guests = guestModels({ answers, major: '8.4', freeMiB: { hv1: 1000, hv2: 1000 }, existingHolders: {}, imageSizeMiB: {} });
  const withNfs = answers.spec.backup!.repository.nfs !== undefined;
  const inputs: NodeInput[] = plan.nodes.map((node, i) => {
    const n = nodes[i]!;
    const files = new Map<string, string | null>(node.files.map((f) => [f.path, n.files === 'planned' ? f.content : null]));
    files.set(BACKUP_CONF, n.files === 'planned' ? confOf(answers, plan.guests!, node.name) : null);
    if (n.passphrase !== undefined) files.set('/etc/hvcluster/backup/passphrase', n.passphrase);
    const state = { files: { ok: true, value: files }, backup: { ok: true, value: parseBackupState(stateText(n, withNfs)) } } as unknown as ServerState;
    return { node, state, data: {} };
  });
  return { step: { name: 'backup', title: 'backup', kind: 'backup' }, runId: 'R1', dryRun: options.dryRun ?? false, answers, plan, backupDir: '/var/backups/hvcluster/R1', self: inputs[0]!, nodes: inputs, stale: options.stale ?? false };
}

function confOf(answers: Answers, guests: NonNullable<StepInput['plan']['guests']>, node: string): string {
  return backupConfFile(backupConfModel({ answers, guests, node, version: VERSION, guestsDir: '/etc/hvcluster/guests' }), new TemplateEnvironment()).content;
}

const lines = (i: StepInput) => backupStep.plan(i).changes.map((c) => `${c.server}: ${c.description}`);
const actions = (i: StepInput) => backupStep.plan(i).changes.map((c) => `${c.server}: ${changeSummary(c).actions.join(' ; ')}`);

const FIRST_APPLY = [
  "hv1: write /etc/hvcluster/backup.conf (what the node's backups read: the repository, its settings, the guests it holds)",
  'hv1: mount 198.18.1.10:/srv/hvbackup at /var/lib/hvcluster/backup (var-lib-hvcluster-backup.automount enabled and started, the NFS mount proven)',
  'hv1: initialise the borg repository /var/lib/hvcluster/backup/lab/borg (repokey-blake2), unless the storage holds one already',
  "hv1: open the borg repository /var/lib/hvcluster/backup/lab/borg from hv1 (borg info: the shared storage, the passphrase, borg's state on the node)",
  'hv1: enable and start hvcluster-backup.timer (*-*-* 02:00:00)',
  "hv2: write /etc/hvcluster/backup.conf (what the node's backups read: the repository, its settings, the guests it holds)",
  'hv2: mount 198.18.1.10:/srv/hvbackup at /var/lib/hvcluster/backup (var-lib-hvcluster-backup.automount enabled and started, the NFS mount proven)',
  "hv2: open the borg repository /var/lib/hvcluster/backup/lab/borg from hv2 (borg info: the shared storage, the passphrase, borg's state on the node)",
  'hv2: enable and start hvcluster-backup.timer (*-*-* 02:00:00)',
];

describe('the backup step plan', () => {
  it('first apply: backup.conf, the export mounted, the repository made by the first node, opened from both, the timer started', () => {
    const i = input([BLANK, BLANK]);
    expect(lines(i)).toEqual(FIRST_APPLY);
    expect(actions(i)).toEqual([
      'hv1: upload /etc/hvcluster/backup.conf (0644 root:root), old copy kept in /var/backups/hvcluster/R1',
      'hv1: systemctl enable --now var-lib-hvcluster-backup.automount ; backup-init.sh mount /var/lib/hvcluster/backup var-lib-hvcluster-backup.mount 60',
      'hv1: backup-init.sh init /var/lib/hvcluster/backup /var/lib/hvcluster/backup/lab /etc/hvcluster/backup/passphrase /var/lib/hvcluster/borg /var/cache/hvcluster/borg -- borg init -e repokey-blake2',
      'hv1: backup-init.sh open /var/lib/hvcluster/backup/lab /etc/hvcluster/backup/passphrase /var/lib/hvcluster/borg /var/cache/hvcluster/borg /var/lib/hvcluster/borg/hvcluster-opened -- borg info --lock-wait 600',
      'hv1: systemctl enable --now hvcluster-backup.timer',
      'hv2: upload /etc/hvcluster/backup.conf (0644 root:root), old copy kept in /var/backups/hvcluster/R1',
      'hv2: systemctl enable --now var-lib-hvcluster-backup.automount ; backup-init.sh mount /var/lib/hvcluster/backup var-lib-hvcluster-backup.mount 60',
      'hv2: backup-init.sh open /var/lib/hvcluster/backup/lab /etc/hvcluster/backup/passphrase /var/lib/hvcluster/borg /var/cache/hvcluster/borg /var/lib/hvcluster/borg/hvcluster-opened -- borg info --lock-wait 600',
      'hv2: systemctl enable --now hvcluster-backup.timer',
    ]);
    // The conf each node gets: both guests (a pair holds them all), the package's version.
    const conf = backupStep.plan(i).changes[0]!.actions[0] as { content: string };
    expect(conf.content).toContain(`\nhvcluster-version ${VERSION}\n`);
    expect(conf.content.split('\n').filter((l) => l.startsWith('guest '))).toEqual(['guest web web-disk0', 'guest db db-disk0 db-disk1']);
    // No secret anywhere in what the plan shows.
    expect(JSON.stringify(backupStep.plan(i).changes.map(changeSummary))).not.toContain(PASSPHRASE);
    expect(conf.content).not.toContain(PASSPHRASE);
  });

  it('second apply: nothing', () => {
    const plan = backupStep.plan(input([DONE, DONE]));
    expect(plan.changes).toEqual([]);
    expect(plan.notes ?? []).toEqual([]);
  });

  it('a dry run of the first apply lists every change apply makes (nothing of backups there yet)', () => {
    expect(lines(input([BLANK, BLANK], { dryRun: true, stale: true }))).toEqual(FIRST_APPLY);
  });

  it('in a real first apply (the units written, the storage not mounted yet) the same changes; the automount already started is not started again', () => {
    const written: Node = { ...BLANK, files: 'none', timer: ['disabled', 'inactive'], path: 'yes' };
    expect(lines(input([written, written]))).toEqual(FIRST_APPLY);
    const automountOn: Node = { ...written, automount: ['enabled', 'active'] };
    expect(actions(input([automountOn, automountOn]))[1]).toBe('hv1: backup-init.sh mount /var/lib/hvcluster/backup var-lib-hvcluster-backup.mount 60');
  });

  it('the storage mounted and holding the repository (another cluster install, a new node): no init; only the node that never opened it opens it', () => {
    const fresh: Node = { ...DONE, opened: false, timer: ['-', 'inactive'], files: 'none' };
    expect(lines(input([DONE, fresh]))).toEqual([
      "hv2: write /etc/hvcluster/backup.conf (what the node's backups read: the repository, its settings, the guests it holds)",
      "hv2: open the borg repository /var/lib/hvcluster/backup/lab/borg from hv2 (borg info: the shared storage, the passphrase, borg's state on the node)",
      'hv2: enable and start hvcluster-backup.timer (*-*-* 02:00:00)',
    ]);
    // The first node mounted but without a repository: it makes one (no "unless": it knows).
    expect(lines(input([{ ...DONE, repository: 'no', opened: false }, DONE]))).toEqual([
      'hv1: initialise the borg repository /var/lib/hvcluster/backup/lab/borg (repokey-blake2)',
      "hv1: open the borg repository /var/lib/hvcluster/backup/lab/borg from hv1 (borg info: the shared storage, the passphrase, borg's state on the node)",
    ]);
  });

  it('a passphrase file that changes in this run: every node opens the repository again, with a warning', () => {
    const plan = backupStep.plan(input([{ ...DONE, passphrase: 'the-old-one' }, { ...DONE, passphrase: 'the-old-one' }], { dryRun: true, stale: true }));
    expect(plan.changes.map((c) => `${c.server}: ${c.description}`)).toEqual([
      "hv1: open the borg repository /var/lib/hvcluster/backup/lab/borg from hv1 (borg info: the shared storage, the passphrase, borg's state on the node)",
      "hv2: open the borg repository /var/lib/hvcluster/backup/lab/borg from hv2 (borg info: the shared storage, the passphrase, borg's state on the node)",
    ]);
    expect(plan.notes!.map((n) => `${n.level}: ${n.text}`)).toEqual([
      'warn: hv1: the backup passphrase file changes: borg info proves the new passphrase still opens the repository (a repository\'s passphrase itself is changed with borg key change-passphrase)',
      'warn: hv2: the backup passphrase file changes: borg info proves the new passphrase still opens the repository (a repository\'s passphrase itself is changed with borg key change-passphrase)',
    ]);
    expect(JSON.stringify(plan)).not.toContain('the-old-one');
  });

  it("a path of the customer's storage: no mount; refused where the path is missing or does not answer; an unencrypted repository without a passphrase file", () => {
    const backup = ['repository: { path: /mnt/nas/hv }', 'encryption: none'];
    expect(actions(input([{ ...BLANK, path: 'yes' }, { ...BLANK, path: 'yes' }], { backup }))).toEqual([
      'hv1: upload /etc/hvcluster/backup.conf (0644 root:root), old copy kept in /var/backups/hvcluster/R1',
      'hv1: backup-init.sh init /mnt/nas/hv /mnt/nas/hv/lab - /var/lib/hvcluster/borg /var/cache/hvcluster/borg -- borg init -e none',
      'hv1: backup-init.sh open /mnt/nas/hv/lab - /var/lib/hvcluster/borg /var/cache/hvcluster/borg /var/lib/hvcluster/borg/hvcluster-opened -- borg info --lock-wait 600',
      'hv2: upload /etc/hvcluster/backup.conf (0644 root:root), old copy kept in /var/backups/hvcluster/R1',
      'hv2: backup-init.sh open /mnt/nas/hv/lab - /var/lib/hvcluster/borg /var/cache/hvcluster/borg /var/lib/hvcluster/borg/hvcluster-opened -- borg info --lock-wait 600',
    ]);
    const refusal = (path: 'no' | 'timeout') => {
      try {
        backupStep.plan(input([{ ...BLANK, path: 'yes' }, { ...BLANK, path }], { backup }));
      } catch (error) {
        expect(error).toBeInstanceOf(StepRefusedError);
        return `${(error as StepRefusedError).message} | ${(error as StepRefusedError).hint}`;
      }
      throw new Error('not refused');
    };
    expect(refusal('no')).toBe(
      'hv2: step "backup": /mnt/nas/hv, the backup repository\'s storage, does not exist on hv2 | Mount the storage every node shares at /mnt/nas/hv on each node (or give spec.backup.repository.nfs, which apply mounts), then apply again.',
    );
    expect(refusal('timeout')).toContain("/mnt/nas/hv, the backup repository's storage, does not answer (a lookup took over 10 s)");
  });

  it('refuses a mounted storage whose repository does not answer', () => {
    expect(() => backupStep.plan(input([{ ...DONE, repository: 'timeout' }, DONE]))).toThrow("hv1: step \"backup\": the backup repository's storage at /var/lib/hvcluster/backup does not answer");
  });

  it('the timer follows the schedule: disabled and stopped when it goes, left alone when it was never there', () => {
    const backup = ['repository: { nfs: { server: 198.18.1.10, export: /srv/hvbackup } }', 'passphraseFrom: { env: P }'];
    expect(lines(input([DONE, { ...DONE, timer: ['-', 'inactive'] }], { backup }))).toEqual(['hv1: disable and stop hvcluster-backup.timer (spec.backup has no schedule)']);
    // A timer stopped but enabled would start again at the next boot.
    expect(lines(input([{ ...DONE, timer: ['enabled', 'inactive'] }, { ...DONE, timer: ['disabled', 'inactive'] }], { backup }))).toEqual(['hv1: disable and stop hvcluster-backup.timer (spec.backup has no schedule)']);
    // With a schedule, a timer that is enabled but not running (stopped by hand) is started.
    expect(lines(input([{ ...DONE, timer: ['enabled', 'inactive'] }, DONE]))).toEqual(['hv1: enable and start hvcluster-backup.timer (*-*-* 02:00:00)']);
  });
});

describe('the backup step perform', () => {
  it("makes the first node's changes (its repository) before any other node's, then the others", async () => {
    const i = input([BLANK, BLANK]);
    const plan = backupStep.plan(i);
    const order: string[] = [];
    const { done, guard } = await performOn(backupStep, plan, i, (server, command) => {
      const what = /^sh -s -- (init|open|mount) |^systemctl (enable)/.exec(command);
      if (what) order.push(`${server}: ${what[1] ?? what[2]}`);
      return '';
    });
    await done;
    expect(guard.changes.map((c) => c.server)).toEqual(['hv1', 'hv1', 'hv1', 'hv1', 'hv1', 'hv2', 'hv2', 'hv2', 'hv2']);
    expect(order).toEqual(['hv1: enable', 'hv1: mount', 'hv1: init', 'hv1: open', 'hv1: enable', 'hv2: enable', 'hv2: mount', 'hv2: open', 'hv2: enable']);
    const lastOfFirst = Math.max(...order.map((o, k) => (o.startsWith('hv1') ? k : -1)));
    const firstOfOthers = order.findIndex((o) => o.startsWith('hv2'));
    expect(lastOfFirst).toBeLessThan(firstOfOthers);
  });

  it('a first node that fails stops the step before the others open anything', async () => {
    const i = input([BLANK, BLANK]);
    const plan = backupStep.plan(i);
    const { done, guard } = await performOn(backupStep, plan, i, (server, command) => (server === 'hv1' && command.startsWith('sh -s -- init ') ? { exitCode: 1, stderr: 'borg init failed' } : ''));
    await expect(done).rejects.toThrow();
    expect(guard.changes.filter((c) => c.server === 'hv2')).toEqual([]);
  });

  it('a dry run records every change and runs none', async () => {
    const i = input([BLANK, BLANK], { dryRun: true, stale: true });
    const plan = backupStep.plan(i);
    const { done, guard, fakes } = await performOn(backupStep, plan, i);
    await done;
    expect(guard.changes.map((c) => `${c.server}: ${c.description}`)).toEqual(FIRST_APPLY);
    for (const fake of fakes.values()) expect(fake.commands).toEqual([]);
  });
});

describe('the install playbook with spec.backup', () => {
  it('ends with backup-files and backup, and its one read per node covers the backup state; without spec.backup neither is there', () => {
    const { answers } = loadBackupSite(FULL_BACKUP, GUESTS);
    const playbook = installPlaybook(answers);
    expect(playbook.steps.slice(-3).map((s) => s.name)).toEqual(['guests', 'backup-files', 'backup']);
    expect(playbookReads(playbook)).toEqual(expect.arrayContaining(['files', 'backup']));
    expect(installReadScript(answers, 'hv1')).toContain('hv_cmd backup hv_backup /var/lib/hvcluster/backup /var/lib/hvcluster/backup/lab');
    const plain = installPlaybook(loadSite().answers);
    expect(plain.steps.map((s) => s.name)).not.toContain('backup');
    expect(plain.steps.map((s) => s.name)).not.toContain('backup-files');
    expect(playbookReads(plain)).not.toContain('backup');
  });
});
