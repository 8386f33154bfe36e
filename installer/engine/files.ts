/**
 * Making files on a server match the plan: one read for all of them, then for each that differs a
 * backup of the current file and an atomic upload. Returns the paths that changed.
 */
import { desiredContent } from '../plan/diff.js';
import { mayHoldSecrets, outputAfterFiles, parseFilesOutput, readFilesScript } from '../plan/remote-files.js';
import type { PlannedFile } from '../plan/types.js';
import { shellQuote } from '../ssh/quote.js';
import type { StepContext } from './context.js';

export async function readFiles(ctx: StepContext, paths: readonly string[]): Promise<Map<string, string | null>> {
  return (await readFilesAnd(ctx, paths, '')).files;
}

/** readFiles, with another read-only script run in the same exec: `more` is what that script printed. */
export async function readFilesAnd(ctx: StepContext, paths: readonly string[], alsoRun: string): Promise<{ files: Map<string, string | null>; more: string }> {
  const script = alsoRun === '' ? readFilesScript(paths) : `${readFilesScript(paths)}\n${alsoRun}`;
  // DRBD's files hold the replication's shared secret, root's SSH files keys: the run log keeps only their size.
  const result = await ctx.read(`sh -c ${shellQuote(script)}`, { secretOutput: paths.some(mayHoldSecrets) });
  return { files: parseFilesOutput(result.stdout, paths), more: outputAfterFiles(result.stdout) };
}

/** The command that keeps a copy of each existing file under the run's backup directory. */
export function backupCommand(backupDir: string, paths: readonly string[]): string {
  return paths
    .map((path) => {
      const target = `${backupDir}${path}`;
      const dir = target.slice(0, target.lastIndexOf('/'));
      return `if [ -e ${shellQuote(path)} ]; then mkdir -p ${shellQuote(dir)} && cp -a ${shellQuote(path)} ${shellQuote(target)}; fi`;
    })
    .join(' && ');
}

export async function ensureFiles(ctx: StepContext, files: readonly PlannedFile[]): Promise<PlannedFile[]> {
  if (files.length === 0) return [];
  const current = await readFiles(
    ctx,
    files.map((f) => f.path),
  );
  const differing = files
    .map((file) => ({ file, desired: desiredContent(file, current.get(file.path) ?? null) }))
    .filter(({ file, desired }) => current.get(file.path) !== desired);
  if (differing.length === 0) return [];

  const existing = differing.filter(({ file }) => current.get(file.path) !== null).map(({ file }) => file.path);
  const dirs = [...new Set(differing.map(({ file }) => file.path.slice(0, file.path.lastIndexOf('/')) || '/'))];
  const prepare = [`mkdir -p ${dirs.map(shellQuote).join(' ')}`, ...(existing.length > 0 ? [backupCommand(ctx.backupDir, existing)] : [])].join(' && ');
  let prepared = false;
  for (const { file, desired } of differing) {
    const verb = current.get(file.path) === null ? 'create' : 'update';
    await ctx.change(`${verb} ${file.path} (${file.purpose})`, async () => {
      if (!prepared) await ctx.conn.exec(prepare, { sudo: true, step: ctx.step });
      prepared = true;
      await ctx.conn.upload(file.path, desired, { mode: file.mode, owner: file.owner, sudo: true });
    });
  }
  return differing.map(({ file }) => file);
}
