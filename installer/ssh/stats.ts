/**
 * A process-wide record of the SSH counters of every connection opened, for the benchmark: with
 * HVCLUSTER_SSH_STATS=1 the CLI prints at exit one stderr line per server,
 *
 *   hvcluster-ssh-stats {"server":"hv1","handshakes":1,"channelOpens":1,"execs":1,"bytesUploaded":0}
 *
 * so that round trips can be counted from outside the process. connect() registers its counters
 * object (the live one, so the numbers are final when read at exit).
 */
import type { Writable } from 'node:stream';
import type { SshCounters } from './types.js';

export const SSH_STATS_ENV = 'HVCLUSTER_SSH_STATS';
export const SSH_STATS_PREFIX = 'hvcluster-ssh-stats';

export interface ServerSshStats extends SshCounters {
  server: string;
}

const registered: { server: string; counters: SshCounters }[] = [];

/** Called by connect() for each connection attempt (jump hosts count in the target's handshakes). */
export function registerSshCounters(server: string, counters: SshCounters): void {
  registered.push({ server, counters });
}

/**
 * The counters since the last call, summed per server (a server connected to twice sums both),
 * in the order the servers were first connected to; clears the record.
 */
export function takeSshStats(): ServerSshStats[] {
  const byServer = new Map<string, ServerSshStats>();
  for (const { server, counters } of registered.splice(0)) {
    const s = byServer.get(server) ?? { server, handshakes: 0, channelOpens: 0, execs: 0, bytesUploaded: 0 };
    s.handshakes += counters.handshakes;
    s.channelOpens += counters.channelOpens;
    s.execs += counters.execs;
    s.bytesUploaded += counters.bytesUploaded;
    byServer.set(server, s);
  }
  return [...byServer.values()];
}

/** The CLI's exit hook: prints the stats lines when HVCLUSTER_SSH_STATS=1, and always clears the record. */
export function reportSshStats(streams: { stderr: Writable; env: NodeJS.ProcessEnv }): void {
  const stats = takeSshStats();
  if (streams.env[SSH_STATS_ENV] !== '1') return;
  for (const s of stats) streams.stderr.write(`${SSH_STATS_PREFIX} ${JSON.stringify(s)}\n`);
}

/** Parses the lines reportSshStats printed (for the benchmark). */
export function parseSshStats(stderr: string): ServerSshStats[] {
  const out: ServerSshStats[] = [];
  for (const line of stderr.split('\n')) {
    if (line.startsWith(`${SSH_STATS_PREFIX} `)) out.push(JSON.parse(line.slice(SSH_STATS_PREFIX.length + 1)) as ServerSshStats);
  }
  return out;
}
