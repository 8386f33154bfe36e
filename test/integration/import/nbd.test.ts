/**
 * The NBD client and the block copy against real qemu-nbd servers on Unix sockets in a temporary
 * directory (started here, stopped by their PIDs): a qcow2 image read as raw, copied into a raw
 * target, compared byte for byte with `qemu-img convert`'s own output; and the target reached the
 * way an import reaches a node's qemu-nbd, through OpenSSH's sshd (streamlocal forwarding).
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { chmodSync, existsSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { connect, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { copyBlocks, type CopyProgress } from '../../../installer/import/copy-blocks.js';
import { NbdClient, NbdError } from '../../../installer/import/nbd-client.js';
import { waitFor } from '../../lab/util.js';
import { connect as sshConnect } from '../../../installer/ssh/index.js';
import { ensureTestUser, generateKey, startSshd, type SshdServer } from '../../helpers/sshd.js';
import { REMOTE_DIR } from '../../../installer/paths.js';

const MiB = 1024 * 1024;
const dir = mkdtempSync(join(tmpdir(), 'hvcluster-nbd-'));
const servers: ChildProcess[] = [];

function sh(argv: string[]): string {
  const r = spawnSync(argv[0]!, argv.slice(1), { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`${argv.join(' ')}: exit ${r.status}: ${r.stderr}`);
  return r.stdout;
}

/** qemu-nbd serving FILE on a Unix socket; resolves once the socket exists. */
async function serve(file: string, format: 'qcow2' | 'raw', options: { readOnly?: boolean; name?: string } = {}): Promise<string> {
  const socket = join(dir, `${servers.length}.sock`);
  const argv = ['--persistent', '--shared=4', `--socket=${socket}`, `--format=${format}`, '--cache=none', ...(options.readOnly ? ['--read-only'] : []), ...(options.name ? [`--export-name=${options.name}`] : []), file];
  const child = spawn('qemu-nbd', argv, { stdio: ['ignore', 'ignore', 'pipe'] });
  servers.push(child);
  let stderr = '';
  child.stderr!.on('data', (c: Buffer) => (stderr += c.toString()));
  await waitFor(`qemu-nbd on ${socket}`, async () => {
    if (child.exitCode !== null) throw new Error(`qemu-nbd exited ${child.exitCode}: ${stderr}`);
    return existsSync(socket) ? true : undefined;
  }, { timeoutMs: 20_000, intervalMs: 50 });
  return socket;
}

function open(socket: string, name = ''): Promise<NbdClient> {
  return new Promise((resolve, reject) => {
    const s = connect(socket, () => NbdClient.connect(s, name).then(resolve, reject));
    s.on('error', reject);
  });
}

const sha256 = (file: string) => createHash('sha256').update(readFileSync(file)).digest('hex');

afterAll(() => {
  for (const c of servers) if (c.pid && c.exitCode === null) process.kill(c.pid, 'SIGTERM');
  rmSync(dir, { recursive: true, force: true });
});

// A 48 MiB qcow2 with data in a few places and zeroes elsewhere (4 MiB of 0xab, 1 MiB of 0x5c at an
// odd offset, the last 64 KiB of 0x01), as an image from an old server would be.
const image = join(dir, 'old-server.qcow2');
sh(['qemu-img', 'create', '-q', '-f', 'qcow2', image, '48M']);
sh(['qemu-io', '-f', 'qcow2', '-c', 'write -P 0xab 8M 4M', '-c', 'write -P 0x5c 21037056 1M', '-c', 'write -P 0x01 50266112 64k', image]);
const expected = join(dir, 'expected.raw');
sh(['qemu-img', 'convert', '-O', 'raw', image, expected]);

describe('NBD (against qemu-nbd)', () => {
  it('reads a qcow2 image as raw blocks: size, read-only flag, the bytes qemu-img sees', async () => {
    const src = await open(await serve(image, 'qcow2', { readOnly: true }));
    expect(src.info).toMatchObject({ size: 48 * MiB, readOnly: true });
    const raw = readFileSync(expected);
    const [a, b] = await Promise.all([src.read(8 * MiB - 4096, 8192), src.read(21037056, MiB)]);
    expect(a.equals(raw.subarray(8 * MiB - 4096, 8 * MiB + 4096))).toBe(true);
    expect(b.equals(Buffer.alloc(MiB, 0x5c))).toBe(true);
    await expect(src.write(0, Buffer.alloc(512))).rejects.toThrow('read-only');
    await expect(src.read(48 * MiB - 512, 1024)).rejects.toThrow('beyond the end of the export');
    await src.close();
  });

  it('copies the image into a raw target: identical to qemu-img convert, zero blocks not sent as data, the sha256 of the source', async () => {
    const target = join(dir, 'target.raw');
    sh(['qemu-img', 'create', '-q', '-f', 'raw', target, '64M']);
    // Garbage where the image has zeroes: a target not known to be zero gets its zero blocks zeroed.
    sh(['qemu-io', '-f', 'raw', '-c', 'write -P 0xee 0 48M', target]);
    const src = await open(await serve(image, 'qcow2', { readOnly: true }));
    const dst = await open(await serve(target, 'raw'));
    const seen: CopyProgress[] = [];
    const r = await copyBlocks(src, dst, { chunkBytes: MiB, depth: 4, onProgress: (p) => seen.push(p) });
    expect(r.bytes).toBe(48 * MiB);
    // Chunks of 1 MiB holding any data: 4 (0xab) + 2 (0x5c, straddling) + 1 (0x01).
    expect(r.dataBytes).toBe(7 * MiB);
    expect(r.zeroBytes).toBe(41 * MiB);
    expect(r.sha256).toBe(sha256(expected));
    expect(seen.at(-1)).toMatchObject({ done: 48 * MiB, total: 48 * MiB });
    expect(seen.map((p) => p.done)).toEqual([...seen.map((p) => p.done)].sort((x, y) => x - y));
    await Promise.all([src.close(), dst.close()]);
    const copied = readFileSync(target);
    expect(createHash('sha256').update(copied.subarray(0, 48 * MiB)).digest('hex')).toBe(sha256(expected));
    // Past the source's end the target is untouched.
    expect(copied.subarray(48 * MiB).equals(Buffer.alloc(16 * MiB))).toBe(true);
  });

  it('skips zero blocks on a target known to be zero (a fresh volume), and refuses a target smaller than the source', async () => {
    const fresh = join(dir, 'fresh.raw');
    sh(['qemu-img', 'create', '-q', '-f', 'raw', fresh, '48M']);
    const src = await open(await serve(image, 'qcow2', { readOnly: true }));
    const dst = await open(await serve(fresh, 'raw'));
    const r = await copyBlocks(src, dst, { targetIsZero: true });
    expect(r.sha256).toBe(sha256(expected));
    await dst.close();
    expect(sha256(fresh)).toBe(sha256(expected));
    // Sparse: only the chunks with data were written (4 MiB chunks: 8-12 MiB, 20-24 MiB, 44-48 MiB;
    // qemu allocates the file's first block itself when it opens it).
    expect(statSync(fresh).blocks * 512).toBeLessThanOrEqual(12 * MiB + 64 * 1024);
    const small = join(dir, 'small.raw');
    sh(['qemu-img', 'create', '-q', '-f', 'raw', small, '16M']);
    const tooSmall = await open(await serve(small, 'raw'));
    await expect(copyBlocks(src, tooSmall)).rejects.toThrow('the target (16777216 bytes) is smaller than the source (50331648 bytes)');
    await Promise.all([src.close(), tooSmall.close()]);
  });

  it('names a refused export and a peer that is not an NBD server', async () => {
    const socket = await serve(image, 'qcow2', { readOnly: true, name: 'disk0' });
    await expect(open(socket, 'other')).rejects.toThrow(NbdError);
    await expect(open(socket, 'other')).rejects.toThrow('refused export "other"');
    const ok = await open(socket, 'disk0');
    expect(ok.info.size).toBe(48 * MiB);
    await ok.close();
    // Something else on the socket (here: an SSH banner).
    const other = join(dir, 'not-nbd.sock');
    const server = createServer((c) => c.end('SSH-2.0-OpenSSH_9.2p1 Debian-2+deb12u3\r\n'));
    await new Promise<void>((resolve) => server.listen(other, resolve));
    try {
      await expect(open(other)).rejects.toThrow('not an NBD server');
    } finally {
      server.close();
    }
  });
});

describe('NBD through SSH (a Unix socket on the server, streamlocal forwarding)', () => {
  let sshd: SshdServer | undefined;
  afterAll(async () => {
    await sshd?.stop();
  });

  it('copies the image into a qemu-nbd reached through sshd, and names a socket that is not there', async () => {
    sshd = await startSshd();
    const key = await generateKey(dir, 'id_ed25519');
    sshd.authorize('root', key.publicKey);
    const c = await sshConnect(
      { name: 'hv1', host: sshd.host, port: sshd.port, user: 'root', identityFiles: [key.path], jump: [], hostKeyFingerprint: sshd.hostKeyFingerprint },
      { knownHostsFiles: [], onUnknown: 'refuse' },
    );
    try {
      const target = join(dir, 'over-ssh.raw');
      sh(['qemu-img', 'create', '-q', '-f', 'raw', target, '48M']);
      const socket = await serve(target, 'raw');
      const src = await open(await serve(image, 'qcow2', { readOnly: true }));
      const dst = await NbdClient.connect(await c.openUnixSocket!(socket));
      const r = await copyBlocks(src, dst, { targetIsZero: true });
      await Promise.all([src.close(), dst.close()]);
      expect(r.sha256).toBe(sha256(expected));
      expect(sha256(target)).toBe(sha256(expected));
      await expect(c.openUnixSocket!(join(dir, 'absent.sock'))).rejects.toThrow(`hv1: could not open the Unix socket ${join(dir, 'absent.sock')} through SSH`);
    } finally {
      await c.close();
    }
  });
});

describe('an import as it reaches a node: nbd-export.sh run through sudo, its socket opened by the login user', () => {
  let sshd: SshdServer | undefined;
  let loop = '';
  let exported = '';
  afterAll(async () => {
    await sshd?.stop();
    // The export this test started, if a failure left it running (timeout's PID: it stops qemu-nbd).
    if (exported) spawnSync('kill', [exported]);
    if (loop) await waitFor(`${loop} detached`, async () => (spawnSync('losetup', ['-d', loop]).status === 0 || !spawnSync('losetup', [loop]).stdout ? true : undefined), { timeoutMs: 20_000, intervalMs: 200 }).catch(() => undefined);
  });

  it('exports a block device for one connection: the image written into it byte for byte, qemu-nbd gone after the disconnect', async () => {
    const backing = join(dir, 'device.img');
    sh(['qemu-img', 'create', '-q', '-f', 'raw', backing, '48M']);
    sh(['qemu-io', '-f', 'raw', '-c', 'write -P 0xee 0 48M', backing]);
    loop = sh(['losetup', '--find', '--show', backing]).trim();
    const user = await ensureTestUser('hvtest-import', { sudo: 'nopasswd' });
    // The login user reaches the socket's directory (on a node it is under /run, open to all).
    chmodSync(dir, 0o711);
    sshd = await startSshd();
    const key = await generateKey(dir, 'id_import');
    sshd.authorize(user.name, key.publicKey);
    const c = await sshConnect(
      { name: 'hv1', host: sshd.host, port: sshd.port, user: user.name, identityFiles: [key.path], jump: [], hostKeyFingerprint: sshd.hostKeyFingerprint },
      { knownHostsFiles: [], onUnknown: 'refuse' },
    );
    try {
      const script = readFileSync(join(REMOTE_DIR, 'nbd-export.sh'));
      const socketDir = join(dir, 'import-web-disk0');
      const r = await c.exec(`sh -s -- ${loop} ${socketDir} ${user.name} 120`, { sudo: true, stdin: script });
      const [, pid, socket] = /^ready (\d+) (\S+)$/m.exec(r.stdout) ?? [];
      exported = pid ?? '';
      expect(socket, r.stdout + r.stderr).toBe(join(socketDir, 'nbd.sock'));
      expect(statSync(socketDir).mode & 0o777).toBe(0o700);
      const src = await open(await serve(image, 'qcow2', { readOnly: true }));
      const dst = await NbdClient.connect(await c.openUnixSocket!(socket!));
      expect(dst.info.size).toBe(48 * MiB);
      // Not a fresh volume (0xee everywhere): its zero blocks are zeroed too.
      const copied = await copyBlocks(src, dst);
      await Promise.all([src.close(), dst.close()]);
      expect(copied.sha256).toBe(sha256(expected));
      await waitFor('qemu-nbd to exit after the disconnect', async () => (spawnSync('kill', ['-0', pid!]).status !== 0 ? true : undefined), { timeoutMs: 20_000, intervalMs: 100 });
      exported = '';
      const onDevice = sh(['sh', '-c', `head -c ${48 * MiB} ${loop} | sha256sum`]).split(' ')[0];
      expect(onDevice).toBe(sha256(expected));
      // A path that is not a block device is refused before anything starts.
      const bad = await c.exec(`sh -s -- ${backing} ${socketDir} ${user.name} 120`, { sudo: true, stdin: script, allowFailure: true });
      expect(bad.exitCode).toBe(2);
      expect(bad.stderr).toContain(`${backing} is not a block device`);
    } finally {
      await c.close();
    }
  });
});
