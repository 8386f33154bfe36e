/**
 * Where hvcluster's own files are (templates/, playbooks/, package.json), whether it runs from its
 * TypeScript sources or from the bundle in dist/: the nearest folder above this module that holds
 * hvcluster's package.json.
 */
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

function findRoot(start: string): string {
  let dir = start;
  for (;;) {
    const manifest = join(dir, 'package.json');
    if (existsSync(manifest) && (JSON.parse(readFileSync(manifest, 'utf8')) as { name?: string }).name === 'hvcluster') return dir;
    const parent = dirname(dir);
    if (parent === dir) throw new Error(`hvcluster's package.json not found above ${start}`);
    dir = parent;
  }
}

export const PROJECT_ROOT = findRoot(dirname(fileURLToPath(import.meta.url)));
export const TEMPLATES_DIR = join(PROJECT_ROOT, 'templates');
export const PLAYBOOKS_DIR = join(PROJECT_ROOT, 'playbooks');
/** Shell scripts that run on the servers (sent on stdin: `sh -s -- ARGS`). */
export const REMOTE_DIR = join(PROJECT_ROOT, 'installer', 'remote');
export const VERSION = (JSON.parse(readFileSync(join(PROJECT_ROOT, 'package.json'), 'utf8')) as { version: string }).version;
