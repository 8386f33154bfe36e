/**
 * The network: the management NIC moves under the bridge (keeping its address), the replication
 * NIC gets its address and MTU. The change cuts the SSH session that makes it, so it runs detached
 * on the server inside a "network window" (installer/remote/net-window.sh): the pending change and
 * its backup are recorded on the server's disk first, a timer restores the previous configuration
 * unless the installer confirms the new one in time, and a boot unit restores it if the server
 * restarts before the confirmation. The confirmation proves the new configuration (bridge address,
 * default route, replication address and MTU) and is one locked command on the server: it cannot
 * succeed once a revert has fired, and no revert fires after it.
 */
import { join } from 'node:path';
import { desiredContent } from '../../plan/diff.js';
import { REMOTE_DIR } from '../../paths.js';
import type { NetworkModel } from '../../plan/model.js';
import { scriptText, type Action, type ArgvAction, type Change } from '../change.js';
import type { Host } from '../host.js';
import { changeOf, readValue, StepRefusedError, waitFor, type StepKind, type StepPlan } from './step.js';

/** Seconds after which the server restores its previous network unless the installer confirmed the new one. */
export const REVERT_AFTER_S = Number(process.env.HVCLUSTER_NET_REVERT_S ?? 150);
/** How long the installer tries to reconnect and confirm after the change. */
export const RECONNECT_MS = Number(process.env.HVCLUSTER_NET_RECONNECT_S ?? 90) * 1000;

export const NET_WINDOW_SCRIPT = join(REMOTE_DIR, 'net-window.sh');
/** The window's state on the server: persistent, so a restart inside the window still reverts. */
export const NET_WINDOW_DIR = '/var/lib/hvcluster/net-window';
const SERVER_SCRIPT = `${NET_WINDOW_DIR}/net-window.sh`;

const NETWORK_FILES = ['/etc/network/interfaces', '/etc/netplan/60-hvcluster.yaml'];

/** What `net-window.sh confirm` printed. */
export type ConfirmState =
  | { state: 'confirmed' }
  | { state: 'reverted'; by: 'timer' | 'boot'; at: string }
  | { state: 'applying' }
  | { state: 'apply-failed'; result: string }
  | { state: 'none' }
  | { state: 'unproven'; missing: string[] };

/** Parses the output of `net-window.sh confirm`. Pure. */
export function parseConfirm(stdout: string): ConfirmState {
  const lines = stdout
    .split('\n')
    .map((l) => l.trim())
    .filter(Boolean);
  const missing = lines.filter((l) => l.startsWith('missing ')).map((l) => l.slice('missing '.length));
  if (missing.length > 0) return { state: 'unproven', missing };
  const [word, ...rest] = (lines[lines.length - 1] ?? '').split(/\s+/);
  if (word === 'confirmed' || word === 'applying' || word === 'none') return { state: word };
  if (word === 'apply-failed') return { state: 'apply-failed', result: rest.join(' ') || 'unknown' };
  if (word === 'reverted' && (rest[0] === 'timer' || rest[0] === 'boot')) return { state: 'reverted', by: rest[0], at: rest.slice(1).join(' ') };
  return { state: 'unproven', missing: [`an answer from the confirmation (it printed ${JSON.stringify(stdout.slice(0, 200))})`] };
}

/** The revert marker's content (`timer|boot WHEN`), or null. Pure. */
export function parseRevertMarker(stdout: string): { by: 'timer' | 'boot'; at: string } | null {
  const [by, ...at] = stdout.trim().split(/\s+/);
  return by === 'timer' || by === 'boot' ? { by, at: at.join(' ') } : null;
}

/** The pending window recorded on the server (key=value lines), or null. Pure. */
export function parsePending(text: string): { run: string; deadline: number | null } | null {
  const fields = new Map(
    text
      .split('\n')
      .map((l) => /^([a-z]+)=(.*)$/.exec(l.trim()))
      .filter((m): m is RegExpExecArray => m !== null)
      .map((m) => [m[1]!, m[2]!]),
  );
  const run = fields.get('run');
  if (!run) return null;
  const deadline = Number(fields.get('deadline'));
  return { run, deadline: Number.isFinite(deadline) && deadline > 0 ? deadline : null };
}

/** Why the installer did not confirm, when the server reverted. */
export type NotConfirmed = { kind: 'unreachable' } | { kind: 'unproven'; missing: string[] } | { kind: 'apply-failed'; result: string; unit: string };

/** The step's error message and hint once the server reverted (or did not come back). Pure. */
export function revertMessage(why: NotConfirmed, revert: { by: 'timer' | 'boot' } | null, revertAfterS: number): { message: string; hint: string } {
  const cause =
    why.kind === 'unreachable'
      ? 'the new network configuration cut the server off'
      : why.kind === 'unproven'
        ? `the new network configuration did not come up as planned (missing: ${why.missing.join('; ')})`
        : `the network change failed on the server (systemd unit ${why.unit}: ${why.result})`;
  if (revert === null) {
    return {
      message: `${cause} and the server has not come back, even after its automatic revert was due (${revertAfterS} s after the change)`,
      hint: `reach the server on its console: the previous network file is kept under /var/backups/hvcluster/, the pending change under ${NET_WINDOW_DIR}/`,
    };
  }
  if (revert.by === 'boot') {
    return {
      message: `the server restarted inside the network window, before the new configuration was confirmed; it restored its previous network configuration at boot and is reachable on it again`,
      hint: 'nothing was built on the new network; run apply again (check the server’s console or journal for why it restarted)',
    };
  }
  return {
    message: `${cause}; the server restored its previous network by itself and is reachable again`,
    hint:
      why.kind === 'apply-failed'
        ? `see \`journalctl -u ${why.unit}\` on the server for the error, correct it, then run apply again`
        : 'check the management interface, address and gateway in the answer file against the server, then run apply again',
  };
}

/** `net-window.sh confirm` arguments for this node's network. */
export function confirmArgs(runId: string, network: NetworkModel): string[] {
  return [runId, network.bridge, network.management.cidr, network.gateway ?? '-', network.replicationInterface, network.replication.cidr, String(network.replicationMtu)];
}

/** The server copy of net-window.sh with its arguments (the timer and the boot unit run that copy). Pure. */
export function windowAction(args: readonly string[]): ArgvAction {
  return { argv: ['/bin/sh', SERVER_SCRIPT, ...args] };
}

/** The window's directory (root only) and the server copy of net-window.sh. Pure. */
function installWindowScript(): Action[] {
  return [
    { argv: ['install', '-d', '-m', '0700', NET_WINDOW_DIR] },
    { upload: SERVER_SCRIPT, content: scriptText('net-window.sh'), mode: 0o700, owner: 'root:root' },
  ];
}

interface NetworkPlan extends StepPlan {
  /** Confirm a window an interrupted run left open, or make the change. */
  kind?: 'confirm-left' | 'change';
  run?: string;
  due?: string;
}

export const networkStep: StepKind<NetworkPlan> = {
  scope: 'node',
  reads: ['files', 'netWindow'],
  plan(input) {
    const node = input.self.node;
    const file = node.files.find((f) => NETWORK_FILES.includes(f.path));
    if (!file) return { changes: [] };
    const network = node.model.network;
    const current = readValue(input, input.self, 'files').get(file.path) ?? null;
    const desired = desiredContent(file, current);
    const left = readValue(input, input.self, 'netWindow');

    if (left !== null) {
      const due = left.deadline === null ? 'when its timer fires' : `at ${new Date(left.deadline * 1000).toISOString()}`;
      if (current !== desired) {
        throw new StepRefusedError(
          node.name,
          input.step.name,
          `a network change of run ${left.run} is still waiting for its confirmation on the server, with another configuration than this run's; the server restores its previous network ${due}`,
          'run apply again once that time has passed',
        );
      }
      // The configuration in force is this run's and we are connected over it: the window an
      // interrupted run left open is closed, if the configuration is proven.
      return {
        kind: 'confirm-left',
        run: left.run,
        due,
        changes: [
          changeOf(input, input.self, `confirm the network change left unconfirmed by run ${left.run} (the server would restore its previous network ${due})`, [
            ...installWindowScript(),
            windowAction(['confirm', ...confirmArgs(left.run, network)]),
          ]),
        ],
      };
    }
    if (current === desired) return { changes: [] };

    const staged = `${file.path}.hvcluster-new`;
    const backup = current === null ? '-' : `${input.backupDir}${file.path}`;
    const mode = file.path.startsWith('/etc/netplan/') ? 'netplan' : 'ifupdown';
    return {
      kind: 'change',
      changes: [
        changeOf(
          input,
          input.self,
          `reconfigure the network (${file.purpose}); the server restores its previous network by itself after ${REVERT_AFTER_S} s, or at boot if it restarts, unless the installer confirms the new one`,
          [
            // The file in force is kept in the run's backup directory, the new one staged beside it.
            { script: 'prepare-file.sh', args: [current === null ? '-' : input.backupDir, file.path] },
            { upload: staged, content: desired, mode: file.mode, owner: file.owner },
            ...installWindowScript(),
            // Records the pending change on disk, schedules the revert, then starts the change detached.
            windowAction(['arm', input.runId, file.path, staged, backup, mode, String(REVERT_AFTER_S)]),
          ],
        ),
      ],
    };
  },
  async perform(hosts, plan, input) {
    const [change] = plan.changes;
    if (!change) return;
    const host = hosts.get(change.server)!;
    if (plan.kind === 'confirm-left') await confirmLeft(host, change, plan.run!);
    else await changeNetwork(host, change, input.runId, input.self.node.model.network);
  },
};

/** Runs every action of the change but its last, which it returns. */
async function allButLast(io: { perform(a: Action): Promise<unknown> }, change: Change): Promise<ArgvAction> {
  for (const action of change.actions.slice(0, -1)) await io.perform(action);
  return change.actions[change.actions.length - 1] as ArgvAction;
}

async function confirmLeft(host: Host, change: Change, run: string): Promise<void> {
  const outcome = await host.procedure(change, async (io) => parseConfirm((await io.run(await allButLast(io, change))).stdout));
  if (outcome === undefined || outcome.state === 'confirmed') return;
  if (outcome.state === 'reverted') throw new StepRefusedError(host.server, host.step, `the network change of run ${run} was reverted by the server (${outcome.by}, ${outcome.at}) while this run read it`, 'run apply again');
  throw new StepRefusedError(
    host.server,
    host.step,
    `the network change left by run ${run} is in force but not proven (${outcome.state === 'unproven' ? `missing: ${outcome.missing.join('; ')}` : outcome.state}); the server restores its previous network when its timer fires`,
    'run apply again once that time has passed',
  );
}

async function changeNetwork(host: Host, change: Change, runId: string, network: NetworkModel): Promise<void> {
  const applyUnit = `hvcluster-net-apply-${runId}`;
  const changed = await host.procedure(change, async (io) => {
    const armed = await io.run(await allButLast(io, change), { allowFailure: true });
    if (armed.stdout.trim() !== 'armed') {
      throw new StepRefusedError(host.server, host.step, `could not open the network window on the server: ${(armed.stdout + armed.stderr).trim() || `exit ${armed.exitCode}`}`, 'run apply again; if it persists, look at /var/lib/hvcluster/net-window/ on the server');
    }
    return true;
  });
  if (!changed) return; // dry run

  host.log('network change started; reconnecting to confirm the new configuration');
  let last: ConfirmState | undefined;
  const outcome = await waitFor(
    'the new network configuration',
    async () => {
      try {
        await host.reconnect(15_000);
        last = parseConfirm((await host.read(windowAction(['confirm', ...confirmArgs(runId, network)]))).stdout);
        return last.state === 'applying' || last.state === 'unproven' ? undefined : last;
      } catch {
        return undefined;
      }
    },
    { timeoutMs: RECONNECT_MS, intervalMs: 2000 },
  ).catch(() => undefined);

  if (outcome?.state === 'confirmed') {
    host.log('reconnected over the new network and proved it (bridge address, route, replication address and MTU); automatic revert cancelled');
    return;
  }
  if (outcome?.state === 'none') {
    throw new StepRefusedError(host.server, host.step, `the network window of run ${runId} is missing on the server (neither pending, confirmed nor reverted)`, `look at ${NET_WINDOW_DIR}/ and /etc/network/interfaces on the server`);
  }
  const why: NotConfirmed =
    outcome?.state === 'apply-failed'
      ? { kind: 'apply-failed', result: outcome.result, unit: `${applyUnit}.service` }
      : last?.state === 'unproven'
        ? { kind: 'unproven', missing: last.missing }
        : { kind: 'unreachable' };
  if (why.kind !== 'unreachable') {
    // Reachable, but the change failed or is not as planned: no reason to wait for the timer.
    await host
      .mutate(`revert the network change now (${why.kind === 'apply-failed' ? 'it failed' : 'it did not come up as planned'})`, { argv: ['systemctl', 'start', '--no-block', `hvcluster-net-revert-${runId}.service`] }, { allowFailure: true })
      .catch(() => undefined);
  }
  const revert = outcome?.state === 'reverted' ? outcome : await awaitRevert(host, runId);
  const { message, hint } = revertMessage(why, revert, REVERT_AFTER_S);
  throw new StepRefusedError(host.server, host.step, message, hint);
}

/** The installer could not confirm: wait for the server's own revert (timer or boot) and return how it happened. */
async function awaitRevert(host: Host, runId: string): Promise<{ by: 'timer' | 'boot' } | null> {
  host.log(`could not confirm the new network of ${host.server}; waiting for the server to restore its previous network (at most ${REVERT_AFTER_S} s after the change)`, 'warn');
  const marker = `${NET_WINDOW_DIR}/reverted-${runId}`;
  try {
    return await waitFor(
      'the automatic revert',
      async () => {
        try {
          await host.reconnect(15_000);
          const result = await host.read({ argv: ['cat', marker] }, { allowFailure: true });
          return result.exitCode === 0 ? (parseRevertMarker(result.stdout) ?? undefined) : undefined;
        } catch {
          return undefined;
        }
      },
      { timeoutMs: (REVERT_AFTER_S + 60) * 1000, intervalMs: 3000 },
    );
  } catch {
    return null;
  }
}
