/** The unit tests' shared fake connection (test/helpers/fake-connection.ts) answers and records as it says. */
import { describe, expect, it } from 'vitest';
import { fakeConnection } from '../helpers/fake-connection.js';

describe('fakeConnection', () => {
  it('answers by the first matching pattern, else the unmatched answer, and keeps every exec with its options', async () => {
    const conn = fakeConnection({ name: 'hv2', answer: [[/^cat /, 'text\n'], [/^false/, { exitCode: 1, stderr: 'no' }], [/^cat \/etc/, 'never']], unmatched: { stdout: 'x', durationMs: 7 } });
    expect(await conn.exec('cat /etc/hosts', { sudo: true })).toEqual({ exitCode: 0, stdout: 'text\n', stderr: '', durationMs: 1 });
    expect(await conn.exec('false')).toEqual({ exitCode: 1, stdout: '', stderr: 'no', durationMs: 1 });
    expect(await conn.exec('true')).toEqual({ exitCode: 0, stdout: 'x', stderr: '', durationMs: 7 });
    expect(conn.execs).toEqual([{ command: 'cat /etc/hosts', options: { sudo: true } }, { command: 'false' }, { command: 'true' }]);
    expect(conn.commands).toEqual(['cat /etc/hosts', 'false', 'true']);
    expect(conn.counters.execs).toBe(3);
    expect(conn.target).toMatchObject({ name: 'hv2', host: 'hv2' });
  });

  it('answers by a function, keeps uploads, refuses them when told, and knows it was closed', async () => {
    const conn = fakeConnection({ answer: async (command, options) => (options?.sudo ? `root: ${command}` : command) });
    expect((await conn.exec('id', { sudo: true })).stdout).toBe('root: id');
    await conn.upload('/etc/x', 'abc', { mode: 0o644 });
    expect(conn.uploads).toEqual([{ path: '/etc/x', content: 'abc', options: { mode: 0o644 } }]);
    expect(conn.counters.bytesUploaded).toBe(3);
    await conn.close();
    expect(conn.closed).toBe(true);
    await expect(fakeConnection({ uploads: 'refuse' }).upload('/etc/x', 'abc')).rejects.toThrow(/no upload expected \(\/etc\/x\)/);
  });
});
