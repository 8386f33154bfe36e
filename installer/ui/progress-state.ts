/** What the apply screen shows, folded from the engine's events (pure, so tests feed it events). */
import type { EngineEvent, StepStatus } from '../engine/events.js';

export interface FinishedRow {
  id: number;
  server: string;
  step: string;
  status: StepStatus;
  durationMs: number;
  changes: string[];
  error?: string;
}

export interface RunningStep {
  server: string;
  step: string;
  title: string;
  percent?: number;
  text?: string;
}

export interface ProgressState {
  cluster: string;
  servers: string[];
  steps: string[];
  dryRun: boolean;
  logFile: string;
  runId: string;
  finished: FinishedRow[];
  /** By server: the step it is on. */
  running: Record<string, RunningStep | undefined>;
  warnings: string[];
  result?: Extract<EngineEvent, { type: 'run-finished' }>;
}

export const initialProgress: ProgressState = { cluster: '', servers: [], steps: [], dryRun: false, logFile: '', runId: '', finished: [], running: {}, warnings: [] };

export function progressReducer(state: ProgressState, event: EngineEvent): ProgressState {
  switch (event.type) {
    case 'run-started':
      return { ...state, cluster: event.cluster, servers: event.servers, steps: event.steps, dryRun: event.dryRun, logFile: event.logFile, runId: event.runId };
    case 'step-started':
      return { ...state, running: { ...state.running, [event.server]: { server: event.server, step: event.step, title: event.title } } };
    case 'progress': {
      const current = state.running[event.server];
      if (!current || current.step !== event.step) return state;
      return { ...state, running: { ...state.running, [event.server]: { ...current, percent: event.percent, text: event.text } } };
    }
    case 'step-finished': {
      const row: FinishedRow = {
        id: state.finished.length,
        server: event.server,
        step: event.step,
        status: event.status,
        durationMs: event.durationMs,
        changes: event.changes,
        ...(event.error ? { error: event.error } : {}),
      };
      const running = state.running[event.server]?.step === event.step ? { ...state.running, [event.server]: undefined } : state.running;
      return { ...state, finished: [...state.finished, row], running };
    }
    case 'log':
      return event.level === 'warn' ? { ...state, warnings: [...state.warnings, `${event.server ? `${event.server}: ` : ''}${event.text}`] } : state;
    case 'run-finished':
      return { ...state, result: event, running: {} };
    default:
      return state;
  }
}

/** How many of a server's steps are finished. */
export function doneCount(state: ProgressState, server: string): number {
  return state.finished.filter((r) => r.server === server).length;
}
