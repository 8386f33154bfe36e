import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HostKeyError } from '../../../installer/errors.js';
import { connect, rememberAnswers } from '../../../installer/ssh/index.js';
import type { HostKeyPolicy, SshTarget } from '../../../installer/ssh/index.js';
import { runOk } from '../../helpers/processes.js';
import { generateKey, startSshd, tempDir, type ClientKey, type SshdServer } from '../../helpers/sshd.js';

describe('host key policy against a real sshd', () => {
  let sshd: SshdServer;
  let tmp: ReturnType<typeof tempDir>;
  let key: ClientKey;
  let otherHostKey: ClientKey;
  let n = 0;

  beforeAll(async () => {
    tmp = tempDir();
    sshd = await startSshd();
    key = await generateKey(tmp.path, 'id');
    otherHostKey = await generateKey(tmp.path, 'other_host_key');
    sshd.authorize('root', key.publicKey);
  });

  afterAll(async () => {
    await sshd?.stop();
    tmp?.remove();
  });

  const target = (extra: Partial<SshTarget> = {}): SshTarget => ({
    name: 'hv1',
    host: sshd.host,
    port: sshd.port,
    user: 'root',
    identityFiles: [key.path],
    jump: [],
    ...extra,
  });

  function knownHosts(text: string): string {
    const file = join(tmp.path, `known_hosts_${++n}`);
    writeFileSync(file, text);
    return file;
  }

  const serverKey = () => sshd.hostPubKeyLine.split(/\s+/).slice(0, 2).join(' ');
  const otherKey = () => otherHostKey.publicKey.split(/\s+/).slice(0, 2).join(' ');

  async function tryConnect(t: SshTarget, policy: HostKeyPolicy): Promise<unknown> {
    try {
      const c = await connect(t, policy, { env: {}, retry: { attempts: 3, initialDelayMs: 20 } });
      const fp = c.hostKeyFingerprint;
      await c.close();
      return fp;
    } catch (error) {
      return error;
    }
  }

  it('asks about an unknown key once per run: a reconnect reuses the answer', async () => {
    const asked: string[] = [];
    const policy: HostKeyPolicy = {
      knownHostsFiles: [knownHosts('')],
      onUnknown: rememberAnswers(async (server, fingerprint) => {
        asked.push(`${server} ${fingerprint}`);
        return true;
      }),
    };
    // The first connection and two reconnects (as the network step makes), two of them at once.
    expect(await tryConnect(target(), policy)).toBe(sshd.hostKeyFingerprint);
    const again = await Promise.all([tryConnect(target(), policy), tryConnect(target(), policy)]);
    expect(again).toEqual([sshd.hostKeyFingerprint, sshd.hostKeyFingerprint]);
    expect(asked).toEqual([`hv1 ${sshd.hostKeyFingerprint}`]);
  });

  it('refuses an unknown key with a message that says how to check and pin it', async () => {
    const logStart = sshd.logs().length;
    const err = await tryConnect(target(), { knownHostsFiles: [knownHosts('')], onUnknown: 'refuse' });
    expect(err).toBeInstanceOf(HostKeyError);
    const fp = sshd.hostKeyFingerprint;
    expect((err as HostKeyError).message).toBe(
      `hv1: host key of hv1 is not known: ED25519 ${fp} ; pin it with \`hostKey: ${fp}\` in the answer file or add it to known_hosts ` +
        `(ssh-keyscan -p ${sshd.port} 127.0.0.1 >> ~/.ssh/known_hosts) after checking it on the server's console with ` +
        '`ssh-keygen -lf /etc/ssh/ssh_host_ed25519_key.pub`',
    );
    expect((err as HostKeyError).fingerprint).toBe(fp);
    expect((err as HostKeyError).changed).toBe(false);
    // Not retried.
    expect(sshd.logs().slice(logStart).match(/Connection from 127\.0\.0\.1/g) ?? []).toHaveLength(1);
  });

  it('accepts the key as ssh-keyscan writes it (the command the message suggests)', async () => {
    const scanned = await runOk('ssh-keyscan', ['-p', String(sshd.port), '127.0.0.1']);
    expect(await tryConnect(target(), { knownHostsFiles: [knownHosts(scanned)], onUnknown: 'refuse' })).toBe(sshd.hostKeyFingerprint);
  });

  it('refuses a changed key loudly (known_hosts lists another key for [127.0.0.1]:port)', async () => {
    const file = knownHosts(`[127.0.0.1]:${sshd.port} ${otherKey()}\n`);
    const err = await tryConnect(target(), { knownHostsFiles: [file], onUnknown: async () => true });
    expect(err).toBeInstanceOf(HostKeyError);
    const msg = (err as Error).message;
    expect(msg).toContain('WARNING: the host key of hv1 has CHANGED');
    expect(msg).toMatch(/someone may be intercepting the connection/i);
    expect(msg).toContain(`ssh-keygen -R '[127.0.0.1]:${sshd.port}' -f ${file}`);
    expect(msg).toContain(otherHostKey.fingerprint);
    expect(msg).toContain(sshd.hostKeyFingerprint);
    expect((err as HostKeyError).changed).toBe(true);
  });

  it('accepts a hashed known_hosts entry (ssh-keygen -H)', async () => {
    const file = knownHosts(`[127.0.0.1]:${sshd.port} ${serverKey()}\n`);
    await runOk('ssh-keygen', ['-H', '-f', file]);
    const text = readFileSync(file, 'utf8');
    expect(text).toMatch(/^\|1\|/);
    expect(text).not.toContain('127.0.0.1');
    expect(await tryConnect(target(), { knownHostsFiles: [file], onUnknown: 'refuse' })).toBe(sshd.hostKeyFingerprint);
  });

  it('accepts a comma-separated host list, ignores @cert-authority, refuses @revoked', async () => {
    const listed = knownHosts(`hv1.example,[127.0.0.1]:${sshd.port} ${serverKey()}\n`);
    expect(await tryConnect(target(), { knownHostsFiles: [listed], onUnknown: 'refuse' })).toBe(sshd.hostKeyFingerprint);

    const ca = knownHosts(`@cert-authority [127.0.0.1]:${sshd.port} ${serverKey()}\n`);
    expect(await tryConnect(target(), { knownHostsFiles: [ca], onUnknown: 'refuse' })).toBeInstanceOf(HostKeyError);

    const revoked = knownHosts(`[127.0.0.1]:${sshd.port} ${serverKey()}\n@revoked * ${serverKey()}\n`);
    const err = await tryConnect(target({ hostKeyFingerprint: sshd.hostKeyFingerprint }), { knownHostsFiles: [revoked], onUnknown: 'refuse' });
    expect(err).toBeInstanceOf(HostKeyError);
    expect((err as Error).message).toContain('@revoked');
  });

  it('a plain entry for port 22 does not cover another port', async () => {
    const file = knownHosts(`127.0.0.1 ${serverKey()}\n`);
    expect(await tryConnect(target(), { knownHostsFiles: [file], onUnknown: 'refuse' })).toBeInstanceOf(HostKeyError);
  });

  it('accepts a pinned fingerprint and refuses a mismatched one', async () => {
    const empty = { knownHostsFiles: [knownHosts('')], onUnknown: 'refuse' as const };
    expect(await tryConnect(target({ hostKeyFingerprint: sshd.hostKeyFingerprint }), empty)).toBe(sshd.hostKeyFingerprint);
    const err = await tryConnect(target({ hostKeyFingerprint: otherHostKey.fingerprint }), empty);
    expect(err).toBeInstanceOf(HostKeyError);
    expect((err as Error).message).toContain('WARNING: the host key of hv1 has CHANGED');
    expect((err as Error).message).toContain(`the answer file pins ${otherHostKey.fingerprint}`);
  });

  it('a matching pin does not override known_hosts listing another key: both must agree', async () => {
    const file = knownHosts(`[127.0.0.1]:${sshd.port} ${otherKey()}\n`);
    const err = await tryConnect(target({ hostKeyFingerprint: sshd.hostKeyFingerprint }), { knownHostsFiles: [file], onUnknown: 'refuse' });
    expect(err).toBeInstanceOf(HostKeyError);
    expect((err as HostKeyError).changed).toBe(true);
  });

  it('asks for the key type known_hosts lists, as OpenSSH does (server with ed25519 and RSA keys, only RSA known)', async () => {
    const rsa = await generateKey(tmp.path, `ssh_host_rsa_key_${++n}`, { type: 'rsa' });
    const both = await startSshd({ extraConfig: [`HostKey ${rsa.path}`], users: { root: [key.publicKey] } });
    try {
      const rsaOnly = knownHosts(`[127.0.0.1]:${both.port} ${rsa.publicKey.split(/\s+/).slice(0, 2).join(' ')}\n`);
      const t = target({ port: both.port });
      expect(await tryConnect(t, { knownHostsFiles: [rsaOnly], onUnknown: 'refuse' })).toBe(rsa.fingerprint);
      // Without that entry the server's preferred ed25519 key is presented (and is unknown).
      const err = await tryConnect(t, { knownHostsFiles: [knownHosts('')], onUnknown: 'refuse' });
      expect(err).toBeInstanceOf(HostKeyError);
      expect((err as HostKeyError).fingerprint).toBe(both.hostKeyFingerprint);
    } finally {
      await both.stop();
    }
  });

  it('asks onUnknown for an unknown key and follows the answer', async () => {
    const asked: string[] = [];
    const policy = (answer: boolean): HostKeyPolicy => ({
      knownHostsFiles: [],
      onUnknown: async (server, fingerprint, keyType) => {
        asked.push(`${server} ${keyType} ${fingerprint}`);
        return answer;
      },
    });
    expect(await tryConnect(target(), policy(true))).toBe(sshd.hostKeyFingerprint);
    expect(await tryConnect(target(), policy(false))).toBeInstanceOf(HostKeyError);
    expect(asked).toEqual([`hv1 ED25519 ${sshd.hostKeyFingerprint}`, `hv1 ED25519 ${sshd.hostKeyFingerprint}`]);
  });
});
