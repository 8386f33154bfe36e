import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { RunLog } from '../../../installer/engine/run-log.js';
import { RemoteCommandError } from '../../../installer/errors.js';
import type { ServerConnection } from '../../../installer/ssh/types.js';
import { fakeConnection } from '../../helpers/fake-connection.js';

/** A connection that answers every exec with fixed output (pure logic of the log, no server). */
const echoConnection = (stdout: string) => fakeConnection({ host: '198.18.1.1', unmatched: { stdout, durationMs: 3 } });

describe('the run log', () => {
  it('keeps every command with its server, step and exit code, and replaces secrets with ***', async () => {
    const path = join(mkdtempSync(join(tmpdir(), 'hv-log-')), 'run.log');
    const log = new RunLog(path, ['s3cret-pw']);
    const conn = log.wrap(echoConnection('token s3cret-pw here'));
    await conn.exec("echo 's3cret-pw' | sudo -S true", { sudo: true, step: 'packages' });
    await conn.upload('/etc/hosts', 'x', { mode: 0o644 });
    const text = readFileSync(path, 'utf8');
    expect(text).toContain("[hv1] exec (sudo) [packages]: echo '***' | sudo -S true");
    expect(text).toContain('-> exit 0 in 3 ms');
    expect(text).toContain('stdout: token *** here');
    expect(text).toContain('[hv1] upload /etc/hosts (1 bytes, mode 644)');
    expect(text).not.toContain('s3cret-pw');
  });

  it('records only the size of output that may hold secrets (authorized_keys, DRBD files)', async () => {
    const path = join(mkdtempSync(join(tmpdir(), 'hv-log-')), 'run.log');
    const log = new RunLog(path, []);
    const conn = log.wrap(echoConnection('net { shared-secret "abc123"; }\n'));
    await conn.exec('cat /etc/drbd.d/global_common.conf', { sudo: true, secretOutput: true });
    const text = readFileSync(path, 'utf8');
    expect(text).toContain('stdout: (32 bytes, not recorded: it may hold secrets)');
    expect(text).not.toContain('abc123');
  });
});

describe('the run log of a failed command', () => {
  it('keeps all of its stderr, which the error message cuts to its first lines', async () => {
    const path = join(mkdtempSync(join(tmpdir(), 'hv-log-')), 'run.log');
    const base = echoConnection('');
    const stderr = Array.from({ length: 9 }, (_, i) => `line ${i + 1}`).join('\n');
    const failing: ServerConnection = {
      target: base.target,
      hostKeyFingerprint: base.hostKeyFingerprint,
      counters: base.counters,
      exec: async (command: string) => {
        throw new RemoteCommandError('hv1', command, { exitCode: 1, stdout: 'stopping pacemaker on hv1', stderr }, { step: 'sbd' });
      },
      upload: (path: string, content: string | Buffer) => base.upload(path, content),
      close: () => base.close(),
    };
    await expect(new RunLog(path, []).wrap(failing).exec('sh -s -- with-sbd hv1', { step: 'sbd' })).rejects.toThrow('... (4 more lines)');
    const text = readFileSync(path, 'utf8');
    expect(text).toContain('-> failed: hv1: step "sbd": command `sh -s -- with-sbd hv1` exited with 1');
    expect(text).toMatch(/stderr \(all of it\): line 1\n\s*line 2\n[\s\S]*line 9/);
    expect(text).toContain('stdout: stopping pacemaker on hv1');
  });
});

describe("the migration test's run log", () => {
  it('verify --migration-test records the commands of the test, secrets replaced, and the wizard does not log them twice', async () => {
    const { migrationConnections } = await import('../../../installer/verify/verify-cluster.js');
    const path = join(mkdtempSync(join(tmpdir(), 'hv-log-')), 'cluster-x-migration-test.log');
    const log = new RunLog(path, ['sudo-pw']);
    const plain = new Map([['hv1', echoConnection('ok')]]);
    const wrapped = migrationConnections(plain, { log });
    await wrapped.get('hv1')!.exec("virsh migrate --live hvc-migtest; echo 'sudo-pw'", { sudo: true, step: 'migration-test' });
    const text = readFileSync(path, 'utf8');
    expect(text).toContain("[hv1] exec (sudo) [migration-test]: virsh migrate --live hvc-migtest; echo '***'");
    expect(text).not.toContain('sudo-pw');
    expect(migrationConnections(plain, { log, connectionsLogged: true })).toBe(plain);
    expect(migrationConnections(plain, undefined)).toBe(plain);
  });
});
