/**
 * The disk images an answer file names (`spec.guests[].disks[].image`), as `qemu-img info` on the
 * installer's machine reads them: their format and virtual size, or why they cannot be imported
 * (missing, unreadable, not a disk image). Read once before the plan, which places and sizes the
 * guests' disks from them and reports every problem before any change.
 */
import { spawnSync } from 'node:child_process';
import { closeSync, openSync, readSync } from 'node:fs';
import type { Answers } from '../answers/schema.js';

/** The formats an import reads (through a local qemu-nbd): what qemu-img calls them. */
export const IMPORT_FORMATS = ['raw', 'qcow2', 'vmdk', 'vdi', 'vhdx', 'vpc'] as const;

export type ImageInfo = { ok: true; format: string; virtualSizeBytes: number } | { ok: false; reason: string };

/** `qemu-img info --output=json` of one image, as ImageInfo. Pure. */
export function parseImageInfo(json: string): ImageInfo {
  let info: { format?: unknown; 'virtual-size'?: unknown; 'backing-filename'?: unknown };
  try {
    info = JSON.parse(json) as typeof info;
  } catch {
    return { ok: false, reason: 'qemu-img printed no readable description of it' };
  }
  const format = typeof info.format === 'string' ? info.format : '';
  const size = typeof info['virtual-size'] === 'number' ? info['virtual-size'] : NaN;
  if (!(IMPORT_FORMATS as readonly string[]).includes(format)) return { ok: false, reason: `it is not a disk image hvcluster imports (qemu-img reads it as ${format || 'nothing it knows'}; expected ${IMPORT_FORMATS.join(', ')})` };
  if (info['backing-filename'] !== undefined) return { ok: false, reason: `it is a ${format} overlay of ${String(info['backing-filename'])}: flatten it first (qemu-img convert -O qcow2 IMAGE FLAT.qcow2)` };
  if (!Number.isFinite(size) || size <= 0) return { ok: false, reason: `qemu-img found no size in it` };
  return { ok: true, format, virtualSizeBytes: size };
}

/**
 * Reads every image the answers name (each once). A raw file is what qemu-img calls a file it does
 * not recognise: one that is not a whole number of 512-byte sectors, or is empty, is refused as not
 * a disk image (a text file or an archive named by mistake).
 */
export function readImages(answers: Pick<Answers, 'spec'>): Map<string, ImageInfo> {
  const out = new Map<string, ImageInfo>();
  for (const guest of answers.spec.guests ?? []) {
    if (guest.state === 'absent') continue;
    for (const disk of guest.disks) {
      if (!('image' in disk) || disk.image === undefined || out.has(disk.image)) continue;
      out.set(disk.image, readImage(disk.image));
    }
  }
  return out;
}

function readImage(path: string): ImageInfo {
  const r = spawnSync('qemu-img', ['info', '--output=json', path], { encoding: 'utf8', timeout: 60_000 });
  if (r.error) return { ok: false, reason: `qemu-img could not run on the installer's machine (${r.error.message}); install qemu-utils` };
  if (r.status !== 0) {
    const why = r.stderr.trim().replace(/^qemu-img: /, '').replace(/^Could not open '[^']*': /, '');
    return { ok: false, reason: why || `qemu-img info failed (exit ${r.status})` };
  }
  const info = parseImageInfo(r.stdout);
  if (info.ok && info.format === 'raw' && (info.virtualSizeBytes % 512 !== 0 || looksLikeText(path))) {
    return { ok: false, reason: 'it is not a disk image (a raw image is a whole number of 512-byte sectors of binary data)' };
  }
  return info;
}

/** A raw "image" whose first bytes are printable text is a file named by mistake (a YAML file, a checksum list). */
function looksLikeText(path: string): boolean {
  const head = Buffer.alloc(512);
  const fd = openSync(path, 'r');
  let length = 0;
  try {
    length = readSync(fd, head, 0, head.length, 0);
  } finally {
    closeSync(fd);
  }
  return length > 0 && head.subarray(0, length).every((b) => b === 9 || b === 10 || b === 13 || (b >= 32 && b < 127));
}
