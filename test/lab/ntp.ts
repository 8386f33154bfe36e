// The lab's time source: a minimal NTP server (RFC 5905 server mode, one packet in, one out) on the
// host's management address inside the lab's namespace, serving the host's clock. The lab's site.yaml
// names it in time.servers, so chrony on the nodes (configured by hvcluster, as on a customer's
// servers) keeps their clocks on the host's: emulated VMs lose time whenever QEMU stops them (a
// checkpoint, a pause), and a clock that drifts is what verify's CLOCK_SKEW rightly reports.
//
// Run as a program (detached, one per lab):  ntp.ts --state LAB_DIR/ntp --listen ADDRESS
import { spawn } from 'node:child_process';
import { createSocket } from 'node:dgram';
import { closeSync, mkdirSync, openSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { logTail, pidAlive, pidCmdline, processesIn, readPidFile, sleep, udpListening } from './util.js';
import { killAndWait } from './vm.js';

export const NTP_PORT = 123;
/** Seconds from 1900-01-01 (NTP's era 0) to 1970-01-01. */
const NTP_EPOCH_OFFSET = 2_208_988_800;
const HERE = dirname(fileURLToPath(import.meta.url));

export const ntpFiles = (labDir: string) => {
  const dir = join(labDir, 'ntp');
  return { dir, pidfile: join(dir, 'ntp.pid'), log: join(dir, 'ntp.log') };
};

/** Writes an NTP timestamp (seconds since 1900, 32.32 fixed point) of a Unix time in ms. */
function writeTimestamp(buf: Buffer, offset: number, unixMs: number): void {
  const seconds = Math.floor(unixMs / 1000);
  const fraction = Math.floor(((unixMs - seconds * 1000) / 1000) * 2 ** 32);
  buf.writeUInt32BE((seconds + NTP_EPOCH_OFFSET) >>> 0, offset);
  buf.writeUInt32BE(Math.min(fraction, 2 ** 32 - 1), offset + 4);
}

/** Reads an NTP timestamp back as Unix ms (for tests and the lab's own checks). */
export function readTimestamp(buf: Buffer, offset: number): number {
  return (buf.readUInt32BE(offset) - NTP_EPOCH_OFFSET) * 1000 + (buf.readUInt32BE(offset + 4) / 2 ** 32) * 1000;
}

/**
 * The server's answer to one packet, or null for anything that is not a client request (mode 3,
 * versions 1-4, at least 48 bytes). Stratum 1, reference "LAB", leap indicator 0 (synchronized):
 * chrony accepts it as a source. The client's transmit timestamp goes back as the origin (chrony
 * sends a random one and checks it). Pure: the caller gives the receive and transmit times.
 */
export function ntpReply(request: Buffer, receivedMs: number, sentMs: number): Buffer | null {
  if (request.length < 48) return null;
  const version = (request[0]! >> 3) & 0x7;
  const mode = request[0]! & 0x7;
  if (mode !== 3 || version < 1 || version > 4) return null;
  const reply = Buffer.alloc(48);
  reply[0] = (0 << 6) | (version << 3) | 4; // LI 0, the client's version, mode 4 (server)
  reply[1] = 1; // stratum 1: the host's clock is the reference
  reply[2] = request[2]!; // the client's poll interval
  reply.writeInt8(-20, 3); // precision ~1 µs
  reply.writeUInt32BE(0, 4); // root delay
  reply.writeUInt32BE(0x10, 8); // root dispersion ~0.25 ms
  reply.write('LAB\0', 12, 'latin1'); // reference id
  writeTimestamp(reply, 16, sentMs); // reference timestamp: the host clock is always "just set"
  request.copy(reply, 24, 40, 48); // origin = the client's transmit timestamp
  writeTimestamp(reply, 32, receivedMs);
  writeTimestamp(reply, 40, sentMs);
  return reply;
}

/** The host's time in ms with sub-millisecond resolution. */
function nowMs(): number {
  return performance.timeOrigin + performance.now();
}

/** Serves until killed. */
function serve(address: string): void {
  const socket = createSocket('udp4');
  socket.on('message', (msg, from) => {
    const received = nowMs();
    const reply = ntpReply(msg, received, nowMs());
    if (reply) socket.send(reply, from.port, from.address);
  });
  socket.on('error', (e) => {
    process.stderr.write(`lab ntp: ${e.message}\n`);
    process.exit(1);
  });
  socket.bind(NTP_PORT, address, () => process.stderr.write(`lab ntp: serving the host's clock on ${address}:${NTP_PORT}/udp\n`));
}

/** True if PID is the lab NTP server of this lab directory. */
function isOurNtp(pid: number, labDir: string): boolean {
  const argv = pidCmdline(pid);
  const i = argv.indexOf('--state');
  return argv.some((a) => a.endsWith('/ntp.ts')) && argv[i + 1] === ntpFiles(labDir).dir;
}

export function ntpPid(labDir: string): number | undefined {
  const pid = readPidFile(ntpFiles(labDir).pidfile);
  return pid && pidAlive(pid) && isOurNtp(pid, labDir) ? pid : undefined;
}

/** NTP servers of this lab directory (covers a pidfile lost to a killed `up`). */
export function findLabNtp(labDir: string): number[] {
  return processesIn(labDir, 'node', '--state');
}

/** Starts the lab's NTP server (detached, in the namespace) unless it runs; returns its PID once it listens. */
export async function startNtp(labDir: string, netns: string, address: string, timeoutMs = 15_000): Promise<number> {
  const running = ntpPid(labDir);
  if (running) return running;
  const f = ntpFiles(labDir);
  mkdirSync(f.dir, { recursive: true });
  const out = openSync(f.log, 'a');
  let pid: number | undefined;
  try {
    const child = spawn('ip', ['netns', 'exec', netns, process.execPath, '--import', import.meta.resolve('tsx'), join(HERE, 'ntp.ts'), '--state', f.dir, '--listen', address], {
      detached: true, stdio: ['ignore', out, out],
    });
    pid = child.pid;
    child.on('error', () => {});
    child.unref();
  } finally {
    closeSync(out);
  }
  if (!pid) throw new Error(`cannot start the lab's NTP server (see ${f.log})`);
  writeFileSync(f.pidfile, `${pid}\n`);
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (!pidAlive(pid)) throw new Error(`the lab's NTP server exited at start: ${logTail(f.log)}`);
    if (await udpListening(netns, address, NTP_PORT)) return pid;
    if (Date.now() > deadline) throw new Error(`the lab's NTP server does not listen on ${address}:${NTP_PORT}/udp after ${timeoutMs / 1000} s: ${logTail(f.log)}`);
    await sleep(100);
  }
}

/** Stops the lab's NTP server (and any left by a killed `up`); returns the PIDs stopped. */
export async function stopNtp(labDir: string): Promise<number[]> {
  const pids = [...new Set([ntpPid(labDir), ...findLabNtp(labDir)].filter((p): p is number => p !== undefined))];
  for (const pid of pids) await killAndWait(pid, 'SIGTERM', 5_000);
  rmSync(ntpFiles(labDir).pidfile, { force: true });
  return pids;
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const argv = process.argv.slice(2);
  const listen = argv[argv.indexOf('--listen') + 1];
  if (!argv.includes('--state') || !listen) {
    process.stderr.write('usage: ntp.ts --state DIR --listen ADDRESS\n');
    process.exit(2);
  }
  serve(listen);
}
