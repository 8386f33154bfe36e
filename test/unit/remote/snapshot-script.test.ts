/**
 * installer/remote/snapshot.sh with stand-ins for virsh, LVM, drbdadm, lsblk and systemd on PATH
 * (each records its arguments; virsh's agent answers as the case under test says): the order of
 * freeze, pause, snapshots, resume and thaw; what it prints for an agent that answers, none, one
 * that stops answering (libvirt's agent timeout); all or nothing when a snapshot fails; remove
 * refusing an LV hvcluster did not make. With RAM: save, snapshots, restore in that order, the
 * restore whatever happens, the file's mode, the room refused, the restore verb, remove's file.
 */
import { spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { REMOTE_DIR } from '../../../installer/paths.js';
import { parseCreateOutput, parseRestore } from '../../../installer/snapshots/outcome.js';
import { parseSnapshotState } from '../../../installer/snapshots/state.js';

const STANDINS: Record<string, string> = {
  virsh: `case $1 in
  domstate) echo "\${DOMSTATE:-running}" ;;
  domfsfreeze) case $AGENT in ok) echo "Froze 2 filesystem(s)" ;; none) echo "error: Guest agent is not responding: QEMU guest agent is not connected" >&2; exit 1 ;; hung) sleep "$FREEZE_S"; echo "error: Guest agent is not responding: Guest agent not available for now" >&2; exit 1 ;; esac ;;
  domfsthaw) case $AGENT in ok) echo "Thawed 2 filesystem(s)" ;; hung) sleep "$FREEZE_S"; echo "error: Guest agent is not responding: Guest agent not available for now" >&2; exit 1 ;; *) exit 1 ;; esac ;;
  save) [ "$SAVE" = fail ] && { echo "error: operation failed: domain save job: unexpectedly failed" >&2; exit 1; }; printf 'LibvirtQemudSave' > "$3"; echo "Domain '$2' saved to $3" ;;
  restore) [ "$RESTORE" = fail ] && { echo "error: Failed to restore domain from $2" >&2; echo "error: unsupported configuration: Target domain max memory 262144 does not match source 131072" >&2; exit 1; }; echo "Domain restored from $2" ;;
esac`,
  lvcreate: `for a; do last=$a; done; case "$last $*" in *"$FAIL_LV"*) [ -n "$FAIL_LV" ] && { echo "Insufficient free space" >&2; exit 5; } ;; esac; exit 0`,
  lvs: `case "$*" in *lv_name*) ;; *lv_tags*) echo "  \${TAGS:-}" ;; *) exit 5 ;; esac`,
  vgs: 'echo "  1073741824"',
  lvremove: 'exit 0',
  lvchange: 'exit 0',
  drbdadm: 'case $2 in web-disk0) echo /dev/drbd1 ;; *) echo /dev/drbd2 ;; esac',
  lsblk: 'echo 33550336',
  'systemd-run': 'exit 0',
  systemctl: 'exit 0',
};

function standins(): string {
  const dir = mkdtempSync(join(tmpdir(), 'hvc-snapshot-sh-'));
  for (const [name, body] of Object.entries(STANDINS)) {
    const path = join(dir, name);
    writeFileSync(path, `#!/bin/sh\necho "${name} $*" >> "${dir}/calls"\n${body}\n`);
    chmodSync(path, 0o755);
  }
  writeFileSync(join(dir, 'calls'), '');
  return dir;
}

function run(args: string[], env: Record<string, string> = {}) {
  const dir = standins();
  const r = spawnSync('sh', [join(REMOTE_DIR, 'snapshot.sh'), ...args], { encoding: 'utf8', env: { PATH: `${dir}:/usr/bin:/bin`, AGENT: 'ok', FREEZE_S: '1', FAIL_LV: '', SAVE: 'ok', RESTORE: 'ok', ...env } });
  const calls = readFileSync(join(dir, 'calls'), 'utf8').trim().split('\n').filter(Boolean);
  return { code: r.status, stdout: r.stdout, stderr: r.stderr, calls, verbs: calls.map((c) => c.split(' ').slice(0, 2).join(' ')) };
}

const create = (...resources: string[]) => ['create', 'hvdata', 'db', 'before', '20261208t101500z', '1', 'full', ...resources];

describe('snapshot.sh create', () => {
  it('an agent that answers: frozen, the snapshot taken with its tags, thawed, the safety timer stopped', () => {
    const r = run(create('db-disk0'));
    expect(r.code, r.stderr).toBe(0);
    expect(parseCreateOutput(r.stdout)).toEqual({ freeze: { result: 'frozen', filesystems: 2 }, thaw: { result: 'ok' }, consistency: 'agent', disks: [{ resource: 'db-disk0', lv: 'db-disk0.snap.before', bytes: 33550336 }], ram: null });
    const order = r.verbs.filter((v) => /domfsfreeze|domfsthaw|^lvcreate|systemd-run|systemctl stop/.test(v));
    expect(order).toEqual(['systemd-run --quiet', 'virsh domfsfreeze', 'lvcreate -qy', 'virsh domfsthaw', 'systemctl stop']);
    const lvcreate = r.calls.find((c) => c.startsWith('lvcreate'))!;
    expect(lvcreate).toBe('lvcreate -qy -s -l 100%ORIGIN -n db-disk0.snap.before --addtag hvc_snapshot --addtag hvc_guest=db --addtag hvc_name=before --addtag hvc_time=20261208t101500z --addtag hvc_consistency=agent --addtag hvc_bytes=33550336 hvdata/db-disk0');
    expect(r.calls).toContain('virsh guest-agent-timeout db --timeout 1');
  });

  it('no agent: nothing frozen, crash-consistent, no thaw; several disks taken while the guest is paused', () => {
    const r = run(create('db-disk0', 'db-disk1'), { AGENT: 'none' });
    expect(r.code, r.stderr).toBe(0);
    const outcome = parseCreateOutput(r.stdout);
    expect(outcome.freeze).toEqual({ result: 'none', reason: 'Guest agent is not responding: QEMU guest agent is not connected' });
    expect(outcome.thaw).toEqual({ result: 'none' });
    expect(outcome.consistency).toBe('crash');
    expect(r.verbs.filter((v) => /suspend|resume|^lvcreate|domfsthaw/.test(v))).toEqual(['virsh suspend', 'lvcreate -qy', 'lvcreate -qy', 'virsh resume']);
  });

  it('an agent that stops answering: the freeze times out, the snapshot is still taken (crash), the thaw is abandoned and the node retries it', () => {
    const started = Date.now();
    const r = run(create('db-disk0'), { AGENT: 'hung' });
    expect(r.code, r.stderr).toBe(0);
    expect(Date.now() - started).toBeLessThan(10_000);
    const outcome = parseCreateOutput(r.stdout);
    expect(outcome.freeze).toEqual({ result: 'timed-out' });
    expect(outcome.thaw).toMatchObject({ result: 'abandoned', reason: 'error: Guest agent is not responding: Guest agent not available for now' });
    expect(outcome.thaw.result === 'abandoned' && outcome.thaw.retryAt).toMatch(/^\d{4}-\d\d-\d\dT/);
    expect(outcome.consistency).toBe('crash');
    expect(r.calls.some((c) => c.startsWith('lvcreate') && c.includes('hvc_consistency=crash'))).toBe(true);
    expect(r.calls).toContain('lvchange -qy --addtag hvc_thaw=abandoned hvdata/db-disk0.snap.before');
    expect(r.verbs).not.toContain('systemctl stop');
  });

  it('a stopped guest: no freeze, consistency stopped', () => {
    const r = run(create('db-disk0'), { DOMSTATE: 'shut off' });
    expect(r.code, r.stderr).toBe(0);
    expect(parseCreateOutput(r.stdout)).toMatchObject({ freeze: { result: 'skipped' }, consistency: 'stopped' });
    expect(r.verbs).not.toContain('virsh domfsfreeze');
  });

  it('all or nothing: a snapshot that fails removes those made, and the guest is resumed and thawed', () => {
    const r = run(create('db-disk0', 'db-disk1'), { FAIL_LV: 'hvdata/db-disk1' });
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('Insufficient free space');
    expect(r.calls).toContain('lvremove -qy hvdata/db-disk0.snap.before');
    expect(r.verbs).toContain('virsh resume');
    expect(r.verbs).toContain('virsh domfsthaw');
  });
});

describe('snapshot.sh remove', () => {
  it('removes a tagged snapshot, refuses an LV hvcluster did not make', () => {
    expect(run(['remove', 'hvdata', 'db-disk0.snap.before'], { TAGS: 'hvc_snapshot,hvc_guest=db' }).calls).toContain('lvremove -qy hvdata/db-disk0.snap.before');
    const refused = run(['remove', 'hvdata', 'db-disk0'], { TAGS: '' });
    expect(refused.code).toBe(3);
    expect(refused.stderr).toContain('hvdata/db-disk0 is not a snapshot hvcluster made');
    expect(refused.verbs).not.toContain('lvremove -qy');
  });
});

/** A RAM directory of the test's own (RAM_DIR on a node), and the file of db's snapshot `before` in it. */
function ramDir() {
  const root = join(mkdtempSync(join(tmpdir(), 'hvc-ram-')), 'snapshots');
  return { root, file: join(root, 'db', 'before.ram') };
}

describe('snapshot.sh create --ram', () => {
  const createRam = (file: string, need = '1048576', ...resources: string[]) => ['create', '--ram', file, need, 'hvdata', 'db', 'before', '20261208t101500z', '0', 'full', ...(resources.length ? resources : ['db-disk0', 'db-disk1'])];

  it('saves the guest, snapshots its quiescent disks (no freeze, no pause) tagged ram, restores it; the file kept, mode 600', () => {
    const { file } = ramDir();
    const r = run(createRam(file));
    expect(r.code, r.stderr).toBe(0);
    expect(r.verbs.filter((v) => /^virsh (save|restore|suspend|resume|domfs)|^lvcreate/.test(v))).toEqual(['virsh save', 'lvcreate -qy', 'lvcreate -qy', 'virsh restore']);
    expect(r.calls).toContain(`virsh save db ${file}`);
    expect(r.calls).toContain(`virsh restore ${file}`);
    expect(r.calls.find((c) => c.startsWith('lvcreate'))).toBe(
      'lvcreate -qy -s -l 100%ORIGIN -n db-disk0.snap.before --addtag hvc_snapshot --addtag hvc_guest=db --addtag hvc_name=before --addtag hvc_time=20261208t101500z --addtag hvc_consistency=ram --addtag hvc_bytes=33550336 --addtag hvc_ram hvdata/db-disk0',
    );
    expect(r.verbs).not.toContain('systemd-run --quiet');
    const outcome = parseCreateOutput(r.stdout);
    expect(outcome).toMatchObject({ freeze: { result: 'skipped' }, thaw: { result: 'none' }, consistency: 'ram', ram: { file, bytes: 16, restore: { result: 'ok' } } });
    expect(statSync(file).mode & 0o777).toBe(0o600);
    expect(statSync(join(file, '..')).mode & 0o777).toBe(0o700);
  });

  it('a snapshot that fails: the guest restored all the same, the snapshots made removed, the file deleted', () => {
    const { file } = ramDir();
    const r = run(createRam(file), { FAIL_LV: 'hvdata/db-disk1' });
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('Insufficient free space');
    expect(r.verbs.filter((v) => /^virsh (save|restore)|^lvcreate|^lvremove/.test(v))).toEqual(['virsh save', 'lvcreate -qy', 'lvcreate -qy', 'virsh restore', 'lvremove -qy']);
    expect(existsSync(file)).toBe(false);
  });

  it('a restore that fails after the snapshot: exit 0, said, the file kept', () => {
    const { file } = ramDir();
    const r = run(createRam(file), { RESTORE: 'fail' });
    expect(r.code, r.stderr).toBe(0);
    const outcome = parseCreateOutput(r.stdout);
    expect(outcome.ram?.restore).toEqual({ result: 'failed', reason: `Failed to restore domain from ${file} error: unsupported configuration: Target domain max memory 262144 does not match source 131072` });
    expect(existsSync(file)).toBe(true);
  });

  it('a snapshot and a restore that both fail: the file kept, and stderr says how to restore the guest', () => {
    const { file } = ramDir();
    const r = run(createRam(file), { FAIL_LV: 'hvdata/db-disk0', RESTORE: 'fail' });
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(`its RAM and device state stay in ${file}; restore it with: virsh restore ${file}`);
    expect(existsSync(file)).toBe(true);
  });

  it('a save that fails: nothing snapshotted, nothing to restore, no file', () => {
    const { file } = ramDir();
    const r = run(createRam(file), { SAVE: 'fail' });
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(`virsh save db ${file} failed: operation failed: domain save job: unexpectedly failed`);
    expect(r.verbs).not.toContain('lvcreate -qy');
    expect(r.verbs).not.toContain('virsh restore');
    expect(existsSync(file)).toBe(false);
  });

  it('refused (exit 3) before the save: a guest that does not run, a file that exists, a filesystem without room', () => {
    const { file } = ramDir();
    const stopped = run(createRam(file), { DOMSTATE: 'shut off' });
    expect(stopped.code).toBe(3);
    expect(stopped.stderr).toContain('db is shut off here: nothing in RAM to save');
    const full = run(createRam(file, String(2 ** 60)));
    expect(full.code).toBe(3);
    expect(full.stderr).toMatch(/^saving the RAM of db needs 1099511627776 MiB in .*\/db, its filesystem has \d+ MiB free$/m);
    mkdirSync(join(file, '..'), { recursive: true });
    writeFileSync(file, 'old');
    const exists = run(createRam(file));
    expect(exists.code).toBe(3);
    expect(exists.stderr).toContain(`${file} exists already`);
    for (const r of [stopped, full, exists]) expect(r.verbs).not.toContain('virsh save');
    expect(run(['create', '--ram', 'relative.ram', '1', 'hvdata', 'db', 'x', 's', '0', 'full', 'db-disk0']).code).toBe(2);
    expect(run(['create', '--backup', '--ram', file, '1', 'hvdata', 'db', 'x', 's', '0', 'full', 'db-disk0']).code).toBe(2);
  });
});

describe('snapshot.sh restore', () => {
  it('restores a guest that does not run from its file; nothing when it runs; none without a file', () => {
    const { file } = ramDir();
    mkdirSync(join(file, '..'), { recursive: true });
    writeFileSync(file, 'state');
    const restored = run(['restore', 'db', file], { DOMSTATE: 'shut off' });
    expect(restored.code, restored.stderr).toBe(0);
    expect(parseRestore(restored.stdout)).toBe('ok');
    expect(restored.calls).toContain(`virsh restore ${file}`);
    const running = run(['restore', 'db', file]);
    expect(parseRestore(running.stdout)).toBe('running');
    expect(running.verbs).not.toContain('virsh restore');
    expect(parseRestore(run(['restore', 'db', `${file}.gone.ram`], { DOMSTATE: 'shut off' }).stdout)).toBe('none');
    const failed = run(['restore', 'db', file], { DOMSTATE: 'shut off', RESTORE: 'fail' });
    expect(failed.code).toBe(1);
    expect(failed.stderr).toContain('does not match source');
  });
});

describe('snapshot.sh remove --ram and state', () => {
  it("removes the LVs, then the RAM file and the guest's directory with its last one; a RAM file alone", () => {
    const { root, file } = ramDir();
    mkdirSync(join(file, '..'), { recursive: true });
    writeFileSync(file, 'state');
    writeFileSync(join(root, 'db', 'other.ram'), 'state');
    const r = run(['remove', '--ram', file, 'hvdata', 'db-disk0.snap.before'], { TAGS: 'hvc_snapshot,hvc_guest=db,hvc_ram' });
    expect(r.code, r.stderr).toBe(0);
    expect(r.calls).toContain('lvremove -qy hvdata/db-disk0.snap.before');
    expect(existsSync(file)).toBe(false);
    expect(existsSync(join(root, 'db'))).toBe(true);
    const alone = run(['remove', '--ram', join(root, 'db', 'other.ram'), 'hvdata']);
    expect(alone.code, alone.stderr).toBe(0);
    expect(alone.verbs).not.toContain('lvremove -qy');
    expect(existsSync(join(root, 'db'))).toBe(false);
    expect(run(['remove', '--ram', '/etc/passwd', 'hvdata']).code).toBe(2);
    expect(run(['remove', '--ram', `${root}/../x.ram`, 'hvdata']).code).toBe(2);
  });

  it('state with the RAM directory: its free bytes (its nearest existing parent when absent) and every RAM file', () => {
    const { root, file } = ramDir();
    const absent = run(['state', 'hvdata', root], { TAGS: '' });
    expect(absent.code, absent.stderr).toBe(0);
    expect(parseSnapshotState(absent.stdout)).toMatchObject({ ramFiles: [] });
    expect(parseSnapshotState(absent.stdout).ramFreeBytes).toBeGreaterThan(0);
    mkdirSync(join(file, '..'), { recursive: true });
    writeFileSync(file, 'x'.repeat(100));
    expect(parseSnapshotState(run(['state', 'hvdata', root]).stdout).ramFiles).toEqual([{ guest: 'db', name: 'before', bytes: 100 }]);
  });
});
