import { describe, expect, it } from 'vitest';
import { backoffDelay, retryWithBackoff, withJitter, type RetryClock } from '../../../installer/ssh/backoff.js';
import { Semaphore } from '../../../installer/ssh/semaphore.js';

function fakeClock(): RetryClock & { slept: number[]; t: number } {
  const clock = {
    t: 0,
    slept: [] as number[],
    now: () => clock.t,
    sleep: async (ms: number) => {
      clock.slept.push(ms);
      clock.t += ms;
    },
    random: () => 0.5,
  };
  return clock;
}

describe('backoff', () => {
  it('doubles from the initial delay up to the maximum', () => {
    const o = { initialDelayMs: 100, maxDelayMs: 1_000 };
    expect([1, 2, 3, 4, 5, 6].map((n) => backoffDelay(n, o))).toEqual([100, 200, 400, 800, 1_000, 1_000]);
  });

  it('applies jitter within ±spread', () => {
    expect(withJitter(1_000, 0.2, () => 0)).toBe(800);
    expect(withJitter(1_000, 0.2, () => 0.999999)).toBe(1_200);
    expect(withJitter(1_000, 0, () => 0)).toBe(1_000);
  });

  it('retries retryable errors until success', async () => {
    const clock = fakeClock();
    let calls = 0;
    const value = await retryWithBackoff(
      async () => {
        if (++calls < 4) throw new Error('refused');
        return 'ok';
      },
      () => true,
      { attempts: 10, initialDelayMs: 100, maxDelayMs: 250, jitter: 0 },
      clock,
    );
    expect(value).toBe('ok');
    expect(calls).toBe(4);
    expect(clock.slept).toEqual([100, 200, 250]);
  });

  it('stops at once on a non-retryable error', async () => {
    const clock = fakeClock();
    let calls = 0;
    await expect(
      retryWithBackoff(
        async () => {
          calls++;
          throw new Error('auth');
        },
        () => false,
        {},
        clock,
      ),
    ).rejects.toThrow('auth');
    expect(calls).toBe(1);
    expect(clock.slept).toEqual([]);
  });

  it('stops after the attempts, rethrowing the last error', async () => {
    const clock = fakeClock();
    let calls = 0;
    await expect(
      retryWithBackoff(
        async () => {
          throw new Error(`refused ${++calls}`);
        },
        () => true,
        { attempts: 3, initialDelayMs: 10, jitter: 0 },
        clock,
      ),
    ).rejects.toThrow('refused 3');
    expect(clock.slept).toEqual([10, 20]);
  });

  it('stops when the next attempt would pass the deadline', async () => {
    const clock = fakeClock();
    let calls = 0;
    const events: number[] = [];
    await expect(
      retryWithBackoff(
        async () => {
          calls++;
          clock.t += 100; // each attempt takes 100 ms
          throw new Error('timeout');
        },
        () => true,
        { attempts: 100, initialDelayMs: 200, maxDelayMs: 200, deadlineMs: 1_000, jitter: 0 },
        clock,
        (e) => events.push(e.attempt),
      ),
    ).rejects.toThrow('timeout');
    // Attempts start at t=0, 300, 600, 900; after the fourth (t=1000) a 200 ms wait would end past 1000.
    expect(calls).toBe(4);
    expect(events).toEqual([1, 2, 3]);
    expect(clock.t).toBe(1_000);
  });
});

describe('Semaphore', () => {
  it('lets at most `limit` run at once, in FIFO order', async () => {
    const sem = new Semaphore(2);
    let active = 0;
    let peak = 0;
    const order: number[] = [];
    const gates = Array.from({ length: 6 }, () => {
      let open!: () => void;
      const p = new Promise<void>((r) => (open = r));
      return { p, open };
    });
    const runs = gates.map((g, i) =>
      sem.run(async () => {
        order.push(i);
        active++;
        peak = Math.max(peak, active);
        await g.p;
        active--;
      }),
    );
    await new Promise((r) => setTimeout(r, 0));
    expect(sem.inUse).toBe(2);
    expect(sem.waiting).toBe(4);
    for (const g of gates) {
      g.open();
      await new Promise((r) => setTimeout(r, 0));
    }
    await Promise.all(runs);
    expect(peak).toBe(2);
    expect(order).toEqual([0, 1, 2, 3, 4, 5]);
    expect(sem.inUse).toBe(0);
  });

  it('releases on failure, and a double release is harmless', async () => {
    const sem = new Semaphore(1);
    await expect(sem.run(async () => Promise.reject(new Error('x')))).rejects.toThrow('x');
    const release = await sem.acquire();
    release();
    release();
    expect(sem.inUse).toBe(0);
  });
});
