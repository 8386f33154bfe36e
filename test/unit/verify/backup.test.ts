/**
 * Snapshots and backups in verify: SNAPSHOT_FILL, SNAPSHOT_LEFTOVER, BACKUP_REPO, BACKUP_TIMER and
 * BACKUP_AGE on the captured healthy lab with a v-backup section added (as the probes print it):
 * pass, warning and error of each, skipped on output without the section (an older hvcluster), the
 * probes asked for only when they apply, and the fragment itself run by sh with stand-ins.
 */
import { spawnSync } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { BackupSchema, type Answers } from '../../../installer/answers/schema.js';
import { PRELUDE, wrapFragment } from '../../../installer/facts/section.js';
import { evaluate, exitCodeFor, summarize } from '../../../installer/verify/evaluate.js';
import { parseStatusLines, parseSystemdShow } from '../../../installer/verify/parse-backup.js';
import { backupProbes, parseProbes, probePlan, probeScript } from '../../../installer/verify/probes.js';
import type { CheckResult, VerifyInput } from '../../../installer/verify/types.js';
import { parseSnapshotLvs } from '../../../installer/snapshots/state.js';
import { answers, edit, fixture, NOW_MS, observation } from './helpers.js';

const MIB = 2 ** 20;
const NOW = new Date('2026-12-08T12:00:00Z');

// ---------------------------------------------------------------------------------------------
// What the probes print

/** Rows of verify's lvs (`lvs --noheadings --units b --nosuffix --separator '|' -o lv_name,origin,lv_size,data_percent,lv_attr,lv_tags hvdata`). */
const PLAIN = [`  hvc-probe||${16 * MIB}||-wi-ao----|`, `  db-disk0||${37 * MIB}||-wi-ao----|`, `  db-disk1||${69 * MIB}||-wi-ao----|`, `  web-disk0||${37 * MIB}||-wi-ao----|`];
const snapRow = (origin: string, name: string, fill: string, attr = 'swi-a-s---') =>
  `  ${origin}.snap.${name}|${origin}|${37 * MIB}|${fill}|${attr}|hvc_snapshot,hvc_guest=${origin.split('-')[0]},hvc_name=${name},hvc_time=20261208t101500z,hvc_consistency=agent,hvc_bytes=33550336`;
const bkRow = (origin: string, stamp: string) =>
  `  ${origin}.bk.${stamp}|${origin}|${37 * MIB}|0.40|swi-a-s---|hvc_backup,hvc_guest=${origin.split('-')[0]},hvc_name=${stamp},hvc_time=${stamp},hvc_consistency=agent,hvc_bytes=33550336`;
const lvs = (...rows: string[]) => `${[...PLAIN, ...rows].join('\n')}\n`;

const status = (guest: string, node: string, stamp: string, finishedAt: string) =>
  `status ${guest} ${JSON.stringify({ guest, node, set: `${guest}.${stamp}`, finishedAt, readBytes: 37748736, storedBytes: 1048576 })}`;
const STATUS_OK = `${status('web', 'hv1', '20261208t020000z', '2026-12-08T02:04:11Z')}\n${status('db', 'hv1', '20261208t020412z', '2026-12-08T02:05:00Z')}\n`;

const REPO_NFS = 'path yes\nmount autofs nfs4\nrepository yes\nopened no\n';
const units = (o: { enabled?: string; active?: string; result?: string; exit?: string; loaded?: string } = {}) =>
  [
    'Id=hvcluster-backup.timer',
    `LoadState=${o.loaded ?? 'loaded'}`,
    `ActiveState=${o.active ?? 'active'}`,
    `UnitFileState=${o.enabled ?? 'enabled'}`,
    'Result=success',
    'NextElapseUSecRealtime=Wed 2026-12-09 02:00:00 UTC',
    '',
    'Id=hvcluster-backup.service',
    'LoadState=loaded',
    'ActiveState=inactive',
    'UnitFileState=static',
    `Result=${o.result ?? 'success'}`,
    `ExecMainExitTimestamp=${o.exit ?? 'Tue 2026-12-08 02:05:00 UTC'}`,
    '',
  ].join('\n');

interface Cmd {
  stdout: string;
  rc?: number;
  stderr?: string;
}
type Commands = Record<string, Cmd | null>;

const HEALTHY: Commands = {
  snapshots: { stdout: lvs() },
  'backup-running': { stdout: '', rc: 1 },
  'backup-repo': { stdout: REPO_NFS },
  'backup-status': { stdout: STATUS_OK },
  'backup-units': { stdout: units() },
};

/** The v-backup section as the probes print it (section.ts's format), before the done marker. */
function withBackupSection(text: string, commands: Commands): string {
  const blocks = Object.entries(commands)
    .filter((e): e is [string, Cmd] => e[1] !== null)
    .map(([label, c]) => {
      const body = c.stdout === '' || c.stdout.endsWith('\n') ? c.stdout : `${c.stdout}\n`;
      const err = c.stderr ? `${c.stderr.split('\n').map((l) => `@@hvc-err@@ ${l}`).join('\n')}\n` : '';
      return `@@hvc-cmd ${label}@@\n${body}\n${err}@@hvc-rc ${label} ${c.rc ?? 0}@@`;
    });
  return edit(text, [['@@hvc-done@@', `@@hvc-fact v-backup@@\n${blocks.join('\n')}\n\n@@hvc-end v-backup 0@@\n@@hvc-done@@`]]);
}

/** spec.backup of the lab: the witness's NFS export, web and db, a daily schedule unless said otherwise. */
function withBackup(backup: Record<string, unknown> | null): Answers {
  const a = answers();
  if (backup === null) return a;
  const spec = BackupSchema.parse({ repository: { nfs: { server: '198.18.2.10', export: '/srv/hvbackup' } }, encryption: 'none', guests: ['web', 'db'], schedule: '*-*-* 02:00:00', ...backup });
  return { ...a, spec: { ...a.spec, backup: spec } };
}

interface Options {
  backup?: Record<string, unknown> | null;
  /** Per node: its probes' outputs over HEALTHY (null: not printed); `old`: no v-backup section at all. */
  hv1?: Commands | 'old';
  hv2?: Commands | 'old';
  now?: Date | null;
}

function backupInput(o: Options = {}): VerifyInput {
  const nodes = (['hv1', 'hv2'] as const).map((name) => {
    const text = fixture(`healthy-${name}.out`);
    const edits = o[name];
    return observation(name, edits === 'old' ? text : withBackupSection(text, { ...HEALTHY, ...edits }));
  });
  return { answers: withBackup(o.backup === undefined ? {} : o.backup), nodes, ...(o.now === null ? {} : { now: o.now ?? NOW }) };
}

const results = (i: VerifyInput, code: string) => evaluate(i).filter((r) => r.code === code);
const one = (i: VerifyInput, code: string, server: string, subject?: string): CheckResult => {
  const r = results(i, code).filter((x) => x.server === server && (subject === undefined || x.subject === subject));
  expect(r, `${code} ${server} ${subject ?? ''}`).toHaveLength(1);
  return r[0]!;
};

// ---------------------------------------------------------------------------------------------

describe('the v-backup probes', () => {
  const vg = "lvs --noheadings --units b --nosuffix --separator '|' -o lv_name,origin,lv_size,data_percent,lv_attr,lv_tags hvdata";

  it('always read the snapshots (one lvs of the volume group) and whether a backup runs; nothing of backups without spec.backup', () => {
    const script = probeScript(probePlan(withBackup(null), 'hv1'));
    expect(script).toContain("printf '@@hvc-fact v-backup@@\\n'");
    expect(script).toContain(`hv_cmdt snapshots 15 ${vg}`);
    expect(script.split('lv_name,origin,lv_size,data_percent,lv_attr,lv_tags')).toHaveLength(2);
    expect(script).toContain("hv_cmd backup-running pgrep -x 'backup-node\\.sh'");
    for (const label of ['backup-repo', 'backup-status', 'backup-units']) expect(script).not.toContain(label);
  });

  it('with spec.backup: the repository (no passphrase file: verify reads no secret), the status files of the guests it covers; the timer only with a schedule', () => {
    const script = backupProbes(probePlan(withBackup({ encryption: 'repokey-blake2', passphraseFrom: { env: 'P' } }), 'hv1'));
    expect(script).toMatch(/^hv_cmdt backup-repo 30 sh -c '.*' backup-state\.sh \/var\/lib\/hvcluster\/backup \/var\/lib\/hvcluster\/backup\/lab-dev - \/var\/lib\/hvcluster\/borg\/hvcluster-opened$/ms);
    expect(script).toMatch(/^hv_cmdt backup-status 40 sh -c '.*' backup-verify-state\.sh \/var\/lib\/hvcluster\/backup\/lab-dev\/status web db$/ms);
    expect(script).toContain('hv_cmdt backup-units 15 systemctl show -p Id,LoadState,UnitFileState,ActiveState,Result,NextElapseUSecRealtime,ExecMainExitTimestamp hvcluster-backup.timer hvcluster-backup.service');
    expect(script).not.toContain('/etc/hvcluster/backup/passphrase');
    expect(backupProbes(probePlan(withBackup({ schedule: undefined }), 'hv1'))).not.toContain('backup-units');
  });

  describe('run by sh on a node with stand-ins for lvs, pgrep and systemctl, the repository in a directory', () => {
    const dir = mkdtempSync(join(tmpdir(), 'hvc-verify-backup-'));
    afterAll(() => rmSync(dir, { recursive: true, force: true }));
    const bin = join(dir, 'bin');
    const path = join(dir, 'repo');
    mkdirSync(bin);
    mkdirSync(join(path, 'lab-dev', 'borg'), { recursive: true });
    mkdirSync(join(path, 'lab-dev', 'status'));
    writeFileSync(join(path, 'lab-dev', 'borg', 'config'), '[repository]\nversion = 1\nid = abc\n');
    writeFileSync(join(path, 'lab-dev', 'status', 'web.json'), `${JSON.stringify({ guest: 'web', node: 'hv1', set: 'web.20261208t020000z', finishedAt: '2026-12-08T02:04:11Z', readBytes: 5, storedBytes: 1 })}\n`);
    const standins: Record<string, string> = {
      lvs: `[ "$*" = "--noheadings --units b --nosuffix --separator | -o lv_name,origin,lv_size,data_percent,lv_attr,lv_tags hvdata" ] || { echo "lvs $*" >&2; exit 5; }\ncat <<'EOF'\n${lvs(snapRow('db-disk1', 'before', '12.50'), bkRow('web-disk0', '20261207t020000z')).trimEnd()}\nEOF`,
      pgrep: '[ "$*" = "-x backup-node\\.sh" ] || exit 3; exit 1',
      systemctl: `[ "$1" = show ] || exit 1\ncat <<'EOF'\n${units()}EOF`,
      findmnt: 'exit 1',
    };
    for (const [name, body] of Object.entries(standins)) {
      writeFileSync(join(bin, name), `#!/bin/sh\n${body}\n`);
      chmodSync(join(bin, name), 0o755);
    }
    const plan = probePlan(withBackup({ repository: { path } }), 'hv1');
    // The prelude puts the system's directories first: the stand-ins go before them.
    const run = spawnSync('sh', ['-c', `${PRELUDE}PATH=${bin}:$PATH\n${wrapFragment('v-backup', backupProbes(plan))}`], { encoding: 'utf8' });
    const text = edit(fixture('healthy-hv1.out'), [['@@hvc-done@@', `${run.stdout}@@hvc-done@@`]]);

    it('prints what the checks read: every check passes but the leftover and db never backed up', () => {
      expect(run.status).toBe(0);
      const probes = parseProbes(text);
      expect(Object.keys(probes.commands).filter((l) => l.startsWith('backup') || l === 'snapshots').sort()).toEqual(['backup-repo', 'backup-running', 'backup-status', 'backup-units', 'snapshots']);
      expect(probes.commands['backup-status']!.stdout).toBe(`status web {"guest":"web","node":"hv1","set":"web.20261208t020000z","finishedAt":"2026-12-08T02:04:11Z","readBytes":5,"storedBytes":1}\nstatus db none\n`);
      // hv2 printed no v-backup section: what is judged is hv1's.
      const i: VerifyInput = { answers: withBackup({ repository: { path } }), nodes: [observation('hv1', text), observation('hv2', fixture('healthy-hv2.out'))], now: NOW };
      const r = evaluate(i);
      const at = (code: string, server = 'hv1', subject?: string) => r.find((x) => x.code === code && x.server === server && (subject === undefined || x.subject === subject))!;
      expect(at('SNAPSHOT_FILL')).toMatchObject({ status: 'pass', found: '1 snapshot(s), none invalid or 80 % full: db before 12.5 %' });
      expect(at('SNAPSHOT_LEFTOVER')).toMatchObject({ status: 'warning', data: { backupRunning: false } });
      expect(at('BACKUP_REPO')).toMatchObject({ status: 'pass', found: `${path}: a directory; borg repository ${path}/lab-dev/borg present` });
      expect(at('BACKUP_TIMER').status).toBe('pass');
      expect(at('BACKUP_AGE', 'cluster', 'web').status).toBe('pass');
      expect(at('BACKUP_AGE', 'cluster', 'db').found).toBe(`db: never backed up: no complete set (no ${path}/lab-dev/status/db.json)`);
    });
  });
});

describe('SNAPSHOT_FILL', () => {
  it('passes with no hvcluster snapshot, and lists the snapshots with their fill', () => {
    expect(one(backupInput(), 'SNAPSHOT_FILL', 'hv1')).toMatchObject({ status: 'pass', found: 'no hvcluster snapshot', data: { snapshots: [] } });
    const r = one(backupInput({ hv2: { snapshots: { stdout: lvs(snapRow('db-disk0', 'before', '12.50'), snapRow('db-disk1', 'before', '3.00'), `  mine|web-disk0|${8 * MIB}|90.00|swi-a-s---|`) } } }), 'SNAPSHOT_FILL', 'hv2');
    expect(r).toMatchObject({ status: 'pass', found: '1 snapshot(s), none invalid or 80 % full: db before 12.5 %' });
    expect(r.data).toEqual({
      snapshots: [
        { guest: 'db', name: 'before', lv: 'db-disk0.snap.before', origin: 'db-disk0', sizeBytes: 37 * MIB, fillPercent: 12.5, invalid: false },
        { guest: 'db', name: 'before', lv: 'db-disk1.snap.before', origin: 'db-disk1', sizeBytes: 37 * MIB, fillPercent: 3, invalid: false },
      ],
    });
  });

  it('warns at 80 % full, with the percent', () => {
    const r = one(backupInput({ hv1: { snapshots: { stdout: lvs(snapRow('web-disk0', 'nightly', '86.25')) } } }), 'SNAPSHOT_FILL', 'hv1');
    expect(r).toMatchObject({ status: 'warning', found: 'snapshot nightly of guest web is 86.3 % full (web-disk0.snap.nightly): it becomes invalid once full' });
    expect(r.fix).toContain('`hvcluster snapshot remove web nightly -f site.yaml`');
  });

  it('an invalid (overflowed) snapshot is an error naming the guest and the snapshot: exit 1', () => {
    const i = backupInput({ hv1: { snapshots: { stdout: lvs(snapRow('db-disk1', 'tiny', '100.00', 'Swi-I-s---'), snapRow('db-disk0', 'tiny', '40.00'), snapRow('web-disk0', 'old', '95.00')) } } });
    const r = one(i, 'SNAPSHOT_FILL', 'hv1');
    expect(r).toMatchObject({
      status: 'error',
      found: 'snapshot tiny of guest db is INVALID: db-disk1.snap.tiny overflowed, its data is gone; snapshot old of guest web is 95.0 % full (web-disk0.snap.old): it becomes invalid once full',
    });
    expect(r.fix).toBe('remove it (it can never be rolled back to): `hvcluster snapshot remove db tiny -f site.yaml`; and once not needed: `hvcluster snapshot remove web old -f site.yaml`. A snapshot made without --size is as large as its disk and cannot overflow');
    const results_ = evaluate(i);
    expect(exitCodeFor(summarize(results_, i))).toBe(1);
  });

  it('is skipped, saying why, on the output of a node without the section (an older hvcluster), or when lvs failed', () => {
    expect(one(backupInput({ hv1: 'old' }), 'SNAPSHOT_FILL', 'hv1')).toMatchObject({ status: 'skipped', found: "the volume group's snapshots were not read: lvs: not run" });
    expect(one(backupInput({ hv1: 'old' }), 'SNAPSHOT_LEFTOVER', 'hv1')).toMatchObject({ status: 'skipped', found: "the volume group's snapshots were not read: lvs: not run" });
    const failed = one(backupInput({ hv2: { snapshots: { stdout: '', rc: 5, stderr: '  Volume group "hvdata" not found' } } }), 'SNAPSHOT_FILL', 'hv2');
    expect(failed).toMatchObject({ status: 'skipped', found: 'the volume group\'s snapshots were not read: snapshots: exit 5: Volume group "hvdata" not found' });
  });

  it('runs without spec.backup', () => {
    expect(one(backupInput({ backup: null }), 'SNAPSHOT_FILL', 'hv1').status).toBe('pass');
    expect(one(backupInput({ backup: null }), 'SNAPSHOT_LEFTOVER', 'hv1').status).toBe('pass');
  });
});

describe('SNAPSHOT_LEFTOVER', () => {
  it('passes without temporary snapshots', () => {
    expect(one(backupInput(), 'SNAPSHOT_LEFTOVER', 'hv1')).toMatchObject({ status: 'pass', found: 'no temporary backup snapshot', data: { backupRunning: false, leftovers: [], inUse: [] } });
  });

  it("warns naming what a run that died left, with the guest's next backup there or lvremove as the fix", () => {
    const r = one(backupInput({ hv1: { snapshots: { stdout: lvs(bkRow('db-disk0', '20261207t020412z'), bkRow('db-disk1', '20261207t020412z')) } } }), 'SNAPSHOT_LEFTOVER', 'hv1');
    expect(r).toMatchObject({ status: 'warning', found: 'temporary backup snapshot(s) left by a backup that did not finish: db-disk0.bk.20261207t020412z, db-disk1.bk.20261207t020412z (guest db, taken 2026-12-07T02:04:12Z)' });
    expect(r.fix).toBe(
      'each one makes every write to its disk a copy, and fills: the next backup of db made on hv1 removes them (`hvcluster backup run db -f site.yaml` while it runs there), or remove them now on hv1: `lvremove hvdata/db-disk0.bk.20261207t020412z hvdata/db-disk1.bk.20261207t020412z`',
    );
    expect((r.data as { leftovers: { lv: string }[] }).leftovers.map((l) => l.lv)).toEqual(['db-disk0.bk.20261207t020412z', 'db-disk1.bk.20261207t020412z']);
  });

  it('while a backup runs there, the snapshots of its newest stamp are its own: not counted, older ones still are', () => {
    const running = { stdout: '4242\n', rc: 0 };
    const own = one(backupInput({ hv1: { 'backup-running': running, snapshots: { stdout: lvs(bkRow('web-disk0', '20261208t020000z')) } } }), 'SNAPSHOT_LEFTOVER', 'hv1');
    expect(own).toMatchObject({ status: 'pass', found: 'a backup runs on this node now: its temporary snapshot(s) web-disk0.bk.20261208t020000z are in use' });
    const both = one(backupInput({ hv1: { 'backup-running': running, snapshots: { stdout: lvs(bkRow('db-disk0', '20261207t020412z'), bkRow('web-disk0', '20261208t020000z')) } } }), 'SNAPSHOT_LEFTOVER', 'hv1');
    expect(both).toMatchObject({ status: 'warning', found: 'temporary backup snapshot(s) left by a backup that did not finish: db-disk0.bk.20261207t020412z (guest db, taken 2026-12-07T02:04:12Z); a backup runs now (its own web-disk0.bk.20261208t020000z not counted)' });
  });
});

describe("DRBD_HOLDERS leaves hvcluster's own snapshots to SNAPSHOT_FILL", () => {
  // The stack of hv2 with a snapshot of hvc-probe (as `drbd resolve` left one on the lab).
  const stack: [string, string] = [
    'dm-0\thvdata-hvc--probe\tLVM-U21kq6ca9IwS0kYC9cmL3G8iYtLO14Nf8GxUyWOjwPFx4PnQy12h89PEzlRPOafm\tvdb \tdrbd0 \n',
    [
      'dm-0\thvdata-hvc--probe\tLVM-U21kq6ca9IwS0kYC9cmL3G8iYtLO14Nf8GxUyWOjwPFx4PnQy12h89PEzlRPOafm\tdm-1 \tdrbd0 ',
      'dm-1\thvdata-hvc--probe-real\tLVM-U21kq6ca9IwS0kYC9cmL3G8iYtLO14Nf8GxUyWOjwPFx4PnQy12h89PEzlRPOafm-real\tvdb \tdm-0 dm-3 ',
      'dm-2\thvdata-hvc--probe.snap.before-cow\tLVM-U21kq6ca9IwS0kYC9cmL3G8iYtLO14NfAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA-cow\tvdb \tdm-3 ',
      'dm-3\thvdata-hvc--probe.snap.before\tLVM-U21kq6ca9IwS0kYC9cmL3G8iYtLO14NfAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA\tdm-1 dm-2 \t',
      '',
    ].join('\n'),
  ];
  const holders = (tagged: boolean) => {
    const row = tagged ? snapRow('hvc-probe', 'before', '1.00') : `  hvc-probe.snap.before|hvc-probe|${8 * MIB}|1.00|swi-a-s---|`;
    const i = backupInput({ hv2: { snapshots: { stdout: lvs(row) } } });
    i.nodes[1] = observation('hv2', withBackupSection(edit(fixture('healthy-hv2.out'), [stack]), { ...HEALTHY, snapshots: { stdout: lvs(row) } }));
    return one(i, 'DRBD_HOLDERS', 'hv2');
  };

  it("passes for a tagged one, still warns for someone else's", () => {
    expect(holders(true).status).toBe('pass');
    expect(holders(false)).toMatchObject({ status: 'warning', found: 'no foreign holder; LVM snapshot(s) of backing volumes: hvdata-hvc--probe.snap.before' });
  });
});

describe('BACKUP_REPO', () => {
  it('passes: the path is there, the NFS export mounted on it, the repository in it', () => {
    expect(one(backupInput(), 'BACKUP_REPO', 'hv1')).toMatchObject({
      status: 'pass',
      subject: '/var/lib/hvcluster/backup',
      found: '/var/lib/hvcluster/backup: NFS 198.18.2.10:/srv/hvbackup mounted (autofs nfs4); borg repository /var/lib/hvcluster/backup/lab-dev/borg present',
      data: { path: '/var/lib/hvcluster/backup', root: '/var/lib/hvcluster/backup/lab-dev', nfs: '198.18.2.10:/srv/hvbackup', pathAnswer: 'yes', mountTypes: ['autofs', 'nfs4'], repository: 'yes' },
    });
  });

  it('is an error when the storage does not answer, the export is not mounted, or the repository is not there: exit 1', () => {
    const dead = one(backupInput({ hv1: { 'backup-repo': { stdout: 'path timeout\nmount autofs\nrepository timeout\nopened no\n' } } }), 'BACKUP_REPO', 'hv1');
    expect(dead).toMatchObject({ status: 'error', found: '/var/lib/hvcluster/backup did not answer within 10 s (is the NFS server 198.18.2.10 up?)' });
    expect(dead.fix).toContain('`showmount -e 198.18.2.10`');
    expect(dead.fix).toContain('`systemctl status var-lib-hvcluster-backup.automount`');
    const killed = one(backupInput({ hv1: { 'backup-repo': { stdout: 'path timeout\n', rc: 124 } } }), 'BACKUP_REPO', 'hv1');
    expect(killed).toMatchObject({ status: 'error', found: '/var/lib/hvcluster/backup: the storage did not answer (the read timed out): is the NFS server 198.18.2.10 up?' });
    const unmounted = one(backupInput({ hv2: { 'backup-repo': { stdout: 'path yes\nmount -\nrepository no\nopened no\n' } } }), 'BACKUP_REPO', 'hv2');
    expect(unmounted).toMatchObject({ status: 'error', found: 'no NFS filesystem is mounted at /var/lib/hvcluster/backup (nothing is mounted there)' });
    const empty = one(backupInput({ hv2: { 'backup-repo': { stdout: REPO_NFS.replace('repository yes', 'repository no') } } }), 'BACKUP_REPO', 'hv2');
    expect(empty).toMatchObject({ status: 'error', found: '/var/lib/hvcluster/backup/lab-dev/borg is not a borg repository (no config file with a [repository] section)' });
    expect(empty.fix).toContain('`hvcluster apply` creates the repository');
    const local = one(backupInput({ backup: { repository: { path: '/mnt/shared' } }, hv1: { 'backup-repo': { stdout: 'path no\nmount -\nrepository no\nopened no\n' } } }), 'BACKUP_REPO', 'hv1');
    expect(local).toMatchObject({ status: 'error', found: '/mnt/shared is not a directory', fix: 'mount the shared storage at /mnt/shared on hv1 (the same storage on every node), then run `hvcluster apply`' });
    const i = backupInput({ hv2: { 'backup-repo': { stdout: 'path yes\nmount -\nrepository no\nopened no\n' } } });
    expect(exitCodeFor(summarize(evaluate(i), i))).toBe(1);
  });

  it('is skipped on old output, and not there at all without spec.backup', () => {
    expect(one(backupInput({ hv2: 'old' }), 'BACKUP_REPO', 'hv2')).toMatchObject({ status: 'skipped', found: 'the backup repository was not read: backup-state.sh: not run' });
    const none = evaluate(backupInput({ backup: null })).filter((r) => r.code.startsWith('BACKUP_'));
    expect(none).toEqual([]);
  });
});

describe('BACKUP_TIMER', () => {
  it('passes: enabled, active, the last run a success, with the next run', () => {
    expect(one(backupInput(), 'BACKUP_TIMER', 'hv1')).toMatchObject({
      status: 'pass',
      subject: 'hvcluster-backup.timer',
      found: 'hvcluster-backup.timer enabled and active, next run Wed 2026-12-09 02:00:00 UTC; last run ended Tue 2026-12-08 02:05:00 UTC: success',
      data: { timer: { enabled: 'enabled', active: 'active', nextRun: 'Wed 2026-12-09 02:00:00 UTC' }, service: { result: 'success', lastEnded: 'Tue 2026-12-08 02:05:00 UTC', active: 'inactive' } },
    });
    expect(one(backupInput({ hv1: { 'backup-units': { stdout: units({ exit: '' }) } } }), 'BACKUP_TIMER', 'hv1').found).toMatch(/; no run yet$/);
  });

  it('warns when the timer is off or the last run failed (a warning: exit 0)', () => {
    const off = one(backupInput({ hv1: { 'backup-units': { stdout: units({ enabled: 'disabled', active: 'inactive' }) } } }), 'BACKUP_TIMER', 'hv1');
    expect(off).toMatchObject({ status: 'warning', found: 'hvcluster-backup.timer is disabled; hvcluster-backup.timer is inactive' });
    expect(off.fix).toBe('run `hvcluster apply` (it enables and starts the timer), or `systemctl enable --now hvcluster-backup.timer` on hv1');
    const i = backupInput({ hv2: { 'backup-units': { stdout: units({ result: 'exit-code', exit: 'Tue 2026-12-08 02:01:13 UTC' }) } } });
    const failed = one(i, 'BACKUP_TIMER', 'hv2');
    expect(failed).toMatchObject({ status: 'warning', found: 'the last run of hvcluster-backup.service failed (exit-code, ended Tue 2026-12-08 02:01:13 UTC)' });
    expect(failed.fix).toBe('read `journalctl -u hvcluster-backup.service` on hv2, fix the cause, then `systemctl start hvcluster-backup.service` there (or wait for the timer)');
    expect(exitCodeFor(summarize(evaluate(i), i))).toBe(0);
    expect(one(backupInput({ hv1: { 'backup-units': { stdout: units({ loaded: 'not-found', enabled: '', active: 'inactive' }) } } }), 'BACKUP_TIMER', 'hv1').found).toBe('hvcluster-backup.timer is not installed');
  });

  it('is checked only with a schedule; skipped on old output', () => {
    expect(results(backupInput({ backup: { schedule: undefined } }), 'BACKUP_TIMER')).toEqual([]);
    expect(one(backupInput({ hv1: 'old' }), 'BACKUP_TIMER', 'hv1')).toMatchObject({ status: 'skipped', found: 'the backup timer was not read: systemctl show: not run' });
  });
});

describe('BACKUP_AGE', () => {
  it("passes with each guest's last complete set, its node and age against the run's clock, and the limit from the schedule", () => {
    const web = one(backupInput(), 'BACKUP_AGE', 'cluster', 'web');
    expect(web).toMatchObject({
      status: 'pass',
      servers: ['hv1', 'hv2'],
      found: 'web: last complete set web.20261208t020000z by hv1 at 2026-12-08T02:04:11Z, 9 h 55 min ago (a warning past 26 h (schedule "*-*-* 02:00:00" runs at least every 24 h, + 2 h grace))',
    });
    expect(web.data).toEqual({
      guest: 'web',
      set: 'web.20261208t020000z',
      node: 'hv1',
      finishedAt: '2026-12-08T02:04:11Z',
      ageSeconds: 35749,
      readBytes: 37748736,
      storedBytes: 1048576,
      warnAfterSeconds: 26 * 3600,
      warnAfterFrom: 'schedule',
    });
    expect(results(backupInput(), 'BACKUP_AGE').map((r) => r.subject)).toEqual(['web', 'db']);
  });

  it('takes the newest set any node reads: one node may read none, or time out', () => {
    const i = backupInput({
      hv1: { 'backup-status': { stdout: `${status('web', 'hv1', '20261206t020000z', '2026-12-06T02:04:11Z')}\nstatus db timeout\n` } },
      hv2: { 'backup-status': { stdout: `${status('web', 'hv2', '20261208t110000z', '2026-12-08T11:00:30Z')}\nstatus db none\n` } },
    });
    expect(one(i, 'BACKUP_AGE', 'cluster', 'web').found).toMatch(/^web: last complete set web\.20261208t110000z by hv2 at 2026-12-08T11:00:30Z, 59 min ago /);
    expect(one(i, 'BACKUP_AGE', 'cluster', 'db')).toMatchObject({ status: 'warning', found: 'db: never backed up: no complete set (no /var/lib/hvcluster/backup/lab-dev/status/db.json)' });
  });

  it('warns past the limit, and for a guest never backed up (warnings: exit 0)', () => {
    const late = backupInput({ now: new Date('2026-12-10T03:00:00Z') });
    const web = one(late, 'BACKUP_AGE', 'cluster', 'web');
    expect(web).toMatchObject({ status: 'warning', found: 'web: last complete set web.20261208t020000z by hv1 at 2026-12-08T02:04:11Z, 2 days ago: older than 26 h (schedule "*-*-* 02:00:00" runs at least every 24 h, + 2 h grace)' });
    expect(web.fix).toBe("the timer's runs made no set of web since: see BACKUP_TIMER and `journalctl -u hvcluster-backup.service` on the node web runs on; back it up now: `hvcluster backup run web -f site.yaml`");
    expect(exitCodeFor(summarize(evaluate(late), late))).toBe(0);
    const never = one(backupInput({ hv1: { 'backup-status': { stdout: 'status web none\nstatus db none\n' } }, hv2: { 'backup-status': { stdout: 'status web none\nstatus db none\n' } } }), 'BACKUP_AGE', 'cluster', 'web');
    expect(never).toMatchObject({ status: 'warning', found: 'web: never backed up: no complete set (no /var/lib/hvcluster/backup/lab-dev/status/web.json)', fix: 'back it up now: `hvcluster backup run web -f site.yaml` (the timers back it up at their next run)' });
    expect(never.data).toMatchObject({ set: null, ageSeconds: null, warnAfterSeconds: 26 * 3600 });
  });

  it('says when it assumes 26 h (a schedule it cannot read), takes warnAfter when given, and only reports without a schedule', () => {
    const now = new Date('2026-12-09T06:00:00Z');
    expect(one(backupInput({ backup: { schedule: '*-*-~1 02:00' }, now }), 'BACKUP_AGE', 'cluster', 'web')).toMatchObject({
      status: 'warning',
      found: 'web: last complete set web.20261208t020000z by hv1 at 2026-12-08T02:04:11Z, 27 h 55 min ago: older than 26 h (assumed: the time between runs of schedule "*-*-~1 02:00" could not be derived; set spec.backup.warnAfter to choose)',
      data: { warnAfterFrom: 'assumed' },
    });
    expect(one(backupInput({ backup: { warnAfter: '2d' }, now }), 'BACKUP_AGE', 'cluster', 'web').found).toMatch(/ago \(a warning past 2 days \(spec\.backup\.warnAfter\)\)$/);
    const unscheduled = one(backupInput({ backup: { schedule: undefined }, now: new Date('2027-06-01T00:00:00Z') }), 'BACKUP_AGE', 'cluster', 'web');
    expect(unscheduled).toMatchObject({ status: 'pass', data: { warnAfterSeconds: null, warnAfterFrom: null } });
    expect(unscheduled.found).toMatch(/ago \(no schedule: nothing to be late against\)$/);
  });

  it("measures against the verify run's clock: by default when the servers were read", () => {
    const finishedAt = new Date(NOW_MS - 90 * 60_000).toISOString().replace('.000Z', 'Z');
    const read = { 'backup-status': { stdout: `${status('web', 'hv1', '20251125t080000z', finishedAt)}\n` } };
    expect(one(backupInput({ now: null, hv1: read, hv2: read }), 'BACKUP_AGE', 'cluster', 'web').data).toMatchObject({ ageSeconds: 90 * 60 });
  });

  it('is skipped when no node read the status files (old output), or none could (the storage)', () => {
    expect(one(backupInput({ hv1: 'old', hv2: 'old' }), 'BACKUP_AGE', 'cluster', 'web')).toMatchObject({
      status: 'skipped',
      found: 'web: the status files were not read (hv1: backup-verify-state.sh: not run; hv2: backup-verify-state.sh: not run)',
    });
    const dead = { 'backup-status': { stdout: 'status web timeout\nstatus db timeout\n' } };
    expect(one(backupInput({ hv1: dead, hv2: dead }), 'BACKUP_AGE', 'cluster', 'db')).toMatchObject({
      status: 'skipped',
      found: 'db: its status file could not be read on any node (hv1: the storage did not answer within 10 s; hv2: the storage did not answer within 10 s); see BACKUP_REPO',
    });
  });
});

describe('v-backup parsers', () => {
  it('reads status lines: found, none, timeout, an error, a damaged file', () => {
    const m = parseStatusLines(`${status('web', 'hv1', '20261208t020000z', '2026-12-08T02:04:11Z')}\nstatus db none\nstatus a timeout\nstatus b error head: Permission denied\nstatus c {"guest":"c"}\n`);
    expect(m.get('web')).toEqual({ kind: 'found', status: { guest: 'web', node: 'hv1', set: 'web.20261208t020000z', finishedAt: '2026-12-08T02:04:11Z', readBytes: 37748736, storedBytes: 1048576 } });
    expect([m.get('db'), m.get('a'), m.get('b')]).toEqual([{ kind: 'none' }, { kind: 'timeout' }, { kind: 'error', reason: 'head: Permission denied' }]);
    expect(m.get('c')).toEqual({ kind: 'error', reason: 'its status file is damaged: no finishedAt in {"guest":"c"}' });
  });

  it('reads systemctl show blocks by unit, whatever the order of their properties', () => {
    const m = parseSystemdShow(units({ result: 'exit-code' }));
    expect(m.get('hvcluster-backup.timer')).toMatchObject({ UnitFileState: 'enabled', ActiveState: 'active' });
    expect(m.get('hvcluster-backup.service')).toMatchObject({ Result: 'exit-code' });
  });

  it("reads verify's lvs rows with snapshot.sh state's parser", () => {
    const state = parseSnapshotLvs(lvs(snapRow('db-disk1', 'tiny', '100.00', 'Swi-I-s---'), bkRow('web-disk0', '20261207t020000z')).split('\n'));
    expect(state.lvSizes.get('db-disk1')).toBe(69 * MIB);
    expect(state.tagged.map((t) => [t.kind, t.lv, t.guest, t.invalid])).toEqual([
      ['snapshot', 'db-disk1.snap.tiny', 'db', true],
      ['backup', 'web-disk0.bk.20261207t020000z', 'web', false],
    ]);
    expect(() => parseSnapshotLvs(['garbage'])).toThrow('unexpected line: garbage');
  });
});
