/**
 * The one door every mutation goes through. It records each change per server and step, and in a
 * dry run does nothing but record: that record is the exact dry-run plan.
 */
import type { Change } from './change.js';
import type { EventSink } from './events.js';

export class Guard {
  readonly changes: Change[] = [];

  constructor(
    readonly dryRun: boolean,
    private readonly emit: EventSink,
  ) {}

  /** Runs `mutate` (unless dry run) and records the change. */
  async change<T>(change: Change, mutate: () => Promise<T>): Promise<T | undefined> {
    this.changes.push(change);
    this.emit({ type: 'change', server: change.server, step: change.step, description: change.description, dryRun: this.dryRun });
    if (this.dryRun) return undefined;
    return mutate();
  }

  changesOf(server: string, step: string): string[] {
    return this.changes.filter((c) => c.server === server && c.step === step).map((c) => c.description);
  }
}
