/**
 * Turning the connection flags of a command into live connections: targets from --host (or, later,
 * the answer file), host-key pins, secrets from environment variables, and the host-key question
 * asked on the terminal only when a person is there to answer it.
 */
import { appendFileSync, existsSync, mkdirSync, readFileSync } from 'node:fs';
import { dirname } from 'node:path';
import type { Streams } from '../output.js';
import { UsageError } from '../errors.js';
import { serversFromOptions, type ConnectionOptions } from '../services/targets.js';
import { connect, knownHostsLine, parseConnectTimeout, parseHostKeyPins, rememberAnswers } from '../ssh/index.js';
import type { HostKeyPolicy, ServerConnection, SshTarget } from '../ssh/types.js';
import { askLine, canAsk } from './terminal.js';

export { jumpHops, runSecrets, serversFromAnswers, serversFromOptions, targetsFromAnswers, targetsFromHosts, witnessTarget, WITNESS, type ConnectionOptions, type SecretNeeds, type Servers } from '../services/targets.js';
export { parseConnectTimeout, parseHostKeyPins };

export type PerServer<T> =
  | { server: string; ok: true; hostKeyFingerprint: string; value: T }
  | { server: string; ok: false; error: unknown };

export function hostKeyPolicy(options: ConnectionOptions, streams: Streams): HostKeyPolicy {
  const home = streams.env.HOME ?? '/root';
  const knownHostsFiles = options.knownHosts.length > 0 ? options.knownHosts : [`${home}/.ssh/known_hosts`, '/etc/ssh/ssh_known_hosts'];
  // A file named on the command line that is not there would trust nothing, silently.
  for (const file of options.knownHosts) {
    if (!existsSync(file)) throw new UsageError(`--known-hosts ${file}: no such file`, { hint: 'give an existing known_hosts file (ssh-keyscan -p PORT HOST > FILE makes one; check the keys)' });
  }
  const pinWith = options.file === undefined ? ('flag' as const) : ('answer-file' as const);
  if (!canAsk(streams)) return { knownHostsFiles, onUnknown: 'refuse', pinWith };
  return {
    knownHostsFiles,
    pinWith,
    onUnknown: rememberAnswers(async (server, fingerprint, keyType, presented) => {
      const saveTo = knownHostsFiles[0]!;
      const answer = await askLine(
        streams,
        `The host key of ${server} is not known.\n  ${keyType} ${fingerprint}\n` +
          `Compare it with \`ssh-keygen -lf /etc/ssh/ssh_host_${keyType.toLowerCase().replace(/^ssh-/, '')}_key.pub\` on the server's console.\n` +
          `Trust it? [y] for this run, [s] and save it to ${saveTo}, [N] no: `,
      );
      const choice = answer.trim().toLowerCase();
      if (/^s(ave)?$/.test(choice) && presented) {
        saveKnownHost(saveTo, knownHostsLine(presented));
        streams.stderr.write(`saved the host key of ${server} to ${saveTo}\n`);
        return true;
      }
      return /^y(es)?$/.test(choice);
    }),
  };
}

/** Appends a known_hosts line, as ssh does when a key is accepted (the file and ~/.ssh made private if new). */
export function saveKnownHost(file: string, line: string): void {
  mkdirSync(dirname(file), { recursive: true, mode: 0o700 });
  const text = existsSync(file) ? readFileSync(file, 'utf8') : '';
  appendFileSync(file, `${text === '' || text.endsWith('\n') ? '' : '\n'}${line}\n`, { mode: 0o600 });
}

/**
 * Connects to every server in parallel, runs `work` on each connection, closes it, and returns one
 * result per server in the order given: a failure on one server never hides the others' results.
 */
export async function withConnections<T>(
  options: ConnectionOptions,
  streams: Streams,
  work: (connection: ServerConnection) => Promise<T>,
  hooks: { onConnected?: (server: string) => void } = {},
): Promise<PerServer<T>[]> {
  const { targets } = await serversFromOptions(options, streams.env);
  return connectEach(targets, options, streams, work, hooks);
}

export async function connectEach<T>(
  targets: SshTarget[],
  options: ConnectionOptions,
  streams: Streams,
  work: (connection: ServerConnection, index: number) => Promise<T>,
  hooks: { onConnected?: (server: string) => void } = {},
): Promise<PerServer<T>[]> {
  const policy = hostKeyPolicy(options, streams);
  const deadlineMs = parseConnectTimeout(options.connectTimeout) * 1000;
  return Promise.all(
    targets.map(async (target, index): Promise<PerServer<T>> => {
      let connection: ServerConnection | undefined;
      try {
        connection = await connect(target, policy, { retry: { deadlineMs } });
        hooks.onConnected?.(target.name);
        const value = await work(connection, index);
        return { server: target.name, ok: true, hostKeyFingerprint: connection.hostKeyFingerprint, value };
      } catch (error) {
        return { server: target.name, ok: false, error };
      } finally {
        await connection?.close();
      }
    }),
  );
}

/** The whole run's connections, opened in parallel; the caller closes them. */
export async function openConnections(
  targets: SshTarget[],
  options: ConnectionOptions,
  streams: Streams,
): Promise<{ opened: Map<string, ServerConnection>; failures: { server: string; error: unknown }[]; reconnect: (server: string, deadlineMs: number) => Promise<ServerConnection> }> {
  const policy = hostKeyPolicy(options, streams);
  const deadlineMs = parseConnectTimeout(options.connectTimeout) * 1000;
  const results = await Promise.all(
    targets.map(async (target) => {
      try {
        return { server: target.name, connection: await connect(target, policy, { retry: { deadlineMs } }) };
      } catch (error) {
        return { server: target.name, error };
      }
    }),
  );
  const opened = new Map<string, ServerConnection>();
  const failures: { server: string; error: unknown }[] = [];
  for (const r of results) {
    if ('connection' in r && r.connection) opened.set(r.server, r.connection);
    else failures.push({ server: r.server, error: (r as { error: unknown }).error });
  }
  const byName = new Map(targets.map((t) => [t.name, t]));
  const reconnect = async (server: string, timeoutMs: number) => {
    await opened.get(server)?.close().catch(() => undefined);
    const connection = await connect(byName.get(server)!, policy, { retry: { deadlineMs: timeoutMs } });
    opened.set(server, connection);
    return connection;
  };
  return { opened, failures, reconnect };
}
