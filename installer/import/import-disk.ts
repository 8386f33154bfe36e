/**
 * A disk image streamed into a guest's DRBD device on the node where it is Primary: the image read
 * as raw through a qemu-nbd on the installer's machine (qcow2, vmdk... converted on the fly), the
 * device written through a qemu-nbd on the node (installer/remote/nbd-export.sh) reached over the
 * run's SSH connection, so nothing is copied to the node's root filesystem. What was read is hashed
 * and compared with what the device holds afterwards (read back past the page cache).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Host, HostIo } from '../engine/host.js';
import { waitFor } from '../engine/steps/step.js';
import { copyBlocks, type CopyResult } from './copy-blocks.js';
import { NbdClient } from './nbd-client.js';

export interface DiskImport {
  /** The image on the installer's machine, and its format as qemu-img reads it. */
  image: string;
  format: string;
  /** The DRBD device, Primary on the host's node. */
  device: string;
  /** Names the node's socket directory and the messages. */
  resource: string;
  /** The device reads back as zeroes where nothing is written (a new volume proven zero): zero blocks are not sent. */
  targetIsZero: boolean;
}

/** How long the node's qemu-nbd may live whatever happens (a killed installer must not leave the device open). */
const EXPORT_DEADLINE_S = 6 * 3600;

/** A read-only qemu-nbd serving the image as raw on a Unix socket of its own; stopped by `stop` (by its PID). */
async function serveImage(image: string, format: string): Promise<{ client: NbdClient; stop: () => void }> {
  const dir = mkdtempSync(join(tmpdir(), 'hvcluster-import-'));
  const socket = join(dir, 'image.sock');
  const child: ChildProcess = spawn('qemu-nbd', ['--read-only', '--persistent', `--format=${format}`, `--socket=${socket}`, image], { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr!.on('data', (c: Buffer) => (stderr += c.toString()));
  const stop = () => {
    if (child.pid !== undefined && child.exitCode === null) child.kill('SIGTERM');
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    await waitFor(
      `qemu-nbd to serve ${image}`,
      async () => {
        if (child.exitCode !== null || child.signalCode !== null) throw new Error(`qemu-nbd could not serve ${image}: ${stderr.trim() || `exit ${child.exitCode}`}`);
        return existsSync(socket) ? true : undefined;
      },
      { timeoutMs: 30_000, intervalMs: 50 },
    );
    const client = await new Promise<NbdClient>((resolve, reject) => {
      const s = connect(socket, () => NbdClient.connect(s).then(resolve, reject));
      s.on('error', reject);
    });
    return { client, stop };
  } catch (error) {
    stop();
    throw error;
  }
}

/**
 * Copies the image into the device (inside the caller's recorded change: `io` runs the node's
 * scripts), then reads the device back and compares hashes. Throws with what differs; returns the
 * copy's figures.
 */
export async function importDisk(host: Host, io: HostIo, request: DiskImport, onProgress?: (done: number, total: number, elapsedMs: number) => void): Promise<CopyResult> {
  const source = await serveImage(request.image, request.format);
  try {
    const socketDir = `/run/hvcluster/import-${request.resource}-${host.runId}`;
    const ready = await io.run({ script: 'nbd-export.sh', args: [request.device, socketDir, host.loginUser, String(EXPORT_DEADLINE_S)] });
    const m = /^ready (\d+) (\S+)$/m.exec(ready.stdout);
    if (!m) throw new Error(`nbd-export.sh printed no "ready" line: ${ready.stdout.trim() || ready.stderr.trim()}`);
    const target = await NbdClient.connect(await host.openUnixSocket(m[2]!));
    let result: CopyResult;
    try {
      result = await copyBlocks(source.client, target, {
        targetIsZero: request.targetIsZero,
        ...(onProgress ? { onProgress: (p) => onProgress(p.done, p.total, p.elapsedMs) } : {}),
      });
    } finally {
      await target.close().catch(() => undefined);
    }
    // qemu-nbd on the node exits when its one client leaves; the device must be closed before it is demoted.
    await io.run({ script: 'nbd-export-end.sh', args: [m[1]!, socketDir] });
    const written = (await io.run({ script: 'device-sha256.sh', args: [request.device, String(result.bytes)], timeoutMs: 60 * 60_000 })).stdout.trim();
    if (written !== result.sha256) {
      throw new Error(`${request.device} does not hold what was read from ${request.image}: sha256 ${written} on the node, ${result.sha256} read from the image; the import is not finished (apply again to write it again)`);
    }
    return result;
  } finally {
    source.stop();
    await source.client.close().catch(() => undefined);
  }
}
