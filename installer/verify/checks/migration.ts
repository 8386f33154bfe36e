/**
 * The migration test in verify's results: its report as MIGRATION_TEST and MIGRATION_MEMORY results,
 * and what a killed run left on the nodes (MIGRATION_LEFTOVERS), named as the test's leftovers
 * wherever another check trips over them, with the one command that removes them.
 */
import { probe, reachable, result } from './common.js';
import { TEST_RESOURCE } from '../migration/guest.js';
import { describeLeftovers, parseLeftovers } from '../migration/leftovers.js';
import type { MigrationReport } from '../migration/index.js';
import type { CheckResult, VerifyInput } from '../types.js';

export const DOWNTIME_WARNING_MS = 1000;

/** The command that removes a killed run's leftovers (the migration test cleans up before it starts). */
export const removeLeftoversCommand = (file = 'site.yaml') => `hvcluster verify -f ${file} --migration-test`;

export function migrationChecks(report: MigrationReport): CheckResult[] {
  const out: CheckResult[] = [];
  const refused = report.error?.code === 'MIGRATION_MEMORY';
  for (const m of report.memory ?? []) {
    const figures = `${m.availableMiB === null ? 'MemAvailable could not be read' : `${m.availableMiB} MiB available (MemAvailable)`}; the test guest needs ${m.requiredMiB} MiB (its ${report.guest.memoryMiB} MiB + ${m.requiredMiB - report.guest.memoryMiB} MiB margin)`;
    out.push(
      m.ok
        ? result('MIGRATION_MEMORY', 'pass', m.server, figures, { data: { ...m } })
        : result('MIGRATION_MEMORY', 'error', m.server, `${figures}: the migration test refused to start`, {
            data: { ...m },
            fix: `free memory on ${m.server} (stop a guest or move it away), then rerun \`hvcluster verify --migration-test\`; a node short of memory stalls DRBD and the guest during a migration`,
          }),
    );
  }
  for (const m of report.migrations) {
    const servers = [m.from, m.to];
    const gap = m.clientMaxGapMs === null ? '?' : `${m.clientMaxGapMs}`;
    const figures = `QEMU downtime ${m.qemuDowntimeMs ?? '?'} ms, longest client gap ${gap} ms (bound ${m.clientGapLimitMs} ms; ${m.clientAnswers}/${m.clientRequests} answered), migration ${m.totalMs} ms${m.dataIntact === null ? '' : m.dataIntact ? ', data intact' : ', DATA CHANGED'}`;
    const data = { ...m };
    if (!m.ok || m.dataIntact === false) {
      const drbdProblem = (m.drbd?.problems.length ?? 0) > 0;
      out.push(
        result('MIGRATION_TEST', 'error', m.from, `${m.resource}: live migration ${m.from} -> ${m.to} failed: ${m.error ?? figures}${m.error && m.clientMaxGapMs !== null ? ` [${figures}]` : ''}`, {
          servers,
          subject: m.to,
          data,
          fix: drbdProblem
            ? `do not migrate production guests yet: the test resource lost its connection or split during the move; read \`journalctl -k | grep drbd\` on ${m.from} and ${m.to}, check the replication link and the memory and load of ${m.to}`
            : 'read the error; check MIGRATION_CONNECT and CPU_COMPAT, the memory and load of the target, `journalctl -u libvirtd` on both nodes and /var/log/libvirt/qemu/',
        }),
      );
    } else if ((m.qemuDowntimeMs ?? 0) > DOWNTIME_WARNING_MS) {
      out.push(result('MIGRATION_TEST', 'warning', m.from, `${m.resource}: ${m.from} -> ${m.to}: ${figures}`, { servers, subject: m.to, data, fix: 'a downtime above 1 s: check the replication link speed and load during the migration' }));
    } else {
      out.push(result('MIGRATION_TEST', 'pass', m.from, `${m.resource}: ${m.from} -> ${m.to}: ${figures}`, { servers, subject: m.to, data }));
    }
  }
  if (report.error && !refused && report.migrations.every((m) => m.ok)) {
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

// ---------------------------------------------------------------------------------------------
// Leftovers of a killed run

/** MIGRATION_LEFTOVERS per node, from the probe `migtest` (the clean-up's own read). Pure. */
export function migrationLeftoverChecks(input: VerifyInput): CheckResult[] {
  const command = removeLeftoversCommand(input.file);
  return reachable(input).flatMap((node) => {
    const read = probe(node, 'migtest');
    if (!read || read.exitCode !== 0) return [];
    const left = describeLeftovers(parseLeftovers(read.stdout));
    if (left.length === 0) return [result('MIGRATION_LEFTOVERS', 'pass', node.name, 'nothing left by a migration test')];
    return [
      result('MIGRATION_LEFTOVERS', 'error', node.name, `leftovers of a migration test that did not finish (killed or interrupted): ${left.join(', ')}`, {
        subject: TEST_RESOURCE,
        data: { leftovers: left },
        fix: `run \`${command}\`: it removes the test's leftovers on every node before it tests again (nothing else on the cluster uses ${TEST_RESOURCE})`,
      }),
    ];
  });
}

/** A result about the migration test's own resource or leftovers (not about the cluster's health). */
export function isMigrationLeftover(r: CheckResult): boolean {
  return r.code === 'MIGRATION_LEFTOVERS' ? r.status !== 'pass' : r.subject === TEST_RESOURCE && r.code.startsWith('DRBD_');
}

/**
 * The other checks' findings about the test resource (two primaries, allow-two-primaries, ...) say
 * that it is the migration test's, and how to remove it. Pure.
 */
export function labelMigrationLeftovers(checks: CheckResult[], file?: string): CheckResult[] {
  const command = removeLeftoversCommand(file);
  return checks.map((r) =>
    r.status !== 'pass' && isMigrationLeftover(r) && r.code !== 'MIGRATION_LEFTOVERS'
      ? {
          ...r,
          found: `${r.found} (${TEST_RESOURCE} is the migration test's resource, left by a run that did not finish)`,
          fix: `these are the migration test's leftovers: \`${command}\` removes them before it tests again`,
        }
      : r,
  );
}

/**
 * After a migration test that started (its clean-up before the test removed every leftover, or it
 * would have stopped in phase cleanup-before), the findings about the leftovers describe a state that
 * is gone: the DRBD results about the test resource are dropped, and MIGRATION_LEFTOVERS says what
 * was found and removed. Pure.
 */
export function resolveMigrationLeftovers(checks: CheckResult[], report: MigrationReport): CheckResult[] {
  if (report.error?.phase === 'cleanup-before') return checks;
  const removed = (server: string) => report.cleanup.removedBefore.filter((a) => a.server === server).map((a) => a.description);
  return checks
    .filter((r) => !(r.code !== 'MIGRATION_LEFTOVERS' && r.subject === TEST_RESOURCE && r.code.startsWith('DRBD_')))
    .map((r) =>
      r.code === 'MIGRATION_LEFTOVERS' && r.status !== 'pass'
        ? {
            code: r.code,
            title: r.title,
            status: 'pass' as const,
            server: r.server,
            servers: r.servers,
            ...(r.subject ? { subject: r.subject } : {}),
            found: `removed by the migration test before it ran: ${(r.data?.leftovers as string[] | undefined)?.join(', ') ?? 'leftovers'}${removed(r.server).length ? ` (${removed(r.server).join('; ')})` : ''}`,
            data: { ...r.data, removed: removed(r.server) },
          }
        : r,
    );
}
