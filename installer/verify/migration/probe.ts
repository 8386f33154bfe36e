/**
 * The client side of the migration test: HTTP from the installer's process to the test guest, and
 * QEMU's own figures from `virsh domjobinfo --completed`.
 */
import { request } from 'node:http';

/** One HTTP GET; resolves with the body of a 200 answer, rejects on anything else or after timeoutMs. */
export function httpGet(host: string, path: string, timeoutMs: number, port = 80): Promise<string> {
  return new Promise((resolve, reject) => {
    const req = request({ host, port, path, method: 'GET', agent: false, headers: { connection: 'close' } }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (body += chunk));
      res.on('end', () => (res.statusCode === 200 ? resolve(body) : reject(new Error(`HTTP ${res.statusCode} from ${host}${path}`))));
      res.on('error', reject);
    });
    const timer = setTimeout(() => req.destroy(new Error(`no answer from http://${host}${path} within ${timeoutMs} ms`)), timeoutMs);
    req.on('error', reject);
    req.on('close', () => clearTimeout(timer));
    req.end();
  });
}

export interface GapSummary {
  requests: number;
  answers: number;
  /** Longest time without an answer inside the window, ms (the window's start and end count as edges). */
  maxGapMs: number;
  /** Where that gap began, ms after the window's start. */
  maxGapAtMs: number;
}

/** The longest stretch without an answer in [start, end], given the times of the answers. Pure. */
export function longestGap(answerTimes: readonly number[], start: number, end: number): { maxGapMs: number; maxGapAtMs: number } {
  let previous = start;
  let maxGapMs = 0;
  let maxGapAtMs = 0;
  for (const t of [...answerTimes.filter((t) => t >= start && t <= end).sort((a, b) => a - b), end]) {
    if (t - previous > maxGapMs) {
      maxGapMs = t - previous;
      maxGapAtMs = previous - start;
    }
    previous = t;
  }
  return { maxGapMs, maxGapAtMs };
}

/**
 * Polls the guest every `intervalMs` (one request at a time; a request that hangs is abandoned after
 * `requestTimeoutMs` and the next one starts). An answer counts only if it comes from the same boot
 * of the guest (`expect` is found in the body): a rebooted guest is not a migrated one.
 */
export class HttpProbe {
  private readonly answers: number[] = [];
  private requests = 0;
  private running = false;
  private loop: Promise<void> | undefined;
  private wrongAnswers = 0;
  startedAt = 0;

  constructor(
    private readonly host: string,
    private readonly expect: string,
    private readonly intervalMs = 20,
    private readonly requestTimeoutMs = 400,
    private readonly port = 80,
  ) {}

  start(): void {
    this.running = true;
    this.startedAt = Date.now();
    this.loop = (async () => {
      while (this.running) {
        const sent = Date.now();
        this.requests++;
        try {
          const body = await httpGet(this.host, '/', this.requestTimeoutMs, this.port);
          if (body.includes(this.expect)) this.answers.push(Date.now());
          else this.wrongAnswers++;
        } catch {
          // no answer: that is what the gap measures
        }
        const wait = this.intervalMs - (Date.now() - sent);
        if (wait > 0 && this.running) await new Promise((resolve) => setTimeout(resolve, wait));
      }
    })();
  }

  /** Stops polling and summarizes [startedAt, stop time]. */
  async stop(): Promise<GapSummary & { wrongAnswers: number }> {
    this.running = false;
    const end = Date.now();
    await this.loop;
    return { requests: this.requests, answers: this.answers.length, wrongAnswers: this.wrongAnswers, ...longestGap(this.answers, this.startedAt, end) };
  }
}

export interface JobInfo {
  /** "Time elapsed", ms. */
  elapsedMs: number | null;
  /** "Total downtime", ms. */
  downtimeMs: number | null;
  /** "Data processed" or "Memory processed" as printed, for the report. */
  fields: Record<string, string>;
}

/** Parses `virsh domjobinfo --completed` output (`Total downtime:    393          ms`). Pure. */
export function parseJobInfo(text: string): JobInfo {
  const fields: Record<string, string> = {};
  for (const line of text.split('\n')) {
    const m = /^([^:]+):\s+(.*\S)\s*$/.exec(line);
    if (m) fields[m[1]!.trim()] = m[2]!.replace(/\s+/g, ' ');
  }
  const ms = (key: string): number | null => {
    const m = /^(\d+(?:\.\d+)?) ms$/.exec(fields[key] ?? '');
    return m ? Number(m[1]) : null;
  };
  return { elapsedMs: ms('Time elapsed'), downtimeMs: ms('Total downtime'), fields };
}
