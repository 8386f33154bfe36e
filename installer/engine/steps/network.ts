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
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { desiredContent } from '../../plan/diff.js';
import type { NetworkModel } from '../../plan/model.js';
import { REMOTE_DIR } from '../../paths.js';
import { shellQuote } from '../../ssh/quote.js';
import type { StepContext } from '../context.js';
import { backupCommand, readFilesAnd } from '../files.js';
import { StepRefusedError, waitFor, type StepKind } from './step.js';

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

function windowCommand(args: string[]): string {
  return `/bin/sh ${SERVER_SCRIPT} ${args.map(shellQuote).join(' ')}`;
}

async function uploadScript(ctx: StepContext): Promise<void> {
  await ctx.conn.exec(`mkdir -p ${NET_WINDOW_DIR} && chmod 700 ${NET_WINDOW_DIR}`, { sudo: true, step: ctx.step });
  await ctx.conn.upload(SERVER_SCRIPT, readFileSync(NET_WINDOW_SCRIPT, 'utf8'), { mode: 0o700, owner: 'root:root', sudo: true });
}

export const networkStep: StepKind = {
  scope: 'node',
  async run(ctx: StepContext) {
    const file = ctx.node.files.find((f) => NETWORK_FILES.includes(f.path));
    if (!file) return;
    const network = ctx.node.model.network;
    // The file and any window left open by an interrupted run, in one read.
    const read = await readFilesAnd(ctx, [file.path], `cat ${NET_WINDOW_DIR}/pending 2>/dev/null || true`);
    const current = read.files.get(file.path) ?? null;
    const desired = desiredContent(file, current);
    const left = parsePending(read.more);

    if (left !== null) {
      const due = left.deadline === null ? 'when its timer fires' : `at ${new Date(left.deadline * 1000).toISOString()}`;
      if (current !== desired) {
        throw new StepRefusedError(
          ctx.server,
          ctx.step,
          `a network change of run ${left.run} is still waiting for its confirmation on the server, with another configuration than this run's; the server restores its previous network ${due}`,
          'run apply again once that time has passed',
        );
      }
      // The configuration in force is this run's and we are connected over it: the window an
      // interrupted run left open is closed, if the configuration is proven.
      let outcome: ConfirmState | undefined;
      await ctx.change(`confirm the network change left unconfirmed by run ${left.run} (the server would restore its previous network ${due})`, async () => {
        await uploadScript(ctx);
        outcome = parseConfirm((await ctx.conn.exec(windowCommand(['confirm', ...confirmArgs(left.run, network)]), { sudo: true, step: ctx.step })).stdout);
      });
      if (outcome === undefined || outcome.state === 'confirmed') return;
      if (outcome.state === 'reverted') throw new StepRefusedError(ctx.server, ctx.step, `the network change of run ${left.run} was reverted by the server (${outcome.by}, ${outcome.at}) while this run read it`, 'run apply again');
      throw new StepRefusedError(
        ctx.server,
        ctx.step,
        `the network change left by run ${left.run} is in force but not proven (${outcome.state === 'unproven' ? `missing: ${outcome.missing.join('; ')}` : outcome.state}); the server restores its previous network ${due}`,
        'run apply again once that time has passed',
      );
    }
    if (current === desired) return;

    const runId = ctx.run.runId;
    const staged = `${file.path}.hvcluster-new`;
    const backup = current === null ? '-' : `${ctx.backupDir}${file.path}`;
    const mode = file.path.startsWith('/etc/netplan/') ? 'netplan' : 'ifupdown';
    const applyUnit = `hvcluster-net-apply-${runId}`;
    const changed = await ctx.change(
      `reconfigure the network (${file.purpose}); the server restores its previous network by itself after ${REVERT_AFTER_S} s, or at boot if it restarts, unless the installer confirms the new one`,
      async () => {
        if (current !== null) await ctx.conn.exec(backupCommand(ctx.backupDir, [file.path]), { sudo: true, step: ctx.step });
        await ctx.conn.upload(staged, desired, { mode: file.mode, owner: file.owner, sudo: true });
        await uploadScript(ctx);
        // Records the pending change on disk, schedules the revert, then starts the change detached.
        const armed = await ctx.conn.exec(windowCommand(['arm', runId, file.path, staged, backup, mode, String(REVERT_AFTER_S)]), { sudo: true, step: ctx.step, allowFailure: true });
        if (armed.stdout.trim() !== 'armed') {
          throw new StepRefusedError(ctx.server, ctx.step, `could not open the network window on the server: ${(armed.stdout + armed.stderr).trim() || `exit ${armed.exitCode}`}`, 'run apply again; if it persists, look at /var/lib/hvcluster/net-window/ on the server');
        }
        return true;
      },
    );
    if (!changed) return; // dry run

    ctx.log('network change started; reconnecting to confirm the new configuration');
    let last: ConfirmState | undefined;
    const outcome = await waitFor(
      'the new network configuration',
      async () => {
        try {
          const conn = await ctx.reconnect(15_000);
          last = parseConfirm((await conn.exec(windowCommand(['confirm', ...confirmArgs(runId, network)]), { sudo: true, step: ctx.step })).stdout);
          return last.state === 'applying' || last.state === 'unproven' ? undefined : last;
        } catch {
          return undefined;
        }
      },
      { timeoutMs: RECONNECT_MS, intervalMs: 2000 },
    ).catch(() => undefined);

    if (outcome?.state === 'confirmed') {
      ctx.log('reconnected over the new network and proved it (bridge address, route, replication address and MTU); automatic revert cancelled');
      return;
    }
    if (outcome?.state === 'none') {
      throw new StepRefusedError(ctx.server, ctx.step, `the network window of run ${runId} is missing on the server (neither pending, confirmed nor reverted)`, `look at ${NET_WINDOW_DIR}/ and /etc/network/interfaces on the server`);
    }
    const why: NotConfirmed =
      outcome?.state === 'apply-failed'
        ? { kind: 'apply-failed', result: outcome.result, unit: `${applyUnit}.service` }
        : last?.state === 'unproven'
          ? { kind: 'unproven', missing: last.missing }
          : { kind: 'unreachable' };
    if (why.kind !== 'unreachable') {
      // Reachable, but the change failed or is not as planned: no reason to wait for the timer.
      await ctx.mutate(`revert the network change now (${why.kind === 'apply-failed' ? 'it failed' : 'it did not come up as planned'})`, `systemctl start --no-block hvcluster-net-revert-${runId}.service`, {
        allowFailure: true,
      }).catch(() => undefined);
    }
    const revert = outcome?.state === 'reverted' ? outcome : await awaitRevert(ctx, runId);
    const { message, hint } = revertMessage(why, revert, REVERT_AFTER_S);
    throw new StepRefusedError(ctx.server, ctx.step, message, hint);
  },
};

/** The installer could not confirm: wait for the server's own revert (timer or boot) and return how it happened. */
async function awaitRevert(ctx: StepContext, runId: string): Promise<{ by: 'timer' | 'boot' } | null> {
  ctx.log(`could not confirm the new network of ${ctx.server}; waiting for the server to restore its previous network (at most ${REVERT_AFTER_S} s after the change)`, 'warn');
  const marker = `${NET_WINDOW_DIR}/reverted-${runId}`;
  try {
    return await waitFor(
      'the automatic revert',
      async () => {
        try {
          const conn = await ctx.reconnect(15_000);
          const result = await conn.exec(`cat ${marker}`, { sudo: true, allowFailure: true, step: ctx.step });
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
