/** The migration test's report (installer/verify/migration/) as MIGRATION_TEST results. */
import { result } from './common.js';
import type { MigrationReport } from '../migration/index.js';
import type { CheckResult } from '../types.js';

export const DOWNTIME_WARNING_MS = 1000;

export function migrationChecks(report: MigrationReport): CheckResult[] {
  const out: CheckResult[] = [];
  for (const m of report.migrations) {
    const servers = [m.from, m.to];
    const figures = `QEMU downtime ${m.qemuDowntimeMs ?? '?'} ms, longest client gap ${m.clientMaxGapMs ?? '?'} ms (${m.clientAnswers}/${m.clientRequests} answered), migration ${m.totalMs} ms${m.dataIntact === null ? '' : m.dataIntact ? ', data intact' : ', DATA CHANGED'}`;
    const data = { ...m };
    if (!m.ok || m.dataIntact === false) {
      out.push(result('MIGRATION_TEST', 'error', m.from, `${m.resource}: live migration ${m.from} -> ${m.to} failed: ${m.error ?? figures}`, {
        servers, subject: m.to, data,
        fix: 'read the error; check MIGRATION_CONNECT and CPU_COMPAT, `journalctl -u libvirtd` on both nodes and /var/log/libvirt/qemu/',
      }));
    } else if ((m.qemuDowntimeMs ?? 0) > DOWNTIME_WARNING_MS) {
      out.push(result('MIGRATION_TEST', 'warning', m.from, `${m.resource}: ${m.from} -> ${m.to}: ${figures}`, { servers, subject: m.to, data, fix: 'a downtime above 1 s: check the replication link speed and load during the migration' }));
    } else {
      out.push(result('MIGRATION_TEST', 'pass', m.from, `${m.resource}: ${m.from} -> ${m.to}: ${figures}`, { servers, subject: m.to, data }));
    }
  }
  if (report.error && report.migrations.every((m) => m.ok)) {
    out.push(result('MIGRATION_TEST', 'error', 'cluster', `the migration test stopped at ${report.error.phase}: ${report.error.message}`, { fix: 'fix the cause, then rerun `hvcluster verify --migration-test`' }));
  }
  if (report.dataIntactOnDisk === false) {
    out.push(result('MIGRATION_TEST', 'error', 'cluster', 'the test data read back from the DRBD device after the last migration differs from what the guest wrote', { fix: 'do not migrate production guests: report this with the run log' }));
  }
  if (!report.cleanup.ok || report.cleanup.leftovers.length > 0) {
    const left = report.cleanup.leftovers.map((l) => `${l.server}: ${l.what}`).join('; ');
    out.push(result('MIGRATION_TEST', 'error', 'cluster', `the clean-up left things behind: ${left || 'see the run log'}`, {
      servers: [...new Set(report.cleanup.leftovers.map((l) => l.server))],
      subject: 'clean-up',
      fix: 'rerun `hvcluster verify --migration-test` (it removes the leftovers of an earlier run first), or remove them by hand',
    }));
  } else {
    out.push(result('MIGRATION_TEST', 'pass', 'cluster', `clean-up complete: ${report.cleanup.actions.length} action(s), nothing left behind`, { subject: 'clean-up' }));
  }
  return out;
}
