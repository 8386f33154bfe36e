/**
 * The cluster lock: one run at a time may change a cluster. Every command that changes servers
 * (apply, the migration test) takes it on every node before its first change: `flock` on
 * /run/hvcluster/CLUSTER.lock, held by a command whose input the installer keeps open for the whole
 * run (installer/remote/cluster-lock.sh), so a killed installer's lock goes with its connection.
 * A second run is refused with who holds it and since when; `--force-unlock` breaks a lock whose
 * holder is gone (never while the holder's process still runs on this machine).
 */
import { readFileSync } from 'node:fs';
import { hostname, userInfo } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { ChecksFailedError, HvError } from '../errors.js';
import { clockWatch, type TimedOutput } from '../facts/gather.js';
import { MARK } from '../facts/section.js';
import { REMOTE_DIR } from '../paths.js';
import { shellQuote } from '../ssh/quote.js';
import type { ServerConnection } from '../ssh/types.js';

export interface LockHolder {
  runId: string;
  command: string;
  user: string;
  host: string;
  pid: number;
  /** ISO time the lock was taken. */
  since: string;
}

/** The holder as this process: the run about to take the lock. */
export function thisHolder(runId: string, command: string, now = new Date()): LockHolder {
  let user = process.env.USER ?? 'unknown';
  try {
    user = userInfo().username;
  } catch {
    /* no passwd entry */
  }
  return { runId, command, user, host: hostname(), pid: process.pid, since: now.toISOString() };
}

/** One line, `key=value` words (values without spaces), as recorded on the server. Pure. */
export function holderLine(h: LockHolder): string {
  const clean = (v: string) => v.replace(/\s+/g, '_');
  return `run=${clean(h.runId)} command=${clean(h.command)} user=${clean(h.user)} host=${clean(h.host)} localpid=${h.pid} since=${clean(h.since)}`;
}

/** The holder recorded on the server (with the server-side `pid=`), when the line is one of ours. Pure. */
export function parseHolder(line: string): (LockHolder & { serverPid?: number }) | undefined {
  const fields = new Map(line.trim().split(/\s+/).map((w) => [w.slice(0, w.indexOf('=')), w.slice(w.indexOf('=') + 1)] as const));
  const runId = fields.get('run');
  const pid = Number(fields.get('localpid'));
  if (!runId || !Number.isInteger(pid)) return undefined;
  const serverPid = Number(fields.get('pid'));
  return {
    runId,
    command: fields.get('command') ?? '?',
    user: fields.get('user') ?? '?',
    host: fields.get('host') ?? '?',
    pid,
    since: fields.get('since') ?? '?',
    ...(Number.isInteger(serverPid) ? { serverPid } : {}),
  };
}

/** "apply run R (root@laptop, pid 4242) since 15:02:11 UTC, 13 min ago". Pure. */
export function describeHolder(line: string, now = new Date()): string {
  const h = parseHolder(line);
  if (!h) return `an unknown holder (${line.trim() || 'nothing recorded'})`;
  const since = new Date(h.since);
  const ago = Number.isNaN(since.getTime()) ? '' : `, ${Math.max(0, Math.round((now.getTime() - since.getTime()) / 60_000))} min ago`;
  const at = Number.isNaN(since.getTime()) ? h.since : `${since.toISOString().slice(11, 19)} UTC`;
  return `${h.command} run ${h.runId} (${h.user}@${h.host}, pid ${h.pid}) since ${at}${ago}`;
}

export class ClusterLockedError extends ChecksFailedError {}

const LOCK_SCRIPT = () => readFileSync(join(REMOTE_DIR, 'cluster-lock.sh'), 'utf8');
const UNLOCK_SCRIPT = () => readFileSync(join(REMOTE_DIR, 'cluster-unlock.sh'), 'utf8');

/** The command that takes the lock: the script with its arguments (its input is the hold), and the read to make once held. Pure. */
export function lockCommand(script: string, cluster: string, holder: string, read?: string): string {
  return `sh -c ${shellQuote(script)} cluster-lock ${shellQuote(cluster)} ${shellQuote(holder)}${read ? ` ${shellQuote(read)}` : ''}`;
}

export interface HeldLock {
  server: string;
  /** What the read given to lockServer printed, once the lock was held. */
  read?: TimedOutput;
  /** Gives the lock back (ends the hold) and waits until the server has let it go. */
  release(): Promise<void>;
}

/**
 * Takes the lock on one server; throws ClusterLockedError naming the holder when it is taken. A lock
 * this very run still holds through a connection it has replaced (the network step reconnects, and
 * the old session may linger on the server) is taken back.
 */
/** A read to make once the lock is held: the script, and how the run log names it. */
export interface LockedRead {
  script: string;
  label: string;
}

export async function lockServer(connection: ServerConnection, cluster: string, holder: LockHolder, forceHint: string, reclaim = true, read?: LockedRead): Promise<HeldLock> {
  const hold = new PassThrough();
  let announced: (line: string) => void = () => undefined;
  const firstLine = new Promise<string>((resolve) => (announced = resolve));
  let readDone: (out: TimedOutput) => void = () => undefined;
  const readOutput = new Promise<TimedOutput>((resolve) => (readDone = resolve));
  let out = '';
  let heldAt = 0;
  const clock = clockWatch();
  const done = connection.exec(lockCommand(LOCK_SCRIPT(), cluster, holderLine(holder), read?.script), {
    sudo: true,
    stdin: hold,
    timeoutMs: 0,
    allowFailure: true,
    // Holding the lock, it makes the run's first read of the server (the inspection).
    step: read ? 'inspect' : 'cluster lock',
    ...(read ? { secretOutput: true, logAs: `sh -c <cluster-lock.sh> cluster-lock ${shellQuote(cluster)} ${shellQuote(holderLine(holder))}, then ${read.label}` } : {}),
    onStdout: (chunk) => {
      out += chunk;
      const nl = out.indexOf('\n');
      if (nl < 0) return;
      if (heldAt === 0) {
        heldAt = Date.now();
        announced(out.slice(0, nl));
      }
      if (read) {
        clock.onStdout(chunk);
        const end = out.indexOf(`${MARK.done}\n`);
        if (end >= 0) {
          const readBy = clock.readBy();
          const finishedAtMs = Date.now();
          readDone({ stdout: out.slice(nl + 1, end + MARK.done.length + 1), startedAtMs: heldAt, finishedAtMs, durationMs: finishedAtMs - heldAt, ...(readBy !== undefined ? { clockReadByMs: readBy } : {}) });
        }
      }
    },
  });
  const line = await Promise.race([firstLine, done.then((r) => r.stdout.split('\n')[0] ?? `exit ${r.exitCode}: ${r.stderr.trim()}`)]);
  const server = connection.target.name;
  if (line.startsWith('held ')) {
    const release = async () => {
      hold.end();
      await done.catch(() => undefined);
    };
    if (!read) return { server, release };
    const result = await Promise.race([readOutput, done.then((r) => ({ ended: r }))]);
    if ('ended' in result) {
      throw new ChecksFailedError(`${server}: the read made under the cluster lock ended before its end mark (exit ${result.ended.exitCode}): ${result.ended.stderr.trim().split('\n')[0] ?? ''}`, { hint: 'run again; if it persists, run `hvcluster inspect` on the server' });
    }
    return { server, read: result, release };
  }
  hold.end();
  await done.catch(() => undefined);
  if (line.startsWith('busy ')) {
    if (reclaim && parseHolder(line.slice(5))?.runId === holder.runId) {
      await breakServerLock(connection, cluster, () => false);
      return lockServer(connection, cluster, holder, forceHint, false, read);
    }
    throw new ClusterLockedError(`${server}: another hvcluster run is changing cluster ${cluster}: ${describeHolder(line.slice(5))}`, {
      hint: `wait for it to finish; if that run is dead (its machine rebooted, its connection cut), break the lock with ${forceHint}`,
    });
  }
  throw new ChecksFailedError(`${server}: could not take the cluster lock of ${cluster}: ${line}`, { hint: 'the server needs flock (util-linux) and a writable /run' });
}

export interface ClusterLock {
  /** By server: what the reads given to lockCluster printed. */
  reads: Map<string, TimedOutput>;
  /** Takes the lock again on a server's new connection (after a reconnect). */
  relock(connection: ServerConnection): Promise<void>;
  /** Gives the lock back on every server. */
  release(): Promise<void>;
}

/**
 * Takes the lock on every server, or on none: when one refuses, the others are given back and the
 * refusal is thrown.
 */
export async function lockCluster(connections: ServerConnection[], cluster: string, holder: LockHolder, forceHint: string, reads?: Map<string, LockedRead>): Promise<ClusterLock> {
  const results = await Promise.allSettled(connections.map((c) => lockServer(c, cluster, holder, forceHint, true, reads?.get(c.target.name))));
  const held = new Map(results.flatMap((r) => (r.status === 'fulfilled' ? [[r.value.server, r.value] as const] : [])));
  const release = async () => {
    const all = [...held.values()];
    held.clear();
    await Promise.all(all.map((h) => h.release()));
  };
  const refused = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
  if (refused) {
    await release();
    throw refused.reason instanceof HvError ? refused.reason : new ChecksFailedError(String(refused.reason));
  }
  return {
    reads: new Map([...held].flatMap(([server, h]) => (h.read ? [[server, h.read] as const] : []))),
    async relock(connection) {
      const server = connection.target.name;
      await held.get(server)?.release();
      held.set(server, await lockServer(connection, cluster, holder, forceHint));
    },
    release,
  };
}

/** Whether a process of this machine still runs (signal 0). */
export function isAliveHere(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * --force-unlock: breaks the lock on one server, after checking that its holder is not a live
 * process of this machine. Returns what was done, for the user.
 */
export async function breakServerLock(connection: ServerConnection, cluster: string, alive: (pid: number) => boolean = isAliveHere): Promise<string> {
  const server = connection.target.name;
  const peek = await connection.exec(`sh -s -- ${shellQuote(cluster)} peek`, { sudo: true, stdin: UNLOCK_SCRIPT(), step: 'cluster lock' });
  const holder = parseHolder(peek.stdout);
  if (holder && holder.host === hostname() && alive(holder.pid)) {
    throw new ChecksFailedError(`${server}: the cluster lock is held by ${describeHolder(peek.stdout)}, which is still running on this machine; not breaking it`, {
      hint: `let it finish, or stop it (kill ${holder.pid}) first`,
    });
  }
  const r = await connection.exec(`sh -s -- ${shellQuote(cluster)}`, { sudo: true, stdin: UNLOCK_SCRIPT(), step: 'cluster lock', allowFailure: true });
  const line = r.stdout.trim().split('\n')[0] ?? '';
  if (line === 'free') return `${server}: the cluster lock was free`;
  if (line.startsWith('broken ')) return `${server}: broke the cluster lock of ${describeHolder(line.slice(7))}`;
  throw new ChecksFailedError(`${server}: could not break the cluster lock: ${line || r.stderr.trim()}`, { hint: `look at /run/hvcluster/${cluster}.lock.holder on ${server}` });
}
