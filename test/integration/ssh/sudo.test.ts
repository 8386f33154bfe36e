import { spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AuthError, RemoteCommandError } from '../../../installer/errors.js';
import { gatherFacts } from '../../../installer/facts/index.js';
import { connect } from '../../../installer/ssh/index.js';
import type { ServerConnection, SshTarget } from '../../../installer/ssh/index.js';
import { processesMatching, waitFor } from '../../helpers/processes.js';
import { ensureTestUser, generateKey, startSshd, tempDir, type ClientKey, type SshdServer, type TestUser } from '../../helpers/sshd.js';

const BIN = fileURLToPath(new URL('../../../bin/hvcluster.js', import.meta.url));
const policy = { knownHostsFiles: [], onUnknown: 'refuse' as const };

describe('sudo for non-root users', () => {
  let sshd: SshdServer;
  let tmp: ReturnType<typeof tempDir>;
  let key: ClientKey;
  let sudoUser: TestUser;
  let pwUser: TestUser;
  let rootDir: string;

  beforeAll(async () => {
    tmp = tempDir();
    sshd = await startSshd();
    key = await generateKey(tmp.path, 'id');
    sudoUser = await ensureTestUser('hvtest-sudo', { sudo: 'nopasswd' });
    pwUser = await ensureTestUser('hvtest-pw', { sudo: 'password' });
    sshd.authorize('hvtest-sudo', key.publicKey);
    sshd.authorize('hvtest-pw', key.publicKey);
    // A directory only root may write to.
    rootDir = join(tmp.path, 'etc-like');
    mkdirSync(rootDir, { mode: 0o755 });
  });

  afterAll(async () => {
    await sshd?.stop();
    sudoUser?.cleanup();
    pwUser?.cleanup();
    tmp?.remove();
  });

  const target = (user: string, extra: Partial<SshTarget> = {}): SshTarget => ({
    name: 'hv2',
    host: sshd.host,
    port: sshd.port,
    user,
    identityFiles: [key.path],
    jump: [],
    hostKeyFingerprint: sshd.hostKeyFingerprint,
    ...extra,
  });

  async function withConnection<T>(t: SshTarget, fn: (c: ServerConnection) => Promise<T>): Promise<T> {
    const c = await connect(t, policy, { env: {} });
    try {
      return await fn(c);
    } finally {
      await c.close();
    }
  }

  it('runs as root through NOPASSWD sudo, with quoting intact', async () => {
    await withConnection(target('hvtest-sudo'), async (c) => {
      expect((await c.exec('id -un')).stdout.trim()).toBe('hvtest-sudo');
      expect((await c.exec('id -un', { sudo: true })).stdout.trim()).toBe('root');
      const tricky = `it's "quoted" $HOME \`x\``;
      expect((await c.exec(`printf '%s\\n' ${"'" + tricky.replace(/'/g, `'\\''`) + "'"}`, { sudo: true })).stdout).toBe(`${tricky}\n`);
      expect((await c.exec('cat', { sudo: true, stdin: 'piped\n' })).stdout).toBe('piped\n');
    });
  });

  it('uploads a root-owned file atomically through sudo', async () => {
    const dest = join(rootDir, 'sudo-upload.conf');
    await withConnection(target('hvtest-sudo'), async (c) => {
      await c.upload(dest, 'resource r0 {}\n', { sudo: true, mode: 0o600, owner: 'root:root' });
      expect(c.counters.execs).toBe(1);
    });
    const st = statSync(dest);
    expect(st.uid).toBe(0);
    expect(st.mode & 0o7777).toBe(0o600);
    expect(readFileSync(dest, 'utf8')).toBe('resource r0 {}\n');
    expect(readdirSync(rootDir).filter((f) => f.includes('hvtmp'))).toEqual([]);
  });

  it('without sudo, a non-root user cannot write there (RemoteCommandError)', async () => {
    await withConnection(target('hvtest-sudo'), async (c) => {
      const err = await c.upload(join(rootDir, 'nope.conf'), 'x').catch((e: unknown) => e);
      expect(err).toBeInstanceOf(RemoteCommandError);
      expect((err as RemoteCommandError).result.stderr).toMatch(/Permission denied/);
    });
  });

  it('runs with a sudo password sent on stdin, and the caller stdin still arrives', async () => {
    await withConnection(target('hvtest-pw', { sudoPassword: pwUser.password }), async (c) => {
      expect((await c.exec('id -un', { sudo: true })).stdout.trim()).toBe('root');
      const r = await c.exec('cat', { sudo: true, stdin: 'line one\nline two\n' });
      expect(r.stdout).toBe('line one\nline two\n');
      expect(r.stdout).not.toContain(pwUser.password);
      const dest = join(rootDir, 'pw-upload.conf');
      await c.upload(dest, 'content\n', { sudo: true, mode: 0o644, owner: 'root:root' });
      expect(readFileSync(dest, 'utf8')).toBe('content\n');
      expect(statSync(dest).uid).toBe(0);
    });
  });

  it('a NOPASSWD user given a sudo password does not leak it into the command stdin', async () => {
    await withConnection(target('hvtest-sudo', { sudoPassword: 'unused-secret' }), async (c) => {
      const r = await c.exec('cat', { sudo: true, stdin: 'only this\n' });
      expect(r.stdout).toBe('only this\n');
    });
  });

  it('a timed-out command run through sudo is stopped on the server, not left running as root', async () => {
    await withConnection(target('hvtest-sudo'), async (c) => {
      const sleeper = `sleep 31.${String(Date.now()).slice(-6)}`;
      const err = await c.exec(`${sleeper}; echo never`, { sudo: true, timeoutMs: 1_500 }).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(RemoteCommandError);
      expect((err as Error).message).toContain('timed out after 1.5 s');
      expect(processesMatching(sleeper).length).toBeGreaterThan(0);
      await waitFor(() => processesMatching(sleeper).length === 0, 'the sudo command to be killed', 10_000);
    });
  });

  it('a sudo that needs a password and has none is an AuthError with a hint', async () => {
    await withConnection(target('hvtest-pw'), async (c) => {
      const err = await c.exec('id -u', { sudo: true }).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(AuthError);
      expect((err as Error).message).toContain('sudo needs a password for hvtest-pw@hv2');
      expect((err as AuthError).hint).toMatch(/NOPASSWD.*or give a sudo password/);
    });
  });

  it('a sudo that needs a password names the inspection script, not its 200 lines', { timeout: 60_000 }, async () => {
    await withConnection(target('hvtest-pw'), async (c) => {
      const err = await gatherFacts(c).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(AuthError);
      expect((err as Error).message).toMatch(/^hv2: sudo needs a password for hvtest-pw@hv2 and none was given \(running the inspect script \(\d+ lines\)\)$/);
    });

    // What the integrator sees: the error and its hint, not the script.
    const knownHosts = join(tmp.path, 'known_hosts');
    writeFileSync(knownHosts, `${sshd.knownHostsLine}\n`);
    const cli = spawnSync(process.execPath, [BIN, 'inspect', '--host', `hvtest-pw@${sshd.host}:${sshd.port}`, '-i', key.path, '--known-hosts', knownHosts], {
      env: { ...process.env, NO_COLOR: '1', CI: 'true' },
      encoding: 'utf8',
      timeout: 60_000,
    });
    expect(cli.status, cli.stderr).toBe(4);
    expect(cli.stderr).toContain(`error: hvtest-pw@${sshd.host}:${sshd.port}: sudo needs a password for hvtest-pw@${sshd.host}:${sshd.port} and none was given (running the inspect script (`);
    expect(cli.stderr).toContain('configure NOPASSWD sudo for hvtest-pw on the server, or give a sudo password');
    expect(cli.stderr).not.toContain('hv_cmd');
    expect(cli.stderr.trim().split('\n').length, cli.stderr).toBeLessThanOrEqual(4);
  });

  it('a wrong sudo password is an AuthError that does not contain the password', async () => {
    const secret = 'Wr0ng-S3cret-pw';
    await withConnection(target('hvtest-pw', { sudoPassword: secret }), async (c) => {
      const err = await c.exec(`echo ${secret} >/dev/null; id -u`, { sudo: true }).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(AuthError);
      const text = `${(err as Error).message} ${(err as AuthError).hint} ${JSON.stringify(err)}`;
      expect(text).toContain('sudo rejected the sudo password');
      expect(text).not.toContain(secret);
    });
  });

  it('a failing command under sudo with a password: RemoteCommandError without the password', async () => {
    await withConnection(target('hvtest-pw', { sudoPassword: pwUser.password }), async (c) => {
      const err = await c.exec('cat; echo bad >&2; exit 2', { sudo: true, stdin: 'in\n' }).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(RemoteCommandError);
      const e = err as RemoteCommandError;
      expect(e.result.exitCode).toBe(2);
      expect(e.command).toBe('cat; echo bad >&2; exit 2');
      expect(e.result.stdout).toBe('in\n');
      expect(`${e.message}${JSON.stringify(e)}`).not.toContain(pwUser.password);
    });
  });
});
