/**
 * The live-migration proof end to end on a fresh lab (real Debian 12 VMs, DRBD 8.4, libvirt/QEMU
 * with nested KVM): apply builds the cluster, then the migration test module, run in-process in the
 * lab's namespace as verify runs it, moves a test guest to every other node and back while the
 * test's own client polls it; afterwards nothing of it is left on the nodes. Then the clean-up is
 * tested: after an injected failure with two primaries open, and after a run killed mid-test.
 */
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import type { MigrationReport } from '../../installer/verify/migration/index.js';
import { useLab } from '../helpers/lab.js';
import { hvcluster } from '../helpers/hvcluster.js';
import { netnsName } from '../lab/config.js';
import { writeLabSite } from '../lab/site.js';
import { run } from '../lab/util.js';

const MIN = 60_000;
const NODES = Number(process.env.HVCLUSTER_MIGRATION_NODES ?? 2) as 2 | 3;
const lab = useLab({ name: NODES === 3 ? 'mig3' : 'mig2', nodes: NODES, image: 'prepared' });
const RUNNER = fileURLToPath(new URL('../fixtures/migration/run-migration-test.ts', import.meta.url));
const ROOT = fileURLToPath(new URL('../../', import.meta.url));

function runnerArgv(site: string, extra: string[]): string[] {
  return ['ip', 'netns', 'exec', netnsName(lab.info.name), process.execPath, '--import', 'tsx', RUNNER, site, '--settle-ms', '5000', ...extra];
}

async function migrationTest(site: string, extra: string[] = []): Promise<{ report: MigrationReport; stderr: string; code: number }> {
  const r = await run(runnerArgv(site, extra), { allowFail: true, timeoutMs: 10 * MIN, cwd: ROOT });
  const last = r.stdout.trim().split('\n').at(-1) ?? '';
  if (!last.startsWith('{')) throw new Error(`the migration test printed no report (exit ${r.code}):\n${r.stderr.slice(-4000)}`);
  return { report: JSON.parse(last) as MigrationReport, stderr: r.stderr, code: r.code };
}

/** What the test may leave on a node, read straight from the VM: must be nothing. */
async function leftovers(node: string): Promise<string> {
  const r = await lab.ssh(
    node,
    'virsh list --all --name | grep -x hvc-migtest; drbdsetup show hvc-migtest >/dev/null 2>&1 && echo resource-up; ' +
      'ls /etc/drbd.d/hvc-migtest.res /var/lib/libvirt/boot/hvc-migtest.* 2>/dev/null; lvs --noheadings -o lv_name hvdata | grep -w hvc-migtest; ' +
      'cat /proc/drbd | grep -c "ro:Primary/Primary" | grep -v "^0$"; true',
  );
  expect(r.code, r.stderr).toBe(0);
  return r.stdout.trim();
}

async function expectNothingLeft(): Promise<void> {
  for (const node of lab.nodes) expect(await leftovers(node.name), node.name).toBe('');
  // apply's probe resources are untouched and single-primary-free (Secondary on both sides).
  for (const node of lab.nodes) {
    const r = await lab.ssh(node.name, 'cat /proc/drbd');
    expect(r.stdout).not.toMatch(/ro:Primary/);
  }
}

describe(`hvcluster verify --migration-test on a ${NODES}-node lab`, () => {
  let site = '';

  it('apply builds the cluster', { timeout: 15 * MIN }, async () => {
    site = writeLabSite(lab.info);
    // The lab's VMs share one /etc/machine-id (systemd-machine-id-setup derives the same one from QEMU's
    // SMBIOS UUID), so the br0 that apply creates gets the same MAC on every node (udev derives it from
    // the machine id) and the management network flaps. A lab image problem: give each VM a random
    // machine id (and udev a restart to read it) before apply.
    for (const node of lab.nodes) {
      const r = await lab.ssh(
        node.name,
        'ip link show br0 >/dev/null 2>&1 || { tr -d - < /proc/sys/kernel/random/uuid > /etc/machine-id && systemctl restart systemd-udevd; }',
      );
      expect(r.code, r.stderr).toBe(0);
    }
    const applied = await hvcluster(lab.info.name, ['apply', '-f', site, '--yes']);
    expect(applied.code, applied.stderr.slice(-3000)).toBe(0);
  });

  it('live-migrates the test guest to every other node and back, measures it, keeps its data, and leaves nothing', { timeout: 12 * MIN }, async () => {
    const { report, stderr, code } = await migrationTest(site);
    expect(report.error, stderr.slice(-3000)).toBeUndefined();
    expect(code).toBe(0);
    expect(report.ok).toBe(true);

    const names = lab.nodes.map((n) => n.name);
    const moves = report.migrations.map((m) => `${m.from}>${m.to}`);
    for (const a of names) for (const b of names) if (a !== b) expect(moves).toContain(`${a}>${b}`);
    for (const m of report.migrations) {
      expect(m.ok, JSON.stringify(m)).toBe(true);
      expect(m.dataIntact).toBe(true);
      // QEMU's downtime and the client's gap: present and sane, not tight (2 shared cores, TCG + nested KVM).
      expect(m.qemuDowntimeMs).toBeGreaterThan(0);
      expect(m.qemuDowntimeMs).toBeLessThan(30_000);
      expect(m.clientMaxGapMs).toBeGreaterThan(0);
      expect(m.clientMaxGapMs).toBeLessThan(60_000);
      expect(m.clientAnswers).toBeGreaterThan(10);
      expect(m.totalMs).toBeGreaterThan(0);
      expect(m.totalMs).toBeLessThan(5 * MIN);
    }
    expect(report.dataIntactOnDisk).toBe(true);
    for (const m of report.migrations) {
      console.log(`${m.from} -> ${m.to}: QEMU downtime ${m.qemuDowntimeMs} ms, client max gap ${m.clientMaxGapMs} ms (at +${m.clientMaxGapAtMs} ms), virsh migrate ${m.totalMs} ms`);
    }
    expect(report.cleanup).toMatchObject({ ok: true, leftovers: [] });
    // Every change went through the engine's guard, reported as events.
    expect(stderr).toMatch(/"type":"change","server":"hv1","step":"migration-test","description":"live-migrate hvc-migtest from hv1 to hv2/);
    await expectNothingLeft();
  });

  it('cleans up after a failure while two primaries are open', { timeout: 8 * MIN }, async () => {
    const { report, code } = await migrationTest(site, ['--fail-at', 'target-promoted']);
    expect(code).toBe(1);
    expect(report.ok).toBe(false);
    expect(report.error).toMatchObject({ phase: 'target-promoted', message: expect.stringMatching(/failure injected/) });
    expect(report.migrations[0]).toMatchObject({ ok: false, error: expect.stringMatching(/failure injected/) });
    expect(report.cleanup).toMatchObject({ ok: true, leftovers: [] });
    const descriptions = report.cleanup.actions.map((a) => a.description);
    expect(descriptions).toEqual(expect.arrayContaining(['stop the test guest hvc-migtest', 'take the DRBD resource hvc-migtest down', 'remove the logical volume hvdata/hvc-migtest']));
    await expectNothingLeft();
  });

  it('removes the leftovers of a killed run before the next one', { timeout: 8 * MIN }, async () => {
    // A run killed (SIGKILL: no finally) once its guest is up.
    const child = spawn(runnerArgv(site, [])[0]!, runnerArgv(site, []).slice(1), { cwd: ROOT, stdio: ['ignore', 'ignore', 'pipe'] });
    const exited = new Promise<void>((resolve) => child.on('close', () => resolve()));
    await new Promise<void>((resolve, reject) => {
      let seen = '';
      const timer = setTimeout(() => reject(new Error(`the guest did not start within 5 min:\n${seen.slice(-2000)}`)), 5 * MIN);
      child.stderr!.on('data', (chunk: Buffer) => {
        seen += chunk.toString();
        if (seen.includes('"phase":"data-written"')) {
          clearTimeout(timer);
          resolve();
        }
      });
      child.on('close', () => reject(new Error(`the run ended before its guest started:\n${seen.slice(-2000)}`)));
    });
    child.kill('SIGKILL');
    await exited;
    expect(await leftovers('hv1')).toContain('hvc-migtest');

    // The next run cleans up first (and here stops right after that, on purpose).
    const { report } = await migrationTest(site, ['--fail-at', 'cleanup-before']);
    expect(report.error?.phase).toBe('cleanup-before');
    const first = report.cleanup.actions.map((a) => `${a.server}: ${a.description}`);
    expect(first).toEqual(expect.arrayContaining(['hv1: stop the test guest hvc-migtest', 'hv1: take the DRBD resource hvc-migtest down']));
    expect(report.cleanup).toMatchObject({ ok: true, leftovers: [] });
    await expectNothingLeft();
  });
});
