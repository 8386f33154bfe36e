/**
 * How many channels one SSH connection may have open at once, learned from the server.
 *
 * sshd refuses a channel past its MaxSessions ("Channel open failure: open failed") and frees a slot
 * only some time after a channel closes; on a slow or loaded server that can be seconds. So:
 * - a refusal while channels are open teaches the limit: at most as many as are open now (and the
 *   slot is given back, so that the refused open waits for a channel to finish instead of hammering);
 * - a refused open is retried while the connection makes progress (a channel opens or closes), and
 *   fails only when nothing has moved for `stallMs`;
 * - after 2 x limit opens in a row without a refusal the limit grows by one again (up to the
 *   configured maximum), in case a refusal came while sshd was still freeing closed sessions.
 */
import { Semaphore } from './semaphore.js';

export class ChannelBudget {
  private readonly slots: Semaphore;
  private openNow = 0;
  private cleanOpens = 0;
  private lastProgressAt: number;
  private waiters: Array<() => void> = [];

  constructor(
    readonly maximum: number,
    readonly stallMs: number,
    private readonly now: () => number = Date.now,
  ) {
    this.slots = new Semaphore(maximum);
    this.lastProgressAt = now();
  }

  /** The number of channels currently allowed. */
  get limit(): number {
    return this.slots.limit;
  }

  get open(): number {
    return this.openNow;
  }

  /** Waits for a slot; `first` puts a refused open back at the head of the queue. */
  acquire(options: { first?: boolean } = {}): Promise<() => void> {
    return this.slots.acquire(options);
  }

  /** A channel was opened. */
  opened(): void {
    this.openNow++;
    this.cleanOpens++;
    if (this.cleanOpens >= 2 * this.slots.limit && this.slots.limit < this.maximum) {
      this.slots.setLimit(this.slots.limit + 1);
      this.cleanOpens = 0;
    }
    this.progress();
  }

  /** An opened channel closed. */
  closed(): void {
    this.openNow = Math.max(0, this.openNow - 1);
    this.progress();
  }

  /** The server refused to open a channel: learn its limit from the channels open now. */
  refused(): void {
    this.cleanOpens = 0;
    if (this.openNow > 0 && this.openNow < this.slots.limit) this.slots.setLimit(this.openNow);
  }

  /** Whether a refused open that started waiting at `since` should give up: nothing moved for stallMs. */
  stalled(since: number): boolean {
    return this.now() - Math.max(since, this.lastProgressAt) > this.stallMs;
  }

  /** Resolves at the next opened or closed channel, or after `maxMs`. */
  waitForProgress(maxMs: number): Promise<void> {
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        this.waiters = this.waiters.filter((w) => w !== done);
        resolve();
      };
      const timer = setTimeout(done, maxMs);
      this.waiters.push(done);
    });
  }

  private progress(): void {
    this.lastProgressAt = this.now();
    for (const w of [...this.waiters]) w();
  }
}
