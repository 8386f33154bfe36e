/** Whether a person is at a terminal to answer questions: the one test every command uses. */
import { createInterface } from 'node:readline';
import type { Readable } from 'node:stream';
import { InterruptedError } from '../engine/runner.js';
import { EXIT } from '../errors.js';
import type { Streams } from '../output.js';

/** CI set (even empty, as ink reads it: then ink shows nothing until it exits), unless 0 or false. */
export function inCi(env: NodeJS.ProcessEnv): boolean {
  const set = (key: string) => key in env && env[key] !== '0' && env[key] !== 'false';
  return set('CI') || set('CONTINUOUS_INTEGRATION');
}

/** A question can be asked: stdin and the stream it is asked on are TTYs, and CI is not set. */
export function canAsk(streams: Streams, on: 'stdout' | 'stderr' = 'stderr'): boolean {
  return Boolean(process.stdin.isTTY && (streams[on] as { isTTY?: boolean }).isTTY) && !inCi(streams.env);
}

/**
 * Asks one question on the terminal and resolves with the line typed. Ctrl-C at the question is an
 * interruption (InterruptedError: exit 130, like Ctrl-C anywhere else), not a "no" and not a bug;
 * the end of the input (Ctrl-D) answers with an empty line.
 */
export function askLine(streams: Streams, question: string, input: Readable & { isTTY?: boolean } = process.stdin): Promise<string> {
  const rl = createInterface({ input, output: streams.stderr, terminal: Boolean(input.isTTY) || input !== process.stdin });
  return new Promise<string>((resolve, reject) => {
    let settled = false;
    const settle = (fn: () => void) => {
      if (settled) return;
      settled = true;
      fn();
      rl.close();
    };
    rl.once('SIGINT', () =>
      settle(() => {
        streams.stderr.write('\n');
        reject(new InterruptedError('interrupted at the question; nothing was changed by it'));
      }),
    );
    rl.once('close', () => settle(() => resolve('')));
    rl.question(question, (answer) => settle(() => resolve(answer)));
  });
}

/**
 * The first Ctrl-C (or SIGTERM) asks the running work to stop at its next safe point (apply: between
 * steps; the migration test: at its next phase, then its clean-up) and says so; a second one exits
 * at once with 130. `dispose` removes the handlers.
 */
export function stopOnSignals(warn: (message: string) => void, what: string): { readonly requested: boolean; dispose(): void } {
  let requested = false;
  const onSignal = () => {
    if (requested) process.exit(EXIT.interrupted);
    requested = true;
    warn(`${what} (press Ctrl-C again to stop now)`);
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  return {
    get requested() {
      return requested;
    },
    dispose() {
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
    },
  };
}
