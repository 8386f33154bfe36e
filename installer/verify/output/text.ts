/** The human output: one line per check and server (virt-host-validate's style), a hint under each non-pass, counts at the end. */
import type { Palette } from '../../output.js';
import type { CheckResult } from '../types.js';
import type { VerifyReport } from '../report.js';
import { failoverTimeline, fencingText, holdText, type FailoverReport } from '../failover/drill.js';
import { linkProblems, linkTimeline, type LinkDrillReport } from '../failover/link-drill.js';

const LABEL: Record<CheckResult['status'], string> = { pass: 'PASS', warning: 'WARN', error: 'FAIL', skipped: 'SKIP' };

function label(status: CheckResult['status'], c: Palette): string {
  const text = LABEL[status];
  return status === 'pass' ? c.green(text) : status === 'warning' ? c.yellow(text) : status === 'error' ? c.red(text) : c.dim(text);
}

export function formatText(report: VerifyReport, c: Palette, options: { onlyProblems?: boolean } = {}): string {
  const out: string[] = [];
  out.push(c.bold(`hvcluster verify: cluster ${report.cluster}, ${report.nodes.length} nodes`));
  const serverWidth = Math.max(7, ...report.checks.map((r) => r.server.length));
  const codeWidth = Math.max(...report.checks.map((r) => r.code.length));
  for (const r of report.checks) {
    if (options.onlyProblems && r.status === 'pass') continue;
    const subject = r.subject ? `${r.subject}: ` : '';
    const found = r.subject && r.found.startsWith(r.subject) ? r.found : `${subject}${r.found}`;
    out.push(`${label(r.status, c)}  ${r.server.padEnd(serverWidth)}  ${r.code.padEnd(codeWidth)}  ${found}`);
    if (r.fix && r.status !== 'pass') out.push(`${' '.repeat(4 + 2 + serverWidth + 2 + codeWidth + 2)}${c.dim(`fix: ${r.fix}`)}`);
  }
  const m = report.migration;
  if (m?.skipped) out.push('', `Migration test: skipped: ${m.skipped}`);
  if (m?.report?.logFile) out.push('', `Migration test: every command it sent to the servers is in ${m.report.logFile}`);
  const l = report.linkDrill;
  if (l?.skipped) out.push('', `Replication-link drill: skipped: ${l.skipped}`);
  if (l?.report) out.push('', ...linkLines(l.report, c));
  const f = report.failover;
  if (f?.skipped) out.push('', `Failover drill: skipped: ${f.skipped}`);
  if (f?.report) out.push('', ...failoverLines(f.report, c));
  const s = report.summary;
  out.push('');
  const parts = [`${s.passed} passed`, `${s.warnings} warning${s.warnings === 1 ? '' : 's'}`, `${s.errors} error${s.errors === 1 ? '' : 's'}`];
  if (s.skipped > 0) parts.push(`${s.skipped} skipped`);
  let verdict: string;
  if (s.unreachable.length > 0) verdict = c.red(`could not run on ${s.unreachable.join(', ')} (unreachable): exit 2`);
  else if (report.exitCode === 1) verdict = c.red('errors found: exit 1 (fix one at a time and rerun)');
  else verdict = c.green(s.warnings > 0 ? 'healthy, with warnings: exit 0' : 'all checks passed: exit 0');
  out.push(`${parts.join(', ')}; ${verdict}`);
  return `${out.join('\n')}\n`;
}

/** The replication-link drill's figures: each phase from the cut, the guest, what went wrong. */
function linkLines(r: LinkDrillReport, c: Palette): string[] {
  const problems = linkProblems(r);
  const head = r.ok ? c.green('Replication-link drill: passed') : c.red(`Replication-link drill: FAILED: ${problems.join('; ') || 'see the clean-up'}`);
  return [
    head,
    `  ${r.node ?? '?'} lost its replication link ${r.link ?? '?'} (the test guest's node; its DRBD peer ${r.peer ?? '?'}). From the cut:`,
    ...linkTimeline(r).map(([label, time]) => `    ${label.padEnd(46)} ${time}`),
    `  the guest kept running on ${r.node ?? '?'}: longest silence ${r.guestMaxGapMs ?? '?'} ms${r.guestRebooted ? ' (it REBOOTED)' : ''}; Primaries at once: at most ${r.maxPrimaries}; both nodes members throughout: ${r.membersKept === null ? '?' : r.membersKept ? 'yes' : 'NO'}; data intact: ${r.dataIntact === null ? 'not checked' : r.dataIntact ? 'yes' : 'NO'}`,
    ...(r.restored.length ? [`  undone after the failure: ${r.restored.join('; ')}`] : []),
    ...(r.cleanup.ok ? [] : [`  clean-up left: ${r.cleanup.leftovers.map((x) => `${x.server}: ${x.what}`).join('; ')}`]),
  ];
}

/** The failover drill's figures: each phase from the crash, the rejoin, the data, what went wrong. */
function failoverLines(r: FailoverReport, c: Palette): string[] {
  const head = r.ok ? c.green('Failover drill: passed') : c.red(`Failover drill: FAILED${r.error ? ` in phase ${r.error.phase}: ${r.error.message}` : ''}`);
  return [
    head,
    `  ${r.crashed ?? '?'} failed by the drill (${r.fault}; ${r.guest.declared ? `the node of the declared guest ${r.guest.name}` : "the test guest's node"}); ${r.survivor ?? '?'} took over. From the fault:`,
    ...failoverTimeline(r).map(([label, time]) => `    ${label.padEnd(38)} ${time}`),
    ...(holdText(r) ? [`  ${holdText(r)}`] : []),
    ...(r.restored.length ? [`  undone after the failure: ${r.restored.join('; ')}`] : []),
    `  guest data intact: ${r.guest.declared ? 'not checked (a declared guest: it answered again)' : r.dataIntact === null ? 'not checked' : r.dataIntact ? 'yes' : 'NO'}; fencing of ${r.crashed ?? '?'}: ${fencingText(r)}${r.rebooted === null ? '' : `; back with a new boot: ${r.rebooted ? 'yes' : 'NO'}`}`,
    `  timing ${r.timing.profile}: token ${r.timing.tokenMs} ms, stonith-timeout ${r.timing.stonithTimeoutS} s${r.cleanup.ok ? '' : `; clean-up left: ${r.cleanup.leftovers.map((l) => `${l.server}: ${l.what}`).join('; ')}`}`,
  ];
}
