/**
 * The server-side half of an exec timeout. Closing the channel (and sshd's signal request) stops
 * only the session's shell: children it forked, and anything run through sudo, would live on.
 * GNU `timeout` runs the command in its own process group and signals the whole group, as the
 * right user (inside sudo it is root), so a timed-out command really stops on the server.
 */
import { shellQuote } from './quote.js';

/** Grace between the client giving up and the server-side TERM, so the client reports first. */
export const REMOTE_TIMEOUT_GRACE_S = 1;
/** Between TERM and KILL on the server. */
export const REMOTE_KILL_AFTER_S = 5;
/** Longer timeouts are not enforced on the server (a day: effectively "no timeout"). */
const MAX_REMOTE_TIMEOUT_S = 86_400;

export function withRemoteTimeout(command: string, timeoutMs: number): string {
  if (!Number.isFinite(timeoutMs) || timeoutMs <= 0) return command;
  const seconds = Math.ceil(timeoutMs / 1000) + REMOTE_TIMEOUT_GRACE_S;
  if (seconds > MAX_REMOTE_TIMEOUT_S) return command;
  return `timeout -k ${REMOTE_KILL_AFTER_S} ${seconds} sh -c ${shellQuote(command)}`;
}
