/**
 * `npm run bench:lab`: where the time goes on real servers (the VM lab, no added delay).
 *
 * Brings up its own two-node lab "bench" from the base image (fresh Debian 12: apply installs the
 * packages from the lab's offline cache), then runs the real CLI in the lab's namespace and measures:
 *   - `apply` on the fresh nodes, split by step (each step's wall time = its slowest server);
 *   - a no-op second `apply`, with the SSH requests per server and step read from its run log (the
 *     promise: one batched read per server and step group, not one per file);
 *   - `verify` (round trips from the SSH layer's counters);
 *   - `verify --migration-test` (the migration figures from its JSON report).
 * Takes the lab down at the end (BENCH_KEEP_LAB=1 keeps it). Writes bench/results-lab.md (BENCH_OUT;
 * `-` to not write). Root only (the lab needs it). About 15-25 minutes on a 2-core machine.
 */
import { spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { cpus, hostname, loadavg, release, totalmem } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseSshStats, SSH_STATS_ENV, type ServerSshStats } from '../installer/ssh/stats.js';
import type { VerifyReport } from '../installer/verify/report.js';
import { events, hvcluster } from '../test/helpers/hvcluster.js';
import { down, up } from '../test/lab/lab.js';

const ROOT = resolve(fileURLToPath(new URL('..', import.meta.url)));
const OUT = process.env.BENCH_OUT ?? join(ROOT, 'bench', 'results-lab.md');
const NAME = 'bench';
const MIN = 60_000;
const log = (line: string) => process.stderr.write(`${line}\n`);
const secs = (ms: number) => `${(ms / 1000).toFixed(1)} s`;

type EngineEvent = ReturnType<typeof events>[number];

interface StepTiming {
  step: string;
  /** The slowest server's duration of the step, ms, and each server's. */
  wallMs: number;
  perServer: Record<string, number>;
  changes: number;
}

/** Per step, from the engine's step-finished events, in the playbook's order. */
function stepTimings(evs: EngineEvent[]): StepTiming[] {
  const started = evs.find((e) => e.type === 'run-started') as { steps: string[] } | undefined;
  const order = started?.steps ?? [];
  const out = new Map<string, StepTiming>(order.map((step) => [step, { step, wallMs: 0, perServer: {}, changes: 0 }]));
  for (const e of evs) {
    if (e.type !== 'step-finished') continue;
    const { step, server, durationMs, changes } = e as unknown as { step: string; server: string; durationMs: number; changes: string[] };
    const row = out.get(step) ?? { step, wallMs: 0, perServer: {}, changes: 0 };
    row.perServer[server] = durationMs;
    row.wallMs = Math.max(row.wallMs, durationMs);
    row.changes += changes.length;
    out.set(step, row);
  }
  return [...out.values()];
}

/**
 * SSH requests per server and step, from the run log: `STAMP [server] exec (sudo) [step]: command` and
 * `STAMP [server] upload PATH (...)` (an upload belongs to the step of that server's previous exec: a
 * server runs its steps one after the other).
 */
export function requestsPerStep(runLog: string): Map<string, Map<string, { execs: number; uploads: number }>> {
  const perStep = new Map<string, Map<string, { execs: number; uploads: number }>>();
  const current = new Map<string, string>();
  const cell = (step: string, server: string) => {
    const byServer = perStep.get(step) ?? new Map<string, { execs: number; uploads: number }>();
    perStep.set(step, byServer);
    const c = byServer.get(server) ?? { execs: 0, uploads: 0 };
    byServer.set(server, c);
    return c;
  };
  for (const line of runLog.split('\n')) {
    const exec = /^\S+ \[([^\]]+)\] exec(?: \(sudo\))?(?: \[([^\]]+)\])?: /.exec(line);
    if (exec) {
      const step = exec[2] ?? '(no step)';
      current.set(exec[1]!, step);
      cell(step, exec[1]!).execs++;
      continue;
    }
    const upload = /^\S+ \[([^\]]+)\] upload /.exec(line);
    if (upload) cell(current.get(upload[1]!) ?? '(no step)', upload[1]!).uploads++;
  }
  return perStep;
}

interface ApplyRun {
  wallMs: number;
  steps: StepTiming[];
  requests: ReturnType<typeof requestsPerStep>;
  stats: ServerSshStats[];
  changes: number;
}

async function timedApply(site: string): Promise<ApplyRun> {
  const t0 = Date.now();
  const r = await hvcluster(NAME, ['apply', '-f', site, '--yes', '--json'], { timeoutMs: 40 * MIN, env: { [SSH_STATS_ENV]: '1' } });
  const wallMs = Date.now() - t0;
  if (r.code !== 0) throw new Error(`apply failed (exit ${r.code}):\n${r.stderr.slice(-3000)}`);
  const evs = events(r.stdout);
  const started = evs.find((e) => e.type === 'run-started') as { logFile: string } | undefined;
  if (!started) throw new Error('apply printed no run-started event');
  return {
    wallMs,
    steps: stepTimings(evs),
    requests: requestsPerStep(readFileSync(started.logFile, 'utf8')),
    stats: parseSshStats(r.stderr),
    changes: evs.filter((e) => e.type === 'change').length,
  };
}

async function timedVerify(site: string, extra: string[]): Promise<{ wallMs: number; report: VerifyReport; stats: ServerSshStats[]; code: number }> {
  const t0 = Date.now();
  const r = await hvcluster(NAME, ['verify', '-f', site, '--json', ...extra], { timeoutMs: 30 * MIN, env: { [SSH_STATS_ENV]: '1' } });
  const wallMs = Date.now() - t0;
  let report: VerifyReport;
  try {
    report = JSON.parse(r.stdout) as VerifyReport;
  } catch {
    throw new Error(`verify printed no JSON (exit ${r.code}):\n${r.stderr.slice(-3000)}`);
  }
  return { wallMs, report, stats: parseSshStats(r.stderr), code: r.code };
}

const statsText = (stats: ServerSshStats[]) =>
  stats
    .sort((a, b) => a.server.localeCompare(b.server))
    .map((s) => `${s.server}: ${s.handshakes} conn, ${s.channelOpens} ch, ${s.execs} exec, ${s.bytesUploaded} B up`)
    .join('; ');

function table(header: string[], rows: string[][]): string {
  return [`| ${header.join(' | ')} |`, `|${header.map(() => '---').join('|')}|`, ...rows.map((r) => `| ${r.join(' | ')} |`)].join('\n');
}

function requestsCell(requests: ApplyRun['requests'], step: string, servers: string[]): string {
  const byServer = requests.get(step);
  if (!byServer) return '-';
  const cells = servers.map((s) => byServer.get(s)).map((c) => (c ? `${c.execs}${c.uploads ? ` + ${c.uploads} up` : ''}` : '0'));
  return new Set(cells).size === 1 ? `${cells[0]} each` : cells.join(' / ');
}

async function main(): Promise<void> {
  const startedAt = new Date();
  const load0 = loadavg();
  const t0 = Date.now();
  log('bench:lab: bringing up a fresh two-node lab (base image)');
  await down(NAME).catch(() => undefined);
  const lab = await up({ name: NAME, nodes: 2, image: 'base', reuse: false });
  const servers = lab.lab.nodes.map((n) => n.name);
  const site = `${lab.lab.dir}/site.yaml`;
  try {
    log('bench:lab: apply on fresh nodes');
    const first = await timedApply(site);
    log(`  ${secs(first.wallMs)}, ${first.changes} changes`);
    log('bench:lab: apply again (no-op)');
    const second = await timedApply(site);
    log(`  ${secs(second.wallMs)}, ${second.changes} changes`);
    if (second.changes !== 0) throw new Error(`the second apply changed ${second.changes} thing(s); it must change nothing`);
    log('bench:lab: verify');
    const verify = await timedVerify(site, []);
    log(`  ${secs(verify.wallMs)}, exit ${verify.code}`);
    log('bench:lab: verify --migration-test');
    const migration = await timedVerify(site, ['--migration-test']);
    log(`  ${secs(migration.wallMs)}, exit ${migration.code}`);

    const steps = [...new Set([...first.requests.keys(), ...first.steps.map((s) => s.step)])];
    const stepRow = (step: string) => {
      const a = first.steps.find((s) => s.step === step);
      const b = second.steps.find((s) => s.step === step);
      return [
        step,
        a ? secs(a.wallMs) : '-',
        a ? String(a.changes) : '-',
        requestsCell(first.requests, step, servers),
        b ? secs(b.wallMs) : '-',
        requestsCell(second.requests, step, servers),
      ];
    };
    const m = migration.report.migration?.report;
    const migrationRows = (m?.migrations ?? []).map((x) => [
      `${x.from} -> ${x.to}`,
      x.qemuDowntimeMs === null ? '-' : `${x.qemuDowntimeMs} ms`,
      x.clientMaxGapMs === null ? '-' : `${x.clientMaxGapMs} ms`,
      `${x.totalMs} ms`,
      String(x.dataIntact),
    ]);
    const ssh = spawnSync('ssh', ['-V'], { encoding: 'utf8' });
    const markdown = `# Benchmark: the installer on the VM lab

Run on ${startedAt.toISOString()} (took ${secs(Date.now() - t0)}). Reproduce with \`npm run bench:lab\` (\`bench/lab.ts\`, root).

Machine: ${hostname()}, kernel ${release()}, ${cpus().length} x ${cpus()[0]?.model ?? 'unknown'}, ${(totalmem() / 2 ** 30).toFixed(1)} GiB;
Node ${process.version}; ${(ssh.stderr ?? '').trim()}. Load average at start ${load0.map((x) => x.toFixed(2)).join(' ')}, at end
${loadavg().map((x) => x.toFixed(2)).join(' ')}. The lab: two Debian 12 VMs under QEMU with TCG (no KVM on this host: every guest
instruction is emulated, so CPU-bound steps such as package installation are many times slower than on real servers), 1.5 GiB
each, on bridges in a network namespace; lab up in ${secs(lab.timings.totalMs)} (boot to SSH ${secs(lab.timings.bootMs)}).
The CLI runs as a process in the lab's namespace, as an integrator's laptop would (\`node bin/hvcluster.js\`).

## apply, by step

"first" is apply on fresh nodes (base image: nothing installed yet; packages come from the lab's offline
cache); "again" is the second apply, which changes nothing. A step's time is its slowest server's
(servers run in parallel, with a barrier after each step). SSH requests are per server, from the run log:
exec requests (+ uploads); \`inspect\` is the one read before the first step (the cluster lock's own command
reads the facts and everything every step plans on); a step's row counts only what it read again or changed.

${table(['step', 'first: time', 'first: changes', 'first: SSH requests per server', 'again: time', 'again: SSH requests per server'], steps.map(stepRow))}

- whole apply, first: ${secs(first.wallMs)} (${first.changes} changes); SSH per server: ${statsText(first.stats)}
- whole apply, again: ${secs(second.wallMs)} (0 changes); SSH per server: ${statsText(second.stats)}

## verify

- \`verify\`: ${secs(verify.wallMs)}, exit ${verify.code} (${verify.report.summary.passed} passed, ${verify.report.summary.warnings} warnings, ${verify.report.summary.errors} errors); SSH per server: ${statsText(verify.stats)}
- \`verify --migration-test\`: ${secs(migration.wallMs)}, exit ${migration.code}; the migration test itself ${m ? secs(m.durationMs) : 'did not run'}${m ? ` (${m.rounds.length} round(s), ${m.migrations.length} migrations, clean-up ${m.cleanup.ok ? 'ok' : 'FAILED'})` : ''}

${migrationRows.length > 0 ? table(['migration', 'QEMU downtime', 'longest gap seen by the client', 'virsh migrate', 'data intact'], migrationRows) : ''}

## Reading it

- The first apply is dominated by package installation inside emulated CPUs (dpkg, initramfs and
  man-db triggers); on real servers the same step is network- and disk-bound and takes a fraction of it.
- A no-op apply is one exec per server in all: taking the cluster lock, the same command reads the
  facts and what every step plans on (files, the disk probe, services, keys, DRBD volumes, the
  replication path's pings); every step then plans from that read and finds nothing to do. Its time is
  that read (the pings and the disk probe are most of it) plus the process's start.
- Before the engine redesign (issue 14; lab run of 2026-12-05 on main f81b556, same machine), the
  no-op apply took 11.9 s and 15 execs per server: the lock, two reads before the first step and one
  read per step. The first apply then made 44 changes in 12 steps; here ${first.changes} in ${first.steps.length} steps.
- verify reads each server in one exec (facts and probes in one script); its time is the probes' own
  waits (pings over the replication link, virsh over SSH between the nodes) on emulated CPUs.
- On fresh nodes the migration test's first run installs busybox-static (the test guest is built from
  it; apply does not install it), and its initramfs trigger takes minutes under emulation: most of the
  migration test's time here. With busybox already there (the lab's prepared image) the same test
  takes 2-3 minutes, the migrations themselves the figures above.
`;
    process.stdout.write(markdown);
    if (OUT !== '-') {
      writeFileSync(OUT, markdown);
      log(`bench:lab: wrote ${OUT}`);
    }
  } finally {
    if (process.env.BENCH_KEEP_LAB === '1') log(`bench:lab: the lab keeps running (npm run lab -- down --name ${NAME})`);
    else await down(NAME);
  }
}

main().catch((error: unknown) => {
  log(`bench:lab failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`);
  process.exitCode = 1;
});
