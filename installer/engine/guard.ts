/**
 * The one door every mutation goes through. It records what is done per server and step, and in a
 * dry run does nothing but record: that record is the exact dry-run plan.
 */
import type { EventSink } from './events.js';

export interface RecordedChange {
  server: string;
  step: string;
  description: string;
}

export class Guard {
  readonly changes: RecordedChange[] = [];

  constructor(
    readonly dryRun: boolean,
    private readonly emit: EventSink,
  ) {}

  /** Runs `mutate` (unless dry run) and records `description` for server and step. */
  async change<T>(server: string, step: string, description: string, mutate: () => Promise<T>): Promise<T | undefined> {
    this.changes.push({ server, step, description });
    this.emit({ type: 'change', server, step, description, dryRun: this.dryRun });
    if (this.dryRun) return undefined;
    return mutate();
  }

  changesOf(server: string, step: string): string[] {
    return this.changes.filter((c) => c.server === server && c.step === step).map((c) => c.description);
  }
}
