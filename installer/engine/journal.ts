/**
 * The journal of a cluster's runs, on the installer's machine: which run is under way, the step it
 * is on, and which steps it finished on which server. Steps re-check the servers anyway, so an
 * interrupted run is resumed by running again; the journal says that this is what happens, and
 * where the previous run stopped.
 */
import { randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, join } from 'node:path';

export interface JournalState {
  runId: string;
  startedAt: string;
  finishedAt?: string;
  ok?: boolean;
  dryRun: boolean;
  /** The playbook's steps, in order (absent in journals of older versions). */
  steps?: string[];
  /** The step under way, or the last one started. */
  current?: string;
  /** How a finished run ended, and at which step: the one that failed, or the one it stopped before. */
  stopped?: { how: 'failed' | 'interrupted'; step: string; servers?: string[] };
  /** server -> names of the steps finished there */
  done: Record<string, string[]>;
}

export function journalPath(cluster: string, env: NodeJS.ProcessEnv): string {
  const state = env.XDG_STATE_HOME ?? join(env.HOME ?? homedir(), '.local', 'state');
  return join(state, 'hvcluster', cluster, 'journal.json');
}

export class Journal {
  private state: JournalState;

  constructor(
    readonly path: string,
    runId: string,
    dryRun: boolean,
    steps?: readonly string[],
  ) {
    this.state = { runId, startedAt: new Date().toISOString(), dryRun, ...(steps ? { steps: [...steps] } : {}), done: {} };
  }

  /**
   * The previous run, if it did not finish the job: cut off (killed, the machine or the connection
   * lost: no end recorded), interrupted (Ctrl-C) or failed. Dry runs do not count.
   */
  static unfinished(path: string): JournalState | undefined {
    try {
      const previous = JSON.parse(readFileSync(path, 'utf8')) as JournalState;
      if (previous.dryRun) return undefined;
      return previous.finishedAt === undefined || previous.ok === false ? previous : undefined;
    } catch {
      return undefined;
    }
  }

  stepStarted(step: string): void {
    this.state.current = step;
    this.save();
  }

  stepDone(server: string, step: string): void {
    (this.state.done[server] ??= []).push(step);
    this.save();
  }

  finish(ok: boolean, stopped?: JournalState['stopped']): void {
    this.state.finishedAt = new Date().toISOString();
    this.state.ok = ok;
    if (stopped) this.state.stopped = stopped;
    this.save();
  }

  save(): void {
    if (this.state.dryRun) return;
    mkdirSync(dirname(this.path), { recursive: true, mode: 0o700 });
    // A name of this write's own, created exclusively: never another process's file, nor one planted there.
    const temp = `${this.path}.${process.pid}.${randomBytes(6).toString('hex')}.tmp`;
    try {
      writeFileSync(temp, `${JSON.stringify(this.state, null, 2)}\n`, { mode: 0o600, flag: 'wx' });
      renameSync(temp, this.path);
    } catch (error) {
      rmSync(temp, { force: true });
      throw error;
    }
  }
}

/**
 * What the next apply says of a previous run that did not finish: that it did not, that this run
 * finishes the job, and where the previous one stopped.
 */
export function unfinishedMessage(previous: JournalState): string {
  return `the previous apply (run ${previous.runId}) did not finish; this run checks every step again and finishes the job. ${whereStopped(previous)}`;
}

function whereStopped(previous: JournalState): string {
  const steps = previous.steps;
  const position = (step: string) => (steps && steps.includes(step) ? ` (step ${steps.indexOf(step) + 1} of ${steps.length})` : '');
  const servers = Object.keys(previous.done);
  // The last step finished on every server the journal knows of.
  const finishedEverywhere = (steps ?? []).filter((s) => servers.length > 0 && servers.every((server) => previous.done[server]!.includes(s)));
  const after = finishedEverywhere.length > 0 ? `, after "${finishedEverywhere[finishedEverywhere.length - 1]}"` : ', before any step had finished';
  const stopped = previous.stopped;
  if (stopped?.how === 'interrupted') return `It was interrupted (Ctrl-C) before step "${stopped.step}"${position(stopped.step)}.`;
  if (stopped?.how === 'failed') {
    return `It failed at step "${stopped.step}"${position(stopped.step)}${stopped.servers?.length ? ` on ${stopped.servers.join(', ')}` : ''}.`;
  }
  if (previous.current) return `It was cut off during step "${previous.current}"${position(previous.current)}${after}.`;
  // A journal of an older version: only the steps done per server.
  const done = servers.map((server) => `${server}: ${previous.done[server]!.length} step(s) done, the last "${previous.done[server]!.at(-1)}"`);
  return done.length > 0 ? `Where it stopped: ${done.join('; ')}.` : 'It stopped before any step had finished.';
}
