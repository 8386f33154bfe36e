/**
 * Backups in the plan (spec.backup): the packages, the files each node gets with and without an NFS
 * export, a schedule or encryption, the scripts copied verbatim from installer/remote/, the mount
 * units named as systemd names them, and the passphrase never shown.
 */
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { changeSummary } from '../../../installer/engine/change.js';
import { filesPlan } from '../../../installer/engine/steps/files.js';
import type { NodeInput, ServerState, StepInput } from '../../../installer/engine/steps/step.js';
import { formatPlanText } from '../../../installer/commands/plan.js';
import { palette } from '../../../installer/output.js';
import { REMOTE_DIR } from '../../../installer/paths.js';
import { backupMountUnits, backupPackages, systemdEscapePath } from '../../../installer/plan/backup.js';
import { comparePlan } from '../../../installer/plan/diff.js';
import { planCluster, ruleFilePaths } from '../../../installer/plan/index.js';
import { mayHoldSecrets } from '../../../installer/plan/remote-files.js';
import { FULL_BACKUP, labFacts, loadBackupSite, loadSite } from './helpers.js';

const PASSPHRASE = 'borg-passphrase-Zq7!';

/** The lab plan with these backup lines (undefined: no spec.backup); passphrase null: none read. */
function plan(backup: string[] | undefined, passphrase: string | null = PASSPHRASE) {
  const { answers } = backup ? loadBackupSite(backup) : loadSite();
  return {
    answers,
    plan: planCluster(answers, [labFacts(1), labFacts(2)], { drbdSecret: 'a'.repeat(48), ...(passphrase !== null ? { backupPassphrase: passphrase } : {}) }),
  };
}

/** The backup files a node gets (everything else is the same with or without backups). */
const backupFiles = (p: ReturnType<typeof plan>['plan'], node = 0) =>
  p.nodes[node]!.files.map((f) => f.path).filter((path) => /hvcluster\/backup|\/usr\/local\/lib\/hvcluster\/(snapshot|backup)|backup\.(auto)?mount|hvcluster-backup\./.test(path));

describe('backups in the plan', () => {
  it('add borg, and the NFS client only when apply mounts an export', () => {
    expect(backupPackages(loadSite().answers)).toEqual([]);
    expect(backupPackages(loadBackupSite(['repository: { path: /mnt/nas/hv }', 'encryption: none']).answers)).toEqual(['borgbackup']);
    expect(backupPackages(loadBackupSite(FULL_BACKUP).answers)).toEqual(['borgbackup', 'nfs-common']);
    const { plan: p } = plan(FULL_BACKUP);
    expect(p.nodes[0]!.packages.slice(-2)).toEqual(['borgbackup', 'nfs-common']);
    expect(plan(undefined).plan.nodes[0]!.packages).not.toContain('borgbackup');
  });

  it('plan no backup file without spec.backup', () => {
    expect(backupFiles(plan(undefined).plan)).toEqual([]);
  });

  it('with an NFS export, a schedule and encryption: the passphrase, both scripts, the mount and automount, the service and timer', () => {
    const { plan: p } = plan(FULL_BACKUP);
    for (const node of [0, 1]) {
      expect(backupFiles(p, node)).toEqual([
        '/etc/hvcluster/backup/passphrase',
        '/usr/local/lib/hvcluster/snapshot.sh',
        '/usr/local/lib/hvcluster/backup-node.sh',
        '/etc/systemd/system/var-lib-hvcluster-backup.mount',
        '/etc/systemd/system/var-lib-hvcluster-backup.automount',
        '/etc/systemd/system/hvcluster-backup.service',
        '/etc/systemd/system/hvcluster-backup.timer',
      ]);
    }
    const file = (path: string) => p.nodes[0]!.files.find((f) => f.path === path)!;
    expect(file('/etc/hvcluster/backup/passphrase')).toMatchObject({ mode: 0o600, owner: 'root:root', secret: true, content: PASSPHRASE, template: 'backup-passphrase.hbs', notify: [] });
    expect(file('/etc/systemd/system/var-lib-hvcluster-backup.mount')).toMatchObject({ mode: 0o644, notify: ['systemd', 'backup-mount'] });
    expect(file('/etc/systemd/system/var-lib-hvcluster-backup.mount').content).toContain('\nWhat=198.18.1.10:/srv/hvbackup\nWhere=/var/lib/hvcluster/backup\nType=nfs\nOptions=vers=4.2,hard,_netdev,nofail\n');
    expect(file('/etc/systemd/system/hvcluster-backup.timer')).toMatchObject({ notify: ['systemd', 'backup-timer'] });
    expect(file('/etc/systemd/system/hvcluster-backup.timer').content).toContain('\nOnCalendar=*-*-* 02:00:00\nPersistent=true\n');
  });

  it('copy the scripts the timer runs byte for byte from installer/remote/ (what shellcheck checked), executable', () => {
    const { plan: p } = plan(FULL_BACKUP);
    for (const script of ['snapshot.sh', 'backup-node.sh']) {
      const file = p.nodes[1]!.files.find((f) => f.path === `/usr/local/lib/hvcluster/${script}`)!;
      expect(file).toMatchObject({ source: script, mode: 0o755, owner: 'root:root' });
      expect(file.template).toBeUndefined();
      expect(file.content).toBe(readFileSync(join(REMOTE_DIR, script), 'utf8'));
    }
  });

  it('without nfs: no mount units (the path is the customer\'s shared storage); without a schedule: no service nor timer; without encryption: no passphrase', () => {
    expect(backupFiles(plan(['repository: { path: /mnt/nas/hv }', 'encryption: none'], null).plan)).toEqual(['/usr/local/lib/hvcluster/snapshot.sh', '/usr/local/lib/hvcluster/backup-node.sh']);
    expect(backupFiles(plan(['repository: { path: /mnt/nas/hv }', 'passphraseFrom: { env: P }', 'schedule: daily']).plan)).toEqual([
      '/etc/hvcluster/backup/passphrase',
      '/usr/local/lib/hvcluster/snapshot.sh',
      '/usr/local/lib/hvcluster/backup-node.sh',
      '/etc/systemd/system/hvcluster-backup.service',
      '/etc/systemd/system/hvcluster-backup.timer',
    ]);
    expect(backupFiles(plan(['repository: { path: /srv/backup, nfs: { server: nas, export: /hv, options: "vers=4.1,soft" } }', 'encryption: none'], null).plan)).toEqual([
      '/usr/local/lib/hvcluster/snapshot.sh',
      '/usr/local/lib/hvcluster/backup-node.sh',
      '/etc/systemd/system/srv-backup.mount',
      '/etc/systemd/system/srv-backup.automount',
    ]);
  });

  it('refuse to plan an encrypted repository without its passphrase (a bug of the caller: apply reads it from passphraseFrom)', () => {
    expect(() => plan(FULL_BACKUP, null)).toThrow('an encrypted backup repository needs its passphrase');
  });

  it('name the mount units as systemd-escape --path does', () => {
    const cases: [string, string][] = [
      ['/var/lib/hvcluster/backup', 'var-lib-hvcluster-backup'],
      ['/srv/hv-backup', 'srv-hv\\x2dbackup'],
      ['/mnt/.hidden/b', 'mnt-.hidden-b'],
      ['/.snap', '\\x2esnap'],
      ['/mnt/nas backup', 'mnt-nas\\x20backup'],
      ['/mnt/sauvegarde-é', 'mnt-sauvegarde\\x2d\\xc3\\xa9'],
      ['/a:b_c.d', 'a:b_c.d'],
    ];
    for (const [path, name] of cases) expect(systemdEscapePath(path)).toBe(name);
    // The real tool agrees, where this machine has it.
    const tool = spawnSync('systemd-escape', ['--path', ...cases.map(([path]) => path)], { encoding: 'utf8' });
    if (!tool.error) expect(tool.stdout.trim().split(/\s+/)).toEqual(cases.map(([, name]) => name));
    expect(backupMountUnits('/var/lib/hvcluster/backup')).toEqual({ mount: 'var-lib-hvcluster-backup.mount', automount: 'var-lib-hvcluster-backup.automount' });
  });

  it('read, for the comparison, the unit paths these answers name', () => {
    expect(ruleFilePaths(loadBackupSite(FULL_BACKUP).answers)).toEqual(expect.arrayContaining(['/etc/systemd/system/var-lib-hvcluster-backup.mount', '/etc/systemd/system/var-lib-hvcluster-backup.automount']));
    expect(ruleFilePaths(loadSite().answers).filter((p) => p.endsWith('mount'))).toEqual([]);
  });
});

describe('the backup-files step', () => {
  const STEP_FILES = [
    '/etc/hvcluster/backup/passphrase',
    '/usr/local/lib/hvcluster/snapshot.sh',
    '/usr/local/lib/hvcluster/backup-node.sh',
    '/etc/systemd/system/*.mount',
    '/etc/systemd/system/*.automount',
    '/etc/systemd/system/hvcluster-backup.service',
    '/etc/systemd/system/hvcluster-backup.timer',
  ];
  function stepInput(current: (path: string, planned: string) => string | null): StepInput {
    const { answers, plan: p } = plan(FULL_BACKUP);
    const node: NodeInput = { node: p.nodes[0]!, state: { files: { ok: true, value: new Map(p.nodes[0]!.files.map((f) => [f.path, current(f.path, f.content)])) } } as unknown as ServerState, data: {} };
    return { step: { name: 'backup-files', title: 't', kind: 'files', files: STEP_FILES }, runId: 'R1', dryRun: false, answers, plan: p, backupDir: '/var/backups/hvcluster/R1', self: node, nodes: [node], stale: false };
  }

  it('first apply: every file, then systemd reloaded, the export remounted if mounted, the timer restarted if it runs', () => {
    const changes = filesPlan(stepInput(() => null), STEP_FILES).map(changeSummary);
    expect(changes.map((c) => c.actions.join('; '))).toEqual([
      'upload /etc/hvcluster/backup/passphrase (0600 root:root), old copy kept in /var/backups/hvcluster/R1',
      'upload /usr/local/lib/hvcluster/snapshot.sh (0755 root:root), old copy kept in /var/backups/hvcluster/R1',
      'upload /usr/local/lib/hvcluster/backup-node.sh (0755 root:root), old copy kept in /var/backups/hvcluster/R1',
      'upload /etc/systemd/system/var-lib-hvcluster-backup.mount (0644 root:root), old copy kept in /var/backups/hvcluster/R1',
      'upload /etc/systemd/system/var-lib-hvcluster-backup.automount (0644 root:root), old copy kept in /var/backups/hvcluster/R1',
      'upload /etc/systemd/system/hvcluster-backup.service (0644 root:root), old copy kept in /var/backups/hvcluster/R1',
      'upload /etc/systemd/system/hvcluster-backup.timer (0644 root:root), old copy kept in /var/backups/hvcluster/R1',
      'systemctl daemon-reload',
      'systemctl try-restart var-lib-hvcluster-backup.mount',
      'systemctl try-restart hvcluster-backup.timer',
    ]);
  });

  it('second apply: nothing; a changed script alone is written without any reload', () => {
    expect(filesPlan(stepInput((_, planned) => planned), STEP_FILES)).toEqual([]);
    const changes = filesPlan(stepInput((path, planned) => (path.endsWith('backup-node.sh') ? '#!/bin/sh\n# an older one\n' : planned)), STEP_FILES);
    expect(changes.map((c) => c.description)).toEqual(['write /usr/local/lib/hvcluster/backup-node.sh (backs up the guests this node runs into the repository)']);
  });
});

describe('the backup passphrase', () => {
  const PATH = '/etc/hvcluster/backup/passphrase';

  it('is in no other planned file', () => {
    const { plan: p } = plan(FULL_BACKUP);
    expect(p.nodes.flatMap((n) => n.files).filter((f) => f.content.includes(PASSPHRASE)).map((f) => f.path)).toEqual([PATH, PATH]);
  });

  it('is never in a plan diff, the plan text or its JSON, nor in the changes apply --dry-run lists, even when it changes', () => {
    const { answers, plan: p } = plan(FULL_BACKUP);
    const current = [new Map([[PATH, null]]), new Map([[PATH, 'the-old-passphrase']])];
    const comparison = comparePlan(p, current);
    const [created, changed] = comparison.nodes.map((n) => n.files.find((f) => f.path === PATH)!);
    expect(created!.change).toBe('create');
    expect(changed!.change).toBe('change');
    expect(changed!.diff).toBe(`--- ${PATH} (on hv2)\n+++ ${PATH} (planned)\n(a key: ${PASSPHRASE.length} bytes, not shown)`);
    // The files step's changes, as plan lists them and apply --dry-run prints them.
    const node = (i: number): NodeInput => ({ node: p.nodes[i]!, state: { files: { ok: true, value: current[i]! } } as unknown as ServerState, data: {} });
    const input = (i: number): StepInput => ({ step: { name: 'backup-files', title: 't', kind: 'files' }, runId: 'R1', dryRun: true, answers, plan: p, backupDir: '/var/backups/hvcluster/R1', self: node(i), nodes: [node(0), node(1)], stale: false });
    const changes = [0, 1].flatMap((i) => filesPlan(input(i), [PATH]));
    expect(changes.map((c) => `${c.server}: ${c.description}`)).toEqual([
      "hv1: write /etc/hvcluster/backup/passphrase (the backup repository's passphrase (borg reads it as root; a lost passphrase loses every backup))",
      "hv2: write /etc/hvcluster/backup/passphrase (the backup repository's passphrase (borg reads it as root; a lost passphrase loses every backup))",
    ]);
    const preview = { changes, refusals: [] };
    for (const shown of [JSON.stringify(comparison), formatPlanText(comparison, palette(false), preview), JSON.stringify(changes.map(changeSummary))]) {
      expect(shown).not.toContain(PASSPHRASE);
      expect(shown).not.toContain('the-old-passphrase');
    }
  });

  it('is read back from the nodes as a secret: the run log records only its size', () => {
    expect(mayHoldSecrets(PATH)).toBe(true);
  });
});
