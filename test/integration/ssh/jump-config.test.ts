import { mkdirSync, writeFileSync, copyFileSync, chmodSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HostKeyError } from '../../../installer/errors.js';
import { connect, resolveTarget } from '../../../installer/ssh/index.js';
import type { HostKeyPolicy, SshTarget } from '../../../installer/ssh/index.js';
import { descendantPids, runOk, waitFor } from '../../helpers/processes.js';
import { generateKey, startSshd, tempDir, type ClientKey, type SshdServer } from '../../helpers/sshd.js';

describe('jump hosts and ~/.ssh/config', () => {
  let jump: SshdServer;
  let inner: SshdServer;
  let tmp: ReturnType<typeof tempDir>;
  let key: ClientKey;
  let policy: HostKeyPolicy;

  beforeAll(async () => {
    tmp = tempDir();
    [jump, inner] = await Promise.all([startSshd(), startSshd()]);
    key = await generateKey(tmp.path, 'id');
    jump.authorize('root', key.publicKey);
    inner.authorize('root', key.publicKey);
    const kh = join(tmp.path, 'known_hosts');
    writeFileSync(kh, `${jump.knownHostsLine}\n${inner.knownHostsLine}\n`);
    policy = { knownHostsFiles: [kh], onUnknown: 'refuse' };
  });

  afterAll(async () => {
    await jump?.stop();
    await inner?.stop();
    tmp?.remove();
  });

  const direct = (s: SshdServer, name: string, extra: Partial<SshTarget> = {}): SshTarget => ({
    name,
    host: s.host,
    port: s.port,
    user: 'root',
    identityFiles: [key.path],
    jump: [],
    ...extra,
  });

  it('connects to the second sshd through the first, verifying both host keys, and closes both', async () => {
    const jumpSessionsBefore = jump.sessionPids().length;
    const c = await connect(direct(inner, 'hv2', { jump: [direct(jump, 'bastion')] }), policy, { env: {} });
    try {
      expect(c.hostKeyFingerprint).toBe(inner.hostKeyFingerprint);
      expect(c.counters.handshakes).toBe(2);
      const r = await c.exec('echo $SSH_CONNECTION');
      const m = new RegExp(`^127\\.0\\.0\\.1 (\\d+) 127\\.0\\.0\\.1 ${inner.port}$`).exec(r.stdout.trim());
      expect(m).not.toBeNull();
      // The TCP connection the inner sshd sees comes from a process of the jump sshd (its forwarding).
      const ss = await runOk('ss', ['-tnpH', 'state', 'established', `( sport = :${m![1]} )`]);
      const owners = [...ss.matchAll(/pid=(\d+)/g)].map((x) => Number(x[1]));
      expect(owners.length).toBeGreaterThan(0);
      expect(owners.every((p) => descendantPids(jump.pid).includes(p))).toBe(true);
      expect(jump.sessionPids().length).toBe(jumpSessionsBefore + 1);
    } finally {
      await c.close();
    }
    await waitFor(() => jump.sessionPids().length === jumpSessionsBefore, 'the jump host session to end after close()');
  });

  it('goes through a chain of two jump hosts (outermost first), one handshake per hop', async () => {
    // The second hop is the jump sshd again, reached through itself: two hops, two handshakes there.
    const c = await connect(direct(inner, 'hv2', { jump: [direct(jump, 'bastion'), direct(jump, 'bastion-again')] }), policy, { env: {} });
    try {
      expect(c.counters.handshakes).toBe(3);
      expect((await c.exec('echo via two hops')).stdout).toBe('via two hops\n');
    } finally {
      await c.close();
    }
  });

  it('each hop verifies its own host key: an unknown jump host key is refused, naming the jump host', async () => {
    const onlyInner = join(tmp.path, 'known_hosts_inner');
    writeFileSync(onlyInner, `${inner.knownHostsLine}\n`);
    const err = await connect(direct(inner, 'hv2', { jump: [direct(jump, 'bastion')] }), { knownHostsFiles: [onlyInner], onUnknown: 'refuse' }, { env: {} }).catch(
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(HostKeyError);
    expect((err as Error).message).toContain('host key of bastion is not known');
    expect((err as HostKeyError).fingerprint).toBe(jump.hostKeyFingerprint);
  });

  it('a wrong inner key behind a good jump host is refused too', async () => {
    const err = await connect(direct(inner, 'hv2', { jump: [direct(jump, 'bastion')], hostKeyFingerprint: jump.hostKeyFingerprint }), policy, { env: {} }).catch(
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(HostKeyError);
    expect((err as Error).message).toContain('the host key of hv2 has CHANGED');
  });

  it('resolves a Host alias (HostName, Port, User, IdentityFile with ~ and %r, ProxyJump alias) and connects', async () => {
    const home = join(tmp.path, 'home');
    mkdirSync(join(home, 'keys'), { recursive: true });
    copyFileSync(key.path, join(home, 'keys', 'id_root'));
    chmodSync(join(home, 'keys', 'id_root'), 0o600);
    const configFile = join(tmp.path, 'ssh_config');
    writeFileSync(
      configFile,
      [
        'Host bastion',
        '  HostName 127.0.0.1',
        `  Port ${jump.port}`,
        '  User root',
        '  IdentityFile ~/keys/id_%r',
        '',
        'Host hv-behind',
        '  HostName 127.0.0.1',
        `  Port ${inner.port}`,
        '  User root',
        '  IdentityFile ~/keys/id_%r',
        '  ProxyJump bastion',
        '',
        'Host *',
        '  User nobody',
        '',
      ].join('\n'),
    );
    const target = resolveTarget('hv-behind', { configFile, homeDir: home, localUser: 'someone' });
    expect(target).toMatchObject({
      name: 'hv-behind',
      host: '127.0.0.1',
      port: inner.port,
      user: 'root',
      identityFiles: [join(home, 'keys', 'id_root')],
      jump: [{ name: 'bastion', host: '127.0.0.1', port: jump.port, user: 'root', identityFiles: [join(home, 'keys', 'id_root')], jump: [] }],
    });
    const c = await connect(target, policy, { env: {} });
    try {
      expect((await c.exec('id -un')).stdout.trim()).toBe('root');
      expect(c.counters.handshakes).toBe(2);
    } finally {
      await c.close();
    }
  });
});
