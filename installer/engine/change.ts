/**
 * A change is data: which server, which step, what it does in words, and the actions that perform
 * it. Step kinds plan changes with pure functions (engine/steps/*); `plan`, `apply --dry-run` and the
 * wizard show them; apply performs exactly those, through the guard (engine/guard.ts).
 *
 * An action is one of:
 * - `argv`: a command as its words, run as root (quoted here, never glued by a step);
 * - `script`: a file of installer/remote/ sent on stdin with its positional arguments (`sh -s -- ARGS`);
 * - `upload`: a file's whole content, written atomically with its mode and owner, the file it
 *   replaces kept first under the run's backup directory.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { REMOTE_DIR } from '../paths.js';
import { shellQuote } from '../ssh/quote.js';

export interface ArgvAction {
  argv: readonly string[];
  timeoutMs?: number;
  /** The command's stdout carries apt's status lines (installer/remote/apt-install.sh): shown as the step's progress. */
  progress?: 'apt';
}

export interface ScriptAction {
  /** A file of installer/remote/, e.g. `disk-claim.sh`. */
  script: string;
  args: readonly string[];
  timeoutMs?: number;
  progress?: 'apt';
}

export interface UploadAction {
  upload: string;
  content: string;
  mode: number;
  owner: string;
  /** Keep the file it replaces under this directory (its path below it), if there is one. */
  backupDir?: string;
}

export type Action = ArgvAction | ScriptAction | UploadAction;

export interface Change {
  server: string;
  step: string;
  description: string;
  actions: Action[];
}

export const isArgv = (a: Action): a is ArgvAction => 'argv' in a;
export const isScript = (a: Action): a is ScriptAction => 'script' in a;
export const isUpload = (a: Action): a is UploadAction => 'upload' in a;

/** The command line of an argv or script action, as the run log shows it. Pure. */
export function commandLine(action: ArgvAction | ScriptAction): string {
  if (isArgv(action)) return action.argv.map(shellQuote).join(' ');
  return ['sh', '-s', '--', ...action.args].map((w, i) => (i < 3 ? w : shellQuote(w))).join(' ');
}

/** What a script action sends on stdin: the script file. */
export function scriptText(name: string): string {
  if (!/^[a-z0-9-]+\.sh$/.test(name)) throw new Error(`not a remote script name: ${name}`);
  return readFileSync(join(REMOTE_DIR, name), 'utf8');
}

/** An action as one line for a plan listing or a test: `$ cmd`, `script ARGS`, `upload PATH (mode owner)`. Pure. */
export function describeAction(action: Action): string {
  if (isUpload(action)) return `upload ${action.upload} (${action.mode.toString(8).padStart(4, '0')} ${action.owner})${action.backupDir ? `, old copy kept in ${action.backupDir}` : ''}`;
  if (isScript(action)) return `${action.script} ${action.args.map(shellQuote).join(' ')}`.trim();
  return commandLine(action);
}

/** A change without its file contents, for JSON and the unit tests' expectations. Pure. */
export function changeSummary(change: Change): { server: string; step: string; description: string; actions: string[] } {
  return { server: change.server, step: change.step, description: change.description, actions: change.actions.map(describeAction) };
}

/** A remote script as a function of a larger read script: `NAME() ( SCRIPT )` (a subshell: its exit and set -e stay inside). */
export function scriptFunction(fn: string, script: string): string {
  return `${fn}() (\n${scriptText(script).replace(/^#!.*\n/, '')}\n)`;
}

/** A remote script as one command of a larger script (`sh -c SCRIPT NAME ARGS...`), e.g. under `timeout`. Pure but for reading the file. */
export function scriptInline(script: string, args: readonly string[]): string {
  return ['sh', '-c', scriptText(script), script, ...args].map((w, i) => (i < 2 ? w : shellQuote(w))).join(' ');
}
