/**
 * Snapshots and backups of the customer's guests on the shared two-node lab, from the run's `built`
 * checkpoint: `web` and `db` (test/helpers/guest-lab.ts) created by apply, then a snapshot of db
 * surviving its live migration, rolled back through DRBD (the data it held at the snapshot, on both
 * replicas), a too-small one reported invalid, a guest agent stuck mid-freeze given up on, a snapshot
 * with RAM rolled back into the same boot (a restore, not a reboot); backups to
 * an NFS export of the witness (apply sets up the repository and the timers, a second run, the
 * nodes' timers, stores almost nothing, retention, the key exported, verify's backup checks); db's
 * latest set restored into a declared copy on the other node, which boots from it and holds db's
 * data; `backup verify` booting a set without a network, then catching a byte flipped in the
 * repository on the NFS server.
 *
 * In `npm run test:e2e:extended`, not in `npm test`: ~35 minutes of emulated CPU that CI's 90 minutes
 * cannot hold beside the other files (README, "What npm test leaves out").
 */
import { mkdtempSync, readFileSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { BACKUP_PASSPHRASE_ENV, backupYaml, serveBackups } from '../helpers/backup-lab.js';
import { events, hvcluster } from '../helpers/hvcluster.js';
import { builtCluster } from '../helpers/built.js';
import { GUEST_NODES, guestLab } from '../helpers/guest-lab.js';
import { bootOf } from '../helpers/ha-lab.js';
import { SHARED_LAB, useLab } from '../helpers/lab.js';
import { waitFor } from '../lab/util.js';

const MIN = 60_000;
const NAME = SHARED_LAB.name;
const lab = useLab(SHARED_LAB);
const dir = mkdtempSync(join(tmpdir(), 'hvcluster-backups-e2e-'));
const NODES = GUEST_NODES;
const g = guestLab(lab, dir);
const { siteWith, page, guestsYaml, dbData, onlineVerify } = g;
let site = '';

describe('snapshots and backups on a two-node lab', () => {
  beforeAll(async () => {
    await builtCluster(lab);
    await g.makeImages();
    site = siteWith('site', guestsYaml());
  }, 25 * MIN);

  it('apply creates web and db, each running on its preferred node and answering', { timeout: 15 * MIN }, async () => {
    const applied = await hvcluster(NAME, ['apply', '-f', site, '--yes', '--json'], { timeoutMs: 12 * MIN });
    expect(applied.code, `${applied.stderr}\n${applied.stdout.slice(-3000)}`).toBe(0);
    expect((await lab.ssh('hv1', 'virsh domstate web')).stdout.trim()).toBe('running');
    expect((await lab.ssh('hv2', 'virsh domstate db')).stdout.trim()).toBe('running');
    for (const host of [201, 202]) {
      await waitFor(`guest .${host} to answer HTTP`, async () => ((await page(host)).includes('hvcluster migration test guest boot=') ? true : undefined), { timeoutMs: 4 * MIN, intervalMs: 3000 });
    }
  });

  /** The site with spec.backup and db-r (a copy of db to restore into) declared: the backup, restore and verify tests'. */
  let backupSite = '';
  /** What db held on its second disk when it was backed up (the backup test records it). */
  let dbAtBackup = '';
  const COPY_YAML = `    - name: db-r\n      memory: 128MiB\n      autostart: false\n      preferredNode: hv2\n      disks:\n        - size: 32MiB\n        - size: 32MiB\n`;

  it('snapshot: taken where the guest runs, it survives a live migration; rollback returns exactly its data on both replicas; a too-small one is reported invalid', { timeout: 20 * MIN }, async () => {
    // db runs on hv2. What it writes on its second disk before the snapshot is what a rollback must return.
    const before = await dbData('write');
    const created = await hvcluster(NAME, ['snapshot', 'create', 'db', 'before', '-f', site, '--json'], { timeoutMs: 5 * MIN });
    expect(created.code, created.stderr).toBe(0);
    const snap = JSON.parse(created.stdout) as { node: string; consistency: string; freeze: { result: string }; thaw: { result: string }; disks: { lv: string; bytes: number }[] };
    // The test guest runs qemu-ga on its agent channel: frozen around the snapshot (it has no
    // filesystem mounted: 0 frozen), application-consistent, and said so.
    expect(snap).toMatchObject({ node: 'hv2', consistency: 'agent', freeze: { result: 'frozen', filesystems: 0 }, thaw: { result: 'ok' } });
    expect(created.stderr).toContain('application-consistent');
    expect(snap.disks.map((d) => d.lv)).toEqual(['db-disk0.snap.before', 'db-disk1.snap.before']);
    const tags = (await lab.ssh('hv2', 'lvs --noheadings -o lv_tags hvdata/db-disk1.snap.before')).stdout.trim().split(',');
    expect(tags).toEqual(expect.arrayContaining(['hvc_snapshot', 'hvc_guest=db', 'hvc_name=before', `hvc_bytes=${snap.disks[1]!.bytes}`]));
    // The DRBD data size, not the LV's (its metadata is at the end of the LV).
    expect(snap.disks[1]!.bytes).toBe(Number((await lab.ssh('hv2', 'blockdev --getsize64 /dev/drbd$(drbdadm sh-minor db-disk1)')).stdout.trim()));
    const taken = await hvcluster(NAME, ['snapshot', 'create', 'db', 'before', '-f', site], { timeoutMs: 5 * MIN });
    expect(taken.code).toBe(2);
    expect(taken.stderr).toContain('guest db already has a snapshot named before (on hv2)');

    const after = await dbData('write');
    expect(after).not.toBe(before);
    // The snapshot stays on hv2 while db moves to hv1: nothing in it blocks a live migration.
    const moved = await hvcluster(NAME, ['guest', 'migrate', 'db', '--to', 'hv1', '-f', site], { timeoutMs: 8 * MIN });
    expect(moved.code, moved.stderr).toBe(0);
    const listed = await hvcluster(NAME, ['snapshot', 'list', 'db', '-f', site, '--json'], { timeoutMs: 3 * MIN });
    expect(listed.code, listed.stderr).toBe(0);
    const rows = (JSON.parse(listed.stdout) as { snapshots: { name: string; node: string; state: string; guestRunsOn: string | null }[] }).snapshots;
    expect(rows.map((r) => [r.name, r.node, r.state, r.guestRunsOn])).toEqual([['before', 'hv2', 'valid', 'hv1']]);
    expect(await dbData('check')).toBe(after);

    // Rollback needs --yes; then db is destroyed on hv1, the snapshot written back through DRBD on
    // hv2, and db started on hv1 again, holding exactly what it held at the snapshot.
    const unconfirmed = await hvcluster(NAME, ['snapshot', 'rollback', 'db', 'before', '-f', site], { timeoutMs: 3 * MIN });
    expect(unconfirmed.code).toBe(2);
    expect(unconfirmed.stderr).toContain('give --yes to confirm');
    expect((await lab.ssh('hv1', 'virsh domstate db')).stdout.trim()).toBe('running');
    const rolled = await hvcluster(NAME, ['snapshot', 'rollback', 'db', 'before', '--yes', '-f', site, '--json'], { timeoutMs: 10 * MIN });
    expect(rolled.code, rolled.stderr).toBe(0);
    expect(JSON.parse(rolled.stdout)).toMatchObject({ guest: 'db', node: 'hv2', startedOn: 'hv1' });
    await waitFor('db to answer HTTP again', async () => ((await page(202)).includes('hvcluster migration test guest boot=') ? true : undefined), { timeoutMs: 4 * MIN, intervalMs: 3000 });
    expect(await dbData('check')).toBe(before);
    // Both replicas hold the same bytes: DRBD's online verify finds nothing out of sync.
    for (const res of ['db-disk0', 'db-disk1']) expect(await onlineVerify(res), res).toEqual({ hv1: '0', hv2: '0' });

    // A snapshot too small for what the guest rewrites overflows: listed INVALID (exit 1), refused by rollback, removable.
    const tiny = await hvcluster(NAME, ['snapshot', 'create', 'db', 'tiny', '--size', '5%', '-f', site], { timeoutMs: 5 * MIN });
    expect(tiny.code, tiny.stderr).toBe(0);
    // 5 % of the disk's volume, rounded up by LVM (8 MiB on the lab); 12 MiB of new data overflow it.
    for (const at of [0, 8, 16]) await dbData('write', at);
    const overflowed = await hvcluster(NAME, ['snapshot', 'list', '-f', site], { timeoutMs: 3 * MIN });
    expect(overflowed.code, overflowed.stdout + overflowed.stderr).toBe(1);
    expect(overflowed.stdout).toMatch(/^db\s+tiny\s+hv1\s+\S+\s+agent\s+INVALID/m);
    expect(overflowed.stdout).toMatch(/^db\s+before\s+hv2\s/m);
    const refused = await hvcluster(NAME, ['snapshot', 'rollback', 'db', 'tiny', '--yes', '-f', site], { timeoutMs: 3 * MIN });
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain('snapshot tiny of guest db is invalid on hv1');
    for (const name of ['tiny', 'before']) {
      const removed = await hvcluster(NAME, ['snapshot', 'remove', 'db', name, '-f', site], { timeoutMs: 3 * MIN });
      expect(removed.code, removed.stderr).toBe(0);
    }
    for (const node of NODES) expect((await lab.ssh(node, 'lvs --noheadings -o lv_name hvdata')).stdout, node).not.toContain('.snap.');
    const none = await hvcluster(NAME, ['snapshot', 'list', '-f', site], { timeoutMs: 3 * MIN });
    expect(none.code, none.stderr).toBe(0);
    expect(none.stdout.trim()).toBe('no snapshots');
  });

  it("snapshot: a guest agent stuck mid-freeze is given up on after --freeze-timeout: the snapshot taken crash-consistent, the thaw reported abandoned and left to the node's own timer", { timeout: 12 * MIN }, async () => {
    // web runs on hv1. Its agent's freeze hook now does not return: the agent hangs inside the freeze.
    expect((await page(201, '/cgi-bin/agent?hang')).trim()).toBe('hang');
    const started = Date.now();
    const r = await hvcluster(NAME, ['snapshot', 'create', 'web', 'hung', '--freeze-timeout', '2', '-f', site, '--json'], { timeoutMs: 5 * MIN });
    console.log(`snapshot create with a hung agent (--freeze-timeout 2) took ${((Date.now() - started) / 1000).toFixed(1)} s`);
    expect(r.code, r.stderr).toBe(0);
    const doc = JSON.parse(r.stdout) as { node: string; consistency: string; freeze: { result: string }; thaw: { result: string; retryAt: string | null } };
    expect(doc).toMatchObject({ node: 'hv1', consistency: 'crash', freeze: { result: 'timed-out' }, thaw: { result: 'abandoned' } });
    expect(doc.thaw.retryAt).toMatch(/^\d{4}-/);
    expect(r.stderr).toContain('crash-consistent: the guest agent did not answer the freeze within 2 s');
    expect(r.stderr).toContain('the guest agent of web did not answer the thaw');
    // The guest was never left paused: it answers.
    expect(await page(201)).toContain('hvcluster migration test guest boot=');
    const listed = await hvcluster(NAME, ['snapshot', 'list', 'web', '-f', site], { timeoutMs: 3 * MIN });
    expect(listed.code, listed.stderr).toBe(0);
    expect(listed.stdout).toContain('! web hung: the guest agent did not answer the thaw');
    // The node thaws it by itself later (a transient timer armed before the freeze, left armed when the thaw was abandoned).
    expect((await lab.ssh('hv1', "systemctl list-units --all --no-legend 'hvc-thaw-web-*.timer' | wc -l")).stdout.trim()).toBe('1');
    // The hook returns: the agent finishes the freeze it was stuck in (nothing to freeze in the test
    // guest, so it ends thawed), and answers again.
    expect((await page(201, '/cgi-bin/agent?ok')).trim()).toBe('ok');
    const status = async () => (await lab.ssh('hv1', `virsh qemu-agent-command web '{"execute":"guest-fsfreeze-status"}'`)).stdout.trim();
    await waitFor("web's agent to report its filesystems thawed", async () => ((await status()) === '{"return":"thawed"}' ? true : undefined), { timeoutMs: 4 * MIN, intervalMs: 5000 });
    const removed = await hvcluster(NAME, ['snapshot', 'remove', 'web', 'hung', '-f', site], { timeoutMs: 3 * MIN });
    expect(removed.code, removed.stderr).toBe(0);
  });

  it('snapshot --ram: db keeps running, its boot unchanged (saved and restored, not rebooted); rollback returns its first data in that same boot; remove leaves no RAM file', { timeout: 15 * MIN }, async () => {
    // db runs on hv1 since the first snapshot test's rollback. Its page names its kernel's boot id.
    const boot = bootOf(await page(202));
    expect(boot, "db's page").not.toBeNull();
    const before = await dbData('write');
    const created = await hvcluster(NAME, ['snapshot', 'create', 'db', 'ramsnap', '--ram', '-f', site, '--json'], { timeoutMs: 5 * MIN });
    expect(created.code, created.stderr).toBe(0);
    const snap = JSON.parse(created.stdout) as { node: string; consistency: string; ram: { file: string; bytes: number } | null };
    expect(snap).toMatchObject({ node: 'hv1', consistency: 'ram', ram: { file: '/var/lib/hvcluster/snapshots/db/ramsnap.ram' } });
    expect(snap.ram!.bytes).toBeGreaterThan(0);
    expect(created.stderr).toContain('consistent with its RAM');
    expect((await lab.ssh('hv1', `stat -c %a ${snap.ram!.file}; virsh domstate db`)).stdout.trim().split('\n')).toEqual(['600', 'running']);
    const tags = (await lab.ssh('hv1', 'lvs --noheadings -o lv_tags hvdata/db-disk1.snap.ramsnap')).stdout.trim().split(',');
    expect(tags).toEqual(expect.arrayContaining(['hvc_snapshot', 'hvc_ram', 'hvc_consistency=ram']));
    await waitFor('db to answer HTTP after its save and restore', async () => (bootOf(await page(202)) ?? undefined), { timeoutMs: 2 * MIN, intervalMs: 2000 });
    expect(bootOf(await page(202)), 'the same boot: restored, not rebooted').toBe(boot);
    const after = await dbData('write');
    expect(after).not.toBe(before);

    const listed = await hvcluster(NAME, ['snapshot', 'list', 'db', '-f', site, '--json'], { timeoutMs: 3 * MIN });
    expect(listed.code, listed.stderr).toBe(0);
    const rows = (JSON.parse(listed.stdout) as { snapshots: { name: string; consistency: string; ram: { bytes: number | null } | null }[] }).snapshots;
    expect(rows.map((r) => [r.name, r.consistency, r.ram?.bytes])).toEqual([['ramsnap', 'ram', snap.ram!.bytes]]);

    // Rolled back: destroyed, its disks written back through DRBD, then resumed from its RAM on hv1:
    // the data of the snapshot's instant, in the boot it had then.
    const rolled = await hvcluster(NAME, ['snapshot', 'rollback', 'db', 'ramsnap', '--yes', '-f', site, '--json'], { timeoutMs: 10 * MIN });
    expect(rolled.code, rolled.stderr).toBe(0);
    expect(JSON.parse(rolled.stdout)).toMatchObject({ guest: 'db', node: 'hv1', startedOn: 'hv1', ram: { file: snap.ram!.file, resumed: true } });
    await waitFor('db to answer HTTP after the rollback', async () => (bootOf(await page(202)) ?? undefined), { timeoutMs: 2 * MIN, intervalMs: 2000 });
    expect(bootOf(await page(202)), 'the boot of the snapshot: resumed, not booted').toBe(boot);
    expect(await dbData('check')).toBe(before);

    const removed = await hvcluster(NAME, ['snapshot', 'remove', 'db', 'ramsnap', '-f', site], { timeoutMs: 3 * MIN });
    expect(removed.code, removed.stderr).toBe(0);
    for (const node of NODES) {
      const left = await lab.ssh(node, 'find /var/lib/hvcluster/snapshots -name "*.ram" 2>/dev/null; lvs --noheadings -o lv_name hvdata');
      expect(left.stdout, node).not.toMatch(/ramsnap/);
    }
  });

  it('backups: apply sets up the repository on an NFS export (the witness) and the nodes\' timers; backup run stores every guest, a second run almost nothing; the timer backs up what its node runs; retention keeps a set a day', { timeout: 25 * MIN }, async () => {
    // web and db run on hv1 (db since its rollback). The repository: the witness's NFS export, encrypted.
    process.env[BACKUP_PASSPHRASE_ENV] = 'correct horse battery staple, lab only';
    const server = await serveBackups(lab);
    // db-r, a copy of db for the restore test, is declared now (one apply makes both): apply makes its
    // volumes and definition and never starts it (autostart: false); it is not backed up itself.
    backupSite = siteWith('backup', `${guestsYaml()}${COPY_YAML}${backupYaml(server, ['web', 'db'])}`);
    const applied = await hvcluster(NAME, ['apply', '-f', backupSite, '--yes', '--json'], { timeoutMs: 10 * MIN });
    expect(applied.code, applied.stderr.slice(-4000)).toBe(0);
    expect(applied.stdout + applied.stderr).not.toContain(process.env[BACKUP_PASSPHRASE_ENV]);
    for (const node of NODES) {
      const r = await lab.ssh(node, `ls /var/lib/hvcluster/backup >/dev/null; findmnt -n -t nfs4,nfs -o SOURCE /var/lib/hvcluster/backup; stat -c %a /etc/hvcluster/backup/passphrase; systemctl is-enabled hvcluster-backup.timer`);
      expect(r.stdout.trim().split('\n'), node).toEqual([`${server}:/srv/hvbackup`, '600', 'enabled']);
    }
    const again = await hvcluster(NAME, ['apply', '-f', backupSite, '--yes', '--json'], { timeoutMs: 8 * MIN });
    expect(again.code, again.stderr).toBe(0);
    expect(events(again.stdout).filter((e) => e.type === 'change').map((e) => String(e.description))).toEqual([]);

    type Run = { sets: { guest: string; node: string; set: string; readBytes: number; storedBytes: number; consistency: string }[] };
    dbAtBackup = await dbData('check');
    const first = await hvcluster(NAME, ['backup', 'run', '-f', backupSite, '--json'], { timeoutMs: 15 * MIN });
    expect(first.code, first.stderr.slice(-4000)).toBe(0);
    const run1 = JSON.parse(first.stdout) as Run;
    expect(run1.sets.map((s) => [s.guest, s.consistency])).toEqual([['web', 'agent'], ['db', 'agent']]);
    // Each from the node it runs on.
    for (const s of run1.sets) expect((await lab.ssh(s.node, `virsh domstate ${s.guest}`)).stdout.trim(), s.guest).toBe('running');
    // Every disk read whole (its DRBD data size), nothing but it.
    for (const s of run1.sets) expect(s.readBytes, s.guest).toBeGreaterThan(20 * 2 ** 20);
    // Run 2 is the nodes' timers: each backs up what it runs (both guests run on hv1; hv2 is Primary
    // for none), never twice, and nothing changed since run 1: borg stores almost nothing. Each set's
    // figures are in the guest's status file on the repository, whoever made it.
    for (const node of NODES) expect((await lab.ssh(node, 'systemctl start hvcluster-backup.service; systemctl show -p Result --value hvcluster-backup.service')).stdout.trim(), node).toBe('success');
    type Status = { guest: string; node: string; set: string; readBytes: number; storedBytes: number };
    const status = async (guest: string) => JSON.parse((await lab.ssh('hv2', `cat "$(awk '$1 == "root" { print $2 }' /etc/hvcluster/backup.conf)/status/${guest}.json"`)).stdout) as Status;
    const run2: Status[] = [];
    for (const s of run1.sets) {
      const t = await status(s.guest);
      run2.push(t);
      console.log(`backup of ${s.guest}: run 1 (backup run) read ${s.readBytes} bytes, stored ${s.storedBytes}; run 2 (hv1's timer, nothing changed) read ${t.readBytes}, stored ${t.storedBytes} (${((100 * t.storedBytes) / t.readBytes).toFixed(3)} %)`);
      expect(t.node, s.guest).toBe('hv1');
      expect(t.set > s.set, s.guest).toBe(true);
      expect(t.readBytes, s.guest).toBe(s.readBytes);
      expect(t.storedBytes, s.guest).toBeLessThan(t.readBytes / 100);
    }
    for (const node of NODES) expect((await lab.ssh(node, 'lvs --noheadings -o lv_name hvdata')).stdout, node).not.toContain('.bk.');

    // Run 3, of web only. Retention as borg 1.2 applies its rules in turn: the latest set (keep-last
    // 1); then keep-daily, whose day (today) that set already stands for, so it keeps the oldest set
    // instead, as borg does while a rule has fewer periods than its count: web keeps run 3's and run
    // 1's of its three sets of today (the timer's is pruned); db, backed up twice, keeps both.
    const third = await hvcluster(NAME, ['backup', 'run', 'web', '-f', backupSite, '--json'], { timeoutMs: 15 * MIN });
    expect(third.code, third.stderr.slice(-4000)).toBe(0);
    const run3 = JSON.parse(third.stdout) as Run;
    expect(run3.sets.map((s) => s.guest)).toEqual(['web']);
    const listed = await hvcluster(NAME, ['backup', 'list', '-f', backupSite, '--json'], { timeoutMs: 5 * MIN });
    expect(listed.code, listed.stderr).toBe(0);
    const sets = JSON.parse(listed.stdout) as { sets: { guest: string; set: string }[]; incomplete: unknown[] };
    const setsOf = (guest: string) => sets.sets.filter((s) => s.guest === guest).map((s) => s.set).sort();
    expect(setsOf('web')).toEqual([run1.sets[0]!.set, run3.sets[0]!.set].sort());
    expect(setsOf('db')).toEqual([run1.sets[1]!.set, run2[1]!.set].sort());

    // The repository's key, kept apart from it: a new file, root's only, borg's export format, not echoed.
    const keyFile = join(dir, 'lab-two.borg-key');
    const key = await hvcluster(NAME, ['backup', 'key-export', '--output', keyFile, '-f', backupSite], { timeoutMs: 5 * MIN });
    expect(key.code, key.stderr).toBe(0);
    const keyText = readFileSync(keyFile, 'utf8');
    expect(keyText).toMatch(/^BORG_KEY [0-9a-f]{64}\n/);
    expect(statSync(keyFile).mode & 0o777).toBe(0o600);
    const keyLine = keyText.split('\n')[1]!;
    expect(keyLine.length).toBeGreaterThan(40);
    expect(key.stdout + key.stderr).not.toContain(keyLine);
    const again2 = await hvcluster(NAME, ['backup', 'key-export', '--output', keyFile, '-f', backupSite], { timeoutMs: 5 * MIN });
    expect(again2.code).toBe(2);
    expect(again2.stderr).toContain('the key is never written over a file');

    // verify watches the backups: the repository on each node, the timers, each guest's last set;
    // a temporary backup snapshot that a dead run would leave is reported where it is.
    const leftover = 'web-disk0.bk.20260101t000000z';
    expect((await lab.ssh('hv1', `lvcreate -qy -s -L 8M -n ${leftover} --addtag hvc_backup --addtag hvc_guest=web --addtag hvc_name=20260101t000000z --addtag hvc_time=20260101t000000z hvdata/web-disk0`)).code).toBe(0);
    const checked = await hvcluster(NAME, ['verify', '-f', backupSite, '--json'], { timeoutMs: 8 * MIN });
    await lab.ssh('hv1', `lvremove -qy hvdata/${leftover}`);
    type Check = { code: string; status: string; server: string; subject?: string; found: string; data?: Record<string, unknown> };
    const report = JSON.parse(checked.stdout) as { checks: Check[] };
    const of = (code: string) => report.checks.filter((c) => c.code === code).map((c) => [c.server, c.status]);
    expect(of('BACKUP_REPO'), checked.stderr).toEqual([['hv1', 'pass'], ['hv2', 'pass']]);
    expect(of('BACKUP_TIMER')).toEqual([['hv1', 'pass'], ['hv2', 'pass']]);
    const ages = report.checks.filter((c) => c.code === 'BACKUP_AGE');
    expect(ages.map((c) => [c.subject, c.status, c.data?.set])).toEqual([['web', 'pass', run3.sets[0]!.set], ['db', 'pass', run2[1]!.set]]);
    expect(of('SNAPSHOT_LEFTOVER')).toEqual([['hv1', 'warning'], ['hv2', 'pass']]);
    expect(report.checks.find((c) => c.code === 'SNAPSHOT_LEFTOVER' && c.server === 'hv1')!.found).toContain(`${leftover} (guest web`);
    expect(sets.incomplete).toEqual([]);
  });

  it('backup restore: db\'s latest set written into a declared copy (db-r) on the other node through DRBD, checksums checked; it boots from it and holds db\'s data, on both replicas', { timeout: 20 * MIN }, async () => {
    expect(dbAtBackup, 'the backup test recorded db\'s data').not.toBe('');
    // The copy boots the same system as db, at the same address: db stops first.
    const stopped = await hvcluster(NAME, ['guest', 'stop', 'db', '--timeout', '1', '--force', '-f', backupSite], { timeoutMs: 3 * MIN });
    expect(stopped.code, stopped.stderr).toBe(0);
    const r = await hvcluster(NAME, ['backup', 'restore', 'db', '--as', 'db-r', '--start', '-f', backupSite, '--json'], { timeoutMs: 10 * MIN });
    expect(r.code, r.stderr.slice(-4000)).toBe(0);
    const doc = JSON.parse(r.stdout) as { target: string; node: string; startedOn: string; disks: { resource: string }[] };
    expect(doc).toMatchObject({ target: 'db-r', node: 'hv2', startedOn: 'hv2' });
    expect(doc.disks.map((d) => d.resource)).toEqual(['db-r-disk0', 'db-r-disk1']);
    await waitFor('db-r to answer HTTP (booted from the restored disk)', async () => ((await page(202)).includes('hvcluster migration test guest boot=') ? true : undefined), { timeoutMs: 4 * MIN, intervalMs: 3000 });
    expect((await lab.ssh('hv2', 'virsh domstate db-r')).stdout.trim()).toBe('running');
    expect(await dbData('check')).toBe(dbAtBackup);
    expect(await onlineVerify('db-r-disk1')).toEqual({ hv1: '0', hv2: '0' });
    // db back at its address for the tests after this one: the copy stopped, db started.
    for (const args of [['guest', 'stop', 'db-r', '--timeout', '1', '--force'], ['guest', 'start', 'db']]) {
      const r2 = await hvcluster(NAME, [...args, '-f', backupSite], { timeoutMs: 5 * MIN });
      expect(r2.code, r2.stderr).toBe(0);
    }
  });

  it('backup verify: the latest set restores into scratch volumes and boots without a network until its agent answers; a byte flipped in the repository on the NFS server is caught', { timeout: 20 * MIN }, async () => {
    const ok = await hvcluster(NAME, ['backup', 'verify', 'db', '-f', backupSite, '--json'], { timeoutMs: 12 * MIN });
    expect(ok.code, ok.stderr.slice(-4000)).toBe(0);
    const doc = JSON.parse(ok.stdout) as { guests: { guest: string; restore: string; boot: string; node: string }[]; repository: { ok: boolean } };
    expect(doc.guests.map((g) => [g.guest, g.restore, g.boot])).toEqual([['db', 'ok', 'ok']]);
    expect(doc.repository.ok).toBe(true);
    // Nothing of it left: no scratch domain, no scratch volume.
    for (const node of NODES) expect((await lab.ssh(node, 'virsh list --all --name; lvs --noheadings -o lv_name hvdata')).stdout, node).not.toContain('hvc-bkverify');
    // One byte of the repository's largest segment file changed on the NAS (its complement: always a change).
    const flip = await lab.ssh('witness', `set -e; f=$(ls -S /srv/hvbackup/*/borg/data/*/* | head -n 1); n=$(( $(stat -c %s "$f") / 2 ))
b=$(dd if="$f" bs=1 skip=$n count=1 status=none | od -An -tu1 | tr -d ' ')
printf "$(printf '\\%03o' $((255 - b)))" | dd of="$f" bs=1 seek=$n count=1 conv=notrunc status=none
echo "$f $n"`);
    expect(flip.code, flip.stderr).toBe(0);
    console.log(`backup verify: flipped the byte at ${flip.stdout.trim()} on the witness`);
    const caught = await hvcluster(NAME, ['backup', 'verify', 'db', '--no-boot', '-f', backupSite], { timeoutMs: 12 * MIN });
    expect(caught.code, caught.stderr.slice(-4000)).toBe(1);
    expect(caught.stderr).toContain('backup verify failed');
    expect(caught.stderr).toMatch(/repository check failed|could not be restored|other data/);
  });
  it('spec.backup removed: apply stops and removes the timers, the storage units and backup.conf (kept in the run\'s backup directory), keeps the passphrase and the repository; a second apply changes nothing', { timeout: 15 * MIN }, async () => {
    const without = siteWith('nobackup', `${guestsYaml()}${COPY_YAML}`);
    const planned = await hvcluster(NAME, ['plan', '-f', without, '--json'], { timeoutMs: 5 * MIN });
    expect(planned.code, planned.stderr.slice(-4000)).toBe(0);
    expect(planned.stdout + planned.stderr).toContain('hvcluster-backup.timer');
    const applied = await hvcluster(NAME, ['apply', '-f', without, '--yes', '--json'], { timeoutMs: 10 * MIN });
    expect(applied.code, applied.stderr.slice(-4000)).toBe(0);
    for (const node of NODES) {
      const r = await lab.ssh(node, 'systemctl is-enabled hvcluster-backup.timer 2>&1 | head -n 1; findmnt -n /var/lib/hvcluster/backup; ls /etc/systemd/system | grep -c "^var-lib-hvcluster-backup"; test -e /etc/hvcluster/backup.conf && echo conf; stat -c %a /etc/hvcluster/backup/passphrase; systemctl --failed --no-legend --plain | grep -c hvcluster; ls /var/backups/hvcluster/*/etc/hvcluster/backup.conf >/dev/null 2>&1 && echo kept');
      const [enabled, ...rest] = r.stdout.trim().split('\n');
      expect(enabled, node).not.toBe('enabled');
      // No mount left, no storage unit, no backup.conf; the passphrase still there (600); nothing failed; backup.conf kept in a run's backup directory.
      expect(rest, node).toEqual(['0', '600', '0', 'kept']);
    }
    expect((await lab.ssh('witness', 'ls -d /srv/hvbackup/*/borg/data')).code).toBe(0);
    const again = await hvcluster(NAME, ['apply', '-f', without, '--yes', '--json'], { timeoutMs: 8 * MIN });
    expect(again.code, again.stderr.slice(-4000)).toBe(0);
    expect(events(again.stdout).filter((e) => e.type === 'change').map((e) => String(e.description))).toEqual([]);
  });
});
