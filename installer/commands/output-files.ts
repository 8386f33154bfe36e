/**
 * Files a command writes its results to (--junit, --report, init -o): checked before any server is
 * contacted, so that a typo costs nothing, and written after the results are on stdout, so that a
 * file that cannot be written never loses them.
 */
import { accessSync, constants, statSync, writeFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { UsageError } from '../errors.js';

/** Throws a UsageError naming the flag when `path` cannot be written as a file. */
export function checkOutputFile(flag: string, path: string): void {
  const full = resolve(path);
  const stat = statSync(full, { throwIfNoEntry: false });
  if (stat?.isDirectory()) throw new UsageError(`${flag} ${path}: is a directory`, { hint: `give a file name, e.g. ${flag} ${full.replace(/\/$/, '')}/verify.${flag === '--junit' ? 'xml' : 'md'}` });
  const dir = dirname(full);
  const dirStat = statSync(dir, { throwIfNoEntry: false });
  if (!dirStat?.isDirectory()) throw new UsageError(`${flag} ${path}: the directory ${dir} does not exist`, { hint: `create it first (mkdir -p ${dir}) or choose another path` });
  try {
    accessSync(stat ? full : dir, constants.W_OK);
  } catch {
    throw new UsageError(`${flag} ${path}: ${stat ? 'the file' : `the directory ${dir}`} is not writable`, { hint: 'choose a path you may write to' });
  }
}

/** Writes one result file; a failure is returned as a message instead of thrown. */
export function writeOutputFile(flag: string, path: string, content: string): string | undefined {
  try {
    writeFileSync(path, content);
    return undefined;
  } catch (error) {
    return `${flag} ${path}: could not write it: ${(error as Error).message}`;
  }
}
