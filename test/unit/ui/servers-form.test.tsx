/** The servers screen: choosing the count, typing, the answer-file messages on bad input. */
import { render } from 'ink-testing-library';
import React from 'react';
import { describe, expect, it, vi } from 'vitest';
import { ServersForm, splitAddress } from '../../../installer/ui/screens/ServersForm.js';
import { KEY, press, waitFor } from './helpers.js';

describe('ServersForm', () => {
  it('asks for 2 servers, rejects a bad address with the answer-file message, and returns the logins', async () => {
    const onDone = vi.fn();
    const { stdin, lastFrame } = render(<ServersForm fileExists={(p) => p === '/keys/id'} onDone={onDone} />);
    await waitFor(lastFrame, 'How many servers');
    await press(stdin, KEY.enter); // 2 servers
    await waitFor(lastFrame, 'Server 1 of 2');
    await press(stdin, 'not an address!', KEY.enter);
    expect(await waitFor(lastFrame, '✗')).toContain('expected a host name or IP address to reach the server over SSH, like 198.18.1.11');
    // Correct it: erase and type again.
    await press(stdin, ...Array(15).fill(KEY.backspace), '198.18.1.1', KEY.enter);
    await waitFor(lastFrame, 'Login user');
    await press(stdin, KEY.enter); // root
    await waitFor(lastFrame, 'log in?');
    await press(stdin, KEY.enter); // key file
    await waitFor(lastFrame, 'Private key file');
    await press(stdin, ...Array(20).fill(KEY.backspace), '/keys/missing', KEY.enter);
    expect(await waitFor(lastFrame, 'does not exist')).toContain('/keys/missing does not exist');
    await press(stdin, ...Array(13).fill(KEY.backspace), '/keys/id', KEY.enter);
    const frame = await waitFor(lastFrame, 'Server 2 of 2');
    expect(frame).toContain('✓ server 1: root@198.18.1.1  (key /keys/id)');
    await press(stdin, '198.18.1.2:2222', KEY.enter);
    await waitFor(lastFrame, 'Login user');
    await press(stdin, ...Array(4).fill(KEY.backspace), 'debian', KEY.enter);
    await waitFor(lastFrame, 'log in?');
    await press(stdin, KEY.down, KEY.enter); // ssh-agent
    await vi.waitFor(() => expect(onDone).toHaveBeenCalled());
    expect(onDone.mock.calls[0]![0]).toEqual([
      { address: '198.18.1.1', port: 22, user: 'root', auth: 'key', identityFile: '/keys/id' },
      { address: '198.18.1.2', port: 2222, user: 'debian', auth: 'agent' },
    ]);
  });

  it('refuses the same server twice and a bad user name', async () => {
    const { stdin, lastFrame } = render(<ServersForm fileExists={() => true} onDone={() => undefined} />);
    await waitFor(lastFrame, 'How many servers');
    await press(stdin, KEY.down, KEY.enter); // 3 servers
    await waitFor(lastFrame, 'Server 1 of 3');
    await press(stdin, 'hv1.example.com', KEY.enter);
    await waitFor(lastFrame, 'Login user');
    await press(stdin, ...Array(4).fill(KEY.backspace), 'Bad User', KEY.enter);
    expect(await waitFor(lastFrame, '✗')).toContain('expected a user name, like root or debian');
    await press(stdin, ...Array(8).fill(KEY.backspace), 'root', KEY.enter, KEY.down, KEY.enter);
    await waitFor(lastFrame, 'Server 2 of 3');
    await press(stdin, 'hv1.example.com', KEY.enter);
    expect(await waitFor(lastFrame, '✗')).toContain('hv1.example.com is server 1 already');
  });

  it('splits host:port', () => {
    expect(splitAddress('hv1:2222')).toEqual({ address: 'hv1', port: 2222 });
    expect(splitAddress('[fd00::1]:22')).toEqual({ address: 'fd00::1', port: 22 });
    expect(splitAddress('198.18.1.1')).toEqual({ address: '198.18.1.1', port: 22 });
  });
});
