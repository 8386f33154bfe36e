/**
 * The lab's host-wide locks (test/lab/lab.ts withHostLock): what two labs side by side do one at a
 * time (picking a subnet, booting). A second taker waits for the first; a lock left by a dead owner
 * is taken over; the lock is released when the work throws.
 */
import { mkdtempSync, readFileSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

const root = mkdtempSync(join(tmpdir(), 'hvlab-lock-'));
process.env.HVCLUSTER_LAB_DIR = root;
const { withHostLock } = await import('../lab/lab.js');

describe('lab host lock', () => {
  it('runs one holder at a time, the second after the first released it', async () => {
    const order: string[] = [];
    let release!: () => void;
    const first = withHostLock('.t1.lock', null, async () => {
      order.push('first in');
      expect(readFileSync(join(root, '.t1.lock'), 'utf8')).toBe(String(process.pid));
      await new Promise<void>((r) => (release = r));
      order.push('first out');
    });
    await new Promise((r) => setTimeout(r, 50));
    const second = withHostLock('.t1.lock', null, async () => order.push('second in'));
    await new Promise((r) => setTimeout(r, 300));
    expect(order).toEqual(['first in']);
    release();
    await Promise.all([first, second]);
    expect(order).toEqual(['first in', 'first out', 'second in']);
    expect(existsSync(join(root, '.t1.lock'))).toBe(false);
  });

  it("takes over a dead owner's lock, and releases it when the work throws", async () => {
    // A PID above the kernel's maximum never runs.
    writeFileSync(join(root, '.t2.lock'), '4194305');
    await expect(withHostLock('.t2.lock', null, async () => {
      throw new Error('boom');
    })).rejects.toThrow('boom');
    expect(existsSync(join(root, '.t2.lock'))).toBe(false);
  });
});
