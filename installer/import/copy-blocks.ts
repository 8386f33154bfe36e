/**
 * Copies a whole export from one NBD server to another, in order, with a few requests in flight each
 * way: what a disk import does between the image (read as raw through a local qemu-nbd) and the
 * guest's DRBD device (written through qemu-nbd on its primary node). The bytes read are hashed
 * (sha256, in order) so the caller can compare with what the node reads back from its device.
 * Blocks of zeroes are not sent: skipped where the target is proven to read zeroes already (a fresh
 * volume), otherwise written as WRITE_ZEROES (no data on the wire).
 */
import { createHash } from 'node:crypto';
import { NBD_MAX_REQUEST, type NbdClient } from './nbd-client.js';

export interface CopyOptions {
  /** Bytes per request (default 4 MiB; at most NBD_MAX_REQUEST). */
  chunkBytes?: number;
  /** Requests in flight each way (default 4). */
  depth?: number;
  /** The target reads back as zeroes where nothing is written (a volume proven zero): zero blocks are skipped. */
  targetIsZero?: boolean;
  onProgress?: (progress: CopyProgress) => void;
}

export interface CopyProgress {
  done: number;
  total: number;
  elapsedMs: number;
}

export interface CopyResult {
  /** The source's size, all of it copied. */
  bytes: number;
  /** Bytes sent as data (the rest were zero blocks). */
  dataBytes: number;
  zeroBytes: number;
  /** sha256 of the source's bytes, hex. */
  sha256: string;
  elapsedMs: number;
}

const isZero = (b: Buffer): boolean => {
  // Compared 64 KiB at a time against one shared buffer of zeroes.
  for (let i = 0; i < b.length; i += 65536) {
    const part = b.subarray(i, Math.min(b.length, i + 65536));
    if (part.compare(ZEROES, 0, part.length) !== 0) return false;
  }
  return true;
};
const ZEROES = Buffer.alloc(65536);

export async function copyBlocks(source: NbdClient, target: NbdClient, options: CopyOptions = {}): Promise<CopyResult> {
  const started = Date.now();
  const size = source.info.size;
  if (target.info.readOnly) throw new Error('the target export is read-only');
  if (target.info.size < size) throw new Error(`the target (${target.info.size} bytes) is smaller than the source (${size} bytes)`);
  const chunk = Math.min(options.chunkBytes ?? 4 * 1024 * 1024, NBD_MAX_REQUEST);
  const depth = Math.max(1, options.depth ?? 4);
  const hash = createHash('sha256');

  const reads: Promise<Buffer>[] = [];
  let nextRead = 0;
  const issueReads = () => {
    while (reads.length < depth && nextRead < size) {
      const length = Math.min(chunk, size - nextRead);
      const p = source.read(nextRead, length);
      // Awaited in order below; a failure is seen there (this only keeps it from being "unhandled" meanwhile).
      p.catch(() => undefined);
      reads.push(p);
      nextRead += length;
    }
  };

  const writes = new Set<Promise<void>>();
  let writeError: unknown = null;
  const track = (w: Promise<void>) => {
    const p: Promise<void> = w.then(
      () => {
        writes.delete(p);
      },
      (error: unknown) => {
        writes.delete(p);
        writeError ??= error;
      },
    );
    writes.add(p);
  };

  let offset = 0;
  let dataBytes = 0;
  let zeroBytes = 0;
  issueReads();
  while (reads.length > 0) {
    const data = await reads.shift()!;
    issueReads();
    hash.update(data);
    if (isZero(data)) {
      zeroBytes += data.length;
      if (!options.targetIsZero) track(target.writeZeroes(offset, data.length));
    } else {
      dataBytes += data.length;
      track(target.write(offset, data));
    }
    offset += data.length;
    while (writes.size >= depth) await Promise.race(writes);
    if (writeError) throw writeError;
    options.onProgress?.({ done: offset, total: size, elapsedMs: Date.now() - started });
  }
  await Promise.all(writes);
  if (writeError) throw writeError;
  await target.flush();
  return { bytes: size, dataBytes, zeroBytes, sha256: hash.digest('hex'), elapsedMs: Date.now() - started };
}
