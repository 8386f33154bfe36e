/**
 * The three-node cluster end to end on one lab (prepared image: packages installed, so this is about the
 * cluster): apply builds it (with DRBD 8.4 each guest disk lives on a pair, so the replication probe runs
 * on every pair) and then changes nothing; `hvcluster verify --migration-test` passes every check of every
 * node and pair and live-migrates a test guest over every pair both ways while a client polls it, with its
 * data intact and nothing left behind; then the clean-up is proven after a failure with two primaries open
 * and after a run killed mid-test.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import type { MigrationReport } from '../../installer/verify/migration/index.js';
import type { VerifyReport } from '../../installer/verify/report.js';
import { events, hvcluster } from '../helpers/hvcluster.js';
import { useLab } from '../helpers/lab.js';
import { expectNoMigrationLeftovers, migrationLeftovers } from '../helpers/migration.js';
import { netnsName } from '../lab/config.js';
import { run } from '../lab/util.js';

const MIN = 60_000;
const NAME = 'cluster3';
const lab = useLab({ name: NAME, nodes: 3, image: 'prepared' });
const site = () => `${lab.info.dir}/site.yaml`;
const out = mkdtempSync(join(tmpdir(), 'hvcluster-cluster3-e2e-'));
// The lab has no NTP server and its nested VMs share two busy cores (a migration's downtime can pass
// the 1 s warning there): only these may warn on a healthy lab.
const LAB_WARNINGS = new Set(['TIME_SYNC', 'REPL_LATENCY', 'CLOCK_SKEW', 'MIGRATION_TEST']);
const acceptable = (c: { code: string; status: string }) => c.status === 'pass' || (c.status === 'warning' && LAB_WARNINGS.has(c.code));
const PAIRS: [string, string, string][] = [
  ['hvc-probe1', 'hv1', 'hv2'],
  ['hvc-probe2', 'hv2', 'hv3'],
  ['hvc-probe3', 'hv3', 'hv1'],
];

/** The failure-injection driver: the migration test module in-process, as verify runs it, with --fail-at. */
const RUNNER = fileURLToPath(new URL('../fixtures/migration/run-migration-test.ts', import.meta.url));
const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const runnerArgv = (extra: string[]) => ['ip', 'netns', 'exec', netnsName(NAME), process.execPath, '--import', 'tsx', RUNNER, site(), '--settle-ms', '3000', ...extra];

async function injected(extra: string[]): Promise<{ report: MigrationReport; stderr: string; code: number }> {
  const r = await run(runnerArgv(extra), { allowFail: true, timeoutMs: 10 * MIN, cwd: ROOT });
  const last = r.stdout.trim().split('\n').at(-1) ?? '';
  if (!last.startsWith('{')) throw new Error(`the migration test printed no report (exit ${r.code}):\n${r.stderr.slice(-4000)}`);
  return { report: JSON.parse(last) as MigrationReport, stderr: r.stderr, code: r.code };
}

describe('a three-node cluster: apply, verify with the live-migration test, clean-up', () => {
  it('apply builds every node, with a probe Connected and UpToDate on each pair, and then changes nothing', { timeout: 30 * MIN }, async () => {
    const applied = await hvcluster(NAME, ['apply', '-f', site(), '--yes'], { timeoutMs: 20 * MIN });
    expect(applied.code, applied.stderr.slice(-3000)).toBe(0);

    for (const [resource, a, b] of PAIRS) {
      for (const node of [a, b]) {
        const r = await lab.ssh(node, `drbdadm cstate ${resource}; drbdadm dstate ${resource}`);
        expect(r.stdout.trim().split('\n'), `${resource} on ${node}: ${r.stderr}`).toEqual(['Connected', 'UpToDate/UpToDate']);
      }
    }
    for (const node of lab.nodes) {
      const peers = lab.nodes.filter((n) => n.name !== node.name);
      const r = await lab.ssh(node.name, `ip -o -4 addr show dev br0; ${peers.map((p) => `virsh -c qemu+ssh://${p.name}-repl/system hostname`).join('; ')}`);
      expect(r.code, r.stderr).toBe(0);
      expect(r.stdout).toContain(`inet ${node.management.address}/`);
      // virsh prints an empty line after its answer.
      expect(r.stdout.trim().split('\n').slice(1).filter((line) => line.trim() !== '')).toEqual(peers.map((p) => p.name));
    }

    const again = await hvcluster(NAME, ['apply', '-f', site(), '--yes', '--json'], { timeoutMs: 10 * MIN });
    expect(again.code, again.stderr.slice(-3000)).toBe(0);
    expect(events(again.stdout).filter((e) => e.type === 'change')).toEqual([]);
  });

  it('verify --migration-test: every check passes on every node and pair, the guest moves over every pair both ways', { timeout: 25 * MIN }, async () => {
    const md = join(out, 'report.md');
    const junit = join(out, 'verify.xml');
    const r = await hvcluster(NAME, ['verify', '-f', site(), '--migration-test', '--json', '--report', md, '--junit', junit], { timeoutMs: 20 * MIN });
    let report: VerifyReport;
    try {
      report = JSON.parse(r.stdout) as VerifyReport;
    } catch {
      throw new Error(`verify printed no JSON (exit ${r.code}):\n${r.stdout.slice(-2000)}\n${r.stderr.slice(-4000)}`);
    }
    const problems = report.checks.filter((c) => c.status !== 'skipped' && !acceptable(c));
    expect(problems.map((c) => `${c.status} ${c.code} ${c.server} ${c.subject ?? ''}: ${c.found}`)).toEqual([]);
    expect(r.code, r.stderr.slice(-3000)).toBe(0);

    // Every pair checked, and every check of a pair passed (or only warned where the lab cannot do better).
    const pairKey = (a: string, b?: string) => [a, b ?? ''].sort().join('+');
    const allPairs = PAIRS.map(([, a, b]) => pairKey(a, b)).sort();
    for (const code of ['REPL_LINK', 'REPL_MTU', 'CPU_COMPAT', 'MIGRATION_CONNECT', 'MIGRATION_TEST']) {
      // (MIGRATION_TEST also has one result for the whole cluster: its clean-up.)
      const found = report.checks.filter((c) => c.code === code && c.server !== 'cluster');
      expect(found.filter((c) => !acceptable(c)).map((c) => `${c.status} ${c.server}: ${c.found}`), code).toEqual([]);
      expect([...new Set(found.map((c) => pairKey(c.server, c.subject)))].sort(), code).toEqual(allPairs);
    }
    for (const code of ['HOSTNAME', 'HOSTS_RESOLVE', 'DRBD_CONNECTED', 'DRBD_DISK', 'LVM_VG', 'LIBVIRTD', 'MEMORY_HEADROOM']) {
      const found = report.checks.filter((c) => c.code === code);
      expect(found.filter((c) => c.status !== 'pass').map((c) => `${c.status} ${c.server}: ${c.found}`), code).toEqual([]);
      expect([...new Set(found.map((c) => c.server))].sort(), code).toEqual(['hv1', 'hv2', 'hv3']);
    }

    const migration = report.migration?.report;
    expect(migration, JSON.stringify(report.migration)).toBeDefined();
    expect(migration!.ok).toBe(true);
    expect(migration!.rounds.map((round) => [...round.holders].sort().join('+')).sort()).toEqual(allPairs);
    const moves = migration!.migrations.map((m) => `${m.from}>${m.to}`);
    for (const [, a, b] of PAIRS) expect(moves).toEqual(expect.arrayContaining([`${a}>${b}`, `${b}>${a}`]));
    for (const m of migration!.migrations) {
      expect(m.ok, JSON.stringify(m)).toBe(true);
      expect(m.dataIntact).toBe(true);
      // QEMU's downtime and the client's gap: present and sane, not tight (2 shared cores, TCG + nested KVM).
      expect(m.qemuDowntimeMs).toBeGreaterThan(0);
      expect(m.qemuDowntimeMs).toBeLessThan(30_000);
      expect(m.clientMaxGapMs).toBeGreaterThan(0);
      expect(m.clientMaxGapMs).toBeLessThan(60_000);
      expect(m.clientAnswers).toBeGreaterThan(5);
      console.log(`${m.from} -> ${m.to} (${m.resource}): QEMU downtime ${m.qemuDowntimeMs} ms, client max gap ${m.clientMaxGapMs} ms, virsh migrate ${m.totalMs} ms`);
    }
    expect(migration!.dataIntactOnDisk).toBe(true);
    expect(migration!.cleanup).toMatchObject({ ok: true, leftovers: [] });
    expect(report.checks.find((c) => c.code === 'MIGRATION_TEST' && c.server === 'cluster')).toMatchObject({ status: 'pass', subject: 'clean-up' });
    // Every change of the test went through the engine's guard, reported as events on stderr.
    expect(r.stderr).toMatch(/"type":"change","server":"hv\d","step":"migration-test","description":"live-migrate hvc-migtest/);

    const text = readFileSync(md, 'utf8');
    expect(text).toContain('## Live migration test');
    for (const m of migration!.migrations) expect(text).toContain(`| ${m.from} | ${m.to} | ${m.resource} |`);
    expect(readFileSync(junit, 'utf8').match(/<testcase /g)?.length).toBe(report.checks.length);
    await expectNoMigrationLeftovers(lab);
  });

  it('cleans up after a failure while two primaries are open', { timeout: 10 * MIN }, async () => {
    const { report, code } = await injected(['--fail-at', 'target-promoted']);
    expect(code).toBe(1);
    expect(report.ok).toBe(false);
    expect(report.error).toMatchObject({ phase: 'target-promoted', message: expect.stringMatching(/failure injected/) });
    expect(report.migrations[0]).toMatchObject({ ok: false, error: expect.stringMatching(/failure injected/) });
    expect(report.cleanup).toMatchObject({ ok: true, leftovers: [] });
    const descriptions = report.cleanup.actions.map((a) => a.description);
    expect(descriptions).toEqual(expect.arrayContaining(['stop the test guest hvc-migtest', 'take the DRBD resource hvc-migtest down', 'remove the logical volume hvdata/hvc-migtest']));
    await expectNoMigrationLeftovers(lab);
  });

  it('removes the leftovers of a killed run before the next one', { timeout: 10 * MIN }, async () => {
    // A run killed (SIGKILL: no finally) once its guest is up.
    const argv = runnerArgv([]);
    const child = spawn(argv[0]!, argv.slice(1), { cwd: ROOT, stdio: ['ignore', 'ignore', 'pipe'] });
    const exited = new Promise<void>((resolve) => child.on('close', () => resolve()));
    await new Promise<void>((resolve, reject) => {
      let seen = '';
      const timer = setTimeout(() => reject(new Error(`the guest did not start within 6 min:\n${seen.slice(-2000)}`)), 6 * MIN);
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
    const left = (await Promise.all(lab.nodes.map((n) => migrationLeftovers(lab, n.name)))).join('\n');
    expect(left).toContain('hvc-migtest');

    // The next run cleans up first (and here stops right after that, on purpose).
    const { report } = await injected(['--fail-at', 'cleanup-before']);
    expect(report.error?.phase).toBe('cleanup-before');
    expect(report.cleanup.actions.map((a) => a.description)).toEqual(expect.arrayContaining(['stop the test guest hvc-migtest', 'take the DRBD resource hvc-migtest down']));
    expect(report.cleanup).toMatchObject({ ok: true, leftovers: [] });
    await expectNoMigrationLeftovers(lab);
  });
});
