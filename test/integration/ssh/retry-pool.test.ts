import { createServer, type AddressInfo, type Socket } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConnectionError, HostKeyError } from '../../../installer/errors.js';
import { connect, connectAll, ConnectionPool } from '../../../installer/ssh/index.js';
import type { SshTarget } from '../../../installer/ssh/index.js';
import { freePort, generateKey, startSshd, tempDir, type ClientKey, type SshdServer } from '../../helpers/sshd.js';

describe('retries while a server boots, and several servers at once', () => {
  let tmp: ReturnType<typeof tempDir>;
  let key: ClientKey;
  let sshd: SshdServer;
  const late: SshdServer[] = [];

  beforeAll(async () => {
    tmp = tempDir();
    key = await generateKey(tmp.path, 'id');
    sshd = await startSshd({ users: { root: [key.publicKey] } });
  });

  afterAll(async () => {
    for (const s of late) await s.stop();
    await sshd?.stop();
    tmp?.remove();
  });

  const target = (name: string, port: number, extra: Partial<SshTarget> = {}): SshTarget => ({
    name,
    host: '127.0.0.1',
    port,
    user: 'root',
    identityFiles: [key.path],
    jump: [],
    ...extra,
  });

  it('keeps trying while nothing listens, and connects once sshd has started', async () => {
    const port = await freePort();
    const retries: number[] = [];
    let starting: Promise<SshdServer> | undefined;
    const t0 = Date.now();
    const c = await connect(target('booting', port), { knownHostsFiles: [], onUnknown: async () => true }, {
      env: {},
      retry: { attempts: 40, initialDelayMs: 100, maxDelayMs: 400, deadlineMs: 20_000 },
      onRetry: (_t, event) => {
        retries.push(event.attempt);
        expect((event.error as Error).message).toContain('connection refused');
        // The server comes up a second after the first refused attempt.
        if (!starting && Date.now() - t0 >= 1_000) starting = startSshd({ port, users: { root: [key.publicKey] } });
      },
    });
    try {
      late.push(await starting!);
      expect(retries.length).toBeGreaterThanOrEqual(3);
      expect((await c.exec('echo up')).stdout).toBe('up\n');
      expect(c.counters.handshakes).toBe(1);
    } finally {
      await c.close();
    }
  });

  it('gives up after the attempts with a retryable ConnectionError', async () => {
    const port = await freePort();
    const t0 = Date.now();
    const err = await connect(target('down', port), { knownHostsFiles: [], onUnknown: 'refuse' }, {
      env: {},
      retry: { attempts: 3, initialDelayMs: 50, maxDelayMs: 100 },
    }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ConnectionError);
    expect((err as ConnectionError).retryable).toBe(true);
    expect((err as Error).message).toBe(`down: cannot connect to 127.0.0.1:${port}: connection refused (is sshd running?)`);
    expect(Date.now() - t0).toBeLessThan(5_000);
  });

  it('retries a server that accepts TCP but never speaks SSH (handshake timeout), and one that drops connections', async () => {
    const silentSockets: Socket[] = [];
    let silentConnections = 0;
    const silent = createServer((sock) => {
      silentConnections++;
      silentSockets.push(sock);
    });
    let droppedConnections = 0;
    const dropping = createServer((sock) => {
      droppedConnections++;
      sock.destroy();
    });
    await Promise.all([silent, dropping].map((srv) => new Promise<void>((r) => srv.listen(0, '127.0.0.1', () => r()))));
    const portOf = (srv: typeof silent) => (srv.address() as AddressInfo).port;
    try {
      const policy = { knownHostsFiles: [], onUnknown: 'refuse' as const };
      const retry = { attempts: 2, initialDelayMs: 20, maxDelayMs: 20 };
      const timedOut = await connect(target('silent', portOf(silent)), policy, { env: {}, readyTimeoutMs: 300, retry }).catch((e: unknown) => e);
      expect(timedOut).toBeInstanceOf(ConnectionError);
      expect((timedOut as Error).message).toContain('timed out waiting for the SSH handshake');
      expect(silentConnections).toBe(2);
      const dropped = await connect(target('dropping', portOf(dropping)), policy, { env: {}, retry: { ...retry, attempts: 3 } }).catch((e: unknown) => e);
      expect(dropped).toBeInstanceOf(ConnectionError);
      expect((dropped as ConnectionError).retryable).toBe(true);
      expect(droppedConnections).toBe(3);
    } finally {
      for (const sock of silentSockets) sock.destroy();
      await Promise.all([silent, dropping].map((srv) => new Promise((r) => srv.close(r))));
    }
  });

  it('connectAll reports each server on its own: one failure does not hide the others', async () => {
    const closedPort = await freePort();
    const policy = { knownHostsFiles: [], onUnknown: 'refuse' as const };
    const results = await connectAll(
      [
        target('good', sshd.port, { hostKeyFingerprint: sshd.hostKeyFingerprint }),
        target('down', closedPort),
        target('unknown-key', sshd.port),
      ],
      policy,
      { env: {}, retry: { attempts: 2, initialDelayMs: 20 } },
    );
    expect(results.map((r) => [r.target.name, r.ok])).toEqual([
      ['good', true],
      ['down', false],
      ['unknown-key', false],
    ]);
    const [good, down, unknown] = results as [(typeof results)[number], (typeof results)[number], (typeof results)[number]];
    if (!good.ok || down.ok || unknown.ok) throw new Error('unexpected');
    expect((await good.connection.exec('echo ok')).stdout).toBe('ok\n');
    await good.connection.close();
    expect(down.error).toBeInstanceOf(ConnectionError);
    expect(unknown.error).toBeInstanceOf(HostKeyError);
  });

  it('ConnectionPool keeps one connection per server and closes them together', async () => {
    const pool = new ConnectionPool({ knownHostsFiles: [], onUnknown: 'refuse' }, { env: {} });
    const t = target('good', sshd.port, { hostKeyFingerprint: sshd.hostKeyFingerprint });
    const first = (await pool.connectAll([t]))[0]!;
    const again = (await pool.connectAll([t]))[0]!;
    expect(first.ok && again.ok && first.connection === again.connection).toBe(true);
    expect(pool.size).toBe(1);
    const conn = pool.get('good')!;
    await pool.closeAll();
    expect(pool.size).toBe(0);
    await expect(conn.exec('true')).rejects.toBeInstanceOf(ConnectionError);
  });
});
