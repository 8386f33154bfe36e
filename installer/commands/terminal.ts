/** Whether a person is at a terminal to answer questions: the one test every command uses. */
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
