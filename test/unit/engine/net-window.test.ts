/**
 * The network window: the pure reading of what net-window.sh prints, the step's messages, and the
 * script itself run in a sandbox (systemctl, systemd-run, ip, ifup and ifdown replaced by stubs) to
 * show that revert, boot restore and confirm exclude each other.
 */
import { spawnSync } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { confirmArgs, NET_WINDOW_SCRIPT, parseConfirm, parsePending, parseRevertMarker, revertMessage } from '../../../installer/engine/steps/network.js';

describe('reading net-window.sh', () => {
  it('parses every answer of confirm', () => {
    expect(parseConfirm('confirmed\n')).toEqual({ state: 'confirmed' });
    expect(parseConfirm('applying\n')).toEqual({ state: 'applying' });
    expect(parseConfirm('none\n')).toEqual({ state: 'none' });
    expect(parseConfirm('apply-failed exit-code\n')).toEqual({ state: 'apply-failed', result: 'exit-code' });
    expect(parseConfirm('reverted boot 2026-12-05T18:00:00+00:00\n')).toEqual({ state: 'reverted', by: 'boot', at: '2026-12-05T18:00:00+00:00' });
    expect(parseConfirm('reverted timer 2026-12-05T18:00:00+00:00\n')).toEqual({ state: 'reverted', by: 'timer', at: '2026-12-05T18:00:00+00:00' });
    expect(parseConfirm('missing address 198.18.1.1/24 on br0\nmissing mtu 9000 on ens4 (it is 1500)\n')).toEqual({
      state: 'unproven',
      missing: ['address 198.18.1.1/24 on br0', 'mtu 9000 on ens4 (it is 1500)'],
    });
    expect(parseConfirm('').state).toBe('unproven'); // no answer is not a confirmation
    expect(parseConfirm('confirmed-ish\n').state).toBe('unproven');
  });

  it('parses the revert marker and the pending state', () => {
    expect(parseRevertMarker('boot 2026-12-05T18:00:00+00:00\n')).toEqual({ by: 'boot', at: '2026-12-05T18:00:00+00:00' });
    expect(parseRevertMarker('')).toBeNull();
    expect(parsePending('run=R1\npath=/etc/network/interfaces\ndeadline=1764957600\n')).toEqual({ run: 'R1', deadline: 1764957600 });
    expect(parsePending('')).toBeNull();
  });

  it('passes the node network to confirm, with - for no gateway', () => {
    const network = {
      bridge: 'br0',
      managementInterface: 'ens3',
      managementMac: '52:54:00:01:01:01',
      management: { address: '198.18.1.1', prefix: 24, cidr: '198.18.1.1/24', netmask: '255.255.255.0' },
      dns: [],
      replicationInterface: 'ens4',
      replication: { address: '198.19.1.1', prefix: 24, cidr: '198.19.1.1/24', netmask: '255.255.255.0' },
      replicationMtu: 1500,
    };
    expect(confirmArgs('R1', network)).toEqual(['R1', 'br0', '198.18.1.1/24', '-', 'ens4', '198.19.1.1/24', '1500']);
    expect(confirmArgs('R1', { ...network, gateway: '198.18.1.254' })[3]).toBe('198.18.1.254');
  });
});

describe('the network step says what happened', () => {
  it('a restart inside the window, a timer revert, a failed change, a server that never came back', () => {
    expect(revertMessage({ kind: 'unreachable' }, { by: 'boot' }, 150).message).toBe(
      'the server restarted inside the network window, before the new configuration was confirmed; it restored its previous network configuration at boot and is reachable on it again',
    );
    expect(revertMessage({ kind: 'unreachable' }, { by: 'timer' }, 150).message).toBe('the new network configuration cut the server off; the server restored its previous network by itself and is reachable again');
    expect(revertMessage({ kind: 'unproven', missing: ['mtu 9000 on ens4 (it is 1500)'] }, { by: 'timer' }, 150).message).toBe(
      'the new network configuration did not come up as planned (missing: mtu 9000 on ens4 (it is 1500)); the server restored its previous network by itself and is reachable again',
    );
    const failed = revertMessage({ kind: 'apply-failed', result: 'exit-code', unit: 'hvcluster-net-apply-R1.service' }, { by: 'timer' }, 150);
    expect(failed.message).toContain('the network change failed on the server (systemd unit hvcluster-net-apply-R1.service: exit-code)');
    expect(failed.hint).toContain('journalctl -u hvcluster-net-apply-R1.service');
    const gone = revertMessage({ kind: 'unreachable' }, null, 150);
    expect(gone.message).toBe('the new network configuration cut the server off and the server has not come back, even after its automatic revert was due (150 s after the change)');
    expect(gone.hint).toContain('console');
  });
});

describe('net-window.sh in a sandbox', () => {
  let dir: string;
  let state: string;
  const path = () => join(dir, 'interfaces');
  const env = () => ({ ...process.env, PATH: `${join(dir, 'bin')}:${process.env.PATH}`, HVCLUSTER_NET_WINDOW_DIR: state, STUB_LOG: join(dir, 'calls') });
  const sh = (...args: string[]) => spawnSync('sh', [NET_WINDOW_SCRIPT, ...args], { env: env(), encoding: 'utf8' });
  const calls = () => (existsSync(join(dir, 'calls')) ? readFileSync(join(dir, 'calls'), 'utf8') : '');
  const confirm = () => sh('confirm', 'R1', 'br0', '198.18.1.1/24', '-', 'ens4', '198.19.1.1/24', '1500');

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'net-window-'));
    state = join(dir, 'state');
    mkdirSync(state);
    mkdirSync(join(dir, 'bin'));
    const stub = (name: string, body: string) => {
      writeFileSync(join(dir, 'bin', name), `#!/bin/sh\necho "${name} $*" >> "$STUB_LOG"\n${body}\n`);
      chmodSync(join(dir, 'bin', name), 0o755);
    };
    // The apply unit has finished successfully; the new configuration is up as planned.
    stub('systemctl', 'case "$*" in *ActiveState*) echo inactive;; *Result*) echo success;; esac');
    stub('systemd-run', '');
    stub('ifup', '');
    stub('ifdown', '');
    stub('ip', `case "$*" in *"link show dev ens4"*) echo "3: ens4: <BROADCAST,MULTICAST,UP,LOWER_UP> mtu 1500 qdisc pfifo_fast state UP mode DEFAULT";; *"dev br0"*) echo "5: br0    inet 198.18.1.1/24 brd 198.18.1.255 scope global br0";; *"dev ens4"*) echo "3: ens4    inet 198.19.1.1/24 scope global ens4";; esac`);
    writeFileSync(path(), 'new\n');
    writeFileSync(`${path()}.hvcluster-new`, 'new\n');
    writeFileSync(join(dir, 'backup'), 'old\n');
    writeFileSync(join(state, 'pending'), `run=R1\npath=${path()}\nstaged=${path()}.hvcluster-new\nbackup=${join(dir, 'backup')}\nmode=ifupdown\ndeadline=1\n`);
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('at boot, restores the previous file and closes the window as reverted; a later confirm reports the revert', () => {
    expect(sh('boot').status).toBe(0);
    expect(readFileSync(path(), 'utf8')).toBe('old\n');
    expect(existsSync(join(state, 'pending'))).toBe(false);
    expect(readFileSync(join(state, 'reverted-R1'), 'utf8')).toMatch(/^boot \d{4}-/);
    expect(calls()).not.toMatch(/ifup|ifdown/); // the network is not up yet at boot
    const r = confirm();
    expect(r.stdout).toMatch(/^reverted boot \d{4}-/);
    expect(calls()).not.toContain('hvcluster-net-revert-R1.timer');
  });

  it('confirms only a proven configuration, and after a confirm the revert does nothing', () => {
    const r = confirm();
    expect(r.stdout).toBe('confirmed\n');
    expect(calls()).toContain('systemctl stop hvcluster-net-revert-R1.timer hvcluster-net-revert-R1.service');
    expect(existsSync(join(state, 'pending'))).toBe(false);
    expect(sh('revert', 'R1').status).toBe(0);
    expect(sh('boot').status).toBe(0);
    expect(readFileSync(path(), 'utf8')).toBe('new\n');
    expect(confirm().stdout).toBe('confirmed\n'); // a repeated confirm (lost answer) says the same
  });

  it('after the timer revert, confirm reports the revert and never stops anything', () => {
    expect(sh('revert', 'R1').status).toBe(0);
    expect(readFileSync(path(), 'utf8')).toBe('old\n');
    expect(calls()).toMatch(/ifdown -a --exclude=lo --force[\s\S]*ifup -a --exclude=lo/);
    expect(confirm().stdout).toMatch(/^reverted timer /);
    expect(calls()).not.toContain('hvcluster-net-revert-R1.timer');
  });

  it('does not confirm a configuration that is not in place, and keeps the window open', () => {
    writeFileSync(join(dir, 'bin', 'ip'), '#!/bin/sh\ntrue\n');
    const r = confirm();
    expect(r.stdout).toBe('missing address 198.18.1.1/24 on br0\nmissing address 198.19.1.1/24 on ens4\nmissing mtu 1500 on ens4 (it is none)\n');
    expect(existsSync(join(state, 'pending'))).toBe(true);
    expect(calls()).not.toContain('stop hvcluster-net-revert');
  });
});
