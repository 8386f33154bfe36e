/** The servers screen: choosing the count, typing, the answer-file messages on bad input, sudo, jump hosts, going back. */
import { render } from 'ink-testing-library';
import React from 'react';
import { describe, expect, it, vi } from 'vitest';
import { splitAddress } from '../../../installer/ui/screens/login-steps.js';
import { ServersForm } from '../../../installer/ui/screens/ServersForm.js';
import { KEY, press, waitFor } from './helpers.js';

const erase = (n: number) => Array<string>(n).fill(KEY.backspace);
/** The frame (or a text) with its line breaks and runs of spaces made one space: long messages wrap at 100 columns. */
const flat = (text: string) => text.replace(/\s+/g, ' ');
const JUMP_MESSAGE = 'expected a jump host as [user@]host[:port], several separated by commas (like OpenSSH ProxyJump), like admin@bastion.example.com:22';

describe('ServersForm', () => {
  it('asks for 2 servers, rejects a bad address with the answer-file message, and returns the logins (passwordless sudo for a non-root user)', async () => {
    const onDone = vi.fn();
    const { stdin, lastFrame } = render(<ServersForm fileExists={(p) => p === '/keys/id'} onDone={onDone} />);
    await waitFor(lastFrame, 'How many servers');
    await press(stdin, KEY.enter); // 2 servers
    await waitFor(lastFrame, 'Server 1 of 2');
    await press(stdin, 'not an address!', KEY.enter);
    expect(await waitFor(lastFrame, '✗')).toContain('expected a host name or IP address to reach the server over SSH, like 198.18.1.11');
    // Correct it: erase and type again.
    await press(stdin, ...erase(15), '198.18.1.1', KEY.enter);
    expect(await waitFor(lastFrame, 'Jump host (blank for none)')).toContain('Esc: back');
    await press(stdin, KEY.enter); // none
    await waitFor(lastFrame, 'Login user');
    await press(stdin, KEY.enter); // root: no sudo question
    expect(await waitFor(lastFrame, 'log in?')).toContain('Esc: back');
    await press(stdin, KEY.enter); // key file
    await waitFor(lastFrame, 'Private key file');
    await press(stdin, ...erase(20), '/keys/missing', KEY.enter);
    expect(await waitFor(lastFrame, 'does not exist')).toContain('/keys/missing does not exist');
    await press(stdin, ...erase(13), '/keys/id', KEY.enter);
    const frame = await waitFor(lastFrame, 'Server 2 of 2');
    expect(frame).toContain('✓ server 1: root@198.18.1.1  (key /keys/id)');
    await press(stdin, '198.18.1.2:2222', KEY.enter);
    await waitFor(lastFrame, 'Jump host');
    await press(stdin, KEY.enter);
    await waitFor(lastFrame, 'Login user');
    await press(stdin, ...erase(4), 'debian', KEY.enter);
    await waitFor(lastFrame, 'log in?');
    await press(stdin, KEY.down, KEY.enter); // ssh-agent
    const sudo = await waitFor(lastFrame, 'How does sudo authenticate debian?');
    expect(sudo).toContain('passwordless sudo (sudo -n)');
    expect(sudo).toContain('a sudo password read from an environment variable');
    await press(stdin, KEY.enter); // passwordless
    await vi.waitFor(() => expect(onDone).toHaveBeenCalled());
    expect(onDone.mock.calls[0]![0]).toStrictEqual([
      { address: '198.18.1.1', port: 22, user: 'root', auth: 'key', identityFile: '/keys/id' },
      { address: '198.18.1.2', port: 2222, user: 'debian', auth: 'agent' },
    ]);
    expect(await waitFor(lastFrame, 'server 2:')).toContain('✓ server 2: debian@198.18.1.2:2222  (ssh-agent, sudo -n)');
  });

  it('refuses the same server twice and a bad user name', async () => {
    const { stdin, lastFrame } = render(<ServersForm fileExists={() => true} onDone={() => undefined} />);
    await waitFor(lastFrame, 'How many servers');
    await press(stdin, KEY.down, KEY.enter); // 3 servers
    await waitFor(lastFrame, 'Server 1 of 3');
    await press(stdin, 'hv1.example.com', KEY.enter);
    await waitFor(lastFrame, 'Jump host');
    await press(stdin, KEY.enter);
    await waitFor(lastFrame, 'Login user');
    await press(stdin, ...erase(4), 'Bad User', KEY.enter);
    expect(await waitFor(lastFrame, '✗')).toContain('expected a user name, like root or debian');
    await press(stdin, ...erase(8), 'root', KEY.enter, KEY.down, KEY.enter);
    await waitFor(lastFrame, 'Server 2 of 3');
    await press(stdin, 'hv1.example.com', KEY.enter);
    expect(await waitFor(lastFrame, '✗')).toContain('hv1.example.com is server 1 already');
  });

  it('takes a sudo password from an environment variable and a jump host chain, with the answer-file messages, and offers them to the next server', async () => {
    const onDone = vi.fn();
    const env = { HV_SUDO: 'secret' };
    const { stdin, lastFrame } = render(<ServersForm fileExists={() => true} env={env} onDone={onDone} />);
    await waitFor(lastFrame, 'How many servers');
    await press(stdin, KEY.enter);
    await waitFor(lastFrame, 'Server 1 of 2');
    await press(stdin, '10.0.0.11', KEY.enter);
    await waitFor(lastFrame, 'Jump host (blank for none)');
    await press(stdin, 'admin@bastion.example.com:2222,bad host!', KEY.enter);
    expect(flat(await waitFor(lastFrame, '✗'))).toContain(`${JUMP_MESSAGE}, found "admin@bastion.example.com:2222,bad host!"`);
    await press(stdin, ...erase(9), KEY.enter); // admin@bastion.example.com:2222,
    expect(flat(await waitFor(lastFrame, '2222,"'))).toContain(`${JUMP_MESSAGE}, found "admin@bastion.example.com:2222,"`);
    await press(stdin, 'ops@10.0.0.1', KEY.enter);
    await waitFor(lastFrame, 'Login user');
    await press(stdin, ...erase(4), 'admin', KEY.enter);
    await waitFor(lastFrame, 'log in?');
    await press(stdin, KEY.down, KEY.enter); // ssh-agent
    await waitFor(lastFrame, 'How does sudo authenticate admin?');
    await press(stdin, KEY.down, KEY.enter); // a sudo password
    const question = await waitFor(lastFrame, 'Environment variable holding the sudo password');
    expect(question).toContain('HVCLUSTER_SUDO_PASSWORD');
    await press(stdin, KEY.enter);
    expect(flat(await waitFor(lastFrame, '✗'))).toContain(
      'the environment variable HVCLUSTER_SUDO_PASSWORD is not set; export HVCLUSTER_SUDO_PASSWORD=... before running hvcluster',
    );
    await press(stdin, ...erase(23), '1BAD', KEY.enter);
    expect(await waitFor(lastFrame, /✗.*variable name/)).toContain('expected an environment variable name, like HVCLUSTER_SSH_PASSWORD');
    await press(stdin, ...erase(4), 'HV_SUDO', KEY.enter);

    // Server 2: the first server's jump host, user, authentication and sudo are the defaults.
    const second = await waitFor(lastFrame, 'Server 2 of 2');
    expect(flat(second)).toContain(flat('✓ server 1: admin@10.0.0.11 via admin@bastion.example.com:2222,ops@10.0.0.1  (ssh-agent, sudo password from $HV_SUDO)'));
    await press(stdin, '10.0.0.12', KEY.enter);
    expect(await waitFor(lastFrame, 'Jump host')).toContain('admin@bastion.example.com:2222,ops@10.0.0.1');
    await press(stdin, KEY.enter);
    expect(await waitFor(lastFrame, 'Login user')).toContain('admin');
    await press(stdin, KEY.enter);
    await waitFor(lastFrame, 'log in?');
    await press(stdin, KEY.enter); // the focused default: ssh-agent
    await waitFor(lastFrame, 'How does sudo authenticate');
    await press(stdin, KEY.enter); // the focused default: a sudo password
    expect(await waitFor(lastFrame, 'holding the sudo password')).toContain('HV_SUDO');
    await press(stdin, KEY.enter);
    await vi.waitFor(() => expect(onDone).toHaveBeenCalled());
    const login = { port: 22, user: 'admin', auth: 'agent', sudoPasswordEnv: 'HV_SUDO', jump: 'admin@bastion.example.com:2222,ops@10.0.0.1' };
    expect(onDone.mock.calls[0]![0]).toStrictEqual([
      { address: '10.0.0.11', ...login },
      { address: '10.0.0.12', ...login },
    ]);
  });

  it('goes back with Esc: to the previous question, to the previous server (editable again), to the count', async () => {
    const onDone = vi.fn();
    const { stdin, lastFrame } = render(<ServersForm fileExists={() => true} env={{ HV_SUDO: 'x' }} onDone={onDone} />);
    await waitFor(lastFrame, 'How many servers');
    await press(stdin, KEY.down, KEY.enter); // 3 servers
    await waitFor(lastFrame, 'Server 1 of 3');
    // From server 1's first question back to the count, which keeps the choice.
    await press(stdin, KEY.escape);
    await waitFor(lastFrame, 'How many servers');
    expect(lastFrame()).toMatch(/❯ 3 servers/);
    await press(stdin, KEY.up, KEY.enter); // now 2
    await waitFor(lastFrame, 'Server 1 of 2');
    await press(stdin, '198.18.1.1', KEY.enter, KEY.enter); // no jump host
    await waitFor(lastFrame, 'Login user');
    await press(stdin, ...erase(4), 'debian', KEY.enter);
    await waitFor(lastFrame, 'log in?');
    await press(stdin, KEY.enter); // key file
    await waitFor(lastFrame, 'Private key file');
    await press(stdin, ...erase(20), '/keys/id', KEY.enter);
    await waitFor(lastFrame, 'How does sudo authenticate');
    await press(stdin, KEY.enter); // sudo -n
    await waitFor(lastFrame, 'Server 2 of 2');
    expect(lastFrame()).toContain('✓ server 1: debian@198.18.1.1  (key /keys/id, sudo -n)');

    // From server 2's first question back to server 1's last answer, then further back to its user.
    await press(stdin, KEY.escape);
    const sudo = await waitFor(lastFrame, 'How does sudo authenticate');
    expect(sudo).toContain('Server 1 of 2');
    expect(sudo).not.toContain('✓ server 1');
    await press(stdin, KEY.escape);
    expect(await waitFor(lastFrame, 'Private key file')).toContain('/keys/id');
    await press(stdin, KEY.escape);
    await waitFor(lastFrame, 'log in?');
    expect(lastFrame()).toMatch(/❯ a private key file/);
    await press(stdin, KEY.escape);
    expect(await waitFor(lastFrame, 'Login user')).toContain('debian');
    // root now: the sudo question is no longer asked.
    await press(stdin, ...erase(6), 'root', KEY.enter);
    await waitFor(lastFrame, 'log in?');
    await press(stdin, KEY.down, KEY.enter); // ssh-agent
    const second = await waitFor(lastFrame, 'Server 2 of 2');
    expect(second).toContain('✓ server 1: root@198.18.1.1  (ssh-agent)');
    await press(stdin, '198.18.1.2', KEY.enter, KEY.enter);
    await waitFor(lastFrame, 'Login user');
    await press(stdin, KEY.enter); // root, the first server's user
    await waitFor(lastFrame, 'log in?');
    await press(stdin, KEY.enter); // ssh-agent, the first server's choice
    await vi.waitFor(() => expect(onDone).toHaveBeenCalled());
    expect(onDone.mock.calls[0]![0]).toStrictEqual([
      { address: '198.18.1.1', port: 22, user: 'root', auth: 'agent' },
      { address: '198.18.1.2', port: 22, user: 'root', auth: 'agent' },
    ]);
  });

  it('offers given logins again as the defaults', async () => {
    const onDone = vi.fn();
    const defaults = [
      { address: 'hv1', port: 2222, user: 'admin', auth: 'password' as const, passwordEnv: 'HV_PW', sudoPasswordEnv: 'HV_SUDO', jump: 'bastion' },
      { address: 'hv2', port: 22, user: 'root', auth: 'agent' as const, hostKey: `SHA256:${'A'.repeat(43)}` },
    ];
    const { stdin, lastFrame } = render(<ServersForm defaults={defaults} env={{ HV_PW: 'p', HV_SUDO: 's' }} onDone={onDone} />);
    await waitFor(lastFrame, 'How many servers');
    await press(stdin, KEY.enter);
    expect(await waitFor(lastFrame, 'Address')).toContain('hv1:2222');
    for (const question of ['Address', 'Jump host', 'Login user', 'log in?', 'holding the password', 'How does sudo authenticate', 'holding the sudo password', 'Address', 'Jump host', 'Login user', 'log in?']) {
      await waitFor(lastFrame, question);
      await press(stdin, KEY.enter);
    }
    await vi.waitFor(() => expect(onDone).toHaveBeenCalled());
    expect(onDone.mock.calls[0]![0]).toStrictEqual([defaults[0], { address: 'hv2', port: 22, user: 'root', auth: 'agent' }]);
  });

  it('splits host:port', () => {
    expect(splitAddress('hv1:2222')).toEqual({ address: 'hv1', port: 2222 });
    expect(splitAddress('[fd00::1]:22')).toEqual({ address: 'fd00::1', port: 22 });
    expect(splitAddress('198.18.1.1')).toEqual({ address: '198.18.1.1', port: 22 });
  });
});
