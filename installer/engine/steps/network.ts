/**
 * The network: the management NIC moves under the bridge (keeping its address), the replication
 * NIC gets its address and MTU. The change cuts the SSH session that makes it, so it runs detached
 * on the server, behind an automatic revert scheduled first: the server restores its previous
 * configuration by itself unless the installer reconnects and cancels the revert in time.
 */
import { shellQuote } from '../../ssh/quote.js';
import type { StepContext } from '../context.js';
import { backupCommand, readFilesAnd } from '../files.js';
import { StepRefusedError, waitFor, type StepKind } from './step.js';

/** Seconds after which the server restores its previous network unless the installer cancelled it. */
export const REVERT_AFTER_S = Number(process.env.HVCLUSTER_NET_REVERT_S ?? 150);
/** How long the installer tries to reconnect after the change. */
export const RECONNECT_MS = Number(process.env.HVCLUSTER_NET_RECONNECT_S ?? 90) * 1000;

const NETWORK_FILES = ['/etc/network/interfaces', '/etc/netplan/60-hvcluster.yaml'];

export function networkScripts(options: { runId: string; path: string; staged: string; backup: string | null; netplan: boolean }) {
  const dir = '/run/hvcluster';
  const reverted = `${dir}/net-reverted-${options.runId}`;
  const down = options.netplan ? '' : 'ifdown -a --exclude=lo --force >/dev/null 2>&1 || true\n';
  const up = options.netplan ? 'netplan apply' : 'ifup -a --exclude=lo';
  const restore = options.backup === null ? `rm -f ${shellQuote(options.path)}` : `cp -a ${shellQuote(options.backup)} ${shellQuote(options.path)}`;
  const apply = `#!/bin/sh\n# hvcluster ${options.runId}: apply the new network configuration\n${down}cp ${shellQuote(options.staged)} ${shellQuote(options.path)}\n${up}\n`;
  const revert =
    `#!/bin/sh\n# hvcluster ${options.runId}: the installer did not come back: restore the previous network\n` +
    `systemctl stop hvcluster-net-apply-${options.runId}.service 2>/dev/null\n${down}${restore}\n${up}\necho "$(date -Is)" > ${reverted}\n`;
  return { dir, apply, revert, reverted, applyPath: `${dir}/net-apply-${options.runId}.sh`, revertPath: `${dir}/net-revert-${options.runId}.sh` };
}

export const networkStep: StepKind = {
  scope: 'node',
  async run(ctx: StepContext) {
    const file = ctx.node.files.find((f) => NETWORK_FILES.includes(f.path));
    if (!file) return;
    // The file and any revert timer left pending by an interrupted run, in one read.
    const read = await readFilesAnd(ctx, [file.path], "systemctl list-timers --all --no-legend 'hvcluster-net-revert-*' 2>/dev/null | grep -o 'hvcluster-net-revert-[^ ]*\\.timer' || true");
    const current = read.files.get(file.path) ?? null;
    if (current === file.content) {
      // In force and we are connected over it: a revert still pending from an interrupted run
      // (installer killed, connection lost) would undo a working network, so it is cancelled.
      const timers = read.more.split('\n').map((l) => l.trim()).filter(Boolean);
      if (timers.length > 0) await ctx.mutate(`cancel the automatic network revert left by an interrupted run (${timers.join(', ')})`, `systemctl stop ${timers.join(' ')}`);
      return;
    }

    const runId = ctx.run.runId;
    const staged = `${file.path}.hvcluster-new`;
    const backup = current === null ? null : `${ctx.backupDir}${file.path}`;
    const scripts = networkScripts({ runId, path: file.path, staged, backup, netplan: file.path.startsWith('/etc/netplan/') });
    const revertUnit = `hvcluster-net-revert-${runId}`;
    const applyUnit = `hvcluster-net-apply-${runId}`;
    const changed = await ctx.change(
      `reconfigure the network (${file.purpose}); reverts by itself after ${REVERT_AFTER_S} s unless the installer reconnects`,
      async () => {
        await ctx.conn.exec(`mkdir -p ${scripts.dir} && ${current === null ? 'true' : backupCommand(ctx.backupDir, [file.path])}`, { sudo: true, step: ctx.step });
        await ctx.conn.upload(staged, file.content, { mode: file.mode, owner: file.owner, sudo: true });
        await ctx.conn.upload(scripts.applyPath, scripts.apply, { mode: 0o700, sudo: true });
        await ctx.conn.upload(scripts.revertPath, scripts.revert, { mode: 0o700, sudo: true });
        // The revert is scheduled before the change, and the change runs detached from this session.
        await ctx.conn.exec(
          `systemd-run --quiet --unit=${revertUnit} --on-active=${REVERT_AFTER_S} /bin/sh ${scripts.revertPath} && ` +
            `systemd-run --quiet --unit=${applyUnit} /bin/sh ${scripts.applyPath}`,
          { sudo: true, step: ctx.step },
        );
        return true;
      },
    );
    if (!changed) return; // dry run

    ctx.log('network change started; reconnecting');
    let confirmed = false;
    try {
      await waitFor(
        'the new network configuration',
        async () => {
          try {
            const conn = await ctx.reconnect(15_000);
            const state = await conn.exec(`systemctl show -p ActiveState --value ${applyUnit}.service; systemctl show -p Result --value ${applyUnit}.service`, {
              sudo: true,
              step: ctx.step,
              allowFailure: true,
            });
            const [active, result] = state.stdout.trim().split('\n');
            if (active === 'activating' || active === 'active') return undefined;
            if (result !== 'success') throw new StepRefusedError(ctx.server, ctx.step, `the network change failed on the server (systemd unit ${applyUnit}: ${result})`);
            return true;
          } catch (error) {
            if (error instanceof StepRefusedError) throw error;
            return undefined;
          }
        },
        { timeoutMs: RECONNECT_MS, intervalMs: 2000 },
      );
      await ctx.conn.exec(`systemctl stop ${revertUnit}.timer ${revertUnit}.service 2>/dev/null; rm -f ${shellQuote(staged)}; true`, { sudo: true, step: ctx.step });
      confirmed = true;
      ctx.log('reconnected over the new network; automatic revert cancelled');
    } finally {
      if (!confirmed) await reportRevert(ctx, scripts.reverted);
    }
  },
};

/** The installer could not come back: wait for the server's own revert, and say what happened. */
async function reportRevert(ctx: StepContext, marker: string): Promise<never> {
  ctx.log(`could not reconnect to ${ctx.server}; waiting for the server to restore its previous network (at most ${REVERT_AFTER_S} s after the change)`, 'warn');
  let reverted = false;
  try {
    await waitFor(
      'the automatic revert',
      async () => {
        try {
          const conn = await ctx.reconnect(15_000);
          const result = await conn.exec(`cat ${marker}`, { sudo: true, allowFailure: true, step: ctx.step });
          return result.exitCode === 0 ? true : undefined;
        } catch {
          return undefined;
        }
      },
      { timeoutMs: (REVERT_AFTER_S + 60) * 1000, intervalMs: 3000 },
    );
    reverted = true;
  } catch {
    reverted = false;
  }
  throw new StepRefusedError(
    ctx.server,
    ctx.step,
    reverted
      ? 'the new network configuration cut the server off; the server restored its previous network by itself and is reachable again'
      : 'the new network configuration cut the server off and the server has not come back, even after its automatic revert was due',
    reverted
      ? 'check the management interface, address and gateway in the answer file against the server, then run apply again'
      : 'reach the server on its console: the previous /etc/network/interfaces is kept under /var/backups/hvcluster/',
  );
}
