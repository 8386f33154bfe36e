/**
 * The backup step's plan on the lab's two nodes, from what backup-state.sh and the files read say:
 * a first apply (backup.conf, the export mounted, the repository made by the first node, opened from
 * both, the timer started), a second apply (nothing), a dry run (the same list), a changed
 * passphrase (opened again, a warning), a path of the customer's (no mount; refused where it is
 * missing), the timer disabled when the schedule goes, and the order of perform: the first node's
 * repository before any other node opens it. Then the answers without spec.backup: what earlier
 * backups left removed (the timer stopped, the storage unmounted, the units and files removed, each
 * kept first), the passphrase and the repository kept; nothing on a node that never had backups, nor
 * in a second apply.
 */
import { describe, expect, it } from 'vitest';
import { BACKUP_CONF } from '../../../installer/backup/layout.js';
import { changeSummary } from '../../../installer/engine/change.js';
import { backupStep } from '../../../installer/engine/steps/backup.js';
import { StepRefusedError, type NodeInput, type ServerState, type StepInput } from '../../../installer/engine/steps/step.js';
import type { Answers } from '../../../installer/answers/schema.js';
import { parseBackupLeftovers, parseBackupState } from '../../../installer/backup/state.js';
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
import { readPaths } from '../../../installer/engine/reads.js';
import { INSTALLED_BACKUP_FILES } from '../../../installer/plan/backup.js';

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
    const state = { files: { ok: true, value: files }, backup: { ok: true, value: { declared: true, state: parseBackupState(stateText(n, withNfs)) } } } as unknown as ServerState;
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
  it('ends with backup-files and backup, and its one read per node covers the backup state; without spec.backup only the backup step, on what earlier backups left', () => {
    const { answers } = loadBackupSite(FULL_BACKUP, GUESTS);
    const playbook = installPlaybook(answers);
    expect(playbook.steps.slice(-3).map((s) => s.name)).toEqual(['guests', 'backup-files', 'backup']);
    expect(playbookReads(playbook)).toEqual(expect.arrayContaining(['files', 'backup']));
    expect(installReadScript(answers, 'hv1')).toContain('hv_cmd backup hv_backup /var/lib/hvcluster/backup /var/lib/hvcluster/backup/lab');
    const plainAnswers = loadSite().answers;
    const plain = installPlaybook(plainAnswers);
    expect(plain.steps.map((s) => s.name)).not.toContain('backup-files');
    expect(plain.steps.at(-1)!.name).toBe('backup');
    expect(playbookReads(plain)).toEqual(expect.arrayContaining(['files', 'backup']));
    // In the same one read per node: backup-state.sh --left, and the files of fixed names among the files read.
    const script = installReadScript(plainAnswers, 'hv1');
    expect(script).toContain('hv_cmd backup hv_backup --left /etc/systemd/system hvcluster-backup.timer hvcluster-backup.service\n');
    expect(script.match(/hv_backup\(\) \(/g)).toHaveLength(1);
    expect(readPaths(plainAnswers)).toEqual(expect.arrayContaining([...INSTALLED_BACKUP_FILES, '/etc/hvcluster/backup/passphrase']));
  });
});

/** What backup-state.sh --left prints on a node, and which backup files it holds. */
interface Left {
  timer?: [string, string];
  service?: [string, string];
  /** The repository's storage units apply wrote there (`written`), with their states. */
  mounts?: Record<string, [string, string]>;
  /** The files of fixed names (backup.conf, the timer and service, the scripts): as the backups' apply wrote them, or none. */
  files: 'installed' | 'none';
  passphrase?: boolean;
}

const MOUNT = 'var-lib-hvcluster-backup.mount';
const SERVICE = 'hvcluster-backup.service';
/** A node of the lab once backups ran there (the e2e's state before spec.backup goes). */
const HAD_BACKUPS: Left = {
  timer: ['enabled', 'active'],
  service: ['static', 'inactive'],
  mounts: { [MOUNT]: ['static', 'active'], [AUTOMOUNT]: ['enabled', 'active'] },
  files: 'installed',
  passphrase: true,
};
/** A node that never had backups (and one after the removal: the units unknown to systemd, the files gone; the passphrase kept). */
const NEVER: Left = { files: 'none' };
const REMOVED: Left = { files: 'none', passphrase: true };

function leftText(n: Left): string {
  const mounts = Object.entries(n.mounts ?? {});
  return [
    `unit ${TIMER} ${(n.timer ?? ['-', 'inactive']).join(' ')}`,
    `unit ${SERVICE} ${(n.service ?? ['-', 'inactive']).join(' ')}`,
    ...mounts.flatMap(([name, [enabled, active]]) => [`unit ${name} ${enabled} ${active}`, `written ${name}`]),
    'end',
  ].join('\n');
}

/** The backup step's input for the lab's answers without spec.backup; what the nodes hold from the answers with FULL_BACKUP. */
function leftInput(nodes: [Left, Left], options: { dryRun?: boolean } = {}): StepInput {
  const had = input([DONE, DONE]);
  const { answers } = loadSite();
  const plan = planCluster(answers, [labFacts(1), labFacts(2)], { drbdSecret: 'a'.repeat(48) });
  const inputs: NodeInput[] = plan.nodes.map((node, i) => {
    const n = nodes[i]!;
    const before = had.nodes[i]!.state.files!;
    const held = before.ok ? before.value : new Map<string, string | null>();
    const files = new Map<string, string | null>(readPaths(answers).map((path) => [path, null]));
    if (n.files === 'installed') for (const path of INSTALLED_BACKUP_FILES) files.set(path, held.get(path) ?? null);
    if (n.passphrase) files.set('/etc/hvcluster/backup/passphrase', PASSPHRASE);
    const state = { files: { ok: true, value: files }, backup: { ok: true, value: { declared: false, left: parseBackupLeftovers(leftText(n)) } } } as unknown as ServerState;
    return { node, state, data: {} };
  });
  return { step: { name: 'backup', title: 'backup', kind: 'backup' }, runId: 'R1', dryRun: options.dryRun ?? false, answers, plan, backupDir: '/var/backups/hvcluster/R1', self: inputs[0]!, nodes: inputs, stale: options.dryRun ?? false };
}

const REMOVAL = (node: string) => [
  `${node}: disable and stop hvcluster-backup.timer (spec.backup is gone: no more scheduled backups)`,
  `${node}: stop and disable var-lib-hvcluster-backup.automount, var-lib-hvcluster-backup.mount (the backup repository's storage unmounted; the repository on it is left as it is)`,
  `${node}: remove hvcluster-backup.timer, hvcluster-backup.service, var-lib-hvcluster-backup.mount, var-lib-hvcluster-backup.automount from /etc/systemd/system (old copies kept in /var/backups/hvcluster/R1), then reload systemd`,
  `${node}: remove /etc/hvcluster/backup.conf, /usr/local/lib/hvcluster/backup-node.sh, /usr/local/lib/hvcluster/snapshot.sh (what the backups read and ran; old copies kept in /var/backups/hvcluster/R1)`,
];

describe('the backup step without spec.backup', () => {
  it('a node that had backups: the timer stopped, the storage unmounted, the units and files removed (each kept first), systemd reloaded; the passphrase and the repository kept, said in a warning', () => {
    const i = leftInput([HAD_BACKUPS, HAD_BACKUPS]);
    expect(lines(i)).toEqual([...REMOVAL('hv1'), ...REMOVAL('hv2')]);
    const kept = (path: string) => `prepare-file.sh /var/backups/hvcluster/R1 ${path} ; rm -f ${path}`;
    expect(actions(i).slice(0, 4)).toEqual([
      'hv1: systemctl disable --now hvcluster-backup.timer',
      'hv1: systemctl disable var-lib-hvcluster-backup.automount ; systemctl stop var-lib-hvcluster-backup.mount var-lib-hvcluster-backup.automount',
      `hv1: ${['hvcluster-backup.timer', 'hvcluster-backup.service', MOUNT, AUTOMOUNT].map((u) => kept(`/etc/systemd/system/${u}`)).join(' ; ')} ; systemctl daemon-reload`,
      `hv1: ${['/etc/hvcluster/backup.conf', '/usr/local/lib/hvcluster/backup-node.sh', '/usr/local/lib/hvcluster/snapshot.sh'].map(kept).join(' ; ')}`,
    ]);
    const plan = backupStep.plan(i);
    expect(plan.notes!.map((n) => `${n.level}: ${n.text}`)).toEqual(
      ['hv1', 'hv2'].map(
        (node) =>
          `warn: ${node}: spec.backup is gone: its backups stop, the repository /var/lib/hvcluster/backup/lab/borg is left as it is, and so are the passphrase file /etc/hvcluster/backup/passphrase and borg's state (/var/lib/hvcluster/borg, /var/cache/hvcluster/borg) (a lost passphrase loses every backup in it); once the repository is no longer wanted, remove them by hand: rm -rf /etc/hvcluster/backup/passphrase /var/lib/hvcluster/borg /var/cache/hvcluster/borg`,
      ),
    );
    // Nothing touches the repository, nor the passphrase file; no secret in what plan shows.
    const shown = JSON.stringify(plan.changes.map(changeSummary));
    expect(shown).not.toContain('/var/lib/hvcluster/backup/lab');
    expect(shown).not.toContain('/etc/hvcluster/backup/passphrase');
    expect(shown).not.toContain(PASSPHRASE);
  });

  it('a node that never had backups: nothing, no note', () => {
    const plan = backupStep.plan(leftInput([NEVER, NEVER]));
    expect(plan.changes).toEqual([]);
    expect(plan.notes).toEqual([]);
  });

  it('a second apply (the units gone, the passphrase kept): nothing, no note', () => {
    const plan = backupStep.plan(leftInput([REMOVED, REMOVED]));
    expect(plan.changes).toEqual([]);
    expect(plan.notes).toEqual([]);
  });

  it('a dry run lists the same changes', () => {
    expect(lines(leftInput([HAD_BACKUPS, NEVER], { dryRun: true }))).toEqual(REMOVAL('hv1'));
  });

  it('a run cut short after the timer and the mount stopped: only what is left; the export of a customer path (no units of ours) is not unmounted', () => {
    const stopped: Left = { ...HAD_BACKUPS, timer: ['disabled', 'inactive'], mounts: { [MOUNT]: ['static', 'inactive'], [AUTOMOUNT]: ['disabled', 'inactive'] } };
    expect(lines(leftInput([stopped, NEVER]))).toEqual(REMOVAL('hv1').slice(2));
    // Without a schedule the timer and service were never written; a customer's path: no storage units.
    const pathOnly: Left = { files: 'installed', passphrase: true };
    const i = leftInput([pathOnly, NEVER]);
    for (const n of i.nodes) {
      const files = (n.state.files as { value: Map<string, string | null> }).value;
      files.set('/etc/systemd/system/hvcluster-backup.timer', null);
      files.set('/etc/systemd/system/hvcluster-backup.service', null);
    }
    expect(lines(i)).toEqual([REMOVAL('hv1')[3]]);
  });

  it('a failed unit has its failed state cleared once its file is gone; a timer stopped but enabled is disabled', () => {
    const failed: Left = { ...HAD_BACKUPS, timer: ['enabled', 'inactive'], service: ['static', 'failed'] };
    expect(lines(leftInput([failed, NEVER]))).toEqual([...REMOVAL('hv1').slice(0, 3), 'hv1: clear the failed state of hvcluster-backup.service (systemctl reset-failed)', REMOVAL('hv1')[3]]);
    expect(actions(leftInput([failed, NEVER]))[3]).toBe('hv1: systemctl reset-failed hvcluster-backup.service');
  });

  it('refuses while a backup runs on the node (it would be cut short), saying what to do', () => {
    const busy: Left = { ...HAD_BACKUPS, service: ['static', 'activating'] };
    expect(() => backupStep.plan(leftInput([NEVER, busy]))).toThrow(StepRefusedError);
    expect(() => backupStep.plan(leftInput([NEVER, busy]))).toThrow('hv2: step "backup": spec.backup is gone, but a backup runs on hv2 now (hvcluster-backup.service is activating): removing the backups\' units would cut it short');
  });

  it('performs each removal on its node: the file kept, then removed, then systemd reloaded', async () => {
    const i = leftInput([HAD_BACKUPS, NEVER]);
    const { done, guard, fakes } = await performOn(backupStep, backupStep.plan(i), i);
    await done;
    expect(guard.changes.map((c) => `${c.server}: ${c.description}`)).toEqual(REMOVAL('hv1'));
    expect(fakes.get('hv2')!.commands).toEqual([]);
    const commands = fakes.get('hv1')!.commands.map((c) => c.replace(/^sh -s -- /, 'script '));
    const timerKept = commands.findIndex((c) => c.includes('/var/backups/hvcluster/R1 /etc/systemd/system/hvcluster-backup.timer'));
    const timerRemoved = commands.findIndex((c) => c.includes('rm -f /etc/systemd/system/hvcluster-backup.timer'));
    expect(timerKept).toBeGreaterThan(-1);
    expect(timerKept).toBeLessThan(timerRemoved);
    expect(commands.findIndex((c) => c.includes('systemctl daemon-reload'))).toBeGreaterThan(commands.findIndex((c) => c.includes('rm -f /etc/systemd/system/var-lib-hvcluster-backup.automount')));
  });
});
