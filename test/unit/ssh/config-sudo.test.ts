import { userInfo } from 'node:os';
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { expandPath, resolveTarget } from '../../../installer/ssh/config.js';
import { parseSshG, sshG, sshGArgs } from '../../../installer/ssh/ssh-g.js';
import { uploadCommand } from '../../../installer/ssh/connection.js';
import { jumpChain } from '../../../installer/ssh/connect.js';
import { classifySudoFailure, sudoCommand, sudoStdin } from '../../../installer/ssh/sudo.js';

const dir = mkdtempSync(join(tmpdir(), 'hvssh-unit-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('resolveTarget', () => {
  const home = join(dir, 'home');
  mkdirSync(join(home, '.ssh'), { recursive: true });
  writeFileSync(join(home, '.ssh', 'id_ed25519'), 'x');
  writeFileSync(join(home, '.ssh', 'id_rsa'), 'x');
  const configFile = join(dir, 'config');
  writeFileSync(
    configFile,
    [
      'Host hv1',
      '  HostName 192.0.2.11',
      '  User admin',
      '  Port 2201',
      '  IdentityFile ~/.ssh/hv_%h_%r',
      '  IdentityFile /keys/%u-%%',
      '  ProxyJump admin@gw1:2022,gw2',
      'Host gw2',
      '  HostName 192.0.2.2',
      '  ProxyJump none',
      'Host direct',
      '  ProxyJump none',
      'Host loop-a',
      '  ProxyJump loop-b',
      'Host loop-b',
      '  ProxyJump loop-a',
      'Host *',
      '  User fallback',
      '',
    ].join('\n'),
  );

  it('applies a Host alias with tokens and a ProxyJump chain resolved through the config', () => {
    const t = resolveTarget('hv1', { configFile, homeDir: home, localUser: 'me' });
    expect(t).toMatchObject({ name: 'hv1', host: '192.0.2.11', port: 2201, user: 'admin' });
    expect(t.identityFiles).toEqual([join(home, '.ssh', 'hv_192.0.2.11_admin'), '/keys/me-%']);
    expect(t.jump.map((j) => [j.name, j.host, j.port, j.user, j.jump.length])).toEqual([
      ['admin@gw1:2022', 'gw1', 2022, 'admin', 0],
      ['gw2', '192.0.2.2', 22, 'fallback', 0],
    ]);
    expect(jumpChain(t).map((j) => j.name)).toEqual(['admin@gw1:2022', 'gw2']);
  });

  it('lets the spec and overrides win, and uses the default key files that exist', () => {
    const t = resolveTarget('root@hv1:22', { configFile, homeDir: home, localUser: 'me' });
    expect(t).toMatchObject({ host: '192.0.2.11', port: 22, user: 'root' });
    const plain = resolveTarget('10.1.1.1', { configFile: join(dir, 'absent'), homeDir: home, localUser: 'me' });
    // No User anywhere: ssh logs in as the local user, and so does hvcluster.
    expect(plain).toMatchObject({ host: '10.1.1.1', port: 22, user: userInfo().username, jump: [] });
    expect(plain.identityFiles).toEqual([join(home, '.ssh', 'id_ed25519'), join(home, '.ssh', 'id_rsa')]);
    const over = resolveTarget('hv1', { configFile, homeDir: home, user: 'ops', port: 2, identityFiles: ['/k'], jump: [], sudoPassword: 's' });
    expect(over).toMatchObject({ user: 'ops', port: 2, identityFiles: ['/k'], jump: [], sudoPassword: 's' });
    expect(resolveTarget('direct', { configFile, homeDir: home }).jump).toEqual([]);
  });

  it('follows Include and Match as ssh does, and takes UserKnownHostsFile from the config', () => {
    const included = join(dir, 'included.conf');
    writeFileSync(included, ['Host hv-inc', '  HostName 198.18.5.5', '  Port 2205', '  User ops', '  UserKnownHostsFile ~/site_known_hosts', ''].join('\n'));
    const main = join(dir, 'main.conf');
    writeFileSync(main, [`Include ${included}`, 'Match host 198.18.5.5', '  IdentityFile ~/.ssh/matched_%r', ''].join('\n'));
    const t = resolveTarget('hv-inc', { configFile: main, homeDir: home, localUser: 'me' });
    expect(t).toMatchObject({ host: '198.18.5.5', port: 2205, user: 'ops', identityFiles: [join(home, '.ssh', 'matched_ops')] });
    expect(t.knownHostsFiles?.[0]).toMatch(/\/site_known_hosts$/);
    // Nothing configured: the policy's known_hosts files apply.
    expect(resolveTarget('10.1.1.1', { configFile: join(dir, 'absent'), homeDir: home }).knownHostsFiles).toBeUndefined();
  });

  it('parses ssh -G output, and says when there is no ssh client', () => {
    const o = parseSshG('user ops\nhostname 198.18.5.5\nidentityfile ~/.ssh/a b\nidentityfile ~/.ssh/c\nuserknownhostsfile /x /y\n');
    expect(o.get('identityfile')).toEqual(['~/.ssh/a b', '~/.ssh/c']);
    expect(o.get('userknownhostsfile')).toEqual(['/x', '/y']);
    const enoent = () => {
      throw Object.assign(new Error('spawn ssh ENOENT'), { code: 'ENOENT' });
    };
    expect(sshG({ host: 'x' }, enoent)).toBeUndefined();
    expect(sshGArgs({ host: 'hv1', user: 'root', port: 2222, configFile: '/c' })).toEqual(['-G', '-F', '/c', '-l', 'root', '-p', '2222', '--', 'hv1']);
  });

  it('reports a ProxyJump loop', () => {
    expect(() => resolveTarget('loop-a', { configFile, homeDir: home })).toThrow(/ProxyJump loop/);
  });

  it('expands ~ and tokens', () => {
    expect(expandPath('~/x/%h-%p-%d', { home: '/h', host: 'a', user: 'u', localUser: 'l', port: 22 })).toBe('/h/x/a-22-/h');
  });
});

describe('sudo', () => {
  it('wraps commands without putting the password in argv', () => {
    expect(sudoCommand("echo 'hi'", 'nopasswd')).toBe(`sudo -n -- sh -c 'echo '\\''hi'\\'''`);
    expect(sudoCommand('id', 'password')).toBe("sudo -k -S -p '' -- sh -c id");
    expect(sudoStdin('pw', 'data').toString()).toBe('pw\ndata');
    expect(() => sudoStdin('a\nb')).toThrow(/newline/);
  });

  it("recognizes sudo's own refusals", () => {
    expect(classifySudoFailure(1, 'sudo: a password is required\n')).toBe('needs-password');
    expect(classifySudoFailure(1, 'Sorry, try again.\nsudo: 3 incorrect password attempts\n')).toBe('wrong-password');
    expect(classifySudoFailure(1, 'sudo: no password was provided\n')).toBe('wrong-password');
    expect(classifySudoFailure(1, 'bob is not in the sudoers file.\n')).toBe('not-allowed');
    expect(classifySudoFailure(1, 'grep: a password is required\n')).toBeUndefined();
    expect(classifySudoFailure(2, 'sudo: a password is required\n')).toBeUndefined();
  });
});

describe('uploadCommand', () => {
  it('writes atomically with mode, through a real sh, for awkward names', () => {
    const target = join(dir, "it's a file.conf");
    writeFileSync(target, 'old\n');
    execFileSync('sh', ['-c', uploadCommand(target, { mode: 0o640 })], { input: 'new\n' });
    expect(readFileSync(target, 'utf8')).toBe('new\n');
    expect(statSync(target).mode & 0o7777).toBe(0o640);
    expect(readdirSync(dir).filter((f) => f.includes('hvtmp'))).toEqual([]);
    expect(() => uploadCommand('relative/path')).toThrow(/absolute/);
  });

  it('removes its temp file when a step fails', () => {
    let failed = false;
    try {
      execFileSync('sh', ['-c', uploadCommand(join(dir, 'x.conf'), { owner: 'no-such-user-hv' })], { input: 'x', stdio: 'pipe' });
    } catch {
      failed = true;
    }
    expect(failed).toBe(true);
    expect(readdirSync(dir).filter((f) => f.includes('hvtmp') || f === 'x.conf')).toEqual([]);
  });
});

describe('withRemoteTimeout', () => {
  it('wraps a command in GNU timeout a second past the client timeout, and leaves "no timeout" alone', async () => {
    const { withRemoteTimeout } = await import('../../../installer/ssh/remote-timeout.js');
    expect(withRemoteTimeout("echo 'x'", 120_000)).toBe(`timeout -k 5 121 sh -c 'echo '\\''x'\\'''`);
    expect(withRemoteTimeout('true', 700)).toBe('timeout -k 5 2 sh -c true');
    expect(withRemoteTimeout('true', Infinity)).toBe('true');
    expect(withRemoteTimeout('true', 0)).toBe('true');
    expect(execFileSync('sh', ['-c', withRemoteTimeout(`printf '%s' "a b"`, 5_000)], { encoding: 'utf8' })).toBe('a b');
  });
});
