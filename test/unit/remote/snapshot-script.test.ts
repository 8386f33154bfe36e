/**
 * installer/remote/snapshot.sh with stand-ins for virsh, LVM, drbdadm, lsblk and systemd on PATH
 * (each records its arguments; virsh's agent answers as the case under test says): the order of
 * freeze, pause, snapshots, resume and thaw; what it prints for an agent that answers, none, one
 * that stops answering (libvirt's agent timeout); all or nothing when a snapshot fails; remove
 * refusing an LV hvcluster did not make.
 */
import { spawnSync } from 'node:child_process';
import { chmodSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { REMOTE_DIR } from '../../../installer/paths.js';
import { parseCreateOutput } from '../../../installer/snapshots/outcome.js';

const STANDINS: Record<string, string> = {
  virsh: `case $1 in
  domstate) echo "\${DOMSTATE:-running}" ;;
  domfsfreeze) case $AGENT in ok) echo "Froze 2 filesystem(s)" ;; none) echo "error: Guest agent is not responding: QEMU guest agent is not connected" >&2; exit 1 ;; hung) sleep "$FREEZE_S"; echo "error: Guest agent is not responding: Guest agent not available for now" >&2; exit 1 ;; esac ;;
  domfsthaw) case $AGENT in ok) echo "Thawed 2 filesystem(s)" ;; hung) sleep "$FREEZE_S"; echo "error: Guest agent is not responding: Guest agent not available for now" >&2; exit 1 ;; *) exit 1 ;; esac ;;
esac`,
  lvcreate: `for a; do last=$a; done; case "$last $*" in *"$FAIL_LV"*) [ -n "$FAIL_LV" ] && { echo "Insufficient free space" >&2; exit 5; } ;; esac; exit 0`,
  lvs: `case "$*" in *lv_tags*) echo "  \${TAGS:-}" ;; *) exit 5 ;; esac`,
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
  const r = spawnSync('sh', [join(REMOTE_DIR, 'snapshot.sh'), ...args], { encoding: 'utf8', env: { PATH: `${dir}:/usr/bin:/bin`, AGENT: 'ok', FREEZE_S: '1', FAIL_LV: '', ...env } });
  const calls = readFileSync(join(dir, 'calls'), 'utf8').trim().split('\n').filter(Boolean);
  return { code: r.status, stdout: r.stdout, stderr: r.stderr, calls, verbs: calls.map((c) => c.split(' ').slice(0, 2).join(' ')) };
}

const create = (...resources: string[]) => ['create', 'hvdata', 'db', 'before', '20261208t101500z', '1', 'full', ...resources];

describe('snapshot.sh create', () => {
  it('an agent that answers: frozen, the snapshot taken with its tags, thawed, the safety timer stopped', () => {
    const r = run(create('db-disk0'));
    expect(r.code, r.stderr).toBe(0);
    expect(parseCreateOutput(r.stdout)).toEqual({ freeze: { result: 'frozen', filesystems: 2 }, thaw: { result: 'ok' }, consistency: 'agent', disks: [{ resource: 'db-disk0', lv: 'db-disk0.snap.before', bytes: 33550336 }] });
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
