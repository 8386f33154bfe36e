/** The shape of a step kind: per node (servers in parallel), or over the whole cluster at once. */
import { EXIT, HvError } from '../../errors.js';
import type { StepContext } from '../context.js';
import type { PlaybookStep } from '../playbook.js';

export type StepKind =
  | { scope: 'node'; run(ctx: StepContext, step: PlaybookStep): Promise<void> }
  | { scope: 'cluster'; run(ctxs: StepContext[], step: PlaybookStep): Promise<void> };

/** A step found the server in a state it must not change (a disk with data, a foreign VG...). */
export class StepRefusedError extends HvError {
  readonly exitCode = EXIT.checksFailed;
  readonly kind = 'step-refused';
  constructor(
    readonly server: string,
    readonly step: string,
    message: string,
    hint?: string,
  ) {
    super(`${server}: step "${step}": ${message}`, hint ? { hint } : {});
  }
}

/** Polls `probe` until it returns a value (not undefined) or the deadline passes. */
export async function waitFor<T>(what: string, probe: () => Promise<T | undefined>, options: { timeoutMs: number; intervalMs?: number }): Promise<T> {
  const deadline = Date.now() + options.timeoutMs;
  let interval = options.intervalMs ?? 500;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${Math.round(options.timeoutMs / 1000)} s waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, interval));
    interval = Math.min(interval * 1.5, 3000);
  }
}
