/** Small remote helpers of the migration test; every mutation still goes through the guard. */
import type { Host } from '../../engine/host.js';
import { waitFor } from '../../engine/steps/step.js';
import type { ExecResult } from '../../ssh/types.js';

/**
 * A mutation that may need a few tries (e.g. `drbdadm secondary` while QEMU is still closing the
 * device): recorded once by the guard, retried until it exits 0 or the deadline passes.
 */
export async function mutateUntil(ctx: Host, description: string, argv: readonly string[], timeoutMs: number): Promise<void> {
  await ctx.procedure({ server: ctx.server, step: ctx.step, description, actions: [{ argv }] }, async (io) => {
    let last: ExecResult | undefined;
    try {
      await waitFor(
        description,
        async () => {
          last = await io.run({ argv, timeoutMs: Math.max(timeoutMs, 10_000) }, { allowFailure: true });
          return last.exitCode === 0 ? true : undefined;
        },
        { timeoutMs, intervalMs: 300 },
      );
    } catch (error) {
      const stderr = last?.stderr.trim().split('\n').slice(0, 3).join(' / ');
      throw new Error(`${ctx.server}: ${description}: ${error instanceof Error ? error.message : String(error)}${stderr ? `; last error: ${stderr}` : ''}`);
    }
  });
}

/** The first line of an error, for reports. */
export function firstLine(error: unknown): string {
  const message = error instanceof Error ? error.message : String(error);
  const stderr = (error as { stderr?: unknown } | null)?.stderr;
  const detail = typeof stderr === 'string' && stderr.trim() !== '' && !message.includes(stderr.trim()) ? `: ${stderr.trim().split('\n')[0]}` : '';
  return `${message.split('\n').slice(0, 2).join(' / ')}${detail}`;
}
