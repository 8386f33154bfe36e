import { statSync, readFileSync, mkdirSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConnectionError, RemoteCommandError } from '../../../installer/errors.js';
import { connect, fingerprintOf } from '../../../installer/ssh/index.js';
import type { ServerConnection, SshTarget } from '../../../installer/ssh/index.js';
import { descendantPids, isAlive, processName, processesMatching, waitFor } from '../../helpers/processes.js';
import { generateKey, startSshd, tempDir, type ClientKey, type SshdServer } from '../../helpers/sshd.js';

const policy = { knownHostsFiles: [], onUnknown: 'refuse' as const };

describe('exec over one connection (root, key auth)', () => {
  let sshd: SshdServer;
  let tmp: ReturnType<typeof tempDir>;
  let key: ClientKey;
  let target: SshTarget;

  beforeAll(async () => {
    tmp = tempDir();
    sshd = await startSshd({ maxSessions: 10 });
    key = await generateKey(tmp.path, 'id_ed25519');
    sshd.authorize('root', key.publicKey);
    target = {
      name: 'hv1',
      host: sshd.host,
      port: sshd.port,
      user: 'root',
      identityFiles: [key.path],
      jump: [],
      hostKeyFingerprint: sshd.hostKeyFingerprint,
    };
  });

  afterAll(async () => {
    await sshd?.stop();
    tmp?.remove();
  });

  async function withConnection<T>(fn: (c: ServerConnection) => Promise<T>): Promise<T> {
    const c = await connect(target, policy);
    try {
      return await fn(c);
    } finally {
      await c.close();
    }
  }

  it('reports the host key fingerprint exactly as ssh-keygen -l prints it', async () => {
    const blob = Buffer.from(sshd.hostPubKeyLine.split(/\s+/)[1]!, 'base64');
    expect(fingerprintOf(blob)).toBe(sshd.hostKeyFingerprint);
    await withConnection(async (c) => {
      expect(c.hostKeyFingerprint).toBe(sshd.hostKeyFingerprint);
      expect(c.target.name).toBe('hv1');
    });
  });

  it('returns stdout, stderr, exit code and duration; passes stdin; streams stdout', async () => {
    await withConnection(async (c) => {
      const r = await c.exec('echo out; echo err >&2');
      expect(r).toMatchObject({ exitCode: 0, stdout: 'out\n', stderr: 'err\n' });
      expect(r.durationMs).toBeGreaterThanOrEqual(0);
      const chunks: string[] = [];
      const piped = await c.exec('tr a-z A-Z', { stdin: 'hello\nworld\n', onStdout: (s) => chunks.push(s) });
      expect(piped.stdout).toBe('HELLO\nWORLD\n');
      expect(chunks.join('')).toBe('HELLO\nWORLD\n');
    });
  });

  it('throws RemoteCommandError naming server, command, exit code and stderr; allowFailure resolves', async () => {
    await withConnection(async (c) => {
      const err = await c.exec('echo first problem >&2; echo second >&2; exit 3', { step: 'probe' }).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(RemoteCommandError);
      const e = err as RemoteCommandError;
      expect(e.server).toBe('hv1');
      expect(e.command).toBe('echo first problem >&2; echo second >&2; exit 3');
      expect(e.result.exitCode).toBe(3);
      expect(e.result.stderr).toBe('first problem\nsecond\n');
      expect(e.message).toContain('hv1: step "probe": command `echo first problem');
      expect(e.message).toContain('exited with 3');
      expect(e.message).toContain('first problem');
      const r = await c.exec('exit 4', { allowFailure: true });
      expect(r.exitCode).toBe(4);
    });
  });

  it('times out a command, closes its channel and says so', async () => {
    await withConnection(async (c) => {
      // A unique duration, to find the process anywhere on the machine (even if it were re-parented).
      const sleeper = `sleep 30.${String(Date.now()).slice(-6)}`;
      const t0 = Date.now();
      // A compound command: the shell forks `sleep`, so killing the shell alone would leave it running.
      const err = await c.exec(`${sleeper}; echo never`, { timeoutMs: 1_500 }).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(RemoteCommandError);
      expect((err as Error).message).toMatch(/timed out after 1\.5 s/);
      expect(Date.now() - t0).toBeLessThan(6_000);
      // Still there right after the client gave up (the server-side stop comes a second later)...
      expect(processesMatching(sleeper).length).toBeGreaterThan(0);
      // ...and the connection is still usable.
      expect((await c.exec('echo still here')).stdout).toBe('still here\n');
      // The remote command and its children are stopped on the server, not just abandoned.
      await waitFor(() => processesMatching(sleeper).length === 0, 'the timed-out remote command to exit', 10_000);
    });
  });

  it('runs 25 concurrent commands over one connection to an sshd with MaxSessions 10', async () => {
    await withConnection(async (c) => {
      const results = await Promise.all(Array.from({ length: 25 }, (_, i) => c.exec(`sleep 0.3; echo ${i}`)));
      expect(results.map((r) => r.stdout.trim())).toEqual(Array.from({ length: 25 }, (_, i) => String(i)));
      expect(c.counters.handshakes).toBe(1);
      expect(c.counters.channelOpens).toBe(25);
      expect(c.counters.execs).toBeGreaterThanOrEqual(25);
    });
  });

  it('also survives more channels than MaxSessions allows when asked for them (retries "Channel open failure")', async () => {
    const c = await connect(target, policy, { maxChannels: 16 });
    try {
      const results = await Promise.all(Array.from({ length: 25 }, (_, i) => c.exec(`sleep 0.2; echo ${i}`)));
      expect(results.map((r) => r.stdout.trim())).toEqual(Array.from({ length: 25 }, (_, i) => String(i)));
      expect(c.counters.handshakes).toBe(1);
      // Some opens were refused by sshd and retried.
      expect(c.counters.execs).toBeGreaterThan(25);
    } finally {
      await c.close();
    }
  });

  it('survives more channels than MaxSessions on a server whose sessions start slowly, one at a time', async () => {
    // As on a slow or loaded server: each session takes sshd 0.4 s to set up, one after another, so
    // the 25 commands complete about 0.4 s apart (10 s in all), far past any fixed retry budget.
    const dir = tmp.path;
    const slow = await startSshd({
      maxSessions: 10,
      extraConfig: [`ForceCommand flock ${dir}/session-start sleep 0.4; exec sh -c "$SSH_ORIGINAL_COMMAND"`],
    });
    slow.authorize('root', key.publicKey);
    const c = await connect({ ...target, port: slow.port, hostKeyFingerprint: slow.hostKeyFingerprint }, policy, { maxChannels: 16 });
    try {
      const results = await Promise.all(Array.from({ length: 25 }, (_, i) => c.exec(`sleep 0.2; echo ${i}`)));
      expect(results.map((r) => r.stdout.trim())).toEqual(Array.from({ length: 25 }, (_, i) => String(i)));
      expect(c.counters.channelOpens).toBe(25);
      // The server's real limit is learned from its first refusals: opens are not hammered.
      expect(c.counters.execs).toBeLessThan(25 + 16);
    } finally {
      await c.close();
      await slow.stop();
    }
  });

  it('rejects promptly with a clear ConnectionError when the connection is killed mid-command', async () => {
    // Earlier tests closed their connections: wait for their sessions to go, so that ours is the only one.
    await waitFor(() => sshd.sessionPids().length === 0, 'earlier sshd sessions to end');
    const c = await connect(target, policy);
    try {
      const session = await waitFor(() => {
        const pids = sshd.sessionPids();
        return pids.length === 1 ? pids[0] : undefined;
      }, 'the sshd session process of this connection');
      const running = c.exec('sleep 60');
      await waitFor(() => descendantPids(session).some((p) => processName(p).startsWith('sleep 60')), 'sleep 60 to run');
      const t0 = Date.now();
      sshd.killSession(session);
      const err = await running.catch((e: unknown) => e);
      expect(Date.now() - t0).toBeLessThan(5_000);
      expect(err).toBeInstanceOf(ConnectionError);
      expect((err as Error).message).toMatch(/^hv1: connection to hv1 lost while running `sleep 60`/);
      await waitFor(() => !isAlive(session), 'the killed session to be reaped', 5_000);
      // Later commands fail at once, too.
      const next = await c.exec('true').catch((e: unknown) => e);
      expect(next).toBeInstanceOf(ConnectionError);
      expect((next as Error).message).toMatch(/connection to hv1 is closed/);
    } finally {
      await c.close();
    }
  });

  it('uploads atomically with mode and owner', async () => {
    const dir = join(tmp.path, 'upload');
    mkdirSync(dir, { mode: 0o755 });
    const dest = join(dir, 'drbd global.conf');
    await withConnection(async (c) => {
      await c.upload(dest, 'first version\n', { mode: 0o640, owner: 'nobody:nogroup' });
      let st = statSync(dest);
      expect(st.mode & 0o7777).toBe(0o640);
      expect(st.uid).toBe(65534);
      expect(readFileSync(dest, 'utf8')).toBe('first version\n');
      const big = Buffer.alloc(300_000, 'x');
      await c.upload(dest, big, { mode: 0o600 });
      st = statSync(dest);
      expect(st.mode & 0o7777).toBe(0o600);
      expect(st.uid).toBe(0);
      expect(statSync(dest).size).toBe(300_000);
      expect(c.counters.bytesUploaded).toBe(14 + 300_000);
      // No temp files left behind.
      expect(readdirSync(dir)).toEqual(['drbd global.conf']);
      // A failing upload (no such directory) throws and leaves nothing.
      const err = await c.upload(join(dir, 'missing', 'x.conf'), 'x').catch((e: unknown) => e);
      expect(err).toBeInstanceOf(RemoteCommandError);
      expect((err as Error).message).toContain(`upload ${join(dir, 'missing', 'x.conf')}`);
      expect(readdirSync(dir)).toEqual(['drbd global.conf']);
    });
  });
});
