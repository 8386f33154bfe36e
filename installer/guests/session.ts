/**
 * What the day-after commands that change servers (`guest migrate`, `node drain|resume`) share with
 * apply: one connection per node, the cluster lock (one run at a time changes the cluster) taken
 * with the one read they decide on (volumes and guests of every node), every command they send in a
 * run log (secrets redacted), every change through the guard as an event. The caller decides from
 * the reads and acts through the hosts.
 */
import { join } from 'node:path';
import type { LoadedAnswers } from '../answers/load.js';
import { formatIssue } from '../answers/issues.js';
import type { Answers } from '../answers/schema.js';
import { ConnectionError } from '../errors.js';
import { lockCluster, thisHolder } from '../engine/cluster-lock.js';
import type { EventSink } from '../engine/events.js';
import { Guard } from '../engine/guard.js';
import { Host, type HostSession } from '../engine/host.js';
import { readLabel, readScript } from '../engine/read-batch.js';
import { RunLog, defaultLogDir } from '../engine/run-log.js';
import { newRunId } from '../services/run-id.js';
import { openConnections, runSecrets, serversFromOptions, type ConnectionOptions, type SecretNeeds } from '../commands/connect.js';
import type { Reporter, Streams } from '../output.js';
import { shellQuote } from '../ssh/quote.js';
import type { ServerConnection } from '../ssh/types.js';
import type { NodeRead } from './moves.js';
import { guestReadDefinitions, nodeReadOf } from './perform-moves.js';

export interface GuestSession {
  answers: Answers;
  loaded: LoadedAnswers;
  runId: string;
  reads: Map<string, NodeRead>;
  hosts: Map<string, Host>;
  log: RunLog;
}

/** The reads of every node, made without the cluster lock (the lock's shape: nothing to release). */
async function readWithoutLock(connections: ReadonlyMap<string, ServerConnection>, batch: ReadonlyMap<string, { script: string; label: string }>): Promise<{ reads: Map<string, { stdout: string }>; release: () => Promise<void> }> {
  const reads = new Map<string, { stdout: string }>();
  await Promise.all(
    [...batch].map(async ([node, read]) => {
      const r = await connections.get(node)!.exec(`sh -c ${shellQuote(read.script)}`, { sudo: true, secretOutput: true, timeoutMs: 120_000, logAs: read.label });
      reads.set(node, { stdout: r.stdout });
    }),
  );
  return { reads, release: async () => undefined };
}

/** What a session reads of every node besides its volumes and guests. */
export interface SessionReads {
  /** The volume group's snapshots (the snapshot commands). */
  snapshots?: boolean;
  /**
   * false: read without taking the cluster lock (a backup run may take hours and must not block
   * migrations; the node-side script checks again, under the repository's own lock, that the guest
   * is still Primary there). Default: the lock, taken with the reads.
   */
  lock?: boolean;
  /** The answer file's secrets the command reads besides the SSH ones (the backup commands: the passphrase). Default: none. */
  secrets?: SecretNeeds;
}

/** Opens the session, runs `work`, releases the lock and closes the connections whatever happens. */
export async function withGuestSession<T>(options: ConnectionOptions, streams: Streams, reporter: Reporter, command: string, emit: EventSink, work: (session: GuestSession) => Promise<T>, extra: SessionReads = {}): Promise<T> {
  const servers = await serversFromOptions(options, streams.env, extra.secrets);
  const loaded = servers.answers!;
  const answers = loaded.answers;
  for (const warning of loaded.warnings) reporter.warn(formatIssue(warning));
  const runId = newRunId();
  const log = new RunLog(join(defaultLogDir(streams.env), `${answers.metadata.name}-${runId}-${command.replaceAll(' ', '-')}.log`), runSecrets(servers));
  log.write('hvcluster', `${command} -f ${loaded.file}: run ${runId}`);
  const { opened, failures } = await openConnections(servers.targets, options, streams);
  try {
    if (failures.length > 0) {
      const first = failures[0]!;
      throw first.error instanceof Error ? first.error : new ConnectionError(first.server, String(first.error));
    }
    const connections = new Map([...opened].map(([server, conn]) => [server, log.wrap(conn)]));
    const nodes = answers.spec.nodes.map((n) => n.name);
    const defs = (node: string) => guestReadDefinitions(answers, node, extra.snapshots === true);
    const batch = new Map(nodes.map((n) => [n, { script: readScript(defs(n)), label: readLabel(defs(n)) }]));
    const lock =
      extra.lock === false
        ? await readWithoutLock(connections, batch)
        : await lockCluster(
            nodes.map((n) => connections.get(n)!),
            answers.metadata.name,
            thisHolder(runId, command),
            `\`hvcluster apply -f ${loaded.file} --force-unlock\``,
            batch,
          );
    try {
      const reads = new Map<string, NodeRead>();
      for (const node of nodes) {
        reads.set(node, nodeReadOf(node, lock.reads.get(node)?.stdout ?? '', defs(node), extra.snapshots === true));
      }
      const hostSession: HostSession = {
        runId,
        dryRun: false,
        guard: new Guard(false, emit),
        emit,
        backupRoot: '/var/backups/hvcluster',
        connection: (server: string): ServerConnection => connections.get(server)!,
        reconnect: () => Promise.reject(new Error(`${command} does not reconnect`)),
      };
      const hosts = new Map(nodes.map((n) => [n, new Host(hostSession, n, command)]));
      return await work({ answers, loaded, runId, reads, hosts, log });
    } finally {
      await lock.release().catch(() => undefined);
    }
  } finally {
    await Promise.all([...opened.values()].map((c) => c.close().catch(() => undefined)));
  }
}
