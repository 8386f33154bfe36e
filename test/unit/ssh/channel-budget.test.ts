import { describe, expect, it } from 'vitest';
import { ChannelBudget } from '../../../installer/ssh/channel-budget.js';
import { Semaphore } from '../../../installer/ssh/semaphore.js';

describe('Semaphore limit changes', () => {
  it('keeps holders above a lowered limit and admits nobody until the count is below it', async () => {
    const s = new Semaphore(3);
    const held = await Promise.all([s.acquire(), s.acquire(), s.acquire()]);
    s.setLimit(1);
    let admitted = false;
    const next = s.acquire().then((r) => ((admitted = true), r));
    held[0]!();
    held[1]!();
    await Promise.resolve();
    expect(admitted).toBe(false);
    held[2]!();
    (await next)();
    expect(admitted).toBe(true);
    expect(s.inUse).toBe(0);
  });

  it('lets a waiter that asks to go first jump the queue', async () => {
    const s = new Semaphore(1);
    const first = await s.acquire();
    const order: string[] = [];
    const a = s.acquire().then((r) => (order.push('queued'), r));
    const b = s.acquire({ first: true }).then((r) => (order.push('first'), r));
    first();
    (await b)();
    (await a)();
    expect(order).toEqual(['first', 'queued']);
  });
});

describe('ChannelBudget', () => {
  it('learns the limit from a refusal while channels are open, and grows back after clean opens', () => {
    const b = new ChannelBudget(16, 5_000);
    for (let i = 0; i < 10; i++) b.opened();
    b.refused();
    expect(b.limit).toBe(10);
    // 2 x limit clean opens (with closes between) raise it by one.
    for (let i = 0; i < 20; i++) {
      b.closed();
      b.opened();
    }
    expect(b.limit).toBe(11);
  });

  it('does not learn a limit of zero from a refusal with nothing open', () => {
    const b = new ChannelBudget(6, 5_000);
    b.refused();
    expect(b.limit).toBe(6);
  });

  it('calls a refused open stalled only when no channel opened or closed for stallMs', () => {
    let t = 0;
    const b = new ChannelBudget(6, 5_000, () => t);
    b.opened();
    t = 4_000;
    b.closed();
    t = 8_000;
    expect(b.stalled(0)).toBe(false);
    t = 9_001;
    expect(b.stalled(0)).toBe(true);
  });

  it('wakes a waiting open at the next close', async () => {
    const b = new ChannelBudget(6, 5_000);
    b.opened();
    const t0 = Date.now();
    const waiting = b.waitForProgress(10_000);
    b.closed();
    await waiting;
    expect(Date.now() - t0).toBeLessThan(1_000);
  });
});
