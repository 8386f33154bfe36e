/** The files-reading script run by a real sh on real files, with another read appended to the same exec. */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseFilesOutput, readFilesAction } from '../../../installer/plan/remote-files.js';
import { REMOTE_DIR } from '../../../installer/paths.js';

describe('read-files.sh', () => {
  it('reads files exactly (no trailing newline, marker-like lines), says which are absent, and ignores what runs after in the same exec', () => {
    const dir = mkdtempSync(join(tmpdir(), 'hvc-files-'));
    const a = join(dir, 'a.conf');
    const b = join(dir, 'with space.res');
    writeFileSync(a, 'line 1\n@@hvcluster-file end\nno newline at the end');
    writeFileSync(b, '');
    const missing = join(dir, 'missing');
    const paths = [a, b, missing];
    const read = readFilesAction(paths);
    const stdout = `${execFileSync('sh', [join(REMOTE_DIR, read.script), ...read.args], { encoding: 'utf8' })}after\nthe files\n`;
    const files = parseFilesOutput(stdout, paths);
    expect(files.get(a)).toBe('line 1\n@@hvcluster-file end\nno newline at the end');
    expect(files.get(b)).toBe('');
    expect(files.get(missing)).toBeNull();
  });

  it('says so when the output was cut off before a file', () => {
    expect(() => parseFilesOutput('', ['/etc/hosts'])).toThrow('no answer for /etc/hosts');
  });
});
