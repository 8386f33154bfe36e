/**
 * The journal of a cluster's runs, on the installer's machine: which run is under way and which
 * steps it finished on which server. Steps re-check the servers anyway, so an interrupted run is
 * resumed by running again; the journal says that this is what happens, and where it stopped.
 */
import { mkdirSync, readFileSync, writeFileSync, renameSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, join } from 'node:path';

export interface JournalState {
  runId: string;
  startedAt: string;
  finishedAt?: string;
  ok?: boolean;
  dryRun: boolean;
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
  ) {
    this.state = { runId, startedAt: new Date().toISOString(), dryRun, done: {} };
  }

  /** The previous run, if it did not finish. */
  static unfinished(path: string): JournalState | undefined {
    try {
      const previous = JSON.parse(readFileSync(path, 'utf8')) as JournalState;
      return previous.finishedAt === undefined && !previous.dryRun ? previous : undefined;
    } catch {
      return undefined;
    }
  }

  stepDone(server: string, step: string): void {
    (this.state.done[server] ??= []).push(step);
    this.save();
  }

  finish(ok: boolean): void {
    this.state.finishedAt = new Date().toISOString();
    this.state.ok = ok;
    this.save();
  }

  save(): void {
    if (this.state.dryRun) return;
    mkdirSync(dirname(this.path), { recursive: true, mode: 0o700 });
    const temp = `${this.path}.tmp`;
    writeFileSync(temp, `${JSON.stringify(this.state, null, 2)}\n`, { mode: 0o600 });
    renameSync(temp, this.path);
  }
}
