/**
 * From what was read on the servers to results: every check, in catalogue order. Pure (no I/O):
 * unit-tested with captured facts and probes.
 */
import { CHECKS } from './codes.js';
import { backupAgeChecks, backupRepoChecks, backupTimerChecks, snapshotFillChecks, snapshotLeftoverChecks } from './checks/backup.js';
import { haChecks } from './checks/ha.js';
import { drbdModuleChecks, drbdResourceChecks, splitBrainChecks } from './checks/drbd.js';
import { cpuChecks, libvirtChecks, memoryChecks, migrationConnectChecks } from './checks/hypervisor.js';
import { labelMigrationLeftovers, migrationLeftoverChecks } from './checks/migration.js';
import { replicationLinkChecks, replicationNicChecks } from './checks/network.js';
import { nameChecks, sshChecks } from './checks/nodes.js';
import { holderChecks, volumeGroupChecks } from './checks/storage.js';
import { clockChecks, timeSyncChecks } from './checks/time.js';
import type { CheckResult, VerifyInput } from './types.js';

const ORDER = new Map(CHECKS.map((c, i) => [c.code, i]));

export function evaluate(input: VerifyInput): CheckResult[] {
  const results = [
    ...sshChecks(input),
    ...nameChecks(input),
    ...clockChecks(input),
    ...timeSyncChecks(input),
    ...replicationNicChecks(input),
    ...replicationLinkChecks(input),
    ...drbdModuleChecks(input),
    ...drbdResourceChecks(input),
    ...splitBrainChecks(input),
    ...volumeGroupChecks(input),
    ...holderChecks(input),
    ...snapshotFillChecks(input),
    ...snapshotLeftoverChecks(input),
    ...libvirtChecks(input),
    ...cpuChecks(input),
    ...migrationConnectChecks(input),
    ...migrationLeftoverChecks(input),
    ...memoryChecks(input),
    ...haChecks(input),
    ...backupRepoChecks(input),
    ...backupTimerChecks(input),
    ...backupAgeChecks(input),
  ];
  const nodeOrder = new Map(input.nodes.map((n, i) => [n.name, i]));
  // Stable sort: by check, then server (cluster-wide last), then as produced.
  const sorted = results
    .map((r, i) => ({ r, i }))
    .sort((a, b) => (ORDER.get(a.r.code)! - ORDER.get(b.r.code)!) || ((nodeOrder.get(a.r.server) ?? 99) - (nodeOrder.get(b.r.server) ?? 99)) || a.i - b.i)
    .map((x) => x.r);
  // What a killed migration test left trips other checks too: those findings say so.
  return labelMigrationLeftovers(sorted, input.file);
}

export interface Summary {
  passed: number;
  warnings: number;
  errors: number;
  skipped: number;
  /** Servers whose checks could not run. */
  unreachable: string[];
}

export function summarize(results: CheckResult[], input: Pick<VerifyInput, 'nodes'>): Summary {
  const count = (s: CheckResult['status']) => results.filter((r) => r.status === s).length;
  return {
    passed: count('pass'),
    warnings: count('warning'),
    errors: count('error'),
    skipped: count('skipped'),
    unreachable: input.nodes.filter((n) => !n.reachable).map((n) => n.name),
  };
}

/** verify's exit codes: 0 all passed (warnings allowed), 1 errors found, 2 could not run (a server unreachable, bad input). */
export const VERIFY_EXIT = { ok: 0, errors: 1, couldNotRun: 2 } as const;
export type VerifyExit = (typeof VERIFY_EXIT)[keyof typeof VERIFY_EXIT];

export function exitCodeFor(summary: Summary): VerifyExit {
  if (summary.unreachable.length > 0) return VERIFY_EXIT.couldNotRun;
  return summary.errors > 0 ? VERIFY_EXIT.errors : VERIFY_EXIT.ok;
}
