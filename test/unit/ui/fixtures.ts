/** Shared fixtures of the ui tests: a plan comparison of the lab pair, and a run's engine events. */
import type { EngineEvent } from '../../../installer/engine/events.js';
import { comparePlan } from '../../../installer/plan/diff.js';
import { planCluster } from '../../../installer/plan/index.js';
import { checkLayout, proposeLayout } from '../../../installer/plan/propose.js';
import { labLogins, labPair } from './helpers.js';

export function labComparison() {
  const facts = labPair();
  const answers = checkLayout(proposeLayout(facts), labLogins, facts).answers!;
  const plan = planCluster(answers, facts);
  return comparePlan(
    plan,
    plan.nodes.map(() => new Map([['/etc/hosts', '127.0.0.1\tlocalhost\n']])),
  );
}

export const EVENTS: EngineEvent[] = [
  { type: 'run-started', runId: '20261125T120000Z-ab12', cluster: 'hv-cluster', servers: ['hv1', 'hv2'], steps: ['preflight', 'packages', 'storage', 'drbd'], dryRun: false, logFile: '/root/.local/state/hvcluster/logs/hv-cluster.log' },
  { type: 'step-started', server: 'hv1', step: 'preflight', title: 'checking the server' },
  { type: 'step-started', server: 'hv2', step: 'preflight', title: 'checking the server' },
  { type: 'step-finished', server: 'hv1', step: 'preflight', status: 'unchanged', changes: [], durationMs: 310 },
  { type: 'step-finished', server: 'hv2', step: 'preflight', status: 'unchanged', changes: [], durationMs: 290 },
  { type: 'step-started', server: 'hv1', step: 'packages', title: 'installing drbd-utils, lvm2, qemu' },
  { type: 'step-started', server: 'hv2', step: 'packages', title: 'installing drbd-utils, lvm2, qemu' },
  { type: 'change', server: 'hv1', step: 'packages', description: 'apt-get install drbd-utils lvm2', dryRun: false },
  { type: 'step-finished', server: 'hv1', step: 'packages', status: 'changed', changes: ['apt-get install drbd-utils lvm2'], durationMs: 125_400 },
  { type: 'step-started', server: 'hv1', step: 'drbd', title: 'initial DRBD sync' },
  { type: 'progress', server: 'hv1', step: 'drbd', percent: 42.5, text: 'full sync 435 MiB of 1 GiB' },
];

