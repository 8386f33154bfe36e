/**
 * What the engine tells whoever displays a run: typed events, consumed by the line reporter, the
 * JSON-lines reporter and the wizard alike. The engine never prints.
 */
export type StepStatus = 'changed' | 'unchanged' | 'failed' | 'skipped';

export type EngineEvent =
  | { type: 'run-started'; runId: string; cluster: string; servers: string[]; steps: string[]; dryRun: boolean; logFile: string }
  | { type: 'step-started'; server: string; step: string; title: string }
  /** A mutation: done (or, in a dry run, only announced). */
  | { type: 'change'; server: string; step: string; description: string; dryRun: boolean }
  | { type: 'progress'; server: string; step: string; percent: number; text?: string }
  | { type: 'log'; server?: string; step?: string; level: 'info' | 'warn'; text: string }
  | { type: 'step-finished'; server: string; step: string; status: StepStatus; changes: string[]; durationMs: number; error?: string }
  | {
      type: 'run-finished';
      runId: string;
      ok: boolean;
      changed: number;
      unchanged: number;
      failed: number;
      durationMs: number;
      logFile: string;
      /** Set when the run was stopped (Ctrl-C) between steps: the step it did not start. */
      interruptedBefore?: string;
    };

export type EventSink = (event: EngineEvent) => void;

/** Fans one event out to several sinks. */
export function fanOut(...sinks: EventSink[]): EventSink {
  return (event) => {
    for (const sink of sinks) sink(event);
  };
}
