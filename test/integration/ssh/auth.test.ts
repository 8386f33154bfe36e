import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AuthError } from '../../../installer/errors.js';
import { connect } from '../../../installer/ssh/index.js';
import type { SshTarget } from '../../../installer/ssh/index.js';
import { waitFor } from '../../helpers/processes.js';
import {
  ensureTestUser,
  generateKey,
  startAgent,
  startSshd,
  tempDir,
  type ClientKey,
  type SshdServer,
  type TestAgent,
  type TestUser,
} from '../../helpers/sshd.js';

const policy = { knownHostsFiles: [], onUnknown: 'refuse' as const };

describe('authentication', () => {
  let sshd: SshdServer;
  let tmp: ReturnType<typeof tempDir>;
  let plain: ClientKey;
  let encrypted: ClientKey;
  let agentKey: ClientKey;
  let agent: TestAgent;
  let pwUser: TestUser;

  beforeAll(async () => {
    tmp = tempDir();
    sshd = await startSshd({ passwordAuth: true });
    plain = await generateKey(tmp.path, 'plain');
    encrypted = await generateKey(tmp.path, 'encrypted', { passphrase: 'correct horse' });
    agentKey = await generateKey(tmp.path, 'agentkey', { type: 'ecdsa' });
    for (const k of [plain, encrypted, agentKey]) sshd.authorize('root', k.publicKey);
    agent = await startAgent(tmp.path);
    await agent.add(agentKey.path);
    pwUser = await ensureTestUser('hvtest-pw', { sudo: 'password' });
  });

  afterAll(async () => {
    await agent?.stop();
    await sshd?.stop();
    pwUser?.cleanup();
    tmp?.remove();
  });

  const base = (): SshTarget => ({
    name: 'hv1',
    host: sshd.host,
    port: sshd.port,
    user: 'root',
    identityFiles: [],
    jump: [],
    hostKeyFingerprint: sshd.hostKeyFingerprint,
  });

  async function whoami(target: SshTarget, env: NodeJS.ProcessEnv = {}): Promise<string> {
    const c = await connect(target, policy, { env });
    try {
      return (await c.exec('id -un')).stdout.trim();
    } finally {
      await c.close();
    }
  }

  it('logs in with a plain key file', async () => {
    expect(await whoami({ ...base(), identityFiles: [plain.path] })).toBe('root');
    // The server saw exactly this key.
    expect(sshd.logs()).toContain(plain.fingerprint);
  });

  it('logs in with a passphrase-protected key and its passphrase', async () => {
    expect(await whoami({ ...base(), identityFiles: [encrypted.path], passphrase: 'correct horse' })).toBe('root');
  });

  it('says so when an encrypted key has no passphrase', async () => {
    const err = await connect({ ...base(), identityFiles: [encrypted.path] }, policy, { env: {} }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(AuthError);
    expect((err as Error).message).toContain(`key ${encrypted.path} is encrypted and no passphrase was given`);
  });

  it('says so when the passphrase is wrong', async () => {
    const err = await connect({ ...base(), identityFiles: [encrypted.path], passphrase: 'wrong' }, policy, { env: {} }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(AuthError);
    expect((err as Error).message).toContain('could not be decrypted with the given passphrase');
    expect((err as Error).message).not.toContain('wrong');
  });

  it('skips an encrypted key without passphrase when another method works', async () => {
    expect(await whoami({ ...base(), identityFiles: [encrypted.path, plain.path] })).toBe('root');
  });

  it('logs in through an ssh-agent given as target.agent or SSH_AUTH_SOCK', async () => {
    expect(await whoami({ ...base(), agent: agent.socket })).toBe('root');
    expect(await whoami(base(), { SSH_AUTH_SOCK: agent.socket })).toBe('root');
  });

  it('logs in with a password', async () => {
    expect(await whoami({ ...base(), user: 'hvtest-pw', password: pwUser.password })).toBe('hvtest-pw');
  });

  it('fails a wrong password with AuthError naming the methods tried, without retrying', async () => {
    const logStart = sshd.logs().length;
    const t0 = Date.now();
    const err = await connect({ ...base(), user: 'hvtest-pw', password: 'not-the-password' }, policy, {
      env: {},
      retry: { attempts: 5, initialDelayMs: 50 },
    }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(AuthError);
    const message = (err as Error).message;
    expect(message).toContain('authentication as hvtest-pw@127.0.0.1');
    expect(message).toContain('tried: password');
    expect(message).not.toContain('not-the-password');
    expect((err as AuthError).retryable).toBe(false);
    expect(Date.now() - t0).toBeLessThan(10_000);
    // One connection reached the server: retries happen before a rejection, so none came later.
    await waitFor(() => sshd.logs().slice(logStart).includes('Failed password for hvtest-pw'), 'sshd to log the failed password');
    const connections = sshd.logs().slice(logStart).match(/Connection from 127\.0\.0\.1/g) ?? [];
    expect(connections).toHaveLength(1);
  });

  it('fails with AuthError when the server accepts none of the keys', async () => {
    const stranger = await generateKey(tmp.path, 'stranger');
    const err = await connect({ ...base(), identityFiles: [stranger.path] }, policy, { env: {} }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(AuthError);
    expect((err as Error).message).toContain(`tried: publickey (${stranger.path})`);
  });
});
