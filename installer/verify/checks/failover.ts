/**
 * The failover drill in verify's results: FAILOVER_TEST, once for the takeover (its figures per phase
 * from the power-off, what went wrong) and once for the clean-up, so that the drill counts in the
 * summary, the exit code, JUnit (its time: until the guest answered again) and the hand-over report
 * like every check. Pure.
 */
import { result } from './common.js';
import { FAILOVER_PHASES, holdText, type FailoverReport } from '../failover/drill.js';
import { hangProblem } from '../failover/hang.js';
import type { CheckResult } from '../types.js';

const PHASE_WORD: Record<(typeof FAILOVER_PHASES)[number], string> = { lost: 'lost', fenced: 'fenced', promoted: 'promoted', started: 'started', answered: 'answering' };

const sec = (ms: number) => `${(ms / 1000).toFixed(1)} s`;

/** "lost 28.0 s, fenced 31.6 s, ...; back 93.8 s, resynced 111.6 s" (phases not reached are left out). Pure. */
export function failoverFigures(r: FailoverReport): string {
  const phases = FAILOVER_PHASES.filter((p) => r.phases[p] !== undefined).map((p) => `${PHASE_WORD[p]} ${sec(r.phases[p]!)}`);
  const after = [r.rejoinedMs !== null ? `back ${sec(r.rejoinedMs)}` : null, r.resyncedMs !== null ? `resynced ${sec(r.resyncedMs)}` : null].filter((x) => x !== null);
  return `${phases.join(', ') || 'no phase reached'}${after.length ? `; ${after.join(', ')}` : ''} (from the fault)`;
}

export function failoverChecks(r: FailoverReport): CheckResult[] {
  const out: CheckResult[] = [];
  const servers = [r.crashed, r.survivor].filter((s): s is string => s !== null);
  const subject = r.crashed && r.survivor ? `${r.crashed} -> ${r.survivor}` : 'takeover';
  const data = { phases: r.phases, rejoinedMs: r.rejoinedMs, resyncedMs: r.resyncedMs, guestSeenOn: r.guestSeenOn, dataIntact: r.dataIntact, timing: r.timing, ...(r.phases.answered !== undefined ? { totalMs: r.phases.answered } : {}) };
  const fenced = r.fencing.filter((e) => e.status === 'success').map((e) => `${e.action} by ${e.delegate ?? '?'}`);
  const held = holdText(r);
  const figures = `${r.fault}: ${failoverFigures(r)}${held ? `; ${held}` : ''}; fencing ${fenced.length ? fenced.join(', ') : 'not recorded'}; ${r.guest.declared ? `downtime ${r.phases.answered !== undefined ? sec(r.phases.answered) : 'not measured'} (a declared guest: data not touched)` : `data ${r.dataIntact === null ? 'not checked' : r.dataIntact ? 'intact' : 'CHANGED'}`}; timing ${r.timing.profile}`;
  const elsewhere = r.guestSeenOn.filter((n) => n !== r.survivor);
  const problems = [
    r.error ? `stopped in phase ${r.error.phase}: ${r.error.message}` : null,
    elsewhere.length ? `the guest was seen running on ${elsewhere.join(', ')} too (two copies)` : null,
    r.hold && r.hold.releasedMs !== null && r.phases.started !== undefined && r.phases.started < r.hold.releasedMs ? 'the guest started on the survivor before fencing could complete' : null,
    r.dataIntact === false ? "the guest's data read back differs from what it wrote before the power-off" : null,
    hangProblem(r),
    !r.error && FAILOVER_PHASES.some((p) => r.phases[p] === undefined) ? `phases not reached: ${FAILOVER_PHASES.filter((p) => r.phases[p] === undefined).join(', ')}` : null,
  ].filter((x): x is string => x !== null);
  if (problems.length === 0) {
    out.push(result('FAILOVER_TEST', 'pass', 'cluster', `${r.guest.name}: ${figures}`, { servers, subject, data }));
  } else {
    out.push(
      result('FAILOVER_TEST', 'error', 'cluster', `${r.guest.name}: ${problems.join('; ')} [${figures}]`, {
        servers,
        subject,
        data,
        fix: elsewhere.length
          ? 'do not run guests under HA until this is understood: read `stonith_admin --history` and the Pacemaker log of every node (journalctl -u pacemaker), and report it with the run log'
          : 'read the error and the run log; check the HA checks above, the fence devices (`stonith_admin --history`), and `crm_mon -1` on the survivor',
      }),
    );
  }
  if (!r.cleanup.ok || r.cleanup.leftovers.length > 0) {
    const left = r.cleanup.leftovers.map((l) => `${l.server}: ${l.what}`).join('; ');
    out.push(
      result('FAILOVER_TEST', 'error', 'cluster', `the clean-up left things behind: ${left || 'see the run log'}`, {
        servers: [...new Set(r.cleanup.leftovers.map((l) => l.server))],
        subject: 'clean-up',
        fix: 'power the node on if it is still off, then run `hvcluster verify --migration-test` (it removes what a test left first)',
      }),
    );
  } else {
    out.push(result('FAILOVER_TEST', 'pass', 'cluster', 'clean-up complete: nothing left behind', { subject: 'clean-up' }));
  }
  return out;
}
