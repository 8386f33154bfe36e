/**
 * installer/remote/backup-verify-state.sh, verify's read of the guests' backup status files: each
 * file one line, a missing one `none`, an unreadable one `error`, and once the storage does not
 * answer (timeout's exit 124, from a stand-in) the guests after it are not tried.
 */
import { spawnSync } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { REMOTE_DIR } from '../../../installer/paths.js';
import { parseStatusLines } from '../../../installer/verify/parse-backup.js';

const dir = mkdtempSync(join(tmpdir(), 'hvc-backup-verify-state-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const statusDir = join(dir, 'status');
mkdirSync(statusDir);
const WEB = { guest: 'web', node: 'hv1', set: 'web.20261208t020000z', finishedAt: '2026-12-08T02:04:11Z', readBytes: 37748736, storedBytes: 1048576 };
writeFileSync(join(statusDir, 'web.json'), `${JSON.stringify(WEB)}\n`);
mkdirSync(join(statusDir, 'bad.json'));

const run = (args: string[], path?: string) =>
  spawnSync('dash', [join(REMOTE_DIR, 'backup-verify-state.sh'), ...args], { encoding: 'utf8', env: { ...process.env, ...(path ? { PATH: `${path}:${process.env.PATH}` } : {}) } });

describe('backup-verify-state.sh', () => {
  it('prints each guest: its status file, none, or why it could not be read', () => {
    const r = run([statusDir, 'web', 'db', 'bad']);
    expect(r.status).toBe(0);
    const lines = r.stdout.split('\n');
    expect(lines[0]).toBe(`status web ${JSON.stringify(WEB)}`);
    expect(lines[1]).toBe('status db none');
    expect(lines[2]).toMatch(/^status bad error head: .*Is a directory$/);
    expect(parseStatusLines(r.stdout).get('web')).toEqual({ kind: 'found', status: WEB });
  });

  it('stops looking once the storage does not answer', () => {
    const bin = join(dir, 'bin');
    mkdirSync(bin, { recursive: true });
    // timeout, as when the NFS server is dead: the look is killed (exit 124); each call logged.
    writeFileSync(join(bin, 'timeout'), `#!/bin/sh\necho "$*" >> "${dir}/timeout.log"\nexit 124\n`);
    chmodSync(join(bin, 'timeout'), 0o755);
    const r = run([statusDir, 'web', 'db', 'erp'], bin);
    expect(r.stdout).toBe('status web timeout\nstatus db timeout\nstatus erp timeout\n');
    expect(readFileSync(join(dir, 'timeout.log'), 'utf8').trim().split('\n')).toEqual([expect.stringMatching(/^-k 2 10 sh -c .* sh .*\/status\/web\.json$/)]);
  });

  it('refuses no directory', () => {
    expect(run([]).status).toBe(2);
  });
});
