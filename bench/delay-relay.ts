/**
 * A TCP relay on 127.0.0.1 that adds latency in user space (this kernel has no netem qdisc):
 * every chunk is held RTT/2 in each direction, in order, so a request/response costs one RTT more.
 *
 * The TCP three-way handshake is modelled too: the relay accepts at once (loopback) but opens its
 * upstream connection only 1.5 x RTT later (SYN, SYN-ACK, ACK), and what the client sends meanwhile
 * waits for it; the server's first byte (the SSH banner) thus reaches the client 2 RTT after
 * connect(), as over a real link.
 *
 * Also: a TCP echo server and a ping-like probe that measures the RTT a relay really adds.
 */
import { createConnection, createServer, type AddressInfo, type Server, type Socket } from 'node:net';

/** Delivers chunks to `deliver` `delayMs` after they were pushed, in order (one timer per queue). */
class DelayQueue {
  private readonly items: { due: number; chunk: Buffer | null }[] = [];
  private timer: NodeJS.Timeout | undefined;
  private notBefore = 0;

  constructor(
    private readonly deliver: (chunk: Buffer | null) => void,
    private readonly delayMs: () => number,
  ) {}

  /** Nothing is delivered before this time (the modelled TCP handshake). */
  holdUntil(at: number): void {
    this.notBefore = at;
  }

  /** A chunk, or null for the end of the stream (delayed too, after the data). */
  push(chunk: Buffer | null): void {
    const due = Math.max(performance.now() + this.delayMs(), this.notBefore);
    this.items.push({ due, chunk });
    if (this.items.length === 1) this.schedule();
  }

  private schedule(): void {
    if (this.timer || this.items.length === 0) return;
    const wait = this.items[0]!.due - performance.now();
    if (wait <= 0) {
      this.flush();
      return;
    }
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.flush();
    }, wait);
  }

  private flush(): void {
    // Timers may fire up to ~1 ms early/late: deliver everything due within half a millisecond.
    const now = performance.now() + 0.5;
    while (this.items.length > 0 && this.items[0]!.due <= now) this.deliver(this.items.shift()!.chunk);
    this.schedule();
  }

  clear(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    this.items.length = 0;
  }
}

export interface DelayRelay {
  /** The port the relay listens on (127.0.0.1). */
  port: number;
  /** The round-trip time it adds, in ms (changeable between runs). */
  rttMs: number;
  /** Connections accepted so far. */
  accepted: number;
  /**
   * Per connection accepted since the last call: its turns, i.e. how many times the client sent
   * something (data or its FIN) after the server had (plus 1 for the TCP connect). Each is a
   * round trip the client waited for, counted on the wire, independent of CPU speed.
   */
  takeTurns(): number[];
  close(): Promise<void>;
}

/** Starts a relay 127.0.0.1:<free port> -> 127.0.0.1:targetPort adding `rttMs` of round trip. */
export async function startDelayRelay(targetPort: number, rttMs: number): Promise<DelayRelay> {
  const sockets = new Set<Socket>();
  const queues = new Set<DelayQueue>();
  const turns: { n: number }[] = [];
  const relay: DelayRelay = {
    port: 0,
    rttMs,
    accepted: 0,
    takeTurns: () => turns.splice(0).map((t) => t.n),
    close: async () => undefined,
  };
  const half = () => relay.rttMs / 2;

  const server: Server = createServer({ noDelay: true }, (client) => {
    relay.accepted++;
    const turn = { n: 1 };
    turns.push(turn);
    let lastFromServer = false;
    const fromClient = () => {
      if (lastFromServer) turn.n++;
      lastFromServer = false;
    };
    const rtt = relay.rttMs;
    let up: Socket | undefined;
    // What became due before the upstream connection was opened (timers are not exact).
    const early: (Buffer | null)[] = [];
    const send = (chunk: Buffer | null) => {
      if (!up) early.push(chunk);
      else if (chunk === null) up.end();
      else up.write(chunk);
    };
    sockets.add(client);
    const toServer = new DelayQueue(send, half);
    const toClient = new DelayQueue((chunk) => {
      // What the client has received (not what is still on the way) decides whether its next send is a turn.
      lastFromServer = true;
      if (chunk === null) client.end();
      else client.write(chunk);
    }, half);
    queues.add(toServer).add(toClient);
    const connectAt = performance.now() + 1.5 * rtt;
    toServer.holdUntil(connectAt);
    const destroyAll = () => {
      toServer.clear();
      toClient.clear();
      queues.delete(toServer);
      queues.delete(toClient);
      client.destroy();
      up?.destroy();
      sockets.delete(client);
      if (up) sockets.delete(up);
    };
    client.on('data', (chunk: Buffer) => {
      fromClient();
      toServer.push(chunk);
    });
    client.on('end', () => {
      fromClient();
      toServer.push(null);
    });
    client.on('error', destroyAll);
    client.on('close', () => setTimeout(destroyAll, rtt + 50).unref());

    const open = () => {
      up = createConnection({ host: '127.0.0.1', port: targetPort, noDelay: true });
      sockets.add(up);
      up.on('data', (chunk: Buffer) => toClient.push(chunk));
      up.on('end', () => toClient.push(null));
      up.on('error', destroyAll);
      up.on('close', () => setTimeout(destroyAll, rtt + 50).unref());
      for (const chunk of early.splice(0)) send(chunk);
    };
    // The modelled SYN, SYN-ACK, ACK: the server sees the connection 1.5 RTT after the client.
    if (rtt === 0) open();
    else setTimeout(open, Math.max(0, connectAt - performance.now()));
  });

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  relay.port = (server.address() as AddressInfo).port;
  relay.close = () =>
    new Promise<void>((resolve) => {
      for (const q of queues) q.clear();
      for (const s of sockets) s.destroy();
      server.close(() => resolve());
    });
  return relay;
}

export interface EchoServer {
  port: number;
  close(): Promise<void>;
}

/** A TCP echo server on 127.0.0.1 (the far end of the ping probe). */
export async function startEchoServer(): Promise<EchoServer> {
  const sockets = new Set<Socket>();
  const server = createServer({ noDelay: true }, (s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
    s.on('error', () => s.destroy());
    s.pipe(s);
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  return {
    port: (server.address() as AddressInfo).port,
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}

export interface PingResult {
  /** Time to the first byte echoed after connect() (the modelled TCP handshake plus one RTT). */
  connectAndFirstEchoMs: number;
  /** Round-trip times of `count` one-byte echoes on the open connection. */
  samplesMs: number[];
  minMs: number;
  medianMs: number;
}

/** Ping-like probe: one-byte echoes through `port` (a relay in front of an echo server). */
export async function ping(port: number, count = 10): Promise<PingResult> {
  const started = performance.now();
  const socket = createConnection({ host: '127.0.0.1', port, noDelay: true });
  socket.on('error', () => undefined);
  let waiting: (() => void) | undefined;
  socket.on('data', () => {
    const w = waiting;
    waiting = undefined;
    w?.();
  });
  const echo = () =>
    new Promise<number>((resolve, reject) => {
      const t0 = performance.now();
      const timer = setTimeout(() => reject(new Error('ping: no echo within 5 s')), 5_000);
      waiting = () => {
        clearTimeout(timer);
        resolve(performance.now() - t0);
      };
      socket.write('p');
    });
  try {
    await new Promise<void>((resolve, reject) => {
      socket.once('connect', resolve);
      socket.once('error', reject);
    });
    await echo();
    const connectAndFirstEchoMs = performance.now() - started;
    const samplesMs: number[] = [];
    for (let i = 0; i < count; i++) samplesMs.push(await echo());
    const sorted = [...samplesMs].sort((a, b) => a - b);
    return { connectAndFirstEchoMs, samplesMs, minMs: sorted[0]!, medianMs: median(sorted) };
  } finally {
    socket.destroy();
  }
}

export function median(values: number[]): number {
  const s = [...values].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 === 1 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}
