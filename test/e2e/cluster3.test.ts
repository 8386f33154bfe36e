/**
 * The three-node cluster end to end on one lab (prepared image: packages installed, so this is about the
 * cluster): apply builds it (with DRBD 8.4 each guest disk lives on a pair, so the replication probe runs
 * on every pair) and then changes nothing; `hvcluster verify --migration-test` passes every check of every
 * node and pair and live-migrates a test guest over every pair both ways while a client polls it, with its
 * data intact and nothing left behind (and a run log of every command it sent). Before it: the clean-up
 * after a failure with two primaries open; Ctrl-C inside the dual-primary window (verify stops at the
 * next phase, cleans up, exits 130); and a run SIGKILLed inside the window, whose timers close it by
 * their deadline and whose remaining leftovers verify names and the next `verify --migration-test`
 * removes before it passes. After it: a node short of memory makes the test
 * refuse, with its figures, before it creates anything. Last, HA on the same three nodes (no
 * witness: three votes): apply adds it to the running cluster, and the `dead-fence` drill powers the
 * test guest's node off through its BMC and makes that BMC unreachable from the other two: the guest
 * is held down while fencing fails, and once the BMC answers it comes back on its DRBD peer, never on
 * the third node (DRBD 8.4: two replicas per resource).
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import type { MigrationReport } from '../../installer/verify/migration/index.js';
import type { VerifyReport } from '../../installer/verify/report.js';
import { events, hvcluster, hvclusterInterrupted } from '../helpers/hvcluster.js';
import { useLab } from '../helpers/lab.js';
import { expectNoMigrationLeftovers } from '../helpers/migration.js';
import { netnsName } from '../lab/config.js';
import { run, waitFor } from '../lab/util.js';
import { writeLabSite } from '../lab/site.js';

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

function verifyJson(r: { code: number; stdout: string; stderr: string }): VerifyReport {
  try {
    return JSON.parse(r.stdout) as VerifyReport;
  } catch {
    throw new Error(`verify printed no JSON (exit ${r.code}):\n${r.stdout.slice(-2000)}\n${r.stderr.slice(-4000)}`);
  }
}

const FILL = '/run/hvc-memfill';
/** The dual-primary timers' deadline in the SIGKILL test, seconds (HVCLUSTER_DUAL_PRIMARY_CLOSE_S; 900 outside the tests). */
const CLOSE_S = 60;
/** Where the SIGKILLed run's guest ended up (the next test checks that its leftovers were removed). */
let killedRunGuestOn: string | undefined;
afterAll(async () => {
  // Whatever failed: give hv3 its memory back (the lab goes down afterwards unless kept).
  await lab.ssh('hv3', `umount ${FILL} 2>/dev/null; rmdir ${FILL} 2>/dev/null; true`, { timeoutMs: 30_000 }).catch(() => undefined);
});

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

  it('Ctrl-C inside the dual-primary window: verify stops at the next phase, closes the window, removes the test guest and volume, exits 130', { timeout: 8 * MIN }, async () => {
    const { code, stdout, stderr, interruptedAt } = await hvclusterInterrupted(NAME, ['verify', '-f', site(), '--migration-test', '--json'], {
      when: (said) => said.includes('"phase":"dual-primary-open"'),
      untilMs: 6 * MIN,
      what: 'the dual-primary window',
    });
    expect(interruptedAt, stderr.slice(-2000)).toBeGreaterThan(0);
    expect(code, stderr.slice(-3000)).toBe(130);
    const after = stderr.slice(interruptedAt);
    expect(after).toContain('stopping: the migration test stops at its next phase');
    expect(after).toContain('verify was interrupted: the migration test stopped and removed what it had created');
    // It stopped at its next phase: no migration happened, the window was closed and the timers disarmed.
    const phases = [...after.matchAll(/"phase":"([a-z-]+)"/g)].map((m) => m[1]);
    expect(phases).not.toContain('migrated');
    expect(after).not.toMatch(/"description":"live-migrate/);
    expect(after).toMatch(/"description":"forbid two primaries on hvc-migtest/);
    expect(after).toMatch(/"description":"disarm the timer hvcluster-dual-primary-hvc-migtest/);
    const report = verifyJson({ code: code ?? -1, stdout, stderr }).migration?.report;
    expect(report?.error?.message, JSON.stringify(report?.error)).toMatch(/^interrupted after (dual-primary-open|target-promoted)/);
    expect(report?.cleanup).toMatchObject({ ok: true, leftovers: [] });
    await expectNoMigrationLeftovers(lab);
    for (const node of lab.nodes) expect((await lab.ssh(node.name, 'systemctl list-units --all --no-legend "hvcluster-dual-primary-*"')).stdout.trim(), node.name).toBe('');
  });

  it('a run SIGKILLed inside the dual-primary window: the timers close it by their deadline; verify names the leftovers and the command that removes them', { timeout: 10 * MIN }, async () => {
    // Killed (SIGKILL: no finally) right after it promoted the target: both Primary, two primaries
    // allowed, and on both holders the timer that closes the window (shortened to CLOSE_S here).
    const argv = runnerArgv([]);
    const child = spawn(argv[0]!, argv.slice(1), { cwd: ROOT, stdio: ['ignore', 'ignore', 'pipe'], env: { ...process.env, HVCLUSTER_DUAL_PRIMARY_CLOSE_S: String(CLOSE_S) } });
    const exited = new Promise<void>((resolve) => child.on('close', () => resolve()));
    let killedAt = 0;
    await new Promise<void>((resolve, reject) => {
      let seen = '';
      const timer = setTimeout(() => reject(new Error(`the target was not promoted within 6 min:\n${seen.slice(-2000)}`)), 6 * MIN);
      child.stderr!.on('data', (chunk: Buffer) => {
        seen += chunk.toString();
        if (seen.includes('"phase":"target-promoted"')) {
          clearTimeout(timer);
          child.kill('SIGKILL');
          killedAt = Date.now();
          resolve();
        }
      });
      child.on('close', () => reject(new Error(`the run ended before it promoted the target:\n${seen.slice(-2000)}`)));
    });
    await exited;
    for (const node of ['hv1', 'hv2']) {
      const r = await lab.ssh(node, 'systemctl is-active hvcluster-dual-primary-hvc-migtest.timer; true');
      expect(r.stdout.trim(), `the close timer on ${node} right after the kill`).toBe('active');
    }
    // The guest may finish migrating on its own (virsh migrate was on its way): wait until it runs on one node, no job.
    const running = await waitFor(
      'the test guest running on exactly one node with no migration job',
      async () => {
        const states = await Promise.all(
          lab.nodes.map(async (n) => ({ node: n.name, out: (await lab.ssh(n.name, 'virsh domstate hvc-migtest 2>/dev/null; virsh domjobinfo hvc-migtest 2>/dev/null | grep "^Job type"; true', { timeoutMs: 30_000 })).stdout })),
        );
        const on = states.filter((s) => /^running/m.test(s.out));
        return on.length === 1 && states.every((s) => !/^Job type:\s+(Unbounded|Bounded)/m.test(s.out)) ? on[0]!.node : false;
      },
      { timeoutMs: 3 * MIN, intervalMs: 1000 },
    );
    killedRunGuestOn = running;
    const other = running === 'hv1' ? 'hv2' : 'hv1';
    // By the timers' deadline (plus their retries and a margin): one Primary (the node running the
    // guest), two primaries forbidden on both, in the running resource and in the .res file.
    const roles = () =>
      Promise.all(
        ['hv1', 'hv2'].map(async (node) => {
          const r = await lab.ssh(node, 'drbdadm role hvc-migtest; grep -c "^ *[0-9]*: cs:.*ro:Primary/Primary" /proc/drbd; drbdsetup show hvc-migtest | grep -c "allow-two-primaries.*yes"; grep -c "allow-two-primaries yes" /etc/drbd.d/hvc-migtest.res; true');
          return { node, lines: r.stdout.trim().split('\n') };
        }),
      );
    const closed = await waitFor(
      `no two primaries on hvc-migtest by the timers' deadline (${CLOSE_S} s after they were armed)`,
      async () => {
        const now = await roles();
        return now.every((n) => n.lines.slice(1).every((count) => count === '0')) ? now : false;
      },
      { timeoutMs: Math.max(30_000, CLOSE_S * 1000 + 2 * MIN - (Date.now() - killedAt)), intervalMs: 2000 },
    );
    console.log(`the timers closed the window ${((Date.now() - killedAt) / 1000).toFixed(0)} s after the kill (deadline ${CLOSE_S} s after arming; guest on ${running})`);
    expect(closed.find((n) => n.node === running)!.lines).toEqual(['Primary/Secondary', '0', '0', '0']);
    expect(closed.find((n) => n.node === other)!.lines).toEqual(['Secondary/Primary', '0', '0', '0']);
    // What each node's timer did is in its journal.
    const journal = (node: string) => lab.ssh(node, 'journalctl -t hvcluster --no-pager -o cat | grep "dual-primary window of hvc-migtest"; true').then((r) => r.stdout);
    expect(await journal(other)).toMatch(/demoted to Secondary/);
    expect(await journal(running)).toMatch(/stays Primary/);
    for (const node of ['hv1', 'hv2']) expect(await journal(node)).toMatch(/closed: /);

    const r = await hvcluster(NAME, ['verify', '-f', site(), '--json'], { timeoutMs: 5 * MIN });
    const report = verifyJson(r);
    expect(r.code).toBe(1);
    const command = `hvcluster verify -f ${site()} --migration-test`;
    const leftovers = report.checks.filter((c) => c.code === 'MIGRATION_LEFTOVERS' && c.status === 'error');
    expect(leftovers.map((c) => c.server).sort()).toEqual(['hv1', 'hv2']);
    for (const c of leftovers) {
      expect(c.found).toMatch(/leftovers of a migration test that did not finish/);
      expect(c.found).toContain('logical volume hvc-migtest');
      expect(c.found).not.toContain('allows two primaries');
      expect(c.fix).toContain(`\`${command}\``);
    }
    expect(leftovers.find((c) => c.server === running)!.found).toContain('test domain hvc-migtest (running)');
    expect(leftovers.find((c) => c.server === running)!.found).toContain('hvc-migtest is Primary');
    expect(leftovers.find((c) => c.server === other)!.found).not.toContain('hvc-migtest is Primary');
    expect(report.checks.find((c) => c.code === 'MIGRATION_LEFTOVERS' && c.server === 'hv3')).toMatchObject({ status: 'pass' });
    // The DRBD checks' findings about the test resource (two primaries outside a migration) say whose they are.
    const aboutTest = report.checks.filter((c) => c.subject === 'hvc-migtest' && c.code.startsWith('DRBD_') && c.status !== 'pass');
    expect(aboutTest.map((c) => c.code)).not.toContain('DRBD_CONFIG');
    for (const c of aboutTest) {
      expect(c.found).toContain("the migration test's resource");
      expect(c.fix).toBe(`these are the migration test's leftovers: \`${command}\` removes them before it tests again`);
    }
    // Nothing else is wrong: the next verify --migration-test must not be skipped for them.
    expect(report.checks.filter((c) => c.status === 'error' && c.subject !== 'hvc-migtest').map((c) => `${c.code} ${c.server}: ${c.found}`)).toEqual([]);
  });

  it('verify --migration-test: every check passes on every node and pair, the guest moves over every pair both ways', { timeout: 25 * MIN }, async () => {
    const md = join(out, 'report.md');
    const junit = join(out, 'verify.xml');
    const r = await hvcluster(NAME, ['verify', '-f', site(), '--migration-test', '--json', '--report', md, '--junit', junit], { timeoutMs: 20 * MIN });
    const report = verifyJson(r);
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
    // Like apply, the test kept a run log of every command it sent, named on stderr and in the report.
    // (The lab's cluster is named lab-cluster3.)
    expect(migration!.logFile).toMatch(/\/hvcluster\/logs\/lab-cluster3-\d{8}T\d{6}Z-[0-9a-f]+-migration-test\.log$/);
    expect(r.stderr).toContain(`every command of the migration test is in ${migration!.logFile}`);
    const transcript = readFileSync(migration!.logFile!, 'utf8');
    expect(transcript).toMatch(/\[hv\d\] exec \(sudo\) \[migration-test\]: virsh migrate --live --p2p/);
    // Every window: the timers armed before two primaries were allowed, disarmed once closed.
    const arms = transcript.match(/exec \(sudo\) \[migration-test\]: sh \/run\/hvcluster\/dual-primary-close\.sh arm hvc-migtest 900/g) ?? [];
    const disarms = transcript.match(/exec \(sudo\) \[migration-test\]: sh -s -- disarm hvc-migtest/g) ?? [];
    expect(arms.length).toBe(2 * migration!.migrations.length);
    expect(disarms.length).toBeGreaterThanOrEqual(2 * migration!.migrations.length);
    for (const node of ['hv1', 'hv2', 'hv3']) expect((await lab.ssh(node, 'systemctl list-units --all --no-legend "hvcluster-dual-primary-*"')).stdout.trim(), node).toBe('');
    // The killed run's leftovers (previous test) did not stop it: it removed them first, and says so.
    // (The timers had demoted the node without the guest already.)
    const guestOn = killedRunGuestOn ?? 'hv1';
    expect(migration!.cleanup.removedBefore.map((a) => `${a.server}: ${a.description}`)).toEqual(
      expect.arrayContaining([`${guestOn}: stop the test guest hvc-migtest`, `${guestOn}: demote hvc-migtest to Secondary`, 'hv1: take the DRBD resource hvc-migtest down', 'hv2: take the DRBD resource hvc-migtest down']),
    );
    for (const node of ['hv1', 'hv2']) {
      expect(report.checks.find((c) => c.code === 'MIGRATION_LEFTOVERS' && c.server === node)).toMatchObject({
        status: 'pass',
        found: expect.stringMatching(node === guestOn ? /^removed by the migration test before it ran: .*hvc-migtest is Primary/ : /^removed by the migration test before it ran: .*logical volume hvc-migtest/),
      });
    }
    expect(report.checks.filter((c) => c.subject === 'hvc-migtest' && c.code.startsWith('DRBD_'))).toEqual([]);
    // Every node had the memory for the guest, with its figures.
    expect(report.checks.filter((c) => c.code === 'MIGRATION_MEMORY').map((c) => `${c.server} ${c.status}`)).toEqual(['hv1 pass', 'hv2 pass', 'hv3 pass']);
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
      expect(m.clientMaxGapMs).toBeLessThanOrEqual(3000);
      expect(m.clientGapLimitMs).toBe(3000);
      expect(m.clientAnswers).toBeGreaterThan(5);
      // The test resource stayed connected, did not split and kept its current UUID on both holders.
      expect(m.drbd?.problems).toEqual([]);
      expect(m.drbd!.after.map((a) => a.currentUuid)).toEqual(m.drbd!.before.map((b) => b.currentUuid));
      expect(m.drbd!.after.every((a) => a.kernelLines !== null && a.connections.every((c) => c.state === 'Connected'))).toBe(true);
      console.log(`${m.from} -> ${m.to} (${m.resource}): QEMU downtime ${m.qemuDowntimeMs} ms, client max gap ${m.clientMaxGapMs} ms at +${m.clientMaxGapAtMs} ms (${m.clientAnswers}/${m.clientRequests}), virsh migrate ${m.totalMs} ms, UUID ${m.drbd!.before.map((b) => b.currentUuid).join('/')}, kernel lines: ${JSON.stringify(m.drbd!.after.map((a) => a.kernelLines))}`);
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


  it('a node short of memory: the test refuses with MIGRATION_MEMORY and the figures, and creates nothing', { timeout: 8 * MIN }, async () => {
    // Take hv3's MemAvailable below the guest (96 MiB) + margin (256 MiB): a tmpfs filled to leave about 200 MiB.
    const avail = async () => Number(/^MemAvailable:\s+(\d+)/m.exec((await lab.ssh('hv3', 'cat /proc/meminfo')).stdout)?.[1]) / 1024;
    const before = await avail();
    expect(before).toBeGreaterThan(352 + 100);
    const fillMiB = Math.floor(before - 200);
    const filled = await lab.ssh('hv3', `mkdir -p ${FILL} && mount -t tmpfs -o size=${fillMiB + 16}m hvc-memfill ${FILL} && dd if=/dev/zero of=${FILL}/fill bs=1M count=${fillMiB} status=none`, { timeoutMs: 2 * MIN });
    expect(filled.code, filled.stderr).toBe(0);
    try {
      const short = await avail();
      expect(short).toBeLessThan(352);
      const r = await hvcluster(NAME, ['verify', '-f', site(), '--migration-test', '--json'], { timeoutMs: 8 * MIN });
      const report = verifyJson(r);
      expect(r.code, r.stderr.slice(-3000)).toBe(1);
      const memory = report.checks.filter((c) => c.code === 'MIGRATION_MEMORY');
      expect(memory.map((c) => `${c.server} ${c.status}`)).toEqual(['hv1 pass', 'hv2 pass', 'hv3 error']);
      const hv3 = memory.find((c) => c.server === 'hv3')!;
      const figures = /^(\d+) MiB available \(MemAvailable\); the test guest needs 352 MiB \(its 96 MiB \+ 256 MiB margin\): the migration test refused to start$/.exec(hv3.found);
      expect(figures, hv3.found).not.toBeNull();
      expect(Number(figures![1])).toBeLessThan(352);
      expect(Math.abs(Number(figures![1]) - short)).toBeLessThan(100);
      expect(hv3.data).toMatchObject({ server: 'hv3', requiredMiB: 352, ok: false });
      const migration = report.migration?.report;
      expect(migration?.error).toMatchObject({ code: 'MIGRATION_MEMORY', phase: 'memory-checked', message: expect.stringContaining('hv3 has') });
      expect(migration!.migrations).toEqual([]);
      // Nothing created: no change at all by the test, nothing on the nodes.
      expect(migration!.cleanup).toMatchObject({ ok: true, actions: [], leftovers: [] });
      expect(r.stderr).not.toMatch(/"type":"change"/);
      await expectNoMigrationLeftovers(lab);
    } finally {
      const undone = await lab.ssh('hv3', `umount ${FILL} && rmdir ${FILL}`, { timeoutMs: 60_000 });
      expect(undone.code, undone.stderr).toBe(0);
    }
    await waitFor('hv3 to have its memory back', async () => (await avail()) > before - 100, { timeoutMs: 60_000, intervalMs: 1000 });
  });
});

describe('HA on the three nodes (no witness): a guest fails over only to its DRBD peer', () => {
  it('apply adds HA to the running cluster: quorate with three votes, no quorum device', { timeout: 20 * MIN }, async () => {
    const r = await hvcluster(NAME, ['apply', '-f', writeLabSite(lab.info, { ha: true }), '--yes', '--json'], { timeoutMs: 18 * MIN });
    expect(r.code, r.stderr.slice(-4000)).toBe(0);
    const q = await lab.ssh('hv3', 'corosync-quorumtool -s');
    expect(q.stdout).toMatch(/Quorate:\s+Yes/);
    expect(q.stdout).toMatch(/Total votes:\s+3/);
    expect(q.stdout).not.toMatch(/Qdevice/);
  });

  it("verify's HA checks pass; dead-fence: the guest's node powered off and its BMC unreachable, the guest started nowhere until fencing succeeds, then on its DRBD peer, never on the third node", { timeout: 25 * MIN }, async () => {
    const r = await hvcluster(NAME, ['verify', '-f', site(), '--failover-test', 'dead-fence', '--yes', '--json', '--connect-timeout', '15'], { timeoutMs: 22 * MIN });
    const report = verifyJson(r);
    // The health checks run first (the drill runs only on a cluster without errors): every HA check passes.
    const haChecks = report.checks.filter((c) => c.code.startsWith('HA_'));
    // No watchdog level in this answer file: HA_WATCHDOG is skipped, saying so; everything else passes.
    expect(haChecks.filter((c) => c.status !== 'pass' && !(c.code === 'HA_WATCHDOG' && c.status === 'skipped')).map((c) => `${c.code} ${c.server}: ${c.found}`)).toEqual([]);
    expect(haChecks.find((c) => c.code === 'HA_WATCHDOG')?.found).toContain('no watchdog level (spec.ha.watchdog not set)');
    expect(haChecks.filter((c) => c.code === 'HA_STONITH_DEVICES')).toHaveLength(3);
    const f = report.failover?.report;
    expect(f?.ok, JSON.stringify(report.failover).slice(0, 4000)).toBe(true);
    // The test guest's disk lives on the first pair (DRBD 8.4: two replicas); hv3 holds none of it.
    const [, a, b] = PAIRS[0]!;
    expect([a, b]).toContain(f!.crashed);
    expect(f!.survivor).toBe(f!.crashed === a ? b : a);
    expect(f!.guestSeenOn).toEqual([f!.survivor]);
    expect(f!.dataIntact).toBe(true);
    expect(f!.fault).toBe('dead-fence');
    // Held down while its BMC was unreachable from both other nodes: fencing failed, the guest ran
    // nowhere else; once the BMC answered, fencing succeeded and only then did the guest start.
    expect(f!.hold).toMatchObject({ runningElsewhere: [], releasedBy: 'bmc-answers' });
    expect(f!.hold!.failedFencings).toBeGreaterThan(0);
    expect(f!.fencing.some((e) => e.status === 'failed')).toBe(true);
    expect(f!.fencing.some((e) => e.status === 'success')).toBe(true);
    expect(f!.phases.started!).toBeGreaterThanOrEqual(f!.phases.fenced!);
    expect(f!.phases.started!).toBeGreaterThanOrEqual(f!.hold!.releasedMs!);
    for (const node of ['hv1', 'hv2', 'hv3']) expect((await lab.ssh(node, 'ip route show type blackhole')).stdout.trim(), node).toBe('');
    expect(f!.splitBrain).toBe(false);
    console.log(`[cluster3 failover] ${f!.crashed} -> ${f!.survivor}: ${Object.entries(f!.phases).map(([p, ms]) => `${p} ${(ms / 1000).toFixed(1)} s`).join(', ')}; rejoined ${((f!.rejoinedMs ?? 0) / 1000).toFixed(1)} s, resynced ${((f!.resyncedMs ?? 0) / 1000).toFixed(1)} s`);
    // Nothing of the test guest is left in Pacemaker's configuration, and the cluster is whole again.
    expect((await lab.ssh('hv3', 'cibadmin --query --scope configuration')).stdout).not.toContain('hvc-migtest');
    expect((await lab.ssh('hv3', 'corosync-quorumtool -s')).stdout).toMatch(/Total votes:\s+3/);
  });
});

