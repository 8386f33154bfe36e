/** Plain displays of engine events: readable lines for people, JSON lines for machines. */
import type { Writable } from 'node:stream';
import { barParts, type Palette } from '../output.js';
import { JSON_SCHEMA_VERSION } from '../json-output.js';
import { VERSION } from '../paths.js';
import type { EngineEvent, EventSink } from './events.js';

/**
 * One JSON object a line, each with the time it happened; the first (run-started) also carries the
 * JSON envelope's schemaVersion and hvcluster's version (json-output.ts).
 */
export function jsonLinesReporter(stream: Writable, now: () => Date = () => new Date()): EventSink {
  return (event) => {
    const head = event.type === 'run-started' ? { schemaVersion: JSON_SCHEMA_VERSION, version: VERSION } : {};
    stream.write(`${JSON.stringify({ time: now().toISOString(), ...head, ...event })}\n`);
  };
}

function seconds(ms: number): string {
  return ms < 1000 ? `${ms} ms` : `${(ms / 1000).toFixed(1)} s`;
}

/**
 * One line per server and step when it finishes, with its changes below. Progress of long work
 * (packages, a DRBD sync): on a terminal one live line, rewritten in place, with every server's
 * latest figure; elsewhere (a log, CI) a line at most every 10 % per server and step.
 */
export function lineReporter(stream: Writable & { isTTY?: boolean; columns?: number }, colours: Palette): EventSink {
  const lastProgress = new Map<string, number>();
  const live = new Map<string, string>();
  const tty = Boolean(stream.isTTY);
  let width = 8;
  let dryRun = false;
  let steps: string[] = [];
  let liveShown = false;
  const clearLive = () => {
    if (liveShown) stream.write('\r\u001b[K');
    liveShown = false;
  };
  const drawLive = () => {
    if (!tty || live.size === 0) return;
    const columns = Math.max(20, (stream.columns ?? 100) - 1);
    const text = [...live.values()].join('  |  ');
    stream.write(`\r\u001b[K${text.length > columns ? `${text.slice(0, columns - 1)}…` : text}`);
    liveShown = true;
  };
  const write = stream.write.bind(stream);
  // Every permanent line goes above the live one.
  const out = {
    write: (text: string) => {
      clearLive();
      write(text);
    },
  };
  return (event: EngineEvent) => {
    reportLine(event);
    drawLive();
  };

  function reportLine(event: EngineEvent): void {
    const stream = out;
    switch (event.type) {
      case 'run-started':
        dryRun = event.dryRun;
        steps = event.steps;
        width = Math.max(...event.servers.map((s) => s.length), 4);
        stream.write(
          `${event.dryRun ? colours.yellow('Dry run') : colours.bold('Applying')} to ${event.cluster} (${event.servers.join(', ')}): ${event.steps.length} steps. Run ${event.runId}, log ${event.logFile}\n`,
        );
        break;
      case 'step-finished': {
        const status =
          event.status === 'changed'
            ? colours.yellow(dryRun ? 'would do ' : 'changed  ')
            : event.status === 'failed'
              ? colours.red('FAILED   ')
              : event.status === 'skipped'
                ? colours.dim('skipped  ')
                : colours.green('unchanged');
        live.delete(event.server);
        stream.write(`${event.server.padEnd(width)}  ${event.step.padEnd(18)} ${status} ${colours.dim(seconds(event.durationMs))}\n`);
        for (const change of event.changes) stream.write(`${' '.repeat(width + 2)}  ${colours.dim('-')} ${change}\n`);
        if (event.error) stream.write(`${' '.repeat(width + 2)}  ${colours.red(event.error.replace(/\n/g, `\n${' '.repeat(width + 6)}`))}\n`);
        break;
      }
      case 'progress': {
        if (tty) {
          const { done, rest } = barParts(event.percent, 10);
          live.set(event.server, `${event.server} ${event.step} ${colours.green(done)}${colours.dim(rest)} ${event.percent.toFixed(0)}%${event.text ? ` ${event.text}` : ''}`);
          break;
        }
        const key = `${event.server}/${event.step}`;
        const bucket = Math.floor(event.percent / 10);
        if (lastProgress.get(key) !== bucket) {
          lastProgress.set(key, bucket);
          stream.write(`${event.server.padEnd(width)}  ${event.step.padEnd(18)} ${event.percent.toFixed(1)}%${event.text ? ` ${event.text}` : ''}\n`);
        }
        break;
      }
      case 'log':
        if (event.level === 'warn') stream.write(`${(event.server ?? '').padEnd(width)}  ${colours.yellow('warning:')} ${event.text}\n`);
        break;
      case 'run-finished': {
        if (event.interruptedBefore !== undefined) {
          // Stopped between steps, nothing failed: say where, not "Failed".
          const index = steps.indexOf(event.interruptedBefore);
          const where = `before step "${event.interruptedBefore}"${index >= 0 ? ` (${index} of ${steps.length} steps done)` : ''}`;
          stream.write(
            dryRun
              ? `${colours.yellow('Dry run interrupted')} ${where}: ${event.changed} step(s) would change, ${event.unchanged} unchanged; nothing was changed. Log: ${event.logFile}\n`
              : `${colours.yellow('Interrupted')} ${where}: ${event.changed} step(s) changed, ${event.unchanged} unchanged in ${seconds(event.durationMs)}; run apply again to finish. Log: ${event.logFile}\n`,
          );
          break;
        }
        stream.write(
          dryRun
            ? `${event.ok ? colours.yellow('Dry run done') : colours.red('Dry run failed')}: ${event.changed} step(s) would change, ${event.unchanged} unchanged; nothing was changed. Log: ${event.logFile}\n`
            : `${event.ok ? colours.green('Done') : colours.red('Failed')}: ${event.changed} step(s) changed, ${event.unchanged} unchanged, ${event.failed} failed in ${seconds(event.durationMs)}. Log: ${event.logFile}\n`,
        );
        break;
      }
      default:
        break;
    }
  }
}
