/**
 * A small NBD client (the network block device protocol, fixed newstyle handshake, simple replies),
 * for moving a guest's disk image without a temporary copy: the installer reads any image QEMU
 * understands (qcow2, vmdk, raw...) as raw blocks from a local `qemu-nbd --read-only`, and writes them
 * to the guest's DRBD device through a `qemu-nbd` on the node, over the SSH connection. Requests are
 * pipelined (several in flight, replies matched by handle). Works over any duplex byte stream: a Unix
 * socket, a TCP socket, an SSH channel.
 *
 * Protocol: https://github.com/NetworkBlockDevice/nbd/blob/master/doc/proto.md (the parts used here:
 * NBD_OPT_GO with NBD_INFO_EXPORT, and the commands READ, WRITE, WRITE_ZEROES, FLUSH, DISC).
 */
import type { Duplex } from 'node:stream';

const NBDMAGIC = 0x4e42444d41474943n;
const IHAVEOPT = 0x49484156454f5054n;
const OPT_REPLY_MAGIC = 0x3e889045565a9n;
const REQUEST_MAGIC = 0x25609513;
const SIMPLE_REPLY_MAGIC = 0x67446698;

const FLAG_FIXED_NEWSTYLE = 1;
const FLAG_NO_ZEROES = 2;
const OPT_GO = 7;
const REP_ACK = 1;
const REP_INFO = 3;
const INFO_EXPORT = 0;

export const NBD_FLAG = { hasFlags: 1 << 0, readOnly: 1 << 1, sendFlush: 1 << 2, sendFua: 1 << 3, sendTrim: 1 << 5, sendWriteZeroes: 1 << 6 } as const;
const CMD = { read: 0, write: 1, disc: 2, flush: 3, trim: 4, writeZeroes: 6 } as const;
/** WRITE_ZEROES may leave a hole (unmap) instead of writing zeroes. */
const CMD_FLAG_NO_HOLE = 1 << 1;

/** The largest request sent: servers may refuse more than 32 MiB (qemu-nbd's limit). */
export const NBD_MAX_REQUEST = 32 * 1024 * 1024;

export class NbdError extends Error {
  constructor(
    message: string,
    /** The server's errno for a failed command (e.g. 28 ENOSPC, 5 EIO, 1 EPERM), when it sent one. */
    readonly errno?: number,
  ) {
    super(message);
  }
}

export interface NbdExport {
  size: number;
  flags: number;
  readOnly: boolean;
}

interface Pending {
  resolve: (data: Buffer) => void;
  reject: (error: Error) => void;
  /** Bytes of data that follow the reply header (reads only). */
  length: number;
  what: string;
}

/** Reads exact byte counts from a stream, in order. */
class ByteReader {
  private chunks: Buffer[] = [];
  private buffered = 0;
  private waiter: { n: number; resolve: (b: Buffer) => void; reject: (e: Error) => void } | null = null;
  private failure: Error | null = null;

  constructor(stream: Duplex) {
    stream.on('data', (chunk: Buffer) => {
      this.chunks.push(chunk);
      this.buffered += chunk.length;
      this.pump();
    });
    const end = (error?: Error) => {
      this.failure ??= error ?? new NbdError('the NBD server closed the connection');
      if (this.waiter) {
        this.waiter.reject(this.failure);
        this.waiter = null;
      }
    };
    stream.on('error', end);
    stream.on('close', () => end());
    stream.on('end', () => end());
  }

  read(n: number): Promise<Buffer> {
    if (this.waiter) throw new Error('one read at a time');
    return new Promise((resolve, reject) => {
      this.waiter = { n, resolve, reject };
      this.pump();
      if (this.waiter && this.failure) {
        this.waiter = null;
        reject(this.failure);
      }
    });
  }

  private pump(): void {
    const w = this.waiter;
    if (!w || this.buffered < w.n) return;
    const all = this.chunks.length === 1 ? this.chunks[0]! : Buffer.concat(this.chunks);
    const out = all.subarray(0, w.n);
    const rest = all.subarray(w.n);
    this.chunks = rest.length ? [rest] : [];
    this.buffered = rest.length;
    this.waiter = null;
    w.resolve(Buffer.from(out));
  }
}

export class NbdClient {
  private readonly reader: ByteReader;
  private readonly pending = new Map<bigint, Pending>();
  private nextHandle = 1n;
  private receiving = false;
  private closed: Error | null = null;

  private constructor(
    private readonly stream: Duplex,
    readonly info: NbdExport,
    reader: ByteReader,
  ) {
    this.reader = reader;
  }

  /** The handshake on a freshly opened stream to an NBD server; resolves once the export is selected. */
  static async connect(stream: Duplex, exportName = ''): Promise<NbdClient> {
    const reader = new ByteReader(stream);
    const hello = await reader.read(18);
    if (hello.readBigUInt64BE(0) !== NBDMAGIC || hello.readBigUInt64BE(8) !== IHAVEOPT) throw new NbdError('not an NBD server speaking the newstyle handshake');
    const serverFlags = hello.readUInt16BE(16);
    if (!(serverFlags & FLAG_FIXED_NEWSTYLE)) throw new NbdError('the NBD server does not offer the fixed newstyle handshake');
    const clientFlags = Buffer.alloc(4);
    clientFlags.writeUInt32BE(FLAG_FIXED_NEWSTYLE | (serverFlags & FLAG_NO_ZEROES));
    stream.write(clientFlags);

    const name = Buffer.from(exportName, 'utf8');
    const data = Buffer.alloc(4 + name.length + 2 + 2);
    data.writeUInt32BE(name.length, 0);
    name.copy(data, 4);
    data.writeUInt16BE(1, 4 + name.length);
    data.writeUInt16BE(INFO_EXPORT, 6 + name.length);
    const header = Buffer.alloc(16);
    header.writeBigUInt64BE(IHAVEOPT, 0);
    header.writeUInt32BE(OPT_GO, 8);
    header.writeUInt32BE(data.length, 12);
    stream.write(Buffer.concat([header, data]));

    let info: NbdExport | null = null;
    for (;;) {
      const rep = await reader.read(20);
      if (rep.readBigUInt64BE(0) !== OPT_REPLY_MAGIC) throw new NbdError('bad option reply from the NBD server');
      const type = rep.readUInt32BE(12);
      const body = await reader.read(rep.readUInt32BE(16));
      if (type & 0x80000000) throw new NbdError(`the NBD server refused export "${exportName}" (reply ${type - 0x80000000}${body.length ? `: ${body.toString('utf8')}` : ''})`);
      if (type === REP_INFO && body.readUInt16BE(0) === INFO_EXPORT) {
        const flags = body.readUInt16BE(10);
        info = { size: Number(body.readBigUInt64BE(2)), flags, readOnly: Boolean(flags & NBD_FLAG.readOnly) };
      } else if (type === REP_ACK) {
        break;
      }
    }
    if (!info) throw new NbdError('the NBD server did not say the export size');
    return new NbdClient(stream, info, reader);
  }

  /** Reads `length` bytes at `offset` (at most NBD_MAX_REQUEST). */
  read(offset: number, length: number): Promise<Buffer> {
    return this.request(CMD.read, 0, offset, length, undefined, length, `read of ${length} bytes at ${offset}`);
  }

  write(offset: number, data: Buffer): Promise<void> {
    if (this.info.readOnly) return Promise.reject(new NbdError('the export is read-only'));
    return this.request(CMD.write, 0, offset, data.length, data, 0, `write of ${data.length} bytes at ${offset}`).then(() => undefined);
  }

  /** Zeroes a range; `allowHole` lets the server unmap it instead (only where a hole reads back as zeroes). */
  writeZeroes(offset: number, length: number, allowHole = false): Promise<void> {
    if (!(this.info.flags & NBD_FLAG.sendWriteZeroes)) return this.write(offset, Buffer.alloc(length));
    return this.request(CMD.writeZeroes, allowHole ? 0 : CMD_FLAG_NO_HOLE, offset, length, undefined, 0, `zeroing of ${length} bytes at ${offset}`).then(() => undefined);
  }

  /** Asks the server to make every completed write durable (a no-op where it has nothing to flush). */
  flush(): Promise<void> {
    if (!(this.info.flags & NBD_FLAG.sendFlush)) return Promise.resolve();
    return this.request(CMD.flush, 0, 0, 0, undefined, 0, 'flush').then(() => undefined);
  }

  /** Ends the session politely (NBD_CMD_DISC, no reply) and closes the stream. */
  async close(): Promise<void> {
    if (!this.closed) {
      this.stream.write(this.header(CMD.disc, 0, 0n, 0, 0));
      this.closed = new NbdError('the NBD client is closed');
    }
    this.stream.end();
  }

  private header(type: number, flags: number, handle: bigint, offset: number, length: number): Buffer {
    const h = Buffer.alloc(28);
    h.writeUInt32BE(REQUEST_MAGIC, 0);
    h.writeUInt16BE(flags, 4);
    h.writeUInt16BE(type, 6);
    h.writeBigUInt64BE(handle, 8);
    h.writeBigUInt64BE(BigInt(offset), 16);
    h.writeUInt32BE(length, 24);
    return h;
  }

  private request(type: number, flags: number, offset: number, length: number, payload: Buffer | undefined, replyLength: number, what: string): Promise<Buffer> {
    if (this.closed) return Promise.reject(this.closed);
    if (length > NBD_MAX_REQUEST) return Promise.reject(new Error(`NBD request too large (${length} bytes; at most ${NBD_MAX_REQUEST})`));
    if (offset < 0 || offset + length > this.info.size) return Promise.reject(new NbdError(`${what}: beyond the end of the export (${this.info.size} bytes)`));
    const handle = this.nextHandle++;
    const result = new Promise<Buffer>((resolve, reject) => this.pending.set(handle, { resolve, reject, length: replyLength, what }));
    this.stream.write(payload ? Buffer.concat([this.header(type, flags, handle, offset, length), payload]) : this.header(type, flags, handle, offset, length));
    void this.receive();
    return result;
  }

  /** Reads replies while requests are in flight (one loop at a time). */
  private async receive(): Promise<void> {
    if (this.receiving) return;
    this.receiving = true;
    try {
      while (this.pending.size > 0) {
        const r = await this.reader.read(16);
        if (r.readUInt32BE(0) !== SIMPLE_REPLY_MAGIC) throw new NbdError('bad reply from the NBD server (not a simple reply)');
        const errno = r.readUInt32BE(4);
        const handle = r.readBigUInt64BE(8);
        const p = this.pending.get(handle);
        if (!p) throw new NbdError(`reply for an unknown request (handle ${handle})`);
        this.pending.delete(handle);
        if (errno !== 0) {
          p.reject(new NbdError(`${p.what} failed on the NBD server (errno ${errno})`, errno));
          continue;
        }
        p.resolve(p.length > 0 ? await this.reader.read(p.length) : Buffer.alloc(0));
      }
    } catch (error) {
      const e = error instanceof Error ? error : new Error(String(error));
      this.closed ??= e;
      for (const p of this.pending.values()) p.reject(e);
      this.pending.clear();
    } finally {
      this.receiving = false;
    }
  }
}
