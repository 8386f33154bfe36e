/** `stonith_admin --history NODE --verbose --output-as=xml`: every fencing attempt of a node. Pure. */
import { descendants, parseXml } from './xml.js';

export interface FenceEvent {
  target: string;
  action: string;
  /** success, failed or pending. */
  status: string;
  /** Who asked for it and who carried it out. */
  origin: string | null;
  delegate: string | null;
  /** When it completed, as stonith_admin prints it (absent while pending). */
  completed: string | null;
  exitReason: string | null;
}

export function parseFenceHistory(text: string): FenceEvent[] {
  return descendants(parseXml(text), 'fence_event').map((e) => {
    return {
      target: e.attrs.target ?? '',
      action: e.attrs.action ?? '',
      status: e.attrs.status ?? '',
      origin: e.attrs.origin ?? null,
      delegate: e.attrs.delegate ?? null,
      completed: e.attrs.completed ?? null,
      exitReason: e.attrs['exit-reason'] ?? e.attrs.exit_reason ?? null,
    };
  });
}
