/**
 * A real OpenSSH sshd for tests, started by the test itself: its own host key, config, PidFile and
 * authorized_keys in a temp dir, listening only on 127.0.0.1 on a free port, stopped by its PID.
 *
 *   const sshd = await startSshd({ maxSessions: 10 });
 *   const key = await generateKey(sshd.dir, 'client');
 *   sshd.authorize('root', key.publicKey);
 *   ... connect to sshd.host:sshd.port, pin sshd.hostKeyFingerprint ...
 *   await sshd.stop();
 *
 * Non-root users: `await ensureTestUser('hvtest-sudo', { sudo: 'nopasswd' })` (idempotent; returns
 * a cleanup that removes the sudoers file it wrote). Nothing under /etc/ssh or ~/.ssh is touched.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { appendFileSync, chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, unlinkSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { childPids, descendantPids, isAlive, run, runOk, signal, stopChild, waitFor } from './processes.js';

export interface SshdOptions {
  /** sshd's MaxSessions (channels per connection), default 10 as OpenSSH's default. */
  maxSessions?: number;
  /** Allow password authentication (default false). */
  passwordAuth?: boolean;
  /** A fixed port (default: a free one). */
  port?: number;
  /** Host key type (default ed25519). */
  hostKeyType?: 'ed25519' | 'ecdsa' | 'rsa';
  /** Public key lines to authorize, by user. */
  users?: Record<string, string[]>;
  /** Extra sshd_config lines. */
  extraConfig?: string[];
  /** A directory to use instead of a fresh temp dir (its host key is reused if present). */
  dir?: string;
}

export interface SshdServer {
  host: '127.0.0.1';
  port: number;
  pid: number;
  /** The temp dir holding config, host key, authorized keys and logs; removed by stop(). */
  dir: string;
  hostKeyPath: string;
  /** `SHA256:...` as `ssh-keygen -lf` prints it. */
  hostKeyFingerprint: string;
  /** The host public key file's line: `ssh-ed25519 AAAA... comment`. */
  hostPubKeyLine: string;
  /** A known_hosts line for this server: `[127.0.0.1]:PORT ssh-ed25519 AAAA...`. */
  knownHostsLine: string;
  configPath: string;
  /** Adds a public key line to `user`'s authorized keys. */
  authorize(user: string, publicKeyLine: string): void;
  /** What sshd logged so far (stderr, -e). */
  logs(): string;
  /** PIDs of the per-connection sshd processes (direct children of the listener). */
  sessionPids(): number[];
  /** SIGKILLs one session process and everything under it. */
  killSession(pid: number): void;
  /** Stops sshd and its sessions by PID and removes the temp dir (unless keepDir). */
  stop(options?: { keepDir?: boolean }): Promise<void>;
}

const SSHD = '/usr/sbin/sshd';
const started = new Set<SshdServer>();

/** A free TCP port on 127.0.0.1 (free when asked: bind races are retried by startSshd). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

export async function fingerprintOfPubFile(pubFile: string): Promise<string> {
  const out = await runOk('ssh-keygen', ['-l', '-E', 'sha256', '-f', pubFile]);
  const fp = out.trim().split(/\s+/)[1];
  if (!fp?.startsWith('SHA256:')) throw new Error(`unexpected ssh-keygen -l output: ${out}`);
  return fp;
}

export async function startSshd(options: SshdOptions = {}): Promise<SshdServer> {
  mkdirSync('/run/sshd', { recursive: true, mode: 0o755 });
  const dir = options.dir ?? mkdtempSync(join(tmpdir(), 'hvsshd-'));
  // Users' sessions read their authorized_keys file as themselves: the dir must be traversable.
  chmodSync(dir, 0o755);
  const keysDir = join(dir, 'authorized_keys');
  mkdirSync(keysDir, { recursive: true, mode: 0o755 });
  const type = options.hostKeyType ?? 'ed25519';
  const hostKeyPath = join(dir, `ssh_host_${type}_key`);
  if (!existsSync(hostKeyPath)) {
    await runOk('ssh-keygen', ['-q', '-t', type, '-N', '', '-C', 'hvtest-host', '-f', hostKeyPath]);
  }
  const hostPubKeyLine = readFileSync(`${hostKeyPath}.pub`, 'utf8').trim();
  const hostKeyFingerprint = await fingerprintOfPubFile(`${hostKeyPath}.pub`);

  const authorize = (user: string, line: string) => {
    const file = join(keysDir, user);
    appendFileSync(file, `${line.trim()}\n`, { mode: 0o644 });
    chmodSync(file, 0o644);
  };
  for (const [user, lines] of Object.entries(options.users ?? {})) for (const l of lines) authorize(user, l);

  for (let attempt = 1; ; attempt++) {
    const port = options.port ?? (await freePort());
    const configPath = join(dir, 'sshd_config');
    writeFileSync(
      configPath,
      [
        `ListenAddress 127.0.0.1`,
        `Port ${port}`,
        `HostKey ${hostKeyPath}`,
        `PidFile ${join(dir, 'sshd.pid')}`,
        `AuthorizedKeysFile ${keysDir}/%u`,
        // The temp dir lives under /tmp (mode 1777), which StrictModes would reject.
        `StrictModes no`,
        `UsePAM no`,
        `PermitRootLogin yes`,
        `PubkeyAuthentication yes`,
        `PasswordAuthentication ${options.passwordAuth ? 'yes' : 'no'}`,
        `KbdInteractiveAuthentication no`,
        `MaxSessions ${options.maxSessions ?? 10}`,
        `MaxStartups 100:30:200`,
        `AllowTcpForwarding yes`,
        `PrintMotd no`,
        `LogLevel VERBOSE`,
        `Subsystem sftp internal-sftp`,
        ...(options.extraConfig ?? []),
        '',
      ].join('\n'),
      { mode: 0o644 },
    );
    const logFile = join(dir, 'sshd.log');
    let log = '';
    const child: ChildProcess = spawn(SSHD, ['-D', '-e', '-f', configPath], { stdio: ['ignore', 'ignore', 'pipe'] });
    child.stderr!.on('data', (chunk: Buffer) => {
      log += chunk.toString('utf8');
      try {
        appendFileSync(logFile, chunk);
      } catch {
        /* dir removed */
      }
    });
    let exited = false;
    child.once('exit', () => (exited = true));
    try {
      await waitFor(
        () => {
          if (exited) throw new Error(`sshd exited during start-up:\n${log}`);
          return log.includes(`Server listening on 127.0.0.1 port ${port}`);
        },
        `sshd to listen on 127.0.0.1:${port}`,
        10_000,
      );
    } catch (error) {
      await stopChild(child);
      if (options.port === undefined && attempt < 5 && /Address already in use|Cannot bind/i.test(log)) continue;
      if (!options.dir) rmSync(dir, { recursive: true, force: true });
      throw error;
    }
    const pid = child.pid!;
    const server: SshdServer = {
      host: '127.0.0.1',
      port,
      pid,
      dir,
      hostKeyPath,
      hostKeyFingerprint,
      hostPubKeyLine,
      knownHostsLine: `[127.0.0.1]:${port} ${hostPubKeyLine.split(/\s+/).slice(0, 2).join(' ')}`,
      configPath,
      authorize,
      logs: () => log,
      sessionPids: () => childPids(pid),
      killSession(sessionPid: number) {
        if (!childPids(pid).includes(sessionPid)) throw new Error(`${sessionPid} is not a session of sshd ${pid}`);
        for (const p of [sessionPid, ...descendantPids(sessionPid)]) signal(p, 'SIGKILL');
      },
      async stop(stopOptions = {}) {
        started.delete(server);
        // Sessions first (they outlive the listener), then the listener.
        for (const p of descendantPids(pid)) signal(p, 'SIGKILL');
        await stopChild(child);
        await waitFor(() => descendantPids(pid).every((p) => !isAlive(p)), 'sshd sessions to exit', 5_000).catch(() => undefined);
        if (!stopOptions.keepDir && !options.dir) rmSync(dir, { recursive: true, force: true });
      },
    };
    started.add(server);
    return server;
  }
}

/** Stops every sshd this module started and that is still running (for afterAll). */
export async function stopAllSshd(): Promise<void> {
  await Promise.all([...started].map((s) => s.stop()));
}

export interface ClientKey {
  path: string;
  /** The public key line. */
  publicKey: string;
  fingerprint: string;
}

/** Generates a client key pair with ssh-keygen in `dir`. */
export async function generateKey(
  dir: string,
  name: string,
  options: { type?: 'ed25519' | 'ecdsa' | 'rsa'; passphrase?: string; format?: 'openssh' | 'pem' } = {},
): Promise<ClientKey> {
  const path = join(dir, name);
  const args = ['-q', '-t', options.type ?? 'ed25519', '-N', options.passphrase ?? '', '-C', `hvtest-${name}`, '-f', path];
  if (options.format === 'pem') args.push('-m', 'PEM');
  await runOk('ssh-keygen', args);
  return { path, publicKey: readFileSync(`${path}.pub`, 'utf8').trim(), fingerprint: await fingerprintOfPubFile(`${path}.pub`) };
}

export interface TestAgent {
  socket: string;
  pid: number;
  /** Adds an unencrypted key file. */
  add(keyPath: string): Promise<void>;
  stop(): Promise<void>;
}

/** Starts `ssh-agent -D -a SOCK` in the foreground, so that it can be stopped by its PID. */
export async function startAgent(dir: string): Promise<TestAgent> {
  const socket = join(dir, `agent-${process.pid}-${Date.now()}.sock`);
  const child = spawn('ssh-agent', ['-D', '-a', socket], { stdio: ['ignore', 'ignore', 'pipe'] });
  let err = '';
  child.stderr!.on('data', (c: Buffer) => (err += c.toString()));
  let exited = false;
  child.once('exit', () => (exited = true));
  await waitFor(
    () => {
      if (exited) throw new Error(`ssh-agent exited: ${err}`);
      return existsSync(socket);
    },
    'ssh-agent socket',
    5_000,
  );
  return {
    socket,
    pid: child.pid!,
    async add(keyPath: string) {
      await runOk('ssh-add', [keyPath], { env: { ...process.env, SSH_AUTH_SOCK: socket } });
    },
    async stop() {
      await stopChild(child);
      rmSync(socket, { force: true });
    },
  };
}

export interface TestUser {
  name: string;
  password: string;
  home: string;
  /** Removes the sudoers file this call wrote (the user stays: other test files may use it). */
  cleanup(): void;
}

let sudoersCounter = 0;

/**
 * Creates a local user for tests, idempotently, with a known password (sshd with UsePAM no refuses
 * even key logins to accounts whose password is locked). `sudo`: 'nopasswd', 'password' (sudo asks
 * for the user's password) or 'none'. Keep one sudo policy per user name across test files.
 */
export async function ensureTestUser(
  name: string,
  options: { sudo?: 'nopasswd' | 'password' | 'none'; password?: string } = {},
): Promise<TestUser> {
  if (!/^hvtest-[a-z0-9-]+$/.test(name)) throw new Error(`test user names must start with hvtest-: ${name}`);
  const password = options.password ?? `Hv-${name}-Pw-7`;
  if ((await run('id', ['-u', name])).code !== 0) {
    const add = await run('useradd', ['-m', '-s', '/bin/sh', name]);
    // Another test file may have created it at the same moment.
    if (add.code !== 0 && (await run('id', ['-u', name])).code !== 0) throw new Error(`useradd ${name}: ${add.stderr}`);
  }
  await runOk('chpasswd', [], { input: `${name}:${password}\n` });
  const home = (await runOk('getent', ['passwd', name])).split(':')[5] ?? `/home/${name}`;
  let sudoersFile: string | undefined;
  if (options.sudo && options.sudo !== 'none') {
    // No dots in the name: sudo skips files in sudoers.d whose names contain a dot.
    sudoersFile = `/etc/sudoers.d/${name}-${process.pid}-${++sudoersCounter}`;
    const rule = options.sudo === 'nopasswd' ? `${name} ALL=(ALL:ALL) NOPASSWD: ALL\n` : `${name} ALL=(ALL:ALL) ALL\n`;
    writeFileSync(sudoersFile, rule, { mode: 0o440 });
    const check = await run('visudo', ['-c', '-f', sudoersFile]);
    if (check.code !== 0) {
      unlinkSync(sudoersFile);
      throw new Error(`visudo rejected ${sudoersFile}: ${check.stderr}${check.stdout}`);
    }
  }
  return {
    name,
    password,
    home,
    cleanup() {
      if (sudoersFile) rmSync(sudoersFile, { force: true });
    },
  };
}

/** A temp dir for a test's own files (keys, known_hosts, ssh config). */
export function tempDir(prefix = 'hvssh-'): { path: string; remove(): void } {
  const path = mkdtempSync(join(tmpdir(), prefix));
  return { path, remove: () => rmSync(path, { recursive: true, force: true }) };
}
