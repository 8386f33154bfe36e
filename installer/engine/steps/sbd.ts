/**
 * The watchdog fencing level (spec.ha.watchdog): sbd running beside Corosync on every node, before
 * the cluster-config step tells Pacemaker to count on it (stonith-watchdog-timeout: Pacemaker stops
 * on a node whose sbd does not run). sbd starts only with Corosync, so a node whose sbd is not
 * enabled, not running, or running on settings changed since it started gets its cluster stack
 * restarted (cluster-stack-restart.sh), one node at a time, its guests live-migrated to their other
 * node first (as `node drain` does: stopping Pacemaker would restart them elsewhere). A new cluster
 * needs none of this: the services step enables sbd before Corosync first starts.
 *
 * The plan shows one change per restart; apply records the live migrations inside it as changes of
 * their own (they are planned only once the previous node is back: its restart moved guests).
 *
 * Without spec.ha.watchdog a level left by an earlier apply is taken out in the reverse order:
 * Pacemaker stops counting on it (the property and hvcluster's topology levels removed), then
 * each node's stack restarts without sbd.
 */
import type { Answers } from '../../answers/schema.js';
import type { Change } from '../change.js';
import { cibObjects } from '../ha/cib.js';
import type { Host } from '../host.js';
import { planDrain, type NodeRead } from '../../guests/moves.js';
import { domainOf } from '../guest-state.js';
import { performMoves, readGuestsAndVolumes } from '../../guests/perform-moves.js';
import { fencingLevels, SBD_DEFAULTS } from '../../plan/ha.js';
import { guestResourceNames } from '../../plan/guest-model.js';
import { changeOf, readValue, waitFor, type NodeInput, type StepInput, type StepKind, type StepPlan } from './step.js';

/** A restart, and the node whose guests are live-migrated away first. */
interface SbdPlan extends StepPlan {
  restarts: { change: Change; node: string }[];
}

/** How long the guests' disks may take to resync after a node's restart, before the next node is emptied. */
const RESYNC_WAIT_MS = 15 * 60_000;

/** Whether every declared guest disk present on the nodes is Connected and UpToDate on both sides (a live migration needs it). Pure. */
export function guestDisksInSync(answers: Answers, reads: ReadonlyMap<string, NodeRead>): boolean {
  const names = guestResourceNames(answers);
  return [...reads.values()].every((r) => names.every((name) => {
    const v = r.volumes.byName.get(name);
    return !v?.lvPresent || (v.state.cstate === 'Connected' && v.state.dstate === 'UpToDate/UpToDate');
  }));
}

/**
 * Empties a node before its stack restarts: every guest running there live-migrated to its other
 * holder (stopping Pacemaker would stop it and start it again elsewhere: its disk allows one
 * Primary). Waits first for the guests' disks to be in sync (the previous node's restart resyncs them).
 */
async function drain(answers: Answers, host: (node: string) => Host, node: string): Promise<void> {
  let reads = await readGuestsAndVolumes(answers, host);
  const running = answers.spec.guests.filter((g) => domainOf(reads.get(node)!.guests, g.name).state === 'running');
  if (running.length === 0) return;
  if (!guestDisksInSync(answers, reads)) {
    host(node).log(`waiting for the guests' disks to be in sync before ${node}'s guests move away`);
    reads = await waitFor(
      "the guests' disks Connected and UpToDate on every node",
      async () => {
        const now = await readGuestsAndVolumes(answers, host);
        return guestDisksInSync(answers, now) ? now : undefined;
      },
      { timeoutMs: RESYNC_WAIT_MS, intervalMs: 5000 },
    );
  }
  await performMoves(answers, host, planDrain(answers, reads, node), (text) => host(node).log(text));
}

/** How long a node may take to be an online member again after its stack restarted, s. */
export const STACK_REJOIN_S = 300;
/** Stopping Pacemaker moves the node's resources (live migrations) first: the whole restart may take this long. */
const RESTART_TIMEOUT_MS = 30 * 60_000;

/** Why a node's stack must restart for the watchdog level, or null when sbd runs as planned. Pure. */
export function sbdRestartReason(input: StepInput, n: NodeInput): string | null {
  const sbd = readValue(input, n, 'sbd');
  if (!sbd.enabled) return 'sbd is not enabled';
  if (!sbd.active) return 'sbd is not running';
  if (sbd.config === 'newer') return `${SBD_DEFAULTS} changed after sbd started`;
  // A dry run: the files step would still write the settings, which sbd reads only as it starts.
  const planned = n.node.files.find((f) => f.path === SBD_DEFAULTS)?.content;
  const onNode = readValue(input, n, 'files').get(SBD_DEFAULTS);
  if (planned !== undefined && onNode !== planned) return `${SBD_DEFAULTS} changes`;
  return null;
}

function restart(input: StepInput, n: NodeInput, mode: 'with-sbd' | 'without-sbd', why: string): Change {
  const name = n.node.name;
  const qdevice = input.plan.ha?.witness ? 'yes' : 'no';
  return changeOf(input, n, `restart the cluster stack on ${name} ${mode === 'with-sbd' ? 'with' : 'without'} sbd (${why}), its guests live-migrated to their other node first`, [
    { script: 'cluster-stack-restart.sh', args: [mode, name, qdevice, String(STACK_REJOIN_S)], timeoutMs: RESTART_TIMEOUT_MS },
  ]);
}

export const sbdStep: StepKind<SbdPlan> = {
  scope: 'cluster',
  reads: ['sbd', 'files', 'cib'],
  plan(input) {
    const ha = input.plan.ha;
    if (!ha) return { changes: [], restarts: [] };
    if (ha.watchdog) {
      const restarts = input.nodes.flatMap((n) => {
        const why = sbdRestartReason(input, n);
        return why ? [{ change: restart(input, n, 'with-sbd', why), node: n.node.name }] : [];
      });
      return { changes: restarts.map((r) => r.change), restarts };
    }
    // No watchdog level wanted: what an earlier one left.
    const ours = new Set(fencingLevels(input.nodes.map((n) => n.node.name)).map((l) => l.id));
    const live = input.nodes.map((n) => ({ n, cib: readValue(input, n, 'cib') })).find((s) => s.cib.state === 'active');
    const cib = live && live.cib.state === 'active' ? cibObjects(live.cib.xml) : null;
    const timeout = cib?.properties['stonith-watchdog-timeout'];
    const levels = Object.keys(cib?.fencingLevels ?? {}).filter((id) => ours.has(id));
    const changes: Change[] = [];
    if (live && ((timeout !== undefined && timeout !== '0' && timeout !== '0s') || levels.length > 0)) {
      changes.push(
        changeOf(input, live.n, 'Pacemaker stops counting on the watchdog: stonith-watchdog-timeout and the watchdog fencing levels removed', [
          ...levels.map((id) => ({ argv: ['cibadmin', '--delete', '--scope', 'fencing-topology', '--xml-text', `<fencing-level id="${id}"/>`] })),
          ...(timeout !== undefined ? [{ argv: ['crm_attribute', '--type', 'crm_config', '--name', 'stonith-watchdog-timeout', '--delete'] }] : []),
        ]),
      );
    }
    const restarts = input.nodes.flatMap((n) => {
      const sbd = readValue(input, n, 'sbd');
      return sbd.enabled || sbd.active ? [{ change: restart(input, n, 'without-sbd', `spec.ha.watchdog is gone and sbd ${sbd.active ? 'runs' : 'is enabled'}`), node: n.node.name }] : [];
    });
    return { changes: [...changes, ...restarts.map((r) => r.change)], restarts };
  },
  async perform(hosts, plan, input) {
    const host = (node: string) => hosts.get(node)!;
    for (const change of plan.changes) {
      const restarting = plan.restarts.find((r) => r.change === change);
      if (restarting && !host(restarting.node).dryRun) await drain(input.answers, host, restarting.node);
      await host(change.server).perform(change);
    }
  },
};
