/**
 * The replication-link drill in verify's results: LINK_TEST, once for the drill (its figures from the
 * cut, what went wrong) and once for the clean-up, counted like every check. Pure.
 */
import { result } from './common.js';
import { LINK_PHASES, linkProblems, type LinkDrillReport } from '../failover/link-drill.js';
import type { CheckResult } from '../types.js';

const sec = (ms: number) => `${(ms / 1000).toFixed(1)} s`;

/** "disconnected 3.1 s, peerFenced 4.0 s, ...; guest silent at most 1200 ms" (phases not reached are left out). Pure. */
export function linkFigures(r: LinkDrillReport): string {
  const phases = LINK_PHASES.filter((p) => r.phases[p] !== undefined).map((p) => `${p} ${sec(r.phases[p]!)}`);
  return `${phases.join(', ') || 'no phase reached'} (from the cut)${r.guestMaxGapMs !== null ? `; guest silent at most ${r.guestMaxGapMs} ms` : ''}; Primaries at once: at most ${r.maxPrimaries}; data ${r.dataIntact === null ? 'not checked' : r.dataIntact ? 'intact' : 'CHANGED'}`;
}

export function linkChecks(r: LinkDrillReport): CheckResult[] {
  const servers = [r.node, r.peer].filter((s): s is string => s !== null);
  const subject = r.node && r.link ? `${r.node} ${r.link} cut` : 'replication link';
  const data = { phases: r.phases, maxPrimaries: r.maxPrimaries, guestMaxGapMs: r.guestMaxGapMs, membersKept: r.membersKept, splitBrain: r.splitBrain, dataIntact: r.dataIntact };
  const problems = linkProblems(r);
  const out: CheckResult[] = [
    problems.length === 0
      ? result('LINK_TEST', 'pass', 'cluster', `${r.guest.name}: ${linkFigures(r)}`, { servers, subject, data })
      : result('LINK_TEST', 'error', 'cluster', `${r.guest.name}: ${problems.join('; ')} [${linkFigures(r)}]`, {
          servers,
          subject,
          data,
          fix: "read the run log; check DRBD's fencing (`fencing resource-and-stonith`, the fence-peer and after-resync-target handlers in /etc/drbd.d), both Corosync links (`corosync-cfgtool -s`) and `crm_mon -1`",
        }),
  ];
  const left = r.cleanup.leftovers.map((l) => `${l.server}: ${l.what}`).join('; ');
  out.push(
    r.cleanup.ok
      ? result('LINK_TEST', 'pass', 'cluster', `clean-up complete: nothing left behind${r.restored.length ? ` (undone: ${r.restored.join('; ')})` : ''}`, { subject: 'clean-up' })
      : result('LINK_TEST', 'error', 'cluster', `the clean-up left things behind: ${left || 'see the run log'}`, {
          servers: [...new Set(r.cleanup.leftovers.map((l) => l.server))],
          subject: 'clean-up',
          fix: 'run `hvcluster verify --migration-test` (it removes what a test left first)',
        }),
  );
  return out;
}
