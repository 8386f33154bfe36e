/**
 * `npm run bench:failover`: how long an HA failover takes, phase by phase, over several drills.
 *
 * Brings up (or reuses) a lab "benchfo": two nodes and a witness (corosync-qnetd), prepared image;
 * writes its site with HA on (each node's simulated BMC, the witness, the emulated timing) and
 * applies it (nothing to do when the lab already had it). Then runs the failover drill FAILOVER_RUNS
 * (default 3) times, `hvcluster verify --failover-test --yes`: the test guest runs under Pacemaker,
 * its node is powered off through its BMC, and the drill times each phase on the survivor from the
 * power-off (node lost, fenced, the guest's disk Promoted, the guest Started, answering a client),
 * then the crashed node's rejoin and the resync. Odd runs fail hv1 (`--failover-node hv1`), even
 * runs hv2, so that both directions are measured. A run whose report is missing or not ok is logged
 * and counted as failed (with its error); the others go on.
 * Writes its section of bench/results-lab.md (between the failover markers; BENCH_OUT, `-` to not
 * write): per phase the median, min and max over the passing runs next to an estimate for production
 * (real BMCs, KVM, token 3 s), then one line per run. Takes the lab down at the end unless
 * BENCH_KEEP_LAB=1. Root only.
 */
import { cpus } from 'node:os';
import { hvcluster } from '../test/helpers/hvcluster.js';
import { down, up } from '../test/lab/lab.js';
import { writeLabSite } from '../test/lab/site.js';
import { FAILOVER_PHASES, type FailoverReport } from '../installer/verify/failover/drill.js';
import type { VerifyReport } from '../installer/verify/report.js';
import { sectionMarkers, writeLabSection } from './lab-section.js';

const NAME = 'benchfo';
const RUNS = Number(process.env.FAILOVER_RUNS ?? 3);
const MIN = 60_000;
const { begin: BEGIN, end: END } = sectionMarkers('failover');
const log = (line: string) => process.stderr.write(`${line}\n`);
const secs = (ms: number) => (ms / 1000).toFixed(1);

/** The rows of the table: the drill's phases, then the rejoin and the resync. */
const PHASES = [...FAILOVER_PHASES, 'rejoined', 'resynced'] as const;
type Phase = (typeof PHASES)[number];
const PRODUCTION: Record<Phase, string> = {
  lost: '~5 s',
  fenced: '~10-15 s',
  promoted: '~11-16 s',
  started: '~15-20 s',
  answered: "+ the guest's boot",
  rejoined: "the server's boot (2-5 min of POST)",
  resynced: 'seconds (the blocks written meanwhile)',
};

interface Run {
  node: string;
  report?: FailoverReport;
  error?: string;
}

/** A phase's time in a report, ms from the fault, or undefined when not reached. Pure. */
function phaseMs(r: FailoverReport, phase: Phase): number | undefined {
  if (phase === 'rejoined') return r.rejoinedMs ?? undefined;
  if (phase === 'resynced') return r.resyncedMs ?? undefined;
  return r.phases[phase];
}

/** Per phase, the median, min and max (ms) over the passing runs' reports; null when no run reached it. Pure. */
export function phaseStats(reports: FailoverReport[]): Record<Phase, { median: number; min: number; max: number } | null> {
  const stats = {} as Record<Phase, { median: number; min: number; max: number } | null>;
  for (const phase of PHASES) {
    const v = reports.map((r) => phaseMs(r, phase)).filter((ms): ms is number => ms !== undefined).sort((a, b) => a - b);
    const mid = Math.floor(v.length / 2);
    stats[phase] = v.length ? { median: v.length % 2 ? v[mid]! : (v[mid - 1]! + v[mid]!) / 2, min: v[0]!, max: v[v.length - 1]! } : null;
  }
  return stats;
}

/** One drill, failing `node`: its report when ok, else the reason it failed. */
async function drill(site: string, node: string): Promise<Run> {
  const r = await hvcluster(NAME, ['verify', '-f', site, '--json', '--connect-timeout', '15', '--failover-test', '--yes', '--failover-node', node], { timeoutMs: 22 * MIN });
  let report: VerifyReport;
  try {
    report = JSON.parse(r.stdout) as VerifyReport;
  } catch {
    return { node, error: `verify printed no JSON (exit ${r.code}): ${r.stderr.slice(-1500).trim()}` };
  }
  const f = report.failover?.report;
  if (!f) return { node, error: `no drill report (exit ${r.code})${report.failover?.skipped ? `: skipped: ${report.failover.skipped}` : ''}` };
  if (!f.ok) return { node, report: f, error: f.error ? `${f.error.phase}: ${f.error.message}` : `the drill was not ok (exit ${r.code})` };
  return { node, report: f };
}

function runLine(run: Run, k: number): string {
  const f = run.report;
  if (run.error || !f) return `- run ${k}: FAILED: ${run.error ?? 'no report'}`;
  const times = PHASES.map((p) => {
    const ms = phaseMs(f, p);
    return `${p} ${ms === undefined ? '-' : `${secs(ms)} s`}`;
  });
  return `- run ${k}: ${f.crashed} -> ${f.survivor}: ${times.join(', ')} (${f.dataIntact ? 'data intact' : 'data NOT intact'})`;
}

async function main(): Promise<void> {
  if (process.getuid?.() !== 0) throw new Error('the lab needs root (network namespaces, bridges, VMs): run as root');
  const t0 = Date.now();
  log(`bench:failover: lab ${NAME} (two nodes + witness, prepared image), its HA site applied, then ${RUNS} drills`);
  const labUp = await up({ name: NAME, nodes: 2, witness: true, image: 'prepared', reuse: true });
  try {
    const site = writeLabSite(labUp.lab, { ha: true });
    const applied = await hvcluster(NAME, ['apply', '-f', site, '--yes', '--json'], { timeoutMs: 40 * MIN });
    if (applied.code !== 0) throw new Error(`apply -f ${site}: exit ${applied.code}\n${applied.stderr.slice(-3000)}`);

    const runs: Run[] = [];
    for (let k = 1; k <= RUNS; k++) {
      const node = k % 2 ? 'hv1' : 'hv2';
      log(`bench:failover: run ${k}/${RUNS}: the drill fails ${node}`);
      const run = await drill(site, node).catch((e: Error): Run => ({ node, error: e.message }));
      runs.push(run);
      log(`  ${runLine(run, k)}`);
    }

    const passed = runs.filter((r) => !r.error && r.report).map((r) => r.report!);
    const stats = phaseStats(passed);
    const timing = runs.find((r) => r.report)?.report?.timing;
    const timingText = timing ? `${timing.profile} timing profile (token ${secs(timing.tokenMs)} s, stonith-timeout ${timing.stonithTimeoutS} s)` : 'emulated timing profile';
    const rows = PHASES.map((p) => {
      const s = stats[p];
      return `| ${p} | ${s ? `${secs(s.median)} s` : '-'} | ${s ? `${secs(s.min)}-${secs(s.max)} s` : '-'} | ${PRODUCTION[p]} |`;
    });

    const section = `${BEGIN}
## Failover drill, ${RUNS} runs (\`npm run bench:failover\`)

Run on ${new Date().toISOString()} (took ${((Date.now() - t0) / 1000).toFixed(0)} s, ${passed.length} of ${RUNS} runs passed), ${cpus().length} x ${cpus()[0]?.model ?? 'unknown'}; lab ${NAME}
(two TCG VMs + witness, prepared image, ${timingText}). Each run: \`hvcluster verify --failover-test\`, the guest's
node powered off through its BMC (hv1 on odd runs, hv2 on even ones); times in seconds from the power-off, over the passing runs.

| phase | median | min-max | production estimate (real BMCs, KVM, token 3 s) |
|---|---|---|---|
${rows.join('\n')}

${runs.map((r, i) => runLine(r, i + 1)).join('\n')}
${END}`;
    log(section);
    const written = writeLabSection('failover', section);
    if (written) log(`bench:failover: written to ${written}`);
    if (!passed.length) process.exitCode = 1;
  } finally {
    if (process.env.BENCH_KEEP_LAB !== '1') await down(NAME).catch((e: Error) => log(`could not take ${NAME} down: ${e.message}`));
  }
}

main().catch((error: unknown) => {
  log(`bench:failover failed: ${error instanceof Error ? error.stack : String(error)}`);
  process.exitCode = 1;
});
