/** qemu-img info's description of an image, as preflight reads it; and the real qemu-img on files made here. */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseImageInfo, readImages } from '../../../installer/import/image-info.js';
import type { Answers } from '../../../installer/answers/schema.js';

describe('parseImageInfo', () => {
  it('a qcow2 image: its format and virtual size', () => {
    expect(parseImageInfo(JSON.stringify({ format: 'qcow2', 'virtual-size': 21474836480, filename: 'x.qcow2' }))).toEqual({ ok: true, format: 'qcow2', virtualSizeBytes: 21474836480 });
  });
  it('refuses what it cannot import: an unknown format, an overlay, no size, no JSON', () => {
    expect(parseImageInfo(JSON.stringify({ format: 'luks', 'virtual-size': 1024 }))).toMatchObject({ ok: false, reason: expect.stringContaining('not a disk image hvcluster imports (qemu-img reads it as luks') });
    expect(parseImageInfo(JSON.stringify({ format: 'qcow2', 'virtual-size': 1024, 'backing-filename': 'base.qcow2' }))).toMatchObject({ ok: false, reason: expect.stringContaining('overlay of base.qcow2: flatten it first') });
    expect(parseImageInfo(JSON.stringify({ format: 'raw' }))).toMatchObject({ ok: false, reason: 'qemu-img found no size in it' });
    expect(parseImageInfo('garbage')).toMatchObject({ ok: false });
  });
});

describe('readImages (qemu-img on the installer machine)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'hvcluster-images-'));
  const answersWith = (...images: string[]) => ({ spec: { guests: [{ name: 'g', disks: images.map((image) => ({ image })) }] } }) as unknown as Answers;

  it('reads each image once: a qcow2, a raw disk, a text file, a missing file', () => {
    const qcow2 = join(dir, 'a.qcow2');
    expect(spawnSync('qemu-img', ['create', '-q', '-f', 'qcow2', qcow2, '48M']).status).toBe(0);
    const raw = join(dir, 'b.raw');
    writeFileSync(raw, Buffer.alloc(1024 * 1024));
    const text = join(dir, 'notes.txt');
    writeFileSync(text, 'not a disk\n'.repeat(200));
    const missing = join(dir, 'absent.qcow2');
    const images = readImages(answersWith(qcow2, raw, text, missing, qcow2));
    expect([...images.keys()]).toEqual([qcow2, raw, text, missing]);
    expect(images.get(qcow2)).toEqual({ ok: true, format: 'qcow2', virtualSizeBytes: 48 * 1024 * 1024 });
    expect(images.get(raw)).toEqual({ ok: true, format: 'raw', virtualSizeBytes: 1024 * 1024 });
    expect(images.get(text)).toMatchObject({ ok: false, reason: expect.stringContaining('it is not a disk image') });
    expect(images.get(missing)).toMatchObject({ ok: false, reason: expect.stringMatching(/No such file/) });
  });
});
