/**
 * Opening connections: TCP (or a channel through a jump host), host-key check, authentication,
 * with retries while a server is still booting.
 */
import type { Duplex } from 'node:stream';
import ssh2 from 'ssh2';
import type { Client as ClientType, ConnectConfig } from 'ssh2';
import { AuthError, ConnectionError, HostKeyError, HvError } from '../errors.js';
import { authFailureMessage, planAuth } from './auth.js';
import { DEFAULT_RETRY, realClock, retryWithBackoff, type RetryClock, type RetryEvent, type RetryOptions } from './backoff.js';
import { SshConnection, endClient, newCounters, type ConnectionSettings } from './connection.js';
import { verifyHostKey } from './host-key.js';
import { knownKeyTypes, loadKnownHosts } from './known-hosts.js';
import { registerSshCounters } from './stats.js';
import type { HostKeyPolicy, ServerConnection, SshCounters, SshTarget } from './types.js';

const { Client } = ssh2;

export interface ConnectOptions extends ConnectionSettings {
  /** Retries of connection failures before authentication (refused, unreachable, handshake timeout, reset). */
  retry?: RetryOptions;
  /** Handshake timeout per attempt (default 20 s). */
  readyTimeoutMs?: number;
  /** SSH keepalive interval (default 15 s, 0 disables); 6 missed answers (90 s) drop the connection. */
  keepaliveIntervalMs?: number;
  /** Environment for SSH_AUTH_SOCK (default process.env). */
  env?: NodeJS.ProcessEnv;
  /** Called before each retry (for progress output). */
  onRetry?: (target: SshTarget, event: RetryEvent) => void;
  clock?: RetryClock;
}

const RETRYABLE_CODES = new Set(['ECONNREFUSED', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENETUNREACH', 'ECONNRESET', 'EPIPE', 'EAI_AGAIN']);

/** Whether an error from a connection attempt is worth retrying. */
export function isRetryableConnectError(error: unknown): boolean {
  return error instanceof ConnectionError && !(error instanceof HostKeyError) && !(error instanceof AuthError) && error.retryable;
}

/** Jump hosts of a target flattened, outermost first (a jump host's own jumps come before it). */
export function jumpChain(target: SshTarget, seen = new Set<SshTarget>()): SshTarget[] {
  const chain: SshTarget[] = [];
  for (const hop of target.jump) {
    if (seen.has(hop)) throw new ConnectionError(target.name, 'jump hosts form a loop');
    seen.add(hop);
    chain.push(...jumpChain(hop, seen), { ...hop, jump: [] });
  }
  return chain;
}

export async function connect(target: SshTarget, policy: HostKeyPolicy, options: ConnectOptions = {}): Promise<ServerConnection> {
  const counters = newCounters();
  registerSshCounters(target.name, counters);
  const hops: ClientType[] = [];
  const chain = [...jumpChain(target), { ...target, jump: [] }];
  // One deadline for the whole chain, not one per hop.
  const clock = options.clock ?? realClock;
  const deadlineAt = clock.now() + (options.retry?.deadlineMs ?? DEFAULT_RETRY.deadlineMs);
  try {
    let previous: { client: ClientType; target: SshTarget } | undefined;
    let fingerprint = '';
    for (const hop of chain) {
      const via = previous;
      const remaining = Math.max(0, deadlineAt - clock.now());
      const hopOptions: ConnectOptions = {
        ...options,
        // A handshake attempt does not outlast the deadline either (but gets at least 1 s).
        readyTimeoutMs: Math.min(options.readyTimeoutMs ?? 20_000, Math.max(1_000, remaining)),
      };
      const opened = await retryWithBackoff(
        () => handshake(hop, policy, counters, hopOptions, via ? () => forwardTo(via.client, via.target, hop) : undefined),
        isRetryableConnectError,
        { ...options.retry, deadlineMs: remaining },
        clock,
        (event) => options.onRetry?.(hop, event),
      );
      fingerprint = opened.fingerprint;
      previous = { client: opened.client, target: hop };
      hops.push(opened.client);
    }
    const client = hops.pop()!;
    return new SshConnection(target, client, hops, fingerprint, counters, options);
  } catch (error) {
    for (const c of hops.reverse()) await endClient(c);
    throw error;
  }
}

/** A channel through `jump` to `next`'s host and port. */
function forwardTo(jump: ClientType, jumpTarget: SshTarget, next: SshTarget): Promise<Duplex> {
  return new Promise((resolve, reject) => {
    jump.forwardOut('127.0.0.1', 0, next.host, next.port, (err, stream) => {
      if (err) {
        reject(
          new ConnectionError(next.name, `jump host ${jumpTarget.name} could not reach ${next.host}:${next.port}: ${err.message.replace(/^\(SSH\) /, '')}`, {
            retryable: true,
            cause: err,
          }),
        );
      } else resolve(stream);
    });
  });
}

interface Opened {
  client: ClientType;
  fingerprint: string;
}

function handshake(
  target: SshTarget,
  policy: HostKeyPolicy,
  counters: SshCounters,
  options: ConnectOptions,
  openSock?: () => Promise<Duplex>,
): Promise<Opened> {
  // The ssh configuration's known_hosts files for this host (UserKnownHostsFile) win over the policy's defaults.
  if (target.knownHostsFiles) policy = { ...policy, knownHostsFiles: target.knownHostsFiles };
  return (async () => {
    const sock = openSock ? await openSock() : undefined;
    const client = new Client();
    const auth = planAuth(target, options.env ?? process.env);
    if (!auth.hasCandidates) {
      throw new AuthError(target.name, `no way to authenticate as ${target.user}: ${auth.notes.join('; ') || 'no key, agent or password given'}`, {
        hint: 'give an identity file, an ssh-agent (SSH_AUTH_SOCK) or a password',
      });
    }
    /** Why the host key was refused: a HostKeyError, or the question's own error (Ctrl-C at it), passed on as it is. */
    let hostKeyError: HvError | undefined;
    let fingerprint = '';
    let knownTypes: string[] = [];
    try {
      knownTypes = knownKeyTypes(loadKnownHosts(policy.knownHostsFiles), target.host, target.port);
    } catch {
      /* unreadable known_hosts: verifyHostKey reports it */
    }

    const config: ConnectConfig = {
      host: target.host,
      port: target.port,
      username: target.user,
      ...(sock ? { sock } : {}),
      readyTimeout: options.readyTimeoutMs ?? 20_000,
      keepaliveInterval: options.keepaliveIntervalMs ?? 15_000,
      keepaliveCountMax: 6,
      authHandler: auth.handler as ConnectConfig['authHandler'],
      hostVerifier: (key: Buffer, verify: (valid: boolean) => void) => {
        verifyHostKey(target.name, target.host, target.port, key, policy, target.hostKeyFingerprint).then(
          (v) => {
            fingerprint = v.fingerprint;
            verify(true);
          },
          (error: unknown) => {
            hostKeyError =
              error instanceof HvError
                ? error
                : new HostKeyError(target.name, `could not check the host key of ${target.name}: ${String(error)}`, '', false, { cause: error });
            verify(false);
          },
        );
      },
    };
    const preferred = preferredHostKeyAlgorithms(knownTypes);
    if (preferred.length > 0) {
      // A full list: ssh2's `prepend` skips algorithms already in its default list, so it cannot reorder.
      const order = [...new Set([...preferred, ...DEFAULT_HOST_KEY_ALGORITHMS])];
      config.algorithms = { serverHostKey: order as NonNullable<ConnectConfig['algorithms']>['serverHostKey'] };
    }

    return new Promise<Opened>((resolve, reject) => {
      let done = false;
      const fail = (error: Error) => {
        if (done) return;
        done = true;
        client.destroy();
        reject(error);
      };
      client.once('handshake', () => {
        counters.handshakes++;
      });
      client.once('ready', () => {
        if (done) return;
        done = true;
        resolve({ client, fingerprint });
      });
      client.on('error', (err: Error & { level?: string; code?: string }) => {
        if (hostKeyError) return fail(hostKeyError);
        if (err.level === 'client-authentication') {
          return fail(new AuthError(target.name, authFailureMessage(target, auth), { hint: 'check the user, key, agent or password', cause: err }));
        }
        fail(classifyConnectError(target, err, auth.started));
      });
      client.on('close', () => {
        if (hostKeyError) return fail(hostKeyError);
        fail(
          new ConnectionError(target.name, `connection to ${target.host}:${target.port} closed ${auth.started ? 'during authentication' : 'before the SSH handshake finished'}`, {
            retryable: !auth.started,
          }),
        );
      });
      try {
        client.connect(config);
      } catch (error) {
        fail(new ConnectionError(target.name, `cannot connect: ${error instanceof Error ? error.message : String(error)}`, { cause: error }));
      }
    });
  })();
}

function classifyConnectError(target: SshTarget, err: Error & { level?: string; code?: string }, authStarted: boolean): ConnectionError {
  const where = `${target.host}:${target.port}`;
  if (err.level === 'client-timeout') {
    return new ConnectionError(target.name, `timed out waiting for the SSH handshake with ${where}`, { retryable: !authStarted, cause: err });
  }
  if (/Connection lost before handshake/i.test(err.message)) {
    return new ConnectionError(target.name, `${where} closed the connection before the SSH handshake (is sshd still starting?)`, {
      retryable: !authStarted,
      cause: err,
    });
  }
  const code = err.code;
  if (code && RETRYABLE_CODES.has(code)) {
    const what: Record<string, string> = {
      ECONNREFUSED: 'connection refused (is sshd running?)',
      ETIMEDOUT: 'connection timed out',
      EHOSTUNREACH: 'host unreachable',
      ENETUNREACH: 'network unreachable',
      ECONNRESET: 'connection reset',
      EPIPE: 'connection reset',
      EAI_AGAIN: 'name lookup failed temporarily',
    };
    return new ConnectionError(target.name, `cannot connect to ${where}: ${what[code] ?? code}`, {
      retryable: !authStarted,
      cause: err,
      hint: 'check the address and port, and that the server is up',
    });
  }
  if (code === 'ENOTFOUND') {
    return new ConnectionError(target.name, `cannot resolve host name ${target.host}`, { cause: err, hint: 'check the host name' });
  }
  return new ConnectionError(target.name, `SSH connection to ${where} failed: ${err.message}`, { cause: err });
}

/** ssh2's default host key algorithms, in its order (ssh2 1.17, Node with ed25519 support). */
const DEFAULT_HOST_KEY_ALGORITHMS = [
  'ssh-ed25519',
  'ecdsa-sha2-nistp256',
  'ecdsa-sha2-nistp384',
  'ecdsa-sha2-nistp521',
  'rsa-sha2-512',
  'rsa-sha2-256',
  'ssh-rsa',
];

/** Host key algorithms for the key types known_hosts lists for this host, to be asked for first. */
function preferredHostKeyAlgorithms(knownTypes: string[]): string[] {
  const out: string[] = [];
  for (const t of knownTypes) {
    if (t === 'ssh-rsa') out.push('rsa-sha2-512', 'rsa-sha2-256', 'ssh-rsa');
    else if (t === 'ssh-ed25519' || t.startsWith('ecdsa-sha2-')) out.push(t);
  }
  return out;
}
