/**
 * A counting semaphore: at most `limit` holders at a time, the rest wait in FIFO order. The limit
 * can be lowered while it is held (holders above it keep their slots; nobody new gets one until the
 * count is below the new limit), and a waiter can ask to go first (one that just gave its slot back
 * to retry later).
 */
export class Semaphore {
  private active = 0;
  private current: number;
  private readonly waiters: Array<() => void> = [];

  constructor(limit: number) {
    Semaphore.check(limit);
    this.current = limit;
  }

  private static check(limit: number): void {
    if (!Number.isInteger(limit) || limit < 1) throw new Error(`semaphore limit must be a positive integer, got ${limit}`);
  }

  get limit(): number {
    return this.current;
  }

  get inUse(): number {
    return this.active;
  }

  get waiting(): number {
    return this.waiters.length;
  }

  /** Changes the limit; raising it lets waiters in at once. */
  setLimit(limit: number): void {
    Semaphore.check(limit);
    this.current = limit;
    this.admit();
  }

  private admit(): void {
    while (this.active < this.current && this.waiters.length > 0) {
      this.active++;
      this.waiters.shift()!();
    }
  }

  async acquire(options: { first?: boolean } = {}): Promise<() => void> {
    if (this.active < this.current && this.waiters.length === 0) {
      this.active++;
    } else {
      await new Promise<void>((resolve) => (options.first ? this.waiters.unshift(resolve) : this.waiters.push(resolve)));
    }
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.active--;
      this.admit();
    };
  }

  async run<T>(fn: () => Promise<T>): Promise<T> {
    const release = await this.acquire();
    try {
      return await fn();
    } finally {
      release();
    }
  }
}
