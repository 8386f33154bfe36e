/**
 * Retry with exponential backoff, as pure logic: the clock, the sleep and the randomness are
 * injectable so that unit tests can drive it without waiting.
 */

export interface RetryOptions {
  /** Total attempts, the first included (default 6). */
  attempts?: number;
  /** Delay before the second attempt (default 500 ms); doubles after each failure. */
  initialDelayMs?: number;
  /** Upper bound of one delay (default 5 s). */
  maxDelayMs?: number;
  /** Give up when the next attempt would start later than this many ms after the first (default 60 s). */
  deadlineMs?: number;
  /** Random spread of each delay, 0..1 (default 0.2: ±20 %). */
  jitter?: number;
}

export const DEFAULT_RETRY: Required<RetryOptions> = {
  attempts: 6,
  initialDelayMs: 500,
  maxDelayMs: 5_000,
  deadlineMs: 60_000,
  jitter: 0.2,
};

/** The delay after failed attempt number `failures` (1-based), before jitter. */
export function backoffDelay(failures: number, options: RetryOptions = {}): number {
  const o = { ...DEFAULT_RETRY, ...options };
  const exp = o.initialDelayMs * 2 ** Math.max(0, failures - 1);
  return Math.min(o.maxDelayMs, exp);
}

/** Applies ±jitter to a delay; `random` returns a number in [0, 1). */
export function withJitter(delayMs: number, jitter: number, random: () => number = Math.random): number {
  if (jitter <= 0) return delayMs;
  const spread = delayMs * jitter;
  return Math.max(0, Math.round(delayMs - spread + 2 * spread * random()));
}

export interface RetryClock {
  now(): number;
  sleep(ms: number): Promise<void>;
  random(): number;
}

export const realClock: RetryClock = {
  now: () => Date.now(),
  sleep: (ms) => new Promise((resolve) => setTimeout(resolve, ms)),
  random: () => Math.random(),
};

export interface RetryEvent {
  attempt: number;
  error: unknown;
  delayMs: number;
}

/**
 * Runs `fn` until it succeeds, `isRetryable(error)` says no, the attempts are used up, or the
 * deadline would be passed. Rethrows the last error.
 */
export async function retryWithBackoff<T>(
  fn: (attempt: number) => Promise<T>,
  isRetryable: (error: unknown) => boolean,
  options: RetryOptions = {},
  clock: RetryClock = realClock,
  onRetry?: (event: RetryEvent) => void,
): Promise<T> {
  const o = { ...DEFAULT_RETRY, ...options };
  const start = clock.now();
  for (let attempt = 1; ; attempt++) {
    try {
      return await fn(attempt);
    } catch (error) {
      if (!isRetryable(error) || attempt >= o.attempts) throw error;
      const delayMs = withJitter(backoffDelay(attempt, o), o.jitter, clock.random);
      if (clock.now() + delayMs - start > o.deadlineMs) throw error;
      onRetry?.({ attempt, error, delayMs });
      await clock.sleep(delayMs);
    }
  }
}
